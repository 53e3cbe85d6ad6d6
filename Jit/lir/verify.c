/* The LIR verifier: every instruction against its lir_ops.def shape, block structure,
   and SSA (one definition per vreg, dominating every use). */

#include "Jit/lir/lir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct VfState {
    LirFunc *f;
    char *err;
    size_t errlen;
    bool failed;
} VfState;

static void
vf_fail(VfState *s, const LirBlock *b, const LirInstr *i, const char *what)
{
    if (s->failed) {
        return;
    }
    s->failed = true;
    char *text = i ? lir_instr_print(s->f, i) : NULL;
    snprintf(s->err, s->errlen, "bb%d: %s%s%s", b->id, what, text ? ": " : "",
             text ? text : "");
    free(text);
}

static bool
vf_vreg_ok(VfState *s, const LirOperand *o, int cls)
{
    if (o->kind != LIR_OPND_VREG || o->vreg < 0 || o->vreg >= s->f->nvregs) {
        return false;
    }
    return cls < 0 || (int)lir_vreg_class(s->f, o->vreg) == cls;
}

/* Does operand O fit shape letter C? */
static bool
vf_fits(VfState *s, const LirOperand *o, char c)
{
    switch (c) {
    case 'G':
        return vf_vreg_ok(s, o, LIR_GP);
    case 'F':
        return vf_vreg_ok(s, o, LIR_FP);
    case 'V':
        return vf_vreg_ok(s, o, -1);
    case 'g':
        return vf_vreg_ok(s, o, LIR_GP) || o->kind == LIR_OPND_IMM;
    case 'v':
    case '*':
        return vf_vreg_ok(s, o, -1) || o->kind == LIR_OPND_IMM || o->kind == LIR_OPND_FIMM;
    case 'I':
        return o->kind == LIR_OPND_IMM;
    case 'M':
        return o->kind == LIR_OPND_MEM &&
               (o->vreg < 0 || (o->vreg < s->f->nvregs &&
                                lir_vreg_class(s->f, o->vreg) == LIR_GP)) &&
               (o->index < 0 || (o->index < s->f->nvregs &&
                                 lir_vreg_class(s->f, o->index) == LIR_GP)) &&
               (o->scale == 1 || o->scale == 2 || o->scale == 4 || o->scale == 8) &&
               o->imm == (int32_t)o->imm;
    }
    return false;
}

/* Checks a list of operands against the shape letters in [SHAPE, END). */
static bool
vf_shape(VfState *s, const LirOperand *ops, int n, const char *shape, const char *end,
         bool outputs)
{
    int k = 0;
    for (const char *c = shape; c < end; c++) {
        if (*c == '*') {
            for (; k < n; k++) {
                if (!vf_fits(s, &ops[k], outputs ? 'V' : '*')) {
                    return false;
                }
            }
            return true;
        }
        if (k == n) {
            return outputs && *c == 'v';
        }
        if (!vf_fits(s, &ops[k], outputs && *c == 'v' ? 'V' : *c)) {
            return false;
        }
        k++;
    }
    return k == n;
}

static void
vf_instr(VfState *s, LirBlock *b, LirInstr *i)
{
    const LirOpInfo *info = &lir_op_info[i->op];
    const char *eq = strchr(info->shape, '=');
    if (!vf_shape(s, i->out, i->nout, info->shape, eq, true)) {
        vf_fail(s, b, i, "outputs do not match the shape");
    }
    if (!vf_shape(s, i->in, i->nin, eq + 1, eq + strlen(eq), false)) {
        vf_fail(s, b, i, "inputs do not match the shape");
    }
    int nt = info->ntargets < 0 ? i->nin : info->ntargets;
    if (i->ntargets != nt) {
        vf_fail(s, b, i, "wrong number of targets");
    }
    for (int k = 0; k < i->ntargets; k++) {
        if (i->targets[k] == NULL || i->targets[k]->order < 0) {
            vf_fail(s, b, i, "target is not a block of the function");
        }
    }
    if (i->ntargets == 2 && i->targets[0] == i->targets[1]) {
        vf_fail(s, b, i, "both targets are the same block");
    }
    if (lir_op_has(i->op, LF_POST) && !s->f->allocated) {
        vf_fail(s, b, i, "allocator-only instruction before allocation");
    }
    if (lir_op_has(i->op, LF_CC) && i->cc >= LIR_NUM_CC) {
        vf_fail(s, b, i, "bad condition");
    }
    if (lir_op_has(i->op, LF_DEOPT) != (i->deopt != NULL)) {
        vf_fail(s, b, i, "deopt exit missing or unexpected");
    }
    if (i->deopt != NULL) {
        for (int k = 0; k < i->deopt->nvalues; k++) {
            if (!vf_fits(s, &i->deopt->values[k].value, 'g') ||
                i->deopt->values[k].slot < 0) {
                vf_fail(s, b, i, "deopt values must be GP vregs or immediates");
            }
        }
        for (int k = 0; k < i->deopt->nrelease; k++) {
            if (!vf_fits(s, &i->deopt->release[k], 'g')) {
                vf_fail(s, b, i, "released values must be GP vregs or immediates");
            }
        }
    }
    if ((i->op == LIR_Move || i->op == LIR_Phi) && i->nout == 1) {
        int cls = lir_vreg_class(s->f, i->out[0].vreg);
        for (int k = 0; k < i->nin; k++) {
            const LirOperand *o = &i->in[k];
            bool ok = o->kind == LIR_OPND_VREG ? (int)lir_vreg_class(s->f, o->vreg) == cls
                      : o->kind == LIR_OPND_FIMM ? cls == LIR_FP
                                                 : cls == LIR_GP;
            if (!ok) {
                vf_fail(s, b, i, "input class differs from the output's");
            }
        }
    }
    if (i->op == LIR_Call) {
        int ngp = 0, nfp = 0;
        for (int k = 1; k < i->nin; k++) {
            bool fp = i->in[k].kind == LIR_OPND_FIMM ||
                      (i->in[k].kind == LIR_OPND_VREG &&
                       lir_vreg_class(s->f, i->in[k].vreg) == LIR_FP);
            fp ? nfp++ : ngp++;
        }
        if (ngp > 6 || nfp > 8) {
            vf_fail(s, b, i, "more than 6 integer or 8 double arguments");
        }
        if (i->nout == 2 && lir_vreg_class(s->f, i->out[0].vreg) !=
                                lir_vreg_class(s->f, i->out[1].vreg)) {
            vf_fail(s, b, i, "both results of a call must have one class");
        }
    }
}

/* -- Dominance --------------------------------------------------------------------- */

static int
vf_intersect(const int *idom, int a, int b)
{
    while (a != b) {
        while (a > b) {
            a = idom[a];
        }
        while (b > a) {
            b = idom[b];
        }
    }
    return a;
}

/* idom[] over RPO indices (Cooper, Harvey and Kennedy's iterative algorithm). */
static void
vf_dominators(LirBlock **rpo, int n, int *idom)
{
    idom[0] = 0;
    for (int k = 1; k < n; k++) {
        idom[k] = -1;
    }
    for (bool changed = true; changed;) {
        changed = false;
        for (int k = 1; k < n; k++) {
            int nd = -1;
            for (int p = 0; p < rpo[k]->npreds; p++) {
                int q = rpo[k]->preds[p]->order;
                if (q < 0 || idom[q] < 0) {
                    continue;
                }
                nd = nd < 0 ? q : vf_intersect(idom, nd, q);
            }
            if (nd != idom[k]) {
                idom[k] = nd;
                changed = true;
            }
        }
    }
}

static bool
vf_dominates(const int *idom, int a, int b)
{
    while (b != a && b != 0) {
        b = idom[b];
    }
    return a == b;
}

int
lir_verify(LirFunc *f, char *err, size_t errlen)
{
    VfState s = {f, err, errlen, false};
    err[0] = '\0';
    if (f->nblocks == 0) {
        snprintf(err, errlen, "function has no blocks");
        return -1;
    }
    lir_func_compute_preds(f);
    LirBlock **rpo = malloc(sizeof(LirBlock *) * f->nblocks);
    int n = lir_func_rpo(f, rpo);
    int *idom = malloc(sizeof(int) * n);
    int *def_block = malloc(sizeof(int) * (f->nvregs + 1));
    int *def_pos = malloc(sizeof(int) * (f->nvregs + 1));
    for (int v = 0; v < f->nvregs; v++) {
        def_block[v] = -1;
    }
    vf_dominators(rpo, n, idom);
    if (f->blocks[0]->npreds != 0) {
        vf_fail(&s, f->blocks[0], NULL, "the entry block has predecessors");
    }
    /* Structure, shapes, and one definition per vreg. */
    for (int k = 0; k < n && !s.failed; k++) {
        LirBlock *b = rpo[k];
        int pos = 0;
        bool body = false;
        if (b->last == NULL || !lir_op_is_term(b->last->op)) {
            vf_fail(&s, b, b->last, "block does not end in a terminator");
        }
        for (LirInstr *i = b->first; i && !s.failed; i = i->next, pos++) {
            vf_instr(&s, b, i);
            if (lir_op_is_term(i->op) && i != b->last) {
                vf_fail(&s, b, i, "terminator in the middle of a block");
            }
            if (i->op == LIR_Phi) {
                for (int p = 0; p < i->nin; p++) {
                    if (i->in[p].kind != LIR_OPND_VREG) {
                        vf_fail(&s, b, i, "phi inputs must be vregs");
                    }
                }
                if (body) {
                    vf_fail(&s, b, i, "phi after the block's first instruction");
                }
                if (i->nin != b->npreds) {
                    vf_fail(&s, b, i, "phi inputs do not match the predecessors");
                }
                for (int p = 0; p < i->nin && !s.failed; p++) {
                    bool found = false;
                    for (int q = 0; q < b->npreds; q++) {
                        found |= b->preds[q] == i->targets[p];
                    }
                    for (int q = 0; q < p; q++) {
                        found &= i->targets[q] != i->targets[p];
                    }
                    if (!found) {
                        vf_fail(&s, b, i, "phi names a block that is not a predecessor");
                    }
                }
            }
            else if (i->op == LIR_Arg) {
                if (b != f->blocks[0] || body) {
                    vf_fail(&s, b, i, "Arg outside the start of the entry block");
                }
            }
            else {
                body = true;
            }
            for (int o = 0; o < i->nout && !s.failed; o++) {
                int v = i->out[o].vreg;
                if (def_block[v] >= 0 && !f->allocated) {
                    vf_fail(&s, b, i, "vreg defined twice");
                }
                def_block[v] = k;
                def_pos[v] = pos;
            }
        }
    }
    /* Every use is dominated by its definition. */
    for (int k = 0; k < n && !s.failed && !f->allocated; k++) {
        LirBlock *b = rpo[k];
        int pos = 0;
        for (LirInstr *i = b->first; i && !s.failed; i = i->next, pos++) {
            int nu = lir_instr_nuses(i);
            for (int u = 0; u < nu && !s.failed; u++) {
                LirOperand *o = lir_instr_use_at(i, u);
                int vs[2] = {o->kind == LIR_OPND_VREG || o->kind == LIR_OPND_MEM ? o->vreg
                                                                                 : -1,
                             o->kind == LIR_OPND_MEM ? o->index : -1};
                for (int j = 0; j < 2; j++) {
                    int v = vs[j];
                    if (v < 0) {
                        continue;
                    }
                    int db = def_block[v];
                    bool ok;
                    if (i->op == LIR_Phi) {
                        int pb = i->targets[u]->order;
                        ok = db >= 0 && pb >= 0 && vf_dominates(idom, db, pb);
                    }
                    else {
                        ok = db >= 0 && (db == k ? def_pos[v] < pos
                                                 : vf_dominates(idom, db, k));
                    }
                    if (!ok) {
                        vf_fail(&s, b, i, "use not dominated by its definition");
                    }
                }
            }
        }
    }
    free(rpo);
    free(idom);
    free(def_block);
    free(def_pos);
    return s.failed ? -1 : 0;
}
