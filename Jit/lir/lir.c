/* LIR data structures: the opcode table, the function's memory and the builder. */

#include "Jit/lir/lir.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const LirOpInfo lir_op_info[LIR_NUM_OPS] = {
#define X(name, shape, targets, flags) {#name, shape, targets, flags},
#include "Jit/lir/lir_ops.def"
#undef X
};

_Static_assert(LIR_Deopt == LIR_NUM_OPS - 1, "terminators must close lir_ops.def");
_Static_assert(LIR_Phi + 1 == LIR_Branch, "lir_op_is_term is a range check");
_Static_assert((LIR_CC_EQ ^ 1) == LIR_CC_NE && (LIR_CC_LT ^ 1) == LIR_CC_GE &&
                   (LIR_CC_LE ^ 1) == LIR_CC_GT && (LIR_CC_B ^ 1) == LIR_CC_AE &&
                   (LIR_CC_BE ^ 1) == LIR_CC_A,
               "ORDER CC: opposites are paired");

const char *const lir_cc_names[LIR_NUM_CC] = {
    "eq", "ne", "lt", "ge", "le", "gt", "b", "ae", "be", "a",
};

const char *const lir_reg_names[LIR_NUM_REGS] = {
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
    "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
    "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
};

/* -- Memory: the function's arena ----------------------------------------------------- */

void *
lir_alloc(LirFunc *f, size_t size)
{
    return jit_arena_alloc(f->arena, size);
}

char *
lir_strdup(LirFunc *f, const char *s)
{
    return jit_arena_strdup(f->arena, s);
}

/* Grows an arena array of ELEM-sized items to hold at least NEED. */
static void *
lir_grow(LirFunc *f, void *arr, int *cap, int need, size_t elem)
{
    if (need <= *cap) {
        return arr;
    }
    int ncap = *cap ? *cap * 2 : 8;
    while (ncap < need) {
        ncap *= 2;
    }
    void *n = lir_alloc(f, elem * (size_t)ncap);
    if (arr != NULL) {
        memcpy(n, arr, elem * (size_t)*cap);
    }
    *cap = ncap;
    return n;
}

LirFunc *
lir_func_new(const char *name)
{
    JitArena *a = jit_arena_new();
    LirFunc *f = jit_arena_alloc(a, sizeof(LirFunc));
    f->arena = a;
    f->name = lir_strdup(f, name ? name : "f");
    return f;
}

void
lir_func_free(LirFunc *f)
{
    if (f != NULL) {
        jit_arena_free(f->arena);
    }
}

/* -- Builder ---------------------------------------------------------------------------- */

LirBlock *
lir_block_new(LirFunc *f)
{
    LirBlock *b = lir_alloc(f, sizeof(LirBlock));
    b->id = f->nblocks;
    f->blocks = lir_grow(f, f->blocks, &f->blocks_cap, f->nblocks + 1, sizeof(LirBlock *));
    f->blocks[f->nblocks++] = b;
    return b;
}

int
lir_vreg_new(LirFunc *f, LirClass cls)
{
    f->vreg_class = lir_grow(f, f->vreg_class, &f->vregs_cap, f->nvregs + 1, 1);
    f->vreg_class[f->nvregs] = (uint8_t)cls;
    return f->nvregs++;
}

LirOperand
lir_vreg(int vreg)
{
    LirOperand o = {0};
    o.kind = LIR_OPND_VREG;
    o.vreg = vreg;
    o.index = -1;
    return o;
}

LirOperand
lir_imm(int64_t value)
{
    LirOperand o = {0};
    o.kind = LIR_OPND_IMM;
    o.vreg = o.index = -1;
    o.imm = value;
    return o;
}

LirOperand
lir_fimm(double value)
{
    LirOperand o = {0};
    o.kind = LIR_OPND_FIMM;
    o.vreg = o.index = -1;
    memcpy(&o.imm, &value, sizeof(double));
    return o;
}

LirOperand
lir_mem(int base, int index, int scale, int32_t disp)
{
    LirOperand o = {0};
    o.kind = LIR_OPND_MEM;
    o.vreg = base;
    o.index = index;
    o.scale = (uint8_t)(scale ? scale : 1);
    o.imm = disp;
    return o;
}

LirInstr *
lir_instr_new(LirFunc *f, LirOp op, int nout, int nin, int ntargets)
{
    LirInstr *i = lir_alloc(f, sizeof(LirInstr));
    i->op = op;
    i->nout = (uint8_t)nout;
    i->nin = (uint16_t)nin;
    i->out = nout ? lir_alloc(f, sizeof(LirOperand) * nout) : NULL;
    i->in = nin ? lir_alloc(f, sizeof(LirOperand) * nin) : NULL;
    i->ntargets = ntargets;
    i->targets = ntargets ? lir_alloc(f, sizeof(LirBlock *) * ntargets) : NULL;
    i->pos = -1;
    return i;
}

void
lir_block_append(LirBlock *b, LirInstr *i)
{
    i->block = b;
    i->prev = b->last;
    i->next = NULL;
    if (b->last) {
        b->last->next = i;
    }
    else {
        b->first = i;
    }
    b->last = i;
}

void
lir_instr_insert_before(LirInstr *where, LirInstr *i)
{
    LirBlock *b = where->block;
    i->block = b;
    i->next = where;
    i->prev = where->prev;
    if (where->prev) {
        where->prev->next = i;
    }
    else {
        b->first = i;
    }
    where->prev = i;
}

void
lir_instr_remove(LirInstr *i)
{
    LirBlock *b = i->block;
    if (i->prev) {
        i->prev->next = i->next;
    }
    else {
        b->first = i->next;
    }
    if (i->next) {
        i->next->prev = i->prev;
    }
    else {
        b->last = i->prev;
    }
    i->prev = i->next = NULL;
}

static LirInstr *
lir_append_va(LirFunc *f, LirBlock *b, LirOp op, int nout, int nin, va_list ap)
{
    int nt = lir_op_info[op].ntargets > 0 ? lir_op_info[op].ntargets : 0;
    LirInstr *i = lir_instr_new(f, op, nout, nin, nt);
    for (int k = 0; k < nin; k++) {
        i->in[k] = va_arg(ap, LirOperand);
    }
    if (lir_op_has(op, LF_DEOPT)) {
        i->deopt = lir_deopt_new(f, LIR_DEOPT_GUARD, -1, 0, "", 0);
    }
    lir_block_append(b, i);
    return i;
}

int
lir_def(LirFunc *f, LirBlock *b, LirOp op, LirClass cls, int nin, ...)
{
    va_list ap;
    va_start(ap, nin);
    LirInstr *i = lir_append_va(f, b, op, 1, nin, ap);
    va_end(ap);
    int v = lir_vreg_new(f, cls);
    i->out[0] = lir_vreg(v);
    return v;
}

LirInstr *
lir_use(LirFunc *f, LirBlock *b, LirOp op, int nin, ...)
{
    va_list ap;
    va_start(ap, nin);
    LirInstr *i = lir_append_va(f, b, op, 0, nin, ap);
    va_end(ap);
    return i;
}

void
lir_set_targets(LirInstr *i, LirBlock *t0, LirBlock *t1)
{
    if (i->ntargets > 0) {
        i->targets[0] = t0;
    }
    if (i->ntargets > 1) {
        i->targets[1] = t1;
    }
}

LirInstr *
lir_branch(LirFunc *f, LirBlock *b, LirBlock *to)
{
    LirInstr *i = lir_use(f, b, LIR_Branch, 0);
    i->targets[0] = to;
    return i;
}

LirInstr *
lir_cond_branch(LirFunc *f, LirBlock *b, LirOp op, LirCond cc, LirOperand a, LirOperand c,
                LirBlock *t, LirBlock *e)
{
    LirInstr *i = lir_use(f, b, op, 2, a, c);
    i->cc = (uint8_t)cc;
    lir_set_targets(i, t, e);
    return i;
}

LirInstr *
lir_call(LirFunc *f, LirBlock *b, void *fn, const char *name, int ret0, int ret1,
         int nargs, const LirOperand *args, int *out0, int *out1)
{
    int nout = ret1 >= 0 ? 2 : ret0 >= 0 ? 1 : 0;
    LirInstr *i = lir_instr_new(f, LIR_Call, nout, nargs + 1, 0);
    i->in[0] = lir_imm((int64_t)(intptr_t)fn);
    for (int k = 0; k < nargs; k++) {
        i->in[k + 1] = args[k];
    }
    i->callee_name = name ? lir_strdup(f, name) : NULL;
    if (nout >= 1) {
        int v = lir_vreg_new(f, (LirClass)ret0);
        i->out[0] = lir_vreg(v);
        if (out0) {
            *out0 = v;
        }
    }
    if (nout == 2) {
        int v = lir_vreg_new(f, (LirClass)ret1);
        i->out[1] = lir_vreg(v);
        if (out1) {
            *out1 = v;
        }
    }
    lir_block_append(b, i);
    return i;
}

LirInstr *
lir_phi(LirFunc *f, LirBlock *b, LirClass cls, int n, int *out)
{
    LirInstr *i = lir_instr_new(f, LIR_Phi, 1, n, n);
    int v = lir_vreg_new(f, cls);
    i->out[0] = lir_vreg(v);
    if (out) {
        *out = v;
    }
    lir_block_append(b, i);
    return i;
}

LirDeopt *
lir_deopt_new(LirFunc *f, LirDeoptKind kind, int bc_offset, int stacktop,
              const char *reason, int nvalues)
{
    LirDeopt *d = lir_alloc(f, sizeof(LirDeopt));
    d->kind = kind;
    d->bc_offset = bc_offset;
    d->stacktop = stacktop;
    d->reason = lir_strdup(f, reason ? reason : "");
    d->nvalues = nvalues;
    d->values = nvalues ? lir_alloc(f, sizeof(LirDeoptValue) * nvalues) : NULL;
    return d;
}

void
lir_deopt_set_release(LirFunc *f, LirDeopt *d, int nrelease)
{
    d->nrelease = nrelease;
    d->release = nrelease ? lir_alloc(f, sizeof(LirOperand) * nrelease) : NULL;
}

/* -- CFG ------------------------------------------------------------------------------- */

LirBlock *
lir_block_succ(const LirBlock *b, int k, int *nsucc)
{
    const LirInstr *t = b->last;
    int n = (t && lir_op_is_term(t->op)) ? t->ntargets : 0;
    if (nsucc) {
        *nsucc = n;
    }
    return k < n ? t->targets[k] : NULL;
}

void
lir_func_compute_preds(LirFunc *f)
{
    for (int k = 0; k < f->nblocks; k++) {
        f->blocks[k]->npreds = 0;
    }
    for (int k = 0; k < f->nblocks; k++) {
        LirBlock *b = f->blocks[k];
        int n;
        lir_block_succ(b, 0, &n);
        for (int s = 0; s < n; s++) {
            LirBlock *t = b->last->targets[s];
            if (t == NULL || (s == 1 && t == b->last->targets[0])) {
                continue;
            }
            t->preds = lir_grow(f, t->preds, &t->preds_cap, t->npreds + 1,
                                sizeof(LirBlock *));
            t->preds[t->npreds++] = b;
        }
    }
}

/* Reverse postorder of the blocks reachable from the entry, into OUT (room for
   f->nblocks); sets every block's `order` (-1: unreachable). Returns the count. */
int
lir_func_rpo(LirFunc *f, LirBlock **out)
{
    int n = f->nblocks, count = 0, sp = 0;
    if (n == 0) {
        return 0;
    }
    int *stack = malloc(sizeof(int) * n);
    int *next = calloc((size_t)n, sizeof(int));
    int *post = malloc(sizeof(int) * n);
    bool *seen = calloc((size_t)n, sizeof(bool));
    for (int k = 0; k < n; k++) {
        f->blocks[k]->order = k; /* its index, while the walk runs */
    }
    stack[sp++] = 0;
    seen[0] = true;
    while (sp > 0) {
        int idx = stack[sp - 1];
        int nsucc;
        LirBlock *s = lir_block_succ(f->blocks[idx], next[idx], &nsucc);
        if (next[idx] < nsucc) {
            next[idx]++;
            if (s != NULL && s->order >= 0 && s->order < n && f->blocks[s->order] == s &&
                !seen[s->order]) {
                seen[s->order] = true;
                stack[sp++] = s->order;
            }
            continue;
        }
        post[count++] = idx;
        sp--;
    }
    for (int k = 0; k < n; k++) {
        f->blocks[k]->order = -1;
    }
    for (int k = 0; k < count; k++) {
        out[k] = f->blocks[post[count - 1 - k]];
        out[k]->order = k;
    }
    free(stack);
    free(next);
    free(post);
    free(seen);
    return count;
}
