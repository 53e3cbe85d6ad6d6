/* HIR -> LIR: one case per HIR opcode, inline sequences for frame locals, cells, tuple
   items and reference counts, calls to the runtime helpers hir_ops.def names for the
   rest, and a deopt exit for every guard and every helper that can fail. */

#include "Python.h"
#include "pycore_code.h"
#include "pycore_dict.h"
#include "pycore_frame.h"
#include "pycore_genobject.h"     // _PyAsyncGenValueWrapperNew
#include "pycore_interp.h"
#include "pycore_long.h"
#include "pycore_opcode.h"

#include "Jit/lir/lower.h"
#include "cinder/jit_hooks.h"
#include "Jit/rt/helpers.h"

#include <stdio.h>
#include <string.h>

/* -- How the lowering works ------------------------------------------------------------

   Blocks are lowered in reverse postorder, so every value is lowered before its uses
   (phis aside). Each HIR value maps to one LIR operand: a vreg, or an immediate for a
   LoadConst (materialised into a vreg by a Move where an instruction needs a register).
   Aliases (guards, RefineType) map to their input's operand. A HIR block becomes one
   LIR block, or a chain of them where a Decref needs its out-of-line _Py_Dealloc call;
   phis are filled in at the end, when the last LIR block of every predecessor is known.

   Deopt exits come from the HIR frame states, which refcount insertion has completed:
     - a guard (GuardType, GuardIs, CheckLocal, LoadCellValue, Deopt, the eval-breaker
       poll) resumes the interpreter *at* the frame state's instruction, so
       frame->prev_instr = bc_offset - 1 and the exit returns CI_JIT_DEOPT;
     - a failing helper leaves through the interpreter's error path at its instruction:
       frame->prev_instr = bc_offset and CI_JIT_DEOPT_ERROR.
   Stack slot k is frame->localsplus[nlocalsplus + k], and frame->stacktop (an index
   into localsplus, as in the interpreter) becomes nlocalsplus + depth. HIR_SLOT_GIVE
   hands the reference over (owned), HIR_SLOT_NEWREF increfs, HIR_SLOT_NULL stores NULL.
   The frame state's `release` list becomes the exit's releases.

   The argument arrays of Call and Build* live in the frame's own value-stack area
   (localsplus[nlocalsplus...]): those values sit on the interpreter's stack at that
   point anyway, so the area is large enough, and compiled code keeps frame->stacktop at
   0, so nothing else looks there. */

#define LW_LOCALS ((int32_t)offsetof(_PyInterpreterFrame, localsplus))

typedef struct LwPhi {
    HirInstr *hir;
    LirInstr *lir;
} LwPhi;

typedef struct LwCtx {
    HirFunc *hir;
    LirFunc *f;
    LirOperand *val;    /* by HIR instruction id */
    int *second;        /* by HIR id: a PAIR's second result; UnpackSequence's items */
    LirBlock **start;   /* by HIR block id */
    LirBlock **end;
    LirBlock *cur;
    int tstate, frame;
    LwPhi *phis;
    int nphis;
    HirInstr *origin;
    const char *label;
    const char *why;
    CiJitSiteCache *caches; /* the next inline cache to hand out */
} LwCtx;

/* -- Emitting ---------------------------------------------------------------------------- */

static LirInstr *
lw_tag(LwCtx *c, LirInstr *i)
{
    i->origin = c->origin;
    i->origin_label = c->label;
    return i;
}

/* A new instruction OP at the end of the current block, with NOUT fresh GP outputs and
   NIN inputs for the caller to fill (for shapes lw_def and lw_use do not cover). */
static LirInstr *
lw_new_instr(LwCtx *c, LirOp op, int nout, int nin)
{
    LirInstr *i = lir_instr_new(c->f, op, nout, nin, 0);
    for (int k = 0; k < nout; k++) {
        i->out[k] = lir_vreg(lir_vreg_new(c->f, LIR_GP));
    }
    lir_block_append(c->cur, i);
    return lw_tag(c, i);
}

static int
lw_def(LwCtx *c, LirOp op, int nin, LirOperand a, LirOperand b)
{
    int v = lir_def(c->f, c->cur, op, LIR_GP, nin, a, b);
    lw_tag(c, c->cur->last);
    return v;
}

/* lw_def for a double result. */
static int
lw_def_fp(LwCtx *c, LirOp op, int nin, LirOperand a, LirOperand b)
{
    int v = lir_def(c->f, c->cur, op, LIR_FP, nin, a, b);
    lw_tag(c, c->cur->last);
    return v;
}

static LirInstr *
lw_use(LwCtx *c, LirOp op, int nin, LirOperand a, LirOperand b)
{
    return lw_tag(c, lir_use(c->f, c->cur, op, nin, a, b));
}

static LirOperand
lw_val(LwCtx *c, HirInstr *v)
{
    LirOperand o = c->val[v->id];
    if (o.kind == LIR_OPND_NONE && c->why == NULL) {
        c->why = "LIR lowering: a value is used before it is lowered";
        return lir_imm(0);
    }
    return o;
}

/* V in a register: immediates get a Move in the current block. */
static int
lw_reg(LwCtx *c, HirInstr *v)
{
    LirOperand o = lw_val(c, v);
    if (o.kind == LIR_OPND_VREG) {
        return o.vreg;
    }
    return lw_def(c, LIR_Move, 1, o, o);
}

static LirOperand
lw_mem(int base, int32_t disp)
{
    return lir_mem(base, -1, 1, disp);
}

static LirOperand
lw_local(LwCtx *c, int64_t index)
{
    return lw_mem(c->frame, LW_LOCALS + (int32_t)(sizeof(PyObject *) * (size_t)index));
}

static int
lw_call(LwCtx *c, void *fn, const char *name, int nargs, const LirOperand *args,
        int *second)
{
    int r;
    lw_tag(c, lir_call(c->f, c->cur, fn, name, LIR_GP, second ? LIR_GP : -1, nargs, args,
                       &r, second));
    return r;
}

#define LW_CALL(c, fn, second, ...)                                                       \
    lw_call((c), (void *)(fn), #fn, (int)(sizeof((LirOperand[]){__VA_ARGS__}) /           \
                                          sizeof(LirOperand)),                            \
            (LirOperand[]){__VA_ARGS__}, (second))

/* A C int result of a helper, sign-extended from eax. */
static int
lw_int_result(LwCtx *c, int r)
{
    return lw_def(c, LIR_Sext32, 1, lir_vreg(r), lir_vreg(r));
}

static LirBlock *
lw_new_block(LwCtx *c)
{
    return lir_block_new(c->f);
}

/* -- Deopt exits -------------------------------------------------------------------------- */

static LirDeopt *
lw_deopt(LwCtx *c, HirFrameState *fs, LirDeoptKind kind, const char *reason)
{
    if (fs == NULL || fs->slot_kind == NULL) {
        c->why = "LIR lowering: deopt exit without refcount information";
        return lir_deopt_new(c->f, kind, -1, 0, reason, 0);
    }
    int bc = kind == LIR_DEOPT_GUARD ? fs->bc_offset - 1 : fs->bc_offset;
    LirDeopt *d = lir_deopt_new(c->f, kind, bc, c->hir->nlocalsplus + fs->nstack, reason,
                                fs->nstack);
    for (int k = 0; k < fs->nstack; k++) {
        LirDeoptValue *dv = &d->values[k];
        dv->slot = c->hir->nlocalsplus + k;
        if (fs->slot_kind[k] == HIR_SLOT_NULL) {
            dv->value = lir_imm(0);
            dv->owned = true;
        }
        else {
            dv->value = lw_val(c, fs->stack[k]);
            dv->owned = fs->slot_kind[k] == HIR_SLOT_GIVE;
        }
    }
    lir_deopt_set_release(c->f, d, fs->nrelease);
    for (int k = 0; k < fs->nrelease; k++) {
        d->release[k] = lw_val(c, fs->release[k]);
    }
    return d;
}

/* Leaves through a deopt exit when `a OP b` has condition CC. */
static void
lw_guard(LwCtx *c, LirOp op, LirCond cc, int a, LirOperand b, LirDeoptKind kind,
         const char *reason)
{
    LirInstr *g = lw_use(c, op, 2, lir_vreg(a), b);
    g->cc = (uint8_t)cc;
    g->deopt = lw_deopt(c, c->origin->fs, kind, reason);
}

/* The error check after a helper returning an object: NULL means an exception. */
static int
lw_checked(LwCtx *c, int r)
{
    lw_guard(c, LIR_DeoptCmp, LIR_CC_EQ, r, lir_imm(0), LIR_DEOPT_ERROR, "Raise");
    return r;
}

/* ... and after one returning a C int: negative means an exception. */
static int
lw_checked_int(LwCtx *c, int r)
{
    int v = lw_int_result(c, r);
    lw_guard(c, LIR_DeoptCmp, LIR_CC_LT, v, lir_imm(0), LIR_DEOPT_ERROR, "Raise");
    return v;
}

/* -- Reference counts ------------------------------------------------------------------

   Py_INCREF and Py_DECREF inline: the LIR instructions Incref, Decref and XDecref, which
   the code generator expands with the immortal-object test (x86_64.c), a decref's
   _Py_Dealloc call out of line. Constants already immortal at compile time get no code
   at all, except in debug builds, which count references to immortal objects too. */

/* Is V a constant that reference counting leaves alone (NULL, or immortal)? */
static bool
lw_uncounted_const(HirInstr *v)
{
    while (hir_op_has(v->op, HF_ALIAS)) {
        v = v->in[0];
    }
    if (v->op != HIR_LoadConst) {
        return false;
    }
    if (v->param.spec != HS_OBJECT || v->param.value.obj == NULL) {
        return true;
    }
#ifdef Py_REF_DEBUG
    return false;
#else
    return _Py_IsImmortal(v->param.value.obj);
#endif
}

static void
lw_incref(LwCtx *c, int obj)
{
    lw_use(c, LIR_Incref, 1, lir_vreg(obj), lir_imm(0));
}

/* Py_DECREF; with MAYBE_NULL, Py_XDECREF. */
static void
lw_decref(LwCtx *c, int obj, bool maybe_null)
{
    lw_use(c, maybe_null ? LIR_XDecref : LIR_Decref, 1, lir_vreg(obj), lir_imm(0));
}

/* -- Instructions ---------------------------------------------------------------------- */

static PyTypeObject *
lw_exact_type(HirTypeBits bits)
{
    static const struct {
        HirTypeBits bit;
        PyTypeObject *type;
    } table[] = {
#define HIR_BASIC_TYPE(name, type) {HT_##name, type},
#include "Jit/hir/hir_types.def"
    };
    PyTypeObject *found = NULL;
    for (size_t k = 0; k < sizeof table / sizeof table[0]; k++) {
        if ((bits & table[k].bit) && table[k].type != NULL) {
            if (found != NULL) {
                return NULL; /* more than one exact type */
            }
            found = table[k].type;
        }
    }
    return found;
}

/* Stores N values into the frame's value-stack area; returns a vreg with its address. */
static int
lw_stack_array(LwCtx *c, HirInstr **items, int n)
{
    int32_t base = LW_LOCALS + (int32_t)(sizeof(PyObject *) * (size_t)c->hir->nlocalsplus);
    for (int k = 0; k < n; k++) {
        LirOperand v = lw_val(c, items[k]);
        if (v.kind == LIR_OPND_IMM && v.imm != (int32_t)v.imm) {
            v = lir_vreg(lw_reg(c, items[k]));
        }
        lw_use(c, LIR_Store64, 2, lw_mem(c->frame, base + 8 * k), v);
    }
    return lw_def(c, LIR_Lea, 1, lw_mem(c->frame, base), lir_imm(0));
}

/* Lookups with an inline cache (see lir_lower). */
static bool
lw_has_cache(HirOp op)
{
    return op == HIR_LoadAttr || op == HIR_StoreAttr || op == HIR_LoadMethod
           || op == HIR_LoadGlobal || op == HIR_Call;
}

/* The module a LoadGlobal V names now, or NULL: found as a LoadGlobal's cache is seeded
   (only in dicts whose keys are all str, where a lookup runs no Python code). */
static PyObject *
lw_global_module(LwCtx *c, HirInstr *v)
{
    while (hir_op_has(v->op, HF_ALIAS)) {
        v = v->in[0];
    }
    if (v->op != HIR_LoadGlobal || c->hir->globals == NULL) {
        return NULL;
    }
    HirCache where = {0};
    Ci_JitRt_SeedGlobalCache(&where, c->hir->globals, c->hir->builtins, v->name);
    PyObject *value = where.kind != HIR_CACHE_NONE ? *where.value : NULL;
    return value != NULL && PyModule_CheckExact(value) ? value : NULL;
}

/* The address of I's own inline cache, seeded with what the HIR knows (a Call's starts
   empty); the code generator inlines the lookup of the kind it holds, and no other for a
   LoadGlobal, and reads a module's attribute out of line only when it holds that kind.
   So a LoadGlobal the interpreter had not specialised is seeded with where its name is
   now, and an attribute of a global that is a module now (math.pi), from that module. */
static LirOperand
lw_cache(LwCtx *c, HirInstr *i)
{
    CiJitSiteCache *cache = c->caches++;
    if (i->op != HIR_Call) {
        cache->way[0] = i->cache;
    }
    if (i->op == HIR_LoadGlobal && i->cache.kind == HIR_CACHE_NONE && c->hir->globals != NULL) {
        Ci_JitRt_SeedGlobalCache(&cache->way[0], c->hir->globals, c->hir->builtins, i->name);
    }
    if ((i->op == HIR_LoadAttr || i->op == HIR_LoadMethod)
        && (i->cache.kind == HIR_CACHE_NONE || i->cache.kind == HIR_CACHE_MODULE)) {
        PyObject *module = lw_global_module(c, i->in[0]);
        if (module != NULL) {
            Ci_JitRt_SeedModuleAttrCache(&cache->way[0], module, i->name);
        }
        else if (i->cache.kind == HIR_CACHE_MODULE) {
            cache->way[0].kind = HIR_CACHE_NONE;  /* the helper fills it, slot included */
        }
    }
    return lir_imm((int64_t)(intptr_t)cache);
}

static void
lw_set(LwCtx *c, HirInstr *i, int vreg)
{
    c->val[i->id] = lir_vreg(vreg);
}

/* Ends the current block with `a CC b ? yes : no` and continues in NO. */
static void
lw_branch_if(LwCtx *c, LirOp op, LirCond cc, int a, LirOperand b, LirBlock *yes)
{
    LirBlock *no = lw_new_block(c);
    lw_tag(c, lir_cond_branch(c->f, c->cur, op, cc, lir_vreg(a), b, yes, no));
    c->cur = no;
}

/* Before an instruction that may run Python code or allocate (it may raise), point
   frame->prev_instr at its bytecode instruction, as the interpreter's dispatch does: what
   that code or an allocation hook sees of this frame (f_lineno, warnings' and logging's
   caller lines, tracemalloc's tracebacks, tracebacks made below it) is then exactly the
   interpreter's. Consecutive instructions of one bytecode share it. The eval-breaker poll
   stores its own, on its out-of-line path only. */
static bool
lw_syncs_prev_instr(LwCtx *c, HirInstr *i)
{
    return hir_op_has(i->op, HF_ARB | HF_RAISE) && i->fs != NULL && c->hir->code != NULL
           && i->op != HIR_CheckEvalBreaker;
}

static void
lw_store_prev_instr(LwCtx *c, int bc_offset)
{
    PyCodeObject *code = c->hir->code;
    uintptr_t addr = (uintptr_t)(_PyCode_CODE(code) + bc_offset);
    LirOperand prev_instr = lw_mem(c->frame, (int32_t)offsetof(_PyInterpreterFrame, prev_instr));
    /* Whatever compiled code runs, prev_instr already points into this code (at its
       entry RESUME at least). When every place it can point to, from the frame's
       initial _PyCode_CODE(code) - 1 to the last instruction, has the same upper half,
       writing the lower half is enough: a 32-bit store of an immediate. */
    uintptr_t lo = (uintptr_t)(_PyCode_CODE(code) - 1);
    uintptr_t hi = (uintptr_t)(_PyCode_CODE(code) + Py_SIZE(code));
    if (lo >> 32 == hi >> 32) {
        lw_use(c, LIR_Store32, 2, prev_instr, lir_imm((int64_t)(uint32_t)addr));
        return;
    }
    int r = lw_def(c, LIR_Move, 1, lir_imm((intptr_t)addr), lir_imm((intptr_t)addr));
    lw_use(c, LIR_Store64, 2, prev_instr, lir_vreg(r));
}

static void
lw_sync_prev_instr(LwCtx *c, HirInstr *i)
{
    if (lw_syncs_prev_instr(c, i)
        && !(i->prev != NULL && lw_syncs_prev_instr(c, i->prev)
             && i->prev->fs->bc_offset == i->fs->bc_offset)) {
        lw_store_prev_instr(c, i->fs->bc_offset);
    }
}

/* CheckEvalBreaker: when the eval breaker is set (a pending signal or call, a GIL drop
   request, an async exception), the interpreter's handler runs out of line
   (PollEvalBreaker); an exception it raises leaves through the error path at the
   instruction the interpreter would blame (the call or the backward jump, whose offset
   is the index parameter), with the frame state of the resume point. Then, when
   sys.settrace or setprofile came on, the interpreter takes over at the resume point. */
static void
lw_check_eval_breaker(LwCtx *c, HirInstr *i)
{
    intptr_t addr = 0;
    if (c->hir->code != NULL) {
        addr = (intptr_t)(_PyCode_CODE(c->hir->code) + i->index);
    }
    int v = lw_def(c, LIR_PollEvalBreaker, 2, lir_vreg(c->tstate), lir_imm(addr));
    LirInstr *g = lw_use(c, LIR_DeoptCmp, 2, lir_vreg(v), lir_imm(0));
    g->cc = (uint8_t)LIR_CC_LT;
    g->deopt = lw_deopt(c, i->fs, LIR_DEOPT_ERROR, "Raise");
    g->deopt->bc_offset = (int32_t)i->index;
    int t = lw_def(c, LIR_Load64, 1,
                   lw_mem(c->tstate, (int32_t)offsetof(PyThreadState, cframe)), lir_imm(0));
    int r = lw_def(c, LIR_Load8, 1, lw_mem(t, (int32_t)offsetof(_PyCFrame, use_tracing)),
                   lir_imm(0));
    lw_guard(c, LIR_DeoptTest, LIR_CC_NE, r, lir_vreg(r), LIR_DEOPT_GUARD, "Tracing");
}

/* A phi at the top of JOIN merging IN[k] from block FROM[k]; returns its vreg. */
static int
lw_phi(LwCtx *c, LirBlock *join, int n, const int *in, LirBlock *const *from)
{
    int r;
    LirInstr *phi = lw_tag(c, lir_phi(c->f, join, LIR_GP, n, &r));
    for (int k = 0; k < n; k++) {
        phi->in[k] = lir_vreg(in[k]);
        phi->targets[k] = from[k];
    }
    return r;
}

/* Ends the lowering of a lookup whose inline paths (ending in the blocks FROM[0..n-1])
   and helper path (the current block) produced IN[0..n]: branch all to a join block and
   merge the results in a phi there, which becomes I's value. */
static void
lw_join(LwCtx *c, HirInstr *i, LirBlock **from, int *in, int n)
{
    LirBlock *join = lw_new_block(c);
    from[n] = c->cur;
    for (int k = 0; k <= n; k++) {
        lw_tag(c, lir_branch(c->f, from[k], join));
    }
    c->cur = join;
    lw_set(c, i, lw_phi(c, join, n + 1, in, from));
}

/* OBJ's type, in a register. */
static int
lw_type_of(LwCtx *c, int obj)
{
    return lw_def(c, LIR_Load64, 1, lw_mem(obj, (int32_t)offsetof(PyObject, ob_type)),
                  lir_imm(0));
}

/* Branches to OTHER unless the type TP is exactly TYPE. */
static void
lw_branch_unless_type(LwCtx *c, int tp, PyTypeObject *type, LirBlock *other)
{
    int want = lw_def(c, LIR_Move, 1, lir_imm((int64_t)(intptr_t)type),
                      lir_imm((int64_t)(intptr_t)type));
    lw_branch_if(c, LIR_BranchCmp, LIR_CC_NE, tp, lir_vreg(want), other);
}

/* LoadGlobal and LoadAttr: one instruction each, which the code generator expands into
   the site's first cache way inline and the helper out of line. */
static void
lw_load_global(LwCtx *c, HirInstr *i)
{
    int r = lir_def(c->f, c->cur, LIR_LoadGlobalCached, LIR_GP, 3, lir_vreg(c->frame),
                    lir_imm((int64_t)(intptr_t)i->name), lw_cache(c, i));
    lw_tag(c, c->cur->last);
    lw_set(c, i, lw_checked(c, r));
}

static void
lw_load_attr(LwCtx *c, HirInstr *i)
{
    int r = lir_def(c->f, c->cur, LIR_LoadAttrCached, LIR_GP, 3, lir_vreg(lw_reg(c, i->in[0])),
                    lir_imm((int64_t)(intptr_t)i->name), lw_cache(c, i));
    lw_tag(c, c->cur->last);
    lw_set(c, i, lw_checked(c, r));
}

/* StoreAttr: StoreAttrCached gives 0, or a negative number with an exception set. */
static void
lw_store_attr(LwCtx *c, HirInstr *i)
{
    LirOperand obj = lir_vreg(lw_reg(c, i->in[0])), value = lir_vreg(lw_reg(c, i->in[1]));
    LirInstr *st = lw_new_instr(c, LIR_StoreAttrCached, 1, 4);
    st->in[0] = obj;
    st->in[1] = value;
    st->in[2] = lir_imm((int64_t)(intptr_t)i->name);
    st->in[3] = lw_cache(c, i);
    lw_guard(c, LIR_DeoptCmp, LIR_CC_LT, st->out[0].vreg, lir_imm(0), LIR_DEOPT_ERROR, "Raise");
}

/* LoadMethod: LoadMethodCached gives (method, self), or (NULL, attribute); NULL as
   the second means an error. */
static void
lw_load_method(LwCtx *c, HirInstr *i)
{
    LirOperand obj = lir_vreg(lw_reg(c, i->in[0]));
    LirInstr *m = lw_new_instr(c, LIR_LoadMethodCached, 2, 3);
    m->in[0] = obj;
    m->in[1] = lir_imm((int64_t)(intptr_t)i->name);
    m->in[2] = lw_cache(c, i);
    lw_guard(c, LIR_DeoptCmp, LIR_CC_EQ, m->out[1].vreg, lir_imm(0), LIR_DEOPT_ERROR, "Raise");
    lw_set(c, i, m->out[0].vreg);
    c->second[i->id] = m->out[1].vreg;
}

/* list.append (which lives as long as the static list type) when I is a Call of
   LOAD_METHOD append with one argument and no keywords, else NULL. */
static PyObject *
lw_list_append_method(HirInstr *i)
{
    HirInstr *m = i->in[0];
    if (i->name != NULL || i->index != 1 || m->op != HIR_LoadMethod
        || !_PyUnicode_EqualToASCIIString(m->name, "append")) {
        return NULL;
    }
    return _PyType_Lookup(&PyList_Type, m->name);
}

/* The inline form of `lst.append(x)` (I; APPEND from lw_list_append_method): when the
   method is list.append and the list has room, x goes into the next slot, as the
   interpreter's PRECALL_NO_KW_LIST_APPEND puts it; the result is None. Anything else (a
   method of another type, a list subclass, a full list) branches to OTHER. Returns the
   result's vreg. */
static int
lw_list_append(LwCtx *c, HirInstr *i, PyObject *append, LirBlock *other)
{
    HirInstr *m = i->in[0];
    int meth = lw_reg(c, m), list = lw_reg(c, i->in[1]), item = lw_reg(c, i->in[2]);
    int want = lw_def(c, LIR_Move, 1, lir_imm((int64_t)(intptr_t)append),
                      lir_imm((int64_t)(intptr_t)append));
    lw_branch_if(c, LIR_BranchCmp, LIR_CC_NE, meth, lir_vreg(want), other);
    lw_branch_unless_type(c, lw_type_of(c, list), &PyList_Type, other);
    int size = lw_def(c, LIR_Load64, 1, lw_mem(list, (int32_t)offsetof(PyVarObject, ob_size)),
                      lir_imm(0));
    int room = lw_def(c, LIR_Load64, 1,
                      lw_mem(list, (int32_t)offsetof(PyListObject, allocated)), lir_imm(0));
    lw_branch_if(c, LIR_BranchCmp, LIR_CC_GE, size, lir_vreg(room), other);
    int items = lw_def(c, LIR_Load64, 1, lw_mem(list, (int32_t)offsetof(PyListObject, ob_item)),
                       lir_imm(0));
    lw_use(c, LIR_Store64, 2, lir_mem(items, size, 8, 0), lir_vreg(item)); /* takes the ref */
    int grown = lw_def(c, LIR_Add, 2, lir_vreg(size), lir_imm(1));
    lw_use(c, LIR_Store64, 2, lw_mem(list, (int32_t)offsetof(PyVarObject, ob_size)),
           lir_vreg(grown));
    lw_decref(c, list, false);
    lw_decref(c, meth, false);
    int none = lw_def(c, LIR_Move, 1, lir_imm((int64_t)(intptr_t)Py_None),
                      lir_imm((int64_t)(intptr_t)Py_None));
    lw_incref(c, none);
    return none;
}

/* Call: Ci_JitRt_CallEnter makes the call, or, for a function with compiled code, pushes
   its frame and hands back its body, which is called from here (one native call per
   Python call), then Ci_JitRt_CallLeave pops the frame. `lst.append(x)` may take
   lw_list_append's inline path first. The results meet in a phi. */
static void
lw_call_python(LwCtx *c, HirInstr *i, LirOperand kwnames)
{
    LirBlock *from[3];
    int in[3], n = 0;
    LirBlock *inline_end = NULL;
    int inline_res = -1;
    PyObject *append = lw_list_append_method(i);
    if (append != NULL) {
        LirBlock *generic = lw_new_block(c);
        inline_res = lw_list_append(c, i, append, generic);
        inline_end = c->cur;
        c->cur = generic;
    }
    int array = lw_stack_array(c, i->in, i->nin);
    int frame;
    int body = LW_CALL(c, Ci_JitRt_CallEnter, &frame, lir_vreg(c->tstate), lir_vreg(array),
                       lir_imm(i->index), kwnames, lw_cache(c, i));
    LirBlock *direct = lw_new_block(c), *join = lw_new_block(c);
    LirBlock *from_generic = c->cur;
    lw_tag(c, lir_cond_branch(c->f, c->cur, LIR_BranchTest, LIR_CC_NE, lir_vreg(body),
                              lir_vreg(body), direct, join));
    c->cur = direct;
    LirOperand args[2] = {lir_vreg(c->tstate), lir_vreg(frame)};
    int res;
    lw_tag(c, lir_call(c->f, c->cur, NULL, NULL, LIR_GP, -1, 2, args, &res, NULL));
    c->cur->last->in[0] = lir_vreg(body);
    in[n] = LW_CALL(c, Ci_JitRt_CallLeave, NULL, lir_vreg(c->tstate), lir_vreg(frame),
                    lir_vreg(res));
    from[n++] = c->cur;
    lw_tag(c, lir_branch(c->f, c->cur, join));
    in[n] = frame;
    from[n++] = from_generic;
    if (inline_end != NULL) {
        lw_tag(c, lir_branch(c->f, inline_end, join));
        in[n] = inline_res;
        from[n++] = inline_end;
    }
    c->cur = join;
    lw_set(c, i, lw_checked(c, lw_phi(c, join, n, in, from)));
}

/* Is V a constant? Then 1 when it is a compact exact int (below), with its value in
   *VALUE, else -1; 0 when V is not a constant. */
static int
lw_const_compact_int(HirInstr *v, int64_t *value)
{
    while (hir_op_has(v->op, HF_ALIAS)) {
        v = v->in[0];
    }
    if (v->op != HIR_LoadConst) {
        return 0;
    }
    PyObject *o = v->param.spec == HS_OBJECT ? v->param.value.obj : NULL;
    if (o == NULL || !PyLong_CheckExact(o) || Py_ABS(Py_SIZE(o)) > 1) {
        return -1;
    }
    *value = (int64_t)Py_SIZE(o) * (int64_t)((PyLongObject *)o)->ob_digit[0];
    return 1;
}

/* Can both inputs of I be compact ints, as far as the constants among them say? */
static bool
lw_maybe_compact_ints(HirInstr *i)
{
    int64_t unused;
    return lw_const_compact_int(i->in[0], &unused) >= 0
           && lw_const_compact_int(i->in[1], &unused) >= 0;
}

/* The value of V when it is an exact int of at most one digit (the interpreter's
   "compact" ints: ob_size -1, 0 or 1), as a C integer; else branches to SLOW. A constant
   (lw_maybe_compact_ints has checked it is such an int) is an immediate. */
static LirOperand
lw_compact_int(LwCtx *c, HirInstr *v, LirBlock *slow)
{
    int64_t value;
    if (lw_const_compact_int(v, &value) > 0) {
        return lir_imm(value);
    }
    int obj = lw_reg(c, v);
    lw_branch_unless_type(c, lw_type_of(c, obj), &PyLong_Type, slow);
    int size = lw_def(c, LIR_Load64, 1,
                      lw_mem(obj, (int32_t)offsetof(PyVarObject, ob_size)), lir_imm(0));
    int biased = lw_def(c, LIR_Add, 2, lir_vreg(size), lir_imm(1));
    lw_branch_if(c, LIR_BranchCmp, LIR_CC_A, biased, lir_imm(2), slow);
    int digit = lw_def(c, LIR_Load32, 1,
                       lw_mem(obj, (int32_t)offsetof(PyLongObject, ob_digit)), lir_imm(0));
    return lir_vreg(lw_def(c, LIR_Imul, 2, lir_vreg(size), lir_vreg(digit)));
}

/* O in a register of its own: immediates get a Move. */
static int
lw_in_reg(LwCtx *c, LirOperand o)
{
    return o.kind == LIR_OPND_VREG ? o.vreg : lw_def(c, LIR_Move, 1, o, o);
}

/* The LIR operation computing BINARY_OP OPARG exactly on two compact ints (whose
   results fit in 61 bits), or -1. */
static int
lw_compact_int_op(int64_t oparg)
{
    switch (oparg) {
    case NB_ADD: case NB_INPLACE_ADD: return LIR_Add;
    case NB_SUBTRACT: case NB_INPLACE_SUBTRACT: return LIR_Sub;
    case NB_MULTIPLY: case NB_INPLACE_MULTIPLY: return LIR_Imul;
    case NB_AND: case NB_INPLACE_AND: return LIR_And;
    case NB_OR: case NB_INPLACE_OR: return LIR_Or;
    case NB_XOR: case NB_INPLACE_XOR: return LIR_Xor;
    default: return -1;
    }
}

/* The LIR double operation computing BINARY_OP OPARG on two floats, or -1. */
static int
lw_float_op(int64_t oparg)
{
    switch (oparg) {
    case NB_ADD: case NB_INPLACE_ADD: return LIR_AddF;
    case NB_SUBTRACT: case NB_INPLACE_SUBTRACT: return LIR_SubF;
    case NB_MULTIPLY: case NB_INPLACE_MULTIPLY: return LIR_MulF;
    case NB_TRUE_DIVIDE: case NB_INPLACE_TRUE_DIVIDE: return LIR_DivF;
    default: return -1;
    }
}

/* What V can be on the float path: -1 nothing (a constant neither float nor compact
   int), 0 an exact float to check at run time, 1 a constant whose double is *VALUE (a
   float, or a compact int, which float arithmetic converts exactly). */
static int
lw_float_operand(HirInstr *v, double *value)
{
    int64_t k;
    int known = lw_const_compact_int(v, &k);
    if (known > 0) {
        *value = (double)k;
        return 1;
    }
    while (hir_op_has(v->op, HF_ALIAS)) {
        v = v->in[0];
    }
    if (known < 0) {
        PyObject *o = v->param.spec == HS_OBJECT ? v->param.value.obj : NULL;
        if (o == NULL || !PyFloat_CheckExact(o)) {
            return -1;
        }
        *value = PyFloat_AS_DOUBLE(o);
        return 1;
    }
    return 0;
}

/* V's double when it is an exact float (else branches to SLOW), or its constant's. */
static int
lw_float_value(LwCtx *c, HirInstr *v, LirBlock *slow)
{
    double value;
    if (lw_float_operand(v, &value) > 0) {
        return lw_def_fp(c, LIR_Move, 1, lir_fimm(value), lir_fimm(value));
    }
    int obj = lw_reg(c, v);
    lw_branch_unless_type(c, lw_type_of(c, obj), &PyFloat_Type, slow);
    return lw_def_fp(c, LIR_LoadF, 1, lw_mem(obj, (int32_t)offsetof(PyFloatObject, ob_fval)),
                     lir_imm(0));
}

/* Does the float path apply to I: at least one operand may be a float at run time, no
   constant rules it out, and no constant divisor is zero? */
static bool
lw_maybe_floats(HirInstr *i, int op)
{
    double a, b;
    int ka = lw_float_operand(i->in[0], &a), kb = lw_float_operand(i->in[1], &b);
    return ka >= 0 && kb >= 0 && !(ka > 0 && kb > 0) && !(op == LIR_DivF && kb > 0 && b == 0.0);
}

/* BinaryOp. +, -, *, &, |, ^ on two compact exact ints are computed inline: the result
   is the small-int singleton when it is one (as the interpreter's would be), else
   PyLong_FromLongLong's. +, -, * and / on exact floats (or a float and a constant that
   float arithmetic converts exactly) are computed inline too, the result boxed by
   PyFloat_FromDouble; a zero divisor takes the helper, which raises. Anything else goes
   through Ci_JitRt_BinaryOp. */
static void
lw_binary_op(LwCtx *c, HirInstr *i)
{
    int iop = lw_maybe_compact_ints(i) ? lw_compact_int_op(i->index) : -1;
    int fop = lw_float_op(i->index);
    if (fop >= 0 && !lw_maybe_floats(i, fop)) {
        fop = -1;
    }
    if (iop < 0 && fop < 0) {
        lw_set(c, i, lw_checked(c, LW_CALL(c, Ci_JitRt_BinaryOp, NULL, lw_val(c, i->in[0]),
                                           lw_val(c, i->in[1]), lir_imm(i->index))));
        return;
    }
    LirBlock *slow = lw_new_block(c);
    slow->cold = true;
    LirBlock *from[4];
    int in[4], n = 0;
    if (iop >= 0) {
        LirBlock *not_ints = fop >= 0 ? lw_new_block(c) : slow, *big = lw_new_block(c);
        LirOperand va = lw_compact_int(c, i->in[0], not_ints);
        LirOperand vb = lw_compact_int(c, i->in[1], not_ints);
        /* Two-address: the result overwrites a copy of the left operand. */
        int v = lw_def(c, LIR_Move, 1, va, va);
        v = lw_def(c, (LirOp)iop, 2, lir_vreg(v), vb);
        int index = lw_def(c, LIR_Add, 2, lir_vreg(v), lir_imm(_PY_NSMALLNEGINTS));
        lw_branch_if(c, LIR_BranchCmp, LIR_CC_AE, index,
                     lir_imm(_PY_NSMALLNEGINTS + _PY_NSMALLPOSINTS), big);
        int offset = lw_def(c, LIR_Imul, 2, lir_vreg(index), lir_imm(sizeof(PyLongObject)));
        int base = lw_def(c, LIR_Move, 1, lir_imm((int64_t)(intptr_t)_PyLong_SMALL_INTS),
                          lir_imm((int64_t)(intptr_t)_PyLong_SMALL_INTS));
        in[n] = lw_def(c, LIR_Lea, 1, lir_mem(base, offset, 1, 0), lir_imm(0));
        lw_incref(c, in[n]);
        from[n++] = c->cur;
        c->cur = big;
        in[n] = lw_checked(c, LW_CALL(c, PyLong_FromLongLong, NULL, lir_vreg(v)));
        from[n++] = c->cur;
        c->cur = not_ints;
    }
    if (fop >= 0) {
        int fa = lw_float_value(c, i->in[0], slow);
        int fb = lw_float_value(c, i->in[1], slow);
        if (fop == LIR_DivF) {
            int zero = lw_def_fp(c, LIR_Move, 1, lir_fimm(0.0), lir_fimm(0.0));
            LirBlock *nonzero = lw_new_block(c);
            lw_tag(c, lir_cond_branch(c->f, c->cur, LIR_BranchCmpF, LIR_CC_EQ, lir_vreg(fb),
                                      lir_vreg(zero), slow, nonzero));
            c->cur = nonzero;
        }
        int r = lw_def_fp(c, LIR_Move, 1, lir_vreg(fa), lir_vreg(fa));
        r = lw_def_fp(c, (LirOp)fop, 2, lir_vreg(r), lir_vreg(fb));
        in[n] = lw_checked(c, LW_CALL(c, PyFloat_FromDouble, NULL, lir_vreg(r)));
        from[n++] = c->cur;
    }
    c->cur = slow;
    in[n] = lw_checked(c, LW_CALL(c, Ci_JitRt_BinaryOp, NULL, lw_val(c, i->in[0]),
                                  lw_val(c, i->in[1]), lir_imm(i->index)));
    lw_join(c, i, from, in, n);
}

/* CompareBool. Two compact exact ints, or two exact floats (or a float and a constant
   that float arithmetic converts exactly), are compared inline, with C's comparisons of
   doubles, which are Python's (NaN is unordered, and only != holds); anything else
   (and any error) goes through Ci_JitRt_CompareBool. */
static void
lw_compare_bool(LwCtx *c, HirInstr *i)
{
    static const LirCond cond[] = {LIR_CC_LT, LIR_CC_LE, LIR_CC_EQ,
                                   LIR_CC_NE, LIR_CC_GT, LIR_CC_GE};
    if (i->index < Py_LT || i->index > Py_GE) {
        c->why = "LIR lowering: CompareBool with an unknown comparison";
        return;
    }
    bool ints = lw_maybe_compact_ints(i), floats = lw_maybe_floats(i, LIR_CmpSetF);
    if (!ints && !floats) {
        lw_set(c, i, lw_checked_int(c, LW_CALL(c, Ci_JitRt_CompareBool, NULL,
                                               lw_val(c, i->in[0]), lw_val(c, i->in[1]),
                                               lir_imm(i->index))));
        return;
    }
    LirBlock *slow = lw_new_block(c);
    slow->cold = true;
    LirBlock *from[3];
    int in[3], n = 0;
    if (ints) {
        LirBlock *not_ints = floats ? lw_new_block(c) : slow;
        LirOperand va = lw_compact_int(c, i->in[0], not_ints);
        LirOperand vb = lw_compact_int(c, i->in[1], not_ints);
        in[n] = lw_def(c, LIR_CmpSet, 2, lir_vreg(lw_in_reg(c, va)), vb);
        c->cur->last->cc = (uint8_t)cond[i->index];
        from[n++] = c->cur;
        c->cur = not_ints;
    }
    if (floats) {
        int fa = lw_float_value(c, i->in[0], slow);
        int fb = lw_float_value(c, i->in[1], slow);
        in[n] = lw_def(c, LIR_CmpSetF, 2, lir_vreg(fa), lir_vreg(fb));
        c->cur->last->cc = (uint8_t)cond[i->index];
        from[n++] = c->cur;
    }
    c->cur = slow;
    in[n] = lw_checked_int(c, LW_CALL(c, Ci_JitRt_CompareBool, NULL, lw_val(c, i->in[0]),
                                      lw_val(c, i->in[1]), lir_imm(i->index)));
    lw_join(c, i, from, in, n);
}

/* Branches to SLOW unless IDX (a C integer; an immediate is known to be in [0, 2**20])
   indexes the first ob_size items at ITEMS of the list or tuple OBJ (a negative index
   goes to SLOW too), then loads and increfs that item. */
static int
lw_load_item(LwCtx *c, int obj, int items, LirOperand idx, LirBlock *slow)
{
    int item;
    int size = lw_def(c, LIR_Load64, 1, lw_mem(obj, (int32_t)offsetof(PyVarObject, ob_size)),
                      lir_imm(0));
    if (idx.kind == LIR_OPND_IMM) {
        lw_branch_if(c, LIR_BranchCmp, LIR_CC_LE, size, idx, slow);
        item = lw_def(c, LIR_Load64, 1,
                      lw_mem(items, (int32_t)(idx.imm * (int64_t)sizeof(PyObject *))),
                      lir_imm(0));
    }
    else {
        lw_branch_if(c, LIR_BranchCmp, LIR_CC_AE, idx.vreg, lir_vreg(size), slow);
        item = lw_def(c, LIR_Load64, 1, lir_mem(items, idx.vreg, 8, 0), lir_imm(0));
    }
    lw_incref(c, item);
    return item;
}

/* BinarySubscr: an exact list or tuple indexed by a compact int in range, as the
   interpreter's BINARY_SUBSCR_LIST_INT and _TUPLE_INT do it, inline; anything else
   goes through Ci_JitRt_BinarySubscr. */
static void
lw_binary_subscr(LwCtx *c, HirInstr *i)
{
    int64_t k;
    int known = lw_const_compact_int(i->in[1], &k);
    if (known < 0 || (known > 0 && (k < 0 || k > 1 << 20))) {
        lw_set(c, i, lw_checked(c, LW_CALL(c, Ci_JitRt_BinarySubscr, NULL,
                                           lw_val(c, i->in[0]), lw_val(c, i->in[1]))));
        return;
    }
    LirBlock *slow = lw_new_block(c), *tuple = lw_new_block(c);
    slow->cold = true;
    LirBlock *from[3];
    int in[3];
    int obj = lw_reg(c, i->in[0]);
    LirOperand idx = lw_compact_int(c, i->in[1], slow);
    int tp = lw_type_of(c, obj);
    lw_branch_unless_type(c, tp, &PyList_Type, tuple);
    int items = lw_def(c, LIR_Load64, 1,
                       lw_mem(obj, (int32_t)offsetof(PyListObject, ob_item)), lir_imm(0));
    in[0] = lw_load_item(c, obj, items, idx, slow);
    from[0] = c->cur;
    c->cur = tuple;
    lw_branch_unless_type(c, tp, &PyTuple_Type, slow);
    items = lw_def(c, LIR_Lea, 1, lw_mem(obj, (int32_t)offsetof(PyTupleObject, ob_item)),
                   lir_imm(0));
    in[1] = lw_load_item(c, obj, items, idx, slow);
    from[1] = c->cur;
    c->cur = slow;
    in[2] = lw_checked(c, LW_CALL(c, Ci_JitRt_BinarySubscr, NULL, lir_vreg(obj),
                                  lw_val(c, i->in[1])));
    lw_join(c, i, from, in, 2);
}

/* Do UNPACK's items get read before anything can change the sequence it unpacks? Its
   TupleItems follow it in its block (the builder emits them there and no pass moves
   them); between them may come only increfs and decrefs of its input, which is the
   sequence itself on the inline paths and keeps a reference there. A list's items are
   then read in place, as the interpreter's UNPACK_SEQUENCE_LIST does; otherwise a list
   is copied into a tuple first. */
static bool
lw_items_read_at_once(HirInstr *unpack)
{
    bool quiet = true;
    for (HirInstr *j = unpack->next; j != NULL; j = j->next) {
        bool mine = j->op == HIR_TupleItem && j->in[0] == unpack;
        if (mine && !quiet) {
            return false;
        }
        quiet = quiet && (mine || j->op == HIR_Incref
                          || (j->op == HIR_Decref && j->in[0] == unpack->in[0]));
    }
    return true;
}

/* One inline path of lw_unpack_sequence: when SEQ (of type TP) is exactly TYPE (else to
   OTHER) with N items (else to SLOW), a new reference to it; *ITEMS gets its items array,
   loaded from ITEMS_AT, or at ITEMS_AT itself with INLINE_ITEMS (a tuple's). */
static void
lw_unpack_inline(LwCtx *c, int seq, int tp, PyTypeObject *type, int64_t n, int32_t items_at,
                 bool inline_items, LirBlock *other, LirBlock *slow, int *items)
{
    lw_branch_unless_type(c, tp, type, other);
    int size = lw_def(c, LIR_Load64, 1, lw_mem(seq, (int32_t)offsetof(PyVarObject, ob_size)),
                      lir_imm(0));
    lw_branch_if(c, LIR_BranchCmp, LIR_CC_NE, size, lir_imm(n), slow);
    *items = lw_def(c, inline_items ? LIR_Lea : LIR_Load64, 1, lw_mem(seq, items_at),
                    lir_imm(0));
    lw_incref(c, seq);
}

/* UnpackSequence<n>: an exact tuple, or (lw_items_read_at_once) an exact list, of n
   items is unpacked inline: the sequence, with a new reference, is the value, and its
   items array (c->second) is what the TupleItems load from. Anything else goes through
   Ci_JitRt_Unpack, which makes a tuple of the items or raises the interpreter's
   errors. */
static void
lw_unpack_sequence(LwCtx *c, HirInstr *i)
{
    LirBlock *slow = lw_new_block(c), *join = lw_new_block(c);
    slow->cold = true;
    LirBlock *from[3];
    int obj[3], items[3], n = 0;
    int seq = lw_reg(c, i->in[0]);
    int tp = lw_type_of(c, seq);
    if (lw_items_read_at_once(i)) {
        LirBlock *tuple = lw_new_block(c);
        lw_unpack_inline(c, seq, tp, &PyList_Type, i->index,
                         (int32_t)offsetof(PyListObject, ob_item), false, tuple, slow,
                         &items[n]);
        obj[n] = seq;
        from[n++] = c->cur;
        c->cur = tuple;
    }
    lw_unpack_inline(c, seq, tp, &PyTuple_Type, i->index,
                     (int32_t)offsetof(PyTupleObject, ob_item), true, slow, slow, &items[n]);
    obj[n] = seq;
    from[n++] = c->cur;
    c->cur = slow;
    obj[n] = lw_checked(c, LW_CALL(c, Ci_JitRt_Unpack, NULL, lir_vreg(seq), lir_imm(i->index)));
    items[n] = lw_def(c, LIR_Lea, 1,
                      lw_mem(obj[n], (int32_t)offsetof(PyTupleObject, ob_item)), lir_imm(0));
    from[n++] = c->cur;
    for (int k = 0; k < n; k++) {
        lw_tag(c, lir_branch(c->f, from[k], join));
    }
    c->cur = join;
    lw_set(c, i, lw_phi(c, join, n, obj, from));
    c->second[i->id] = lw_phi(c, join, n, items, from);
}

static void
lw_instr(LwCtx *c, HirInstr *i)
{
    HirInstr **in = i->in;
    LirOperand name = lir_imm((int64_t)(intptr_t)i->name);
    int r, t;
    switch (i->op) {
    case HIR_Return:
        if (c->hir->code != NULL) {
            /* A frame object that outlives the call reports the returning line, as the
               interpreter's RETURN_VALUE leaves it. */
            lw_store_prev_instr(c, i->index);
        }
        lw_use(c, LIR_Return, 1, lw_val(c, in[0]), lir_imm(0));
        break;
    case HIR_Branch:
        lw_tag(c, lir_branch(c->f, c->cur, c->start[i->target[0]->id]));
        break;
    case HIR_CondBranch:
        r = lw_reg(c, in[0]);
        lw_tag(c, lir_cond_branch(c->f, c->cur, LIR_BranchTest, LIR_CC_NE, lir_vreg(r),
                                  lir_vreg(r), c->start[i->target[0]->id],
                                  c->start[i->target[1]->id]));
        break;
    case HIR_Deopt: {
        LirInstr *d = lw_use(c, LIR_Deopt, 0, lir_imm(0), lir_imm(0));
        d->deopt = lw_deopt(c, i->fs, LIR_DEOPT_GUARD, "Deopt");
        break;
    }
    case HIR_Yield: {
        /* The interpreter's YIELD_VALUE, with the value on top of the stack, suspends
           the frame; its next RESUME enters compiled code at the resume point. */
        LirInstr *d = lw_use(c, LIR_Deopt, 0, lir_imm(0), lir_imm(0));
        d->deopt = lw_deopt(c, i->fs, LIR_DEOPT_GUARD, "Yield");
        break;
    }
    case HIR_GuardType: {
        c->val[i->id] = lw_val(c, in[0]);
        PyTypeObject *type = lw_exact_type(i->param.bits);
        if (type == NULL) {
            c->why = "LIR lowering: GuardType on a type without one exact type";
            break;
        }
        r = lw_reg(c, in[0]);
        t = lw_type_of(c, r);
        lw_guard(c, LIR_DeoptCmp, LIR_CC_NE, t, lir_imm((int64_t)(intptr_t)type),
                 LIR_DEOPT_GUARD, "GuardType");
        break;
    }
    case HIR_GuardIs:
        c->val[i->id] = lw_val(c, in[0]);
        lw_guard(c, LIR_DeoptCmp, LIR_CC_NE, lw_reg(c, in[0]),
                 lir_imm((int64_t)(intptr_t)i->param.value.obj), LIR_DEOPT_GUARD,
                 "GuardIs");
        break;
    case HIR_CheckLocal:
        c->val[i->id] = lw_val(c, in[0]);
        r = lw_reg(c, in[0]);
        lw_guard(c, LIR_DeoptTest, LIR_CC_EQ, r, lir_vreg(r), LIR_DEOPT_GUARD,
                 "UnboundLocal");
        break;
    case HIR_RefineType:
        c->val[i->id] = lw_val(c, in[0]);
        break;
    case HIR_LoadConst:
        c->val[i->id] = lir_imm(i->param.spec == HS_INT ? i->param.value.i
                                : i->param.spec == HS_OBJECT
                                    ? (int64_t)(intptr_t)i->param.value.obj
                                    : 0);
        break;
    case HIR_LoadLocal:
        lw_set(c, i, lw_def(c, LIR_Load64, 1, lw_local(c, i->index), lir_imm(0)));
        break;
    case HIR_StoreLocal:
        t = lw_def(c, LIR_Load64, 1, lw_local(c, i->index), lir_imm(0));
        lw_use(c, LIR_Store64, 2, lw_local(c, i->index), lir_vreg(lw_reg(c, in[0])));
        lw_decref(c, t, true);
        break;
    case HIR_LoadCellValue:
        r = lw_def(c, LIR_Load64, 1,
                   lw_mem(lw_reg(c, in[0]), (int32_t)offsetof(PyCellObject, ob_ref)),
                   lir_imm(0));
        lw_guard(c, LIR_DeoptTest, LIR_CC_EQ, r, lir_vreg(r), LIR_DEOPT_GUARD,
                 "UnboundCell");
        lw_incref(c, r);
        lw_set(c, i, r);
        break;
    case HIR_StoreCellValue: {
        int cell = lw_reg(c, in[0]);
        LirOperand slot = lw_mem(cell, (int32_t)offsetof(PyCellObject, ob_ref));
        t = lw_def(c, LIR_Load64, 1, slot, lir_imm(0));
        lw_use(c, LIR_Store64, 2, slot, lir_vreg(lw_reg(c, in[1])));
        lw_decref(c, t, true);
        break;
    }
    case HIR_Phi: {
        int v;
        LirInstr *p = lw_tag(c, lir_phi(c->f, c->cur, LIR_GP, i->nin, &v));
        c->phis[c->nphis].hir = i;
        c->phis[c->nphis++].lir = p;
        lw_set(c, i, v);
        break;
    }
    case HIR_Incref:
        if (!lw_uncounted_const(in[0])) {
            lw_incref(c, lw_reg(c, in[0]));
        }
        break;
    case HIR_Decref:
    case HIR_XDecref:
        if (!lw_uncounted_const(in[0])) {
            lw_decref(c, lw_reg(c, in[0]), i->op == HIR_XDecref);
        }
        break;
    case HIR_LoadGlobal:
        lw_load_global(c, i);
        break;
    case HIR_LoadAttr:
        lw_load_attr(c, i);
        break;
    case HIR_StoreAttr:
        lw_store_attr(c, i);
        break;
    case HIR_DeleteAttr:
        lw_checked_int(c, LW_CALL(c, Ci_JitRt_DeleteAttr, NULL, lw_val(c, in[0]), name));
        break;
    case HIR_DeleteGlobal:
        lw_checked_int(c, LW_CALL(c, Ci_JitRt_DeleteGlobal, NULL, lir_vreg(c->frame), name));
        break;
    case HIR_ImportName:
        lw_set(c, i, lw_checked(c, LW_CALL(c, Ci_JitRt_ImportName, NULL, lir_vreg(c->frame),
                                           name, lw_val(c, in[0]), lw_val(c, in[1]))));
        break;
    case HIR_ImportFrom:
        lw_set(c, i, lw_checked(c, LW_CALL(c, Ci_JitRt_ImportFrom, NULL, lw_val(c, in[0]),
                                           name)));
        break;
    case HIR_StoreGlobal:
        lw_checked_int(c, LW_CALL(c, Ci_JitRt_StoreGlobal, NULL, lir_vreg(c->frame), name,
                                  lw_val(c, in[0])));
        break;
    case HIR_IsResumePoint: {
        intptr_t addr = c->hir->code ? (intptr_t)(_PyCode_CODE(c->hir->code) + i->index)
                                     : (intptr_t)i->index;
        t = lw_def(c, LIR_Load64, 1,
                   lw_mem(c->frame, (int32_t)offsetof(_PyInterpreterFrame, prev_instr)),
                   lir_imm(0));
        r = lw_def(c, LIR_Move, 1, lir_imm(addr), lir_imm(addr));
        lw_set(c, i, lw_def(c, LIR_CmpSet, 2, lir_vreg(t), lir_vreg(r)));
        c->cur->last->cc = LIR_CC_EQ;
        break;
    }
    case HIR_LoadStack:
        /* The reference moves into compiled code; the slot needs no clearing, since the
           collector sees none of a running body's frame (Ci_JitRunFrame sets stacktop
           to -1) and every exit writes the slots it hands back. */
        lw_set(c, i, lw_def(c, LIR_Load64, 1, lw_local(c, c->hir->nlocalsplus + i->index),
                            lir_imm(0)));
        break;
    case HIR_GetAwaitable:
        lw_set(c, i, lw_checked(c, LW_CALL(c, Ci_JitRt_GetAwaitable, NULL, lw_val(c, in[0]),
                                           lir_imm(i->index))));
        break;
    case HIR_GetYieldFromIter:
        lw_set(c, i, lw_checked(c, LW_CALL(c, Ci_JitRt_GetYieldFromIter, NULL,
                                           lw_val(c, in[0]),
                                           lir_imm(c->hir->code ? c->hir->code->co_flags
                                                                : 0))));
        break;
    case HIR_Send: {
        int second;
        r = LW_CALL(c, Ci_JitRt_Send, &second, lw_val(c, in[0]), lw_val(c, in[1]));
        lw_set(c, i, lw_checked(c, r));
        c->second[i->id] = second;
        break;
    }
    case HIR_CallAwaited: {
        int second, array = lw_stack_array(c, in, i->nin);
        r = LW_CALL(c, Ci_JitRt_CallAwaited, &second, lir_vreg(c->tstate), lir_vreg(array),
                    lir_imm(i->index), name);
        /* An exception from the callee's body is reported at the awaiting SEND, as the
           interpreter's eager awaits do: CALL, its caches, GET_AWAITABLE, LOAD_CONST. */
        LirInstr *g = lw_use(c, LIR_DeoptCmp, 2, lir_vreg(second),
                             lir_imm(CI_JIT_AWAIT_ERROR_IN_BODY));
        g->cc = (uint8_t)LIR_CC_EQ;
        g->deopt = lw_deopt(c, i->fs, LIR_DEOPT_ERROR, "Raise");
        g->deopt->bc_offset = i->fs->bc_offset + 1 + _PyOpcode_Caches[CALL] + 2;
        lw_set(c, i, lw_checked(c, r));
        c->second[i->id] = second;
        break;
    }
    case HIR_UnpackWaitHandle: {
        int second;
        lw_set(c, i, LW_CALL(c, Ci_JitRt_UnpackWaitHandle, &second, lw_val(c, in[0])));
        c->second[i->id] = second;
        break;
    }
    case HIR_TypeHasFlag: {
        int flags = lw_def(c, LIR_Load64, 1,
                           lw_mem(lw_type_of(c, lw_reg(c, in[0])),
                                  (int32_t)offsetof(PyTypeObject, tp_flags)),
                           lir_imm(0));
        lw_set(c, i, lw_def(c, LIR_TestSet, 2, lir_vreg(flags), lir_imm(i->index)));
        c->cur->last->cc = LIR_CC_NE;
        break;
    }
    case HIR_AsyncGenWrap:
        lw_set(c, i, lw_checked(c, LW_CALL(c, _PyAsyncGenValueWrapperNew, NULL,
                                           lw_val(c, in[0]))));
        break;
    case HIR_GetAIter:
        lw_set(c, i, lw_checked(c, LW_CALL(c, Ci_JitRt_GetAIter, NULL, lw_val(c, in[0]))));
        break;
    case HIR_GetANext:
        lw_set(c, i, lw_checked(c, LW_CALL(c, Ci_JitRt_GetANext, NULL, lw_val(c, in[0]))));
        break;
    case HIR_GetLen:
        lw_set(c, i, lw_checked(c, LW_CALL(c, Ci_JitRt_GetLen, NULL, lw_val(c, in[0]))));
        break;
    case HIR_MatchKeys:
        lw_set(c, i, lw_checked(c, LW_CALL(c, Ci_JitRt_MatchKeys, NULL, lw_val(c, in[0]),
                                           lw_val(c, in[1]))));
        break;
    case HIR_MatchClass:
        lw_set(c, i, lw_checked(c, LW_CALL(c, Ci_JitRt_MatchClass, NULL, lw_val(c, in[0]),
                                           lw_val(c, in[1]), lw_val(c, in[2]),
                                           lir_imm(i->index))));
        break;
    case HIR_PopExcept:
        LW_CALL(c, Ci_JitRt_PopExcept, NULL, lir_vreg(c->tstate), lw_val(c, in[0]));
        break;
    case HIR_BeforeWith:
    case HIR_BeforeAsyncWith: {
        int second;
        r = LW_CALL(c, Ci_JitRt_BeforeWith, &second, lw_val(c, in[0]),
                    lir_imm(i->op == HIR_BeforeAsyncWith));
        lw_checked(c, r);
        lw_set(c, i, r);
        c->second[i->id] = second;
        break;
    }
    case HIR_LoadMethod:
        lw_load_method(c, i);
        break;
    case HIR_GetSecondOutput:
        if (!hir_op_has(in[0]->op, HF_PAIR)) {
            c->why = "LIR lowering: GetSecondOutput of an instruction with one result";
            break;
        }
        lw_set(c, i, c->second[in[0]->id]);
        break;
    case HIR_BinarySubscr:
        lw_binary_subscr(c, i);
        break;
    case HIR_StoreSubscr:
        lw_checked_int(c, LW_CALL(c, Ci_JitRt_StoreSubscr, NULL, lw_val(c, in[0]),
                                  lw_val(c, in[1]), lw_val(c, in[2])));
        break;
    case HIR_DeleteSubscr:
        lw_checked_int(c, LW_CALL(c, PyObject_DelItem, NULL, lw_val(c, in[0]),
                                  lw_val(c, in[1])));
        break;
    case HIR_BinaryOp:
        lw_binary_op(c, i);
        break;
    case HIR_UnaryOp:
        lw_set(c, i, lw_checked(c, LW_CALL(c, Ci_JitRt_UnaryOp, NULL, lw_val(c, in[0]),
                                           lir_imm(i->index))));
        break;
    case HIR_Compare:
        lw_set(c, i, lw_checked(c, LW_CALL(c, Ci_JitRt_Compare, NULL, lw_val(c, in[0]),
                                           lw_val(c, in[1]), lir_imm(i->index))));
        break;
    case HIR_CompareBool:
        lw_compare_bool(c, i);
        break;
    case HIR_PtrEq:
        lw_set(c, i, lw_def(c, LIR_CmpSet, 2, lir_vreg(lw_reg(c, in[0])), lw_val(c, in[1])));
        c->cur->last->cc = LIR_CC_EQ;
        break;
    case HIR_ContainsOp:
        lw_set(c, i, lw_checked_int(c, LW_CALL(c, Ci_JitRt_Contains, NULL, lw_val(c, in[0]),
                                               lw_val(c, in[1]))));
        break;
    case HIR_IsTruthy:
        r = lw_def(c, LIR_IsTrue, 1, lir_vreg(lw_reg(c, in[0])), lir_imm(0));
        lw_guard(c, LIR_DeoptCmp, LIR_CC_LT, r, lir_imm(0), LIR_DEOPT_ERROR, "Raise");
        lw_set(c, i, r);
        break;
    case HIR_BoxBool: {
        int64_t span = (int64_t)((intptr_t)Py_True - (intptr_t)Py_False);
        r = lw_reg(c, in[0]);
        if (i->index) {
            r = lw_def(c, LIR_Xor, 2, lir_vreg(r), lir_imm(1));
        }
        r = lw_def(c, LIR_Imul, 2, lir_vreg(r), lir_imm(span));
        lw_set(c, i, lw_def(c, LIR_Add, 2, lir_vreg(r),
                            lir_imm((int64_t)(intptr_t)Py_False)));
        break;
    }
    case HIR_BuildTuple:
    case HIR_BuildList:
    case HIR_BuildSet:
    case HIR_BuildMap: {
        static void *const fns[] = {(void *)Ci_JitRt_BuildTuple, (void *)Ci_JitRt_BuildList,
                                    (void *)Ci_JitRt_BuildSet, (void *)Ci_JitRt_BuildMap};
        static const char *const names[] = {"Ci_JitRt_BuildTuple", "Ci_JitRt_BuildList",
                                            "Ci_JitRt_BuildSet", "Ci_JitRt_BuildMap"};
        _Static_assert(HIR_BuildMap - HIR_BuildTuple == 3, "ORDER HIR: the Build rows");
        int k = i->op - HIR_BuildTuple;
        int n = i->op == HIR_BuildMap ? i->nin / 2 : i->nin;
        LirOperand args[2] = {lir_vreg(lw_stack_array(c, in, i->nin)), lir_imm(n)};
        lw_set(c, i, lw_checked(c, lw_call(c, fns[k], names[k], 2, args, NULL)));
        break;
    }
    case HIR_BuildConstKeyMap: {
        LirOperand args[2] = {lir_vreg(lw_stack_array(c, in, i->nin)), lir_imm(i->nin - 1)};
        lw_set(c, i, lw_checked(c, lw_call(c, (void *)Ci_JitRt_BuildConstKeyMap,
                                           "Ci_JitRt_BuildConstKeyMap", 2, args, NULL)));
        break;
    }
    case HIR_BuildString:
    case HIR_BuildSlice: {
        LirOperand args[2] = {lir_vreg(lw_stack_array(c, in, i->nin)), lir_imm(i->nin)};
        void *fn = i->op == HIR_BuildString ? (void *)Ci_JitRt_BuildString
                                            : (void *)Ci_JitRt_BuildSlice;
        lw_set(c, i, lw_checked(c, lw_call(c, fn, i->op == HIR_BuildString
                                                      ? "Ci_JitRt_BuildString"
                                                      : "Ci_JitRt_BuildSlice",
                                           2, args, NULL)));
        break;
    }
    case HIR_FormatValue:
        lw_set(c, i, lw_checked(c, LW_CALL(c, Ci_JitRt_FormatValue, NULL, lw_val(c, in[0]),
                                           i->nin > 1 ? lw_val(c, in[1]) : lir_imm(0),
                                           lir_imm(i->index))));
        break;
    case HIR_ListExtend:
        lw_checked_int(c, LW_CALL(c, Ci_JitRt_ListExtend, NULL, lw_val(c, in[0]),
                                  lw_val(c, in[1])));
        break;
    case HIR_SetUpdate:
        lw_checked_int(c, LW_CALL(c, _PySet_Update, NULL, lw_val(c, in[0]), lw_val(c, in[1])));
        break;
    case HIR_DictUpdate:
        lw_checked_int(c, LW_CALL(c, Ci_JitRt_DictUpdate, NULL, lw_val(c, in[0]),
                                  lw_val(c, in[1])));
        break;
    case HIR_DictMerge:
        lw_checked_int(c, LW_CALL(c, Ci_JitRt_DictMerge, NULL, lw_val(c, in[0]),
                                  lw_val(c, in[1]), lw_val(c, in[2])));
        break;
    case HIR_ListToTuple:
        lw_set(c, i, lw_checked(c, LW_CALL(c, PyList_AsTuple, NULL, lw_val(c, in[0]))));
        break;
    case HIR_SetAdd:
        lw_checked_int(c, LW_CALL(c, PySet_Add, NULL, lw_val(c, in[0]), lw_val(c, in[1])));
        break;
    case HIR_MapAdd:
        lw_checked_int(c, LW_CALL(c, PyDict_SetItem, NULL, lw_val(c, in[0]),
                                  lw_val(c, in[1]), lw_val(c, in[2])));
        break;
    case HIR_CallEx:
        lw_set(c, i, lw_checked(c, LW_CALL(c, Ci_JitRt_CallEx, NULL, lw_val(c, in[0]),
                                           lw_val(c, in[1]),
                                           i->nin > 2 ? lw_val(c, in[2]) : lir_imm(0))));
        break;
    case HIR_MakeFunction: {
        int array = lw_stack_array(c, in, i->nin);
        lw_set(c, i, lw_checked(c, LW_CALL(c, Ci_JitRt_MakeFunction, NULL,
                                           lir_vreg(c->frame), lir_vreg(array),
                                           lir_imm(i->index))));
        break;
    }
    case HIR_ListAppend:
        lw_checked_int(c, LW_CALL(c, PyList_Append, NULL, lw_val(c, in[0]),
                                  lw_val(c, in[1])));
        break;
    case HIR_UnpackSequence:
        lw_unpack_sequence(c, i);
        break;
    case HIR_TupleItem:
        if (in[0]->op != HIR_UnpackSequence) {
            c->why = "LIR lowering: TupleItem of something other than UnpackSequence";
            break;
        }
        r = lw_def(c, LIR_Load64, 1,
                   lw_mem(c->second[in[0]->id], (int32_t)(sizeof(PyObject *) * (size_t)i->index)),
                   lir_imm(0));
        lw_incref(c, r);
        lw_set(c, i, r);
        break;
    case HIR_Call:
        lw_call_python(c, i, name);
        break;
    case HIR_UnpackEx:
        lw_set(c, i, lw_checked(c, LW_CALL(c, Ci_JitRt_UnpackEx, NULL, lw_val(c, in[0]),
                                           lir_imm(i->index))));
        break;
    case HIR_LoadBuildClass:
        lw_set(c, i, lw_checked(c, LW_CALL(c, Ci_JitRt_LoadBuildClass, NULL,
                                           lir_vreg(c->frame))));
        break;
    case HIR_GetIter:
        lw_set(c, i, lw_checked(c, LW_CALL(c, PyObject_GetIter, NULL, lw_val(c, in[0]))));
        break;
    case HIR_ForIterNext:
        lw_set(c, i, LW_CALL(c, Ci_JitRt_ForIterNext, NULL, lw_val(c, in[0])));
        break;
    case HIR_CheckError:
        r = lw_call(c, (void *)PyErr_Occurred, "PyErr_Occurred", 0, NULL, NULL);
        lw_guard(c, LIR_DeoptCmp, LIR_CC_NE, r, lir_imm(0), LIR_DEOPT_ERROR, "Raise");
        break;
    case HIR_CheckEvalBreaker:
        lw_check_eval_breaker(c, i);
        break;
    default:
        c->why = "LIR lowering: unsupported HIR instruction";
    }
}

/* -- Driver ------------------------------------------------------------------------------- */

static const char *
lw_label(LwCtx *c, HirInstr *i)
{
    char buf[160];
    int n = 0;
    if (hir_instr_has_output(i)) {
        n = snprintf(buf, sizeof buf, "v%d = ", i->id);
    }
    n += snprintf(buf + n, sizeof buf - (size_t)n, "%s", hir_op_info[i->op].name);
    HirParamKind pk = hir_op_info[i->op].param;
    if (pk == HP_Index || pk == HP_Call) {
        n += snprintf(buf + n, sizeof buf - (size_t)n, "<%lld>", (long long)i->index);
    }
    else if (pk == HP_Name && i->name != NULL && PyUnicode_Check(i->name)) {
        const char *s = PyUnicode_AsUTF8(i->name);
        n += snprintf(buf + n, sizeof buf - (size_t)n, "<%.40s>", s ? s : "?");
    }
    for (int k = 0; k < i->nin && n < (int)sizeof buf - 12; k++) {
        n += snprintf(buf + n, sizeof buf - (size_t)n, " v%d", i->in[k]->id);
    }
    return lir_strdup(c->f, buf);
}

/* Fills the phis: each input comes from the last LIR block of its HIR predecessor;
   constants get a Move there. */
static void
lw_fill_phis(LwCtx *c)
{
    for (int k = 0; k < c->nphis; k++) {
        HirInstr *h = c->phis[k].hir;
        LirInstr *p = c->phis[k].lir;
        HirBlock *b = h->block;
        c->origin = h;
        c->label = p->origin_label;
        for (int j = 0; j < h->nin; j++) {
            LirBlock *pred = c->end[b->preds[j]->id];
            LirOperand v = lw_val(c, h->in[j]);
            if (v.kind != LIR_OPND_VREG) {
                int m = lir_vreg_new(c->f, LIR_GP);
                LirInstr *mv = lir_instr_new(c->f, LIR_Move, 1, 1, 0);
                mv->out[0] = lir_vreg(m);
                mv->in[0] = v;
                lir_instr_insert_before(pred->last, lw_tag(c, mv));
                v = lir_vreg(m);
            }
            p->in[j] = v;
            p->targets[j] = pred;
        }
    }
}

int
lir_lower_ncaches(HirFunc *hir)
{
    int n = 0;
    for (HirBlock *b = hir->blocks; b != NULL; b = b->next_in_func) {
        for (HirInstr *i = b->first; i != NULL; i = i->next) {
            n += lw_has_cache(i->op);
        }
    }
    return n;
}

LirFunc *
lir_lower(HirFunc *hir, CiJitSiteCache *caches, bool labels, const char **why)
{
    int nblocks;
    HirBlock **rpo = hir_func_rpo(hir, &nblocks);
    LwCtx c = {0};
    c.hir = hir;
    c.caches = caches;
    c.f = lir_func_new(hir->name);
    int nids = hir->next_instr_id + 1, nbids = hir->next_block_id + 1;
    c.val = lir_alloc(c.f, sizeof(LirOperand) * (size_t)nids);
    c.second = lir_alloc(c.f, sizeof(int) * (size_t)nids);
    c.phis = lir_alloc(c.f, sizeof(LwPhi) * (size_t)nids);
    c.start = lir_alloc(c.f, sizeof(LirBlock *) * (size_t)nbids);
    c.end = lir_alloc(c.f, sizeof(LirBlock *) * (size_t)nbids);

    LirBlock *entry = lir_block_new(c.f);
    c.tstate = lir_def(c.f, entry, LIR_Arg, LIR_GP, 1, lir_imm(0));
    c.frame = lir_def(c.f, entry, LIR_Arg, LIR_GP, 1, lir_imm(1));
    for (int k = 0; k < nblocks; k++) {
        c.start[rpo[k]->id] = lir_block_new(c.f);
    }
    lir_branch(c.f, entry, c.start[hir->entry->id]);
    for (int k = 0; k < nblocks && c.why == NULL; k++) {
        HirBlock *b = rpo[k];
        c.cur = c.start[b->id];
        for (HirInstr *i = b->first; i != NULL && c.why == NULL; i = i->next) {
            c.origin = i;
            c.label = labels ? lw_label(&c, i) : NULL;
            lw_sync_prev_instr(&c, i);
            lw_instr(&c, i);
        }
        c.end[b->id] = c.cur;
    }
    if (c.why == NULL) {
        lw_fill_phis(&c);
    }
    if (c.why != NULL) {
        *why = c.why;
        lir_func_free(c.f);
        return NULL;
    }
    return c.f;
}
