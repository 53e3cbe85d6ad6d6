/* LIR, the JIT's low-level IR: x86-64-shaped SSA over virtual registers, its data
   structures and the C API of Jit/lir (build, print, parse, verify, allocate).
   Design notes: CinderDoc/jit-backend.md. */
#ifndef CINDER_JIT_LIR_H
#define CINDER_JIT_LIR_H

#include "Jit/arena.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* -- Opcodes ------------------------------------------------------------------------- */

enum {
    LF_TWO = 1 << 0,
    LF_FLAGS = 1 << 1,
    LF_CALL = 1 << 2,
    LF_TERM = 1 << 3,
    LF_DEOPT = 1 << 4,
    LF_CC = 1 << 5,
    LF_COMM = 1 << 6,
    LF_POST = 1 << 7,
};

typedef enum LirOp {
#define X(name, shape, targets, flags) LIR_##name,
#include "Jit/lir/lir_ops.def"
#undef X
    LIR_NUM_OPS
} LirOp;

typedef struct LirOpInfo {
    const char *name;
    const char *shape;  /* "outs=ins", see lir_ops.def */
    int ntargets;       /* -1: one per input (Phi) */
    unsigned flags;
} LirOpInfo;

extern const LirOpInfo lir_op_info[LIR_NUM_OPS];

static inline bool
lir_op_is_term(LirOp op)
{
    return op >= LIR_Branch;
}

static inline bool
lir_op_has(LirOp op, unsigned flag)
{
    return (lir_op_info[op].flags & flag) != 0;
}

/* Condition codes. ORDER CC: opposites are paired, so negation is cc ^ 1. For the
   double comparisons (CmpSetF, BranchCmpF) EQ..GT are ordered comparisons: false, or
   for NE true, when either side is NaN. */
typedef enum LirCond {
    LIR_CC_EQ, LIR_CC_NE,
    LIR_CC_LT, LIR_CC_GE,  /* signed */
    LIR_CC_LE, LIR_CC_GT,
    LIR_CC_B, LIR_CC_AE,   /* unsigned */
    LIR_CC_BE, LIR_CC_A,
    LIR_NUM_CC
} LirCond;

static inline LirCond
lir_cc_negate(LirCond cc)
{
    return (LirCond)(cc ^ 1);
}

extern const char *const lir_cc_names[LIR_NUM_CC];

/* -- Registers and locations ------------------------------------------------------------ */

typedef enum LirClass { LIR_GP = 0, LIR_FP = 1 } LirClass;

/* Physical registers: 0..15 are the general-purpose registers in x86 encoding order,
   16..31 are xmm0..xmm15. */
enum {
    LIR_RAX, LIR_RCX, LIR_RDX, LIR_RBX, LIR_RSP, LIR_RBP, LIR_RSI, LIR_RDI,
    LIR_R8, LIR_R9, LIR_R10, LIR_R11, LIR_R12, LIR_R13, LIR_R14, LIR_R15,
    LIR_XMM0 = 16,
    LIR_NUM_REGS = 32
};

/* Registers the code generator keeps for itself (never allocated): r10/r11 and
   xmm14/xmm15 materialise spilled operands and break parallel-move cycles. */
#define LIR_SCRATCH0 LIR_R11
#define LIR_SCRATCH1 LIR_R10
#define LIR_FSCRATCH0 (LIR_XMM0 + 15)
#define LIR_FSCRATCH1 (LIR_XMM0 + 14)

extern const char *const lir_reg_names[LIR_NUM_REGS];

typedef enum LirLocKind { LIR_LOC_NONE, LIR_LOC_REG, LIR_LOC_STACK } LirLocKind;

/* Where a value lives after allocation: a register, or an 8-byte spill slot. */
typedef struct LirLoc {
    int8_t kind;
    int32_t index; /* register number, or spill slot number */
} LirLoc;

static inline LirLoc
lir_loc_reg(int reg)
{
    LirLoc l = {LIR_LOC_REG, reg};
    return l;
}

static inline LirLoc
lir_loc_stack(int slot)
{
    LirLoc l = {LIR_LOC_STACK, slot};
    return l;
}

static inline bool
lir_loc_eq(LirLoc a, LirLoc b)
{
    return a.kind == b.kind && (a.kind == LIR_LOC_NONE || a.index == b.index);
}

/* -- Operands ------------------------------------------------------------------------- */

typedef enum LirOperandKind {
    LIR_OPND_NONE,
    LIR_OPND_VREG,
    LIR_OPND_IMM,  /* 64-bit integer */
    LIR_OPND_FIMM, /* double, its bits in imm */
    LIR_OPND_MEM,  /* [vreg + index*scale + imm]; vreg or index may be -1 */
} LirOperandKind;

typedef struct LirOperand {
    uint8_t kind;
    uint8_t scale;
    int32_t vreg;
    int32_t index;
    int64_t imm;
    LirLoc loc;       /* after allocation: where vreg is at this instruction */
    LirLoc index_loc; /* after allocation: where index is at this instruction */
} LirOperand;

LirOperand lir_vreg(int vreg);
LirOperand lir_imm(int64_t value);
LirOperand lir_fimm(double value);
LirOperand lir_mem(int base, int index, int scale, int32_t disp);

/* -- Deopt exits ------------------------------------------------------------------------ */

/* A deopt exit: how to hand the frame back to the interpreter. Out-of-line code stores
   every value into frame->localsplus[slot] (increfing the ones not owned), sets
   frame->stacktop = stacktop and frame->prev_instr = _PyCode_CODE(code) + bc_offset,
   releases (decrefs) the `release` values, which compiled code owned and the frame does
   not take, and returns CI_JIT_DEOPT (kind GUARD) or CI_JIT_DEOPT_ERROR (kind ERROR). */
typedef enum LirDeoptKind { LIR_DEOPT_GUARD, LIR_DEOPT_ERROR } LirDeoptKind;

typedef struct LirDeoptValue {
    LirOperand value; /* a GP vreg or an immediate */
    int32_t slot;     /* index into frame->localsplus */
    bool owned;       /* the exit takes over this reference; else it increfs */
} LirDeoptValue;

typedef struct LirDeopt {
    LirDeoptKind kind;
    int32_t bc_offset; /* code-unit index frame->prev_instr points to (may be -1) */
    int32_t stacktop;  /* frame->stacktop: an index into localsplus, past the stack */
    const char *reason; /* static string, printed */
    int nvalues;
    LirDeoptValue *values;
    int nrelease;
    LirOperand *release; /* GP vregs or immediates (NULL allowed) */
} LirDeopt;

/* -- Instructions, blocks, functions ------------------------------------------------- */

typedef struct LirBlock LirBlock;

typedef struct LirInstr {
    LirOp op;
    uint8_t cc;           /* LirCond, for LF_CC ops */
    uint8_t nout;
    uint16_t nin;
    LirOperand *out;      /* VREG operands */
    LirOperand *in;
    int ntargets;
    LirBlock **targets;   /* branch targets; for Phi, the predecessor of each input */
    LirDeopt *deopt;      /* LF_DEOPT ops */
    const char *callee_name; /* Call: printed as @name instead of the address */
    const void *origin;   /* whoever built it (the HIR instruction) */
    const char *origin_label; /* printable form of origin, shown in dumps */
    int pos;              /* linear position, set by the allocator */
    struct LirInstr *prev, *next;
    LirBlock *block;
} LirInstr;

struct LirBlock {
    int id;
    LirInstr *first, *last;
    LirBlock **preds;
    int npreds, preds_cap;
    int order; /* index in the allocator's block order */
    bool cold; /* rarely runs (a _Py_Dealloc call): laid out after the hot blocks */
};

typedef struct LirFunc {
    JitArena *arena;
    const char *name;
    LirBlock **blocks; /* blocks[0] is the entry */
    int nblocks, blocks_cap;
    uint8_t *vreg_class;
    int nvregs, vregs_cap;
    /* Set by lir_regalloc: */
    bool allocated;
    int nspill_slots;
    uint32_t used_regs; /* bit per physical register ever assigned */
} LirFunc;

/* -- lir.c: arena and builder ------------------------------------------------------ */

void *lir_alloc(LirFunc *f, size_t size); /* zeroed, freed with the function */
char *lir_strdup(LirFunc *f, const char *s);

LirFunc *lir_func_new(const char *name);
void lir_func_free(LirFunc *f); /* frees every instr, block and operand in one go */
LirBlock *lir_block_new(LirFunc *f);
int lir_vreg_new(LirFunc *f, LirClass cls);

static inline LirClass
lir_vreg_class(const LirFunc *f, int vreg)
{
    return (LirClass)f->vreg_class[vreg];
}

LirInstr *lir_instr_new(LirFunc *f, LirOp op, int nout, int nin, int ntargets);
void lir_block_append(LirBlock *b, LirInstr *i);
void lir_instr_insert_before(LirInstr *where, LirInstr *i);
void lir_instr_remove(LirInstr *i);

/* Append OP with a fresh output of class CLS and NIN LirOperand inputs (varargs). */
int lir_def(LirFunc *f, LirBlock *b, LirOp op, LirClass cls, int nin, ...);
/* Append OP with no output and NIN LirOperand inputs (varargs). */
LirInstr *lir_use(LirFunc *f, LirBlock *b, LirOp op, int nin, ...);
/* Branches: set the targets of a terminator (T1 may be NULL for Branch). */
void lir_set_targets(LirInstr *i, LirBlock *t0, LirBlock *t1);
LirInstr *lir_branch(LirFunc *f, LirBlock *b, LirBlock *to);
LirInstr *lir_cond_branch(LirFunc *f, LirBlock *b, LirOp op, LirCond cc, LirOperand a,
                          LirOperand c, LirBlock *t, LirBlock *e);
/* A SysV call to the C function at FN (NAME is what dumps print). RET0/RET1 are the
   classes of rax/xmm0 and rdx outputs, or -1 for none; the new vregs are stored in
   *OUT0 and *OUT1 when given. */
LirInstr *lir_call(LirFunc *f, LirBlock *b, void *fn, const char *name, int ret0, int ret1,
                   int nargs, const LirOperand *args, int *out0, int *out1);
/* A Phi with N inputs; fill in[k] and targets[k] (the predecessor) afterwards. */
LirInstr *lir_phi(LirFunc *f, LirBlock *b, LirClass cls, int n, int *out);
LirDeopt *lir_deopt_new(LirFunc *f, LirDeoptKind kind, int bc_offset, int stacktop,
                        const char *reason, int nvalues);
void lir_deopt_set_release(LirFunc *f, LirDeopt *d, int nrelease);

/* Number of uses of I (inputs, then deopt values, then deopt releases) and the k-th.
   Inline: the allocator and the code generator ask for every operand. */
static inline int
lir_instr_nuses(const LirInstr *i)
{
    return i->nin + (i->deopt ? i->deopt->nvalues + i->deopt->nrelease : 0);
}

static inline LirOperand *
lir_instr_use_at(LirInstr *i, int k)
{
    if (k < i->nin) {
        return &i->in[k];
    }
    k -= i->nin;
    if (k < i->deopt->nvalues) {
        return &i->deopt->values[k].value;
    }
    return &i->deopt->release[k - i->deopt->nvalues];
}

/* Recompute every block's predecessor list from the terminators. */
void lir_func_compute_preds(LirFunc *f);
LirBlock *lir_block_succ(const LirBlock *b, int k, int *nsucc);
/* Reverse postorder of the reachable blocks into OUT (room for nblocks); sets each
   block's `order` to its RPO index, or -1 when unreachable. Returns the count. */
int lir_func_rpo(LirFunc *f, LirBlock **out);

/* -- print.c / parse.c: the textual form ----------------------------------------------- */

/* Prints F in the form lir_parse reads back; returns a malloc'd string. */
char *lir_func_print(const LirFunc *f);
/* One instruction, without indentation or newline, into a malloc'd string. */
char *lir_instr_print(const LirFunc *f, const LirInstr *i);

/* Resolves a callee's @name to its address; NULL falls back to dlsym. */
typedef void *(*LirSymbolResolver)(const char *name, void *data);

/* Parses one function. Returns NULL with a message naming the line in ERR. */
LirFunc *lir_parse(const char *text, LirSymbolResolver resolve, void *data, char *err,
                   size_t errlen);

/* -- verify.c ---------------------------------------------------------------------- */

/* Checks shapes against lir_ops.def, terminators, targets, SSA (single definition,
   definition dominates every use, phis match predecessors). Returns 0, or -1 with a
   message in ERR. */
int lir_verify(LirFunc *f, char *err, size_t errlen);

/* -- linear_scan.c ----------------------------------------------------------------- */

/* Allocates registers: sets every operand's loc, replaces phis and interval splits by
   ParMove instructions, sets nspill_slots and used_regs. Returns 0, or -1 with ERR. */
int lir_regalloc(LirFunc *f, char *err, size_t errlen);

/* -- parallel_move.c ---------------------------------------------------------------- */

/* One step of a sequentialised parallel move. */
typedef enum LirMoveKind { LIR_MOVE_COPY, LIR_MOVE_SWAP } LirMoveKind;

typedef struct LirMoveStep {
    LirMoveKind kind;
    LirLoc dst, src; /* SWAP: exchange two registers */
} LirMoveStep;

/* Orders the parallel copy DST[k] <- SRC[k] (k < N, destinations distinct) into
   sequential steps, which are appended to STEPS (room for 3*N+1 entries). SCRATCH is a
   register of the right class that no move mentions; it is used for stack-to-stack
   copies and for cycles through the stack. Returns the number of steps. */
int lir_parallel_move(const LirLoc *dst, const LirLoc *src, int n, int scratch,
                      LirMoveStep *steps);

#endif /* CINDER_JIT_LIR_H */
