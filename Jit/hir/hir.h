/* HIR: the JIT's high-level IR. A function is a control-flow graph of blocks of
   instructions in SSA form; each instruction is its own value. Opcode facts live in
   hir_ops.def, types in hir_types.def. Design notes: CinderDoc/jit_hir.rst. */
#ifndef CINDER_JIT_HIR_H
#define CINDER_JIT_HIR_H

#include "Python.h"
#include "Jit/arena.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>


/* -- Types ------------------------------------------------------------------------------ */

enum {
#define HIR_BASIC_TYPE(name, type) HT_BIT_##name,
#include "Jit/hir/hir_types.def"
    HT_NUM_BITS
};

typedef uint64_t HirTypeBits;

enum {
#define HIR_BASIC_TYPE(name, type) HT_##name = (HirTypeBits)1 << HT_BIT_##name,
#include "Jit/hir/hir_types.def"
};
enum {
#define HIR_UNION_TYPE(name, bits) HT_##name = (bits),
#include "Jit/hir/hir_types.def"
};

/* HS_OPAQUE: an object the text form cannot recreate (a code object, a type, ...); the
   parser keeps its printed label (a str) as the value. Never compiled. */
typedef enum { HS_NONE, HS_OBJECT, HS_INT, HS_OPAQUE } HirSpecKind;

/* A set of basic types, optionally specialised to one known value. A known object is a
   borrowed pointer kept alive by the code object being compiled (a constant) or by the
   JIT's preload references. */
typedef struct HirType {
    HirTypeBits bits;
    HirSpecKind spec;
    union {
        PyObject *obj;
        int64_t i;
    } value;
} HirType;

static inline HirType
hir_type(HirTypeBits bits)
{
    HirType t = {bits, HS_NONE, {NULL}};
    return t;
}

HirType hir_type_of_object(PyObject *obj);        /* specialised to obj */
HirType hir_type_of_pytype(PyTypeObject *type);   /* instances of type (and subclasses) */
HirType hir_type_of_exact(PyTypeObject *type);    /* instances of exactly type */
HirType hir_type_of_int(HirTypeBits c_bits, int64_t value);
HirType hir_type_union(HirType a, HirType b);
HirType hir_type_meet(HirType a, HirType b);
bool hir_type_is_subtype(HirType a, HirType b);   /* every value of a is a value of b */
bool hir_type_could_be(HirType a, HirTypeBits bits);
bool hir_type_equal(HirType a, HirType b);
/* Writes e.g. "LongExact", "Object", "Long|Nullptr", "LongExact[5]". */
void hir_type_format(HirType t, char *buf, size_t size);
/* Parses what hir_type_format writes (specialisations: ints, strings, None, True, False).
   Returns false on a malformed name. */
bool hir_type_parse(const char *text, HirType *out);

/* -- Opcodes ---------------------------------------------------------------------------- */

typedef enum {
#define HIR_OP(name, nin, out, flags, steals, param) HIR_##name,
#include "Jit/hir/hir_ops.def"
#undef HIR_OP
    HIR_NUM_OPS
} HirOp;

enum {
    HF_TERM = 1 << 0,
    HF_DEOPT = 1 << 1,
    HF_RAISE = 1 << 2,
    HF_ARB = 1 << 3,
    HF_PURE = 1 << 4,
    HF_BORROW = 1 << 5,
    HF_ALIAS = 1 << 6,
    HF_WLOCAL = 1 << 7,
    HF_PAIR = 1 << 8,
};

#define HIR_VAR (-1)

/* How an opcode's result type is found. */
typedef enum {
    HO_FIXED,    /* HirOpInfo.out_bits */
    HO_NONE,     /* no result */
    HO_PARAM,    /* the instruction's type parameter */
    HO_REFINE,   /* input 0's type met with the parameter */
    HO_PHI,      /* the union of the inputs */
    HO_NOTNULL,  /* input 0's type without Nullptr */
} HirOutKind;

/* What an instruction carries besides its inputs (printed in <>). */
typedef enum {
    HP_None,
    HP_Type,     /* HirInstr.param */
    HP_Index,    /* HirInstr.index */
    HP_Name,     /* HirInstr.name, a str */
    HP_Targets,  /* HirInstr.target */
    HP_Call,     /* HirInstr.index = argument count, HirInstr.name = keyword names or NULL */
} HirParamKind;

typedef struct HirOpInfo {
    const char *name;
    int nin;
    HirOutKind out_kind;
    HirTypeBits out_bits;
    unsigned flags;
    unsigned steals;
    HirParamKind param;
} HirOpInfo;

extern const HirOpInfo hir_op_info[HIR_NUM_OPS];

static inline bool
hir_op_is_terminator(HirOp op)
{
    return op <= HIR_Yield;
}

static inline bool
hir_op_is_guard(HirOp op)
{
    return op >= HIR_GuardType && op <= HIR_CheckLocal;
}

static inline bool
hir_op_has(HirOp op, unsigned flag)
{
    return (hir_op_info[op].flags & flag) != 0;
}

/* -- Functions, blocks, instructions ---------------------------------------------------- */

typedef struct HirInstr HirInstr;

/* One specialised form of an attribute, method or global lookup and what it needs, valid
   while `version` (and `version2`) still hold: what the interpreter's inline cache knew
   when the function was built (HirInstr.cache), and one way of compiled code's own
   inline caches (CiJitSiteCache, Jit/rt/helpers.h). A stale or empty entry costs a
   check, never correctness. */
typedef struct HirCache {
    int kind;           /* HIR_CACHE_* */
    uint32_t version;   /* type version tag, or the globals' or module's keys version */
    uint32_t version2;  /* instances' shared keys version, or the builtins' keys version */
    uint32_t index;     /* instance values index, dict entry index, or slot offset */
    PyObject *descr;    /* borrowed; the type's attribute, alive while `version` holds */
    PyObject **value;   /* GLOBAL_*, and MODULE when filled at run time: the dict
                           entry's value slot, there while the versions hold */
} HirCache;

/* Which specialised form a lookup took (HirCache.kind). */
enum {
    HIR_CACHE_NONE,
    HIR_CACHE_INSTANCE_VALUE,   /* attribute in a managed-dict instance's values */
    HIR_CACHE_SLOT,             /* attribute in a __slots__ member at offset `index` */
    HIR_CACHE_MODULE,           /* attribute of a module: entry `index` of its dict */
    HIR_CACHE_CLASS_VALUE,      /* LOAD_ATTR of a plain class attribute (no instance
                                   value can shadow it): `descr` */
    HIR_CACHE_METHOD_VALUES,    /* LOAD_METHOD, instance without its own dict */
    HIR_CACHE_METHOD_NO_DICT,   /* LOAD_METHOD, instances have no dict */
    HIR_CACHE_GLOBAL_MODULE,    /* LOAD_GLOBAL found in the globals */
    HIR_CACHE_GLOBAL_BUILTIN,   /* LOAD_GLOBAL found in the builtins */
    HIR_CACHE_METHOD_WITH_DICT, /* LOAD_METHOD, instance whose attributes are a real dict
                                   (at offset `index`): its keys, at version2, lack the
                                   name; version2 0: it has no dict yet */
    HIR_CACHE_DICT_HINT,        /* LOAD_ATTR from such a dict (at offset version2): its
                                   entry `index` */
};
typedef struct HirBlock HirBlock;
typedef struct HirFunc HirFunc;

/* How a deopt exit fills one value-stack slot of the frame (set by refcount insertion). */
typedef enum {
    HIR_SLOT_GIVE,   /* hand over the reference compiled code owns */
    HIR_SLOT_NEWREF, /* store a new reference (the value is borrowed, or given elsewhere) */
    HIR_SLOT_NULL,   /* store NULL: the failed instruction consumed the value */
} HirSlotKind;

/* The interpreter state at an instruction that may leave compiled code: the bytecode
   instruction it belongs to and the value stack before that instruction. Locals are not
   here: compiled code keeps them in the frame. A guard failure resumes *at* bc_offset with
   this stack; an error resumes the interpreter's error path at bc_offset with this stack,
   whose values above the handler's depth the unwinder releases.
   Refcount insertion fills in `slot_kind` and `release`: the exit gives, copies or clears
   each slot, then releases the other references compiled code owns at that point. */
typedef struct HirFrameState {
    int bc_offset;          /* code units from the first instruction */
    int nstack;
    HirInstr **stack;
    HirSlotKind *slot_kind; /* NULL until refcount insertion */
    int nrelease;
    HirInstr **release;
} HirFrameState;

struct HirInstr {
    HirOp op;
    int id;                 /* vN in the printed form; unique in the function */
    HirBlock *block;
    HirInstr *prev, *next;  /* within the block */
    int nin;
    HirInstr **in;
    HirType type;           /* result type (Bottom when there is none) */
    HirType param;          /* LoadConst's constant, GuardType's type, GuardIs's object */
    int64_t index;          /* local or cell index, oparg, argument count, ... */
    PyObject *name;         /* attribute/global name or keyword-names tuple (borrowed) */
    HirBlock *target[2];    /* Branch: target[0]; CondBranch: true, false */
    HirFrameState *fs;      /* instructions with DEOPT or RAISE */
    /* What the interpreter's inline cache knew when the function was built (its
       specialised form of the bytecode). Lowering seeds the compiled code's own cache
       for the instruction with it. Not printed: versions differ per run. */
    HirCache cache;
    void *backend;          /* scratch for later stages */
};

struct HirBlock {
    int id;                 /* bbN */
    HirFunc *func;
    HirInstr *first, *last;
    int npreds;
    HirBlock **preds;       /* filled by hir_func_compute_preds */
    int rpo_index;
    bool sealed;            /* builder: all predecessors known */
    void *builder;          /* builder's per-block state */
    HirBlock *next_in_func;
};

struct HirFunc {
    JitArena *arena;
    const char *name;       /* module:qualname, for dumps */
    PyCodeObject *code;     /* borrowed; NULL for functions parsed from text */
    PyObject *globals;      /* borrowed */
    PyObject *builtins;     /* borrowed */
    int nlocalsplus;
    HirBlock *entry;
    HirBlock *blocks;       /* all blocks, in creation order */
    int nblocks;
    int next_instr_id;
    int next_block_id;
};

HirFunc *hir_func_new(JitArena *arena, const char *name);
HirBlock *hir_block_new(HirFunc *func);
HirInstr *hir_instr_new(HirFunc *func, HirOp op, int nin);
void hir_block_append(HirBlock *block, HirInstr *instr);
void hir_instr_insert_before(HirInstr *where, HirInstr *instr);
void hir_instr_insert_after(HirInstr *where, HirInstr *instr);
void hir_instr_remove(HirInstr *instr);
/* Replace every use of `from` by `to`. */
void hir_func_replace_uses(HirFunc *func, HirInstr *from, HirInstr *to);
/* Successors of a block, from its terminator. Returns their count (0..2). */
int hir_block_succs(HirBlock *block, HirBlock *out[2]);
/* Recompute preds and a reverse post-order numbering; removes unreachable blocks.
   Returns the blocks in reverse post-order (arena-allocated), count in *n. */
HirBlock **hir_func_rpo(HirFunc *func, int *n);
void hir_func_compute_preds(HirFunc *func);
/* Recompute every result type from the inputs, to a fixed point. */
void hir_func_infer_types(HirFunc *func);
HirType hir_instr_output_type(const HirInstr *instr);
bool hir_instr_has_output(const HirInstr *instr);
bool hir_type_is_counted(HirType t);   /* may hold a reference that needs counting */

/* -- Text form (print.c, parse.c) ------------------------------------------------------- */

void hir_func_print(FILE *out, const HirFunc *func);
/* The printed form in a malloc'ed string. */
char *hir_func_to_string(const HirFunc *func);
/* Parse the printed form. On a syntax error returns NULL and writes a message naming the
   line to err. Constants in the text are created as new objects and kept alive by
   `keepalive` (a list). */
HirFunc *hir_func_parse(JitArena *arena, const char *text, PyObject *keepalive,
                        char *err, size_t errsize);

/* -- Checks (verify.c) ------------------------------------------------------------------ */

/* Returns true when func is well formed; otherwise writes the first problem to err. */
bool hir_func_verify(const HirFunc *func, char *err, size_t errsize);

#endif /* CINDER_JIT_HIR_H */
