/* The LIR printer. Its output is exactly what parse.c reads back:

     func NAME {
     bb0:
       %0 = Arg 0                       GP vregs print as %N, double vregs as %fN
       %2 = Load64 [%0 + %1*8 + 16]     memory: [base + index*scale + disp]
       %3, %4 = Call @PyFoo, %0, 5      callee first: @symbol, an address, or a vreg
       DeoptCmp eq %3, 0 deopt(guard, 12, 2, "reason") [%2@5 owned, 0@6] release %7
       BranchCmp lt %0, %3, bb1, bb2
     bb1:
       %5 = Phi (bb0, %0), (bb2, %7)
     }

   After allocation every vreg carries its location (%3:rax, %3:s2 for spill slot 2). A
   trailing `# text` is the instruction's origin label (the HIR it came from), which the
   parser keeps; other comment lines are skipped. */

#include "Jit/lir/lir.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct PrBuf {
    char *data;
    size_t len, cap;
} PrBuf;

static void
pr_printf(PrBuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 64) * 2;
        b->data = realloc(b->data, b->cap);
        if (b->data == NULL) {
            abort();
        }
    }
}

static void
pr_loc(PrBuf *b, LirLoc loc)
{
    if (loc.kind == LIR_LOC_REG) {
        pr_printf(b, ":%s", lir_reg_names[loc.index]);
    }
    else if (loc.kind == LIR_LOC_STACK) {
        pr_printf(b, ":s%d", loc.index);
    }
}

static void
pr_vreg(PrBuf *b, const LirFunc *f, int v, LirLoc loc)
{
    pr_printf(b, lir_vreg_class(f, v) == LIR_FP ? "%%f%d" : "%%%d", v);
    pr_loc(b, loc);
}

static void
pr_operand(PrBuf *b, const LirFunc *f, const LirOperand *o)
{
    switch (o->kind) {
    case LIR_OPND_VREG:
        pr_vreg(b, f, o->vreg, o->loc);
        break;
    case LIR_OPND_IMM:
        pr_printf(b, "%" PRId64, o->imm);
        break;
    case LIR_OPND_FIMM: {
        double d;
        char tmp[40];
        memcpy(&d, &o->imm, sizeof d);
        snprintf(tmp, sizeof tmp, "%.17g", d);
        pr_printf(b, "%s%s", tmp, strpbrk(tmp, ".eni") ? "" : ".0");
        break;
    }
    case LIR_OPND_MEM: {
        const char *sep = "";
        pr_printf(b, "[");
        if (o->vreg >= 0) {
            pr_vreg(b, f, o->vreg, o->loc);
            sep = " + ";
        }
        if (o->index >= 0) {
            pr_printf(b, "%s", sep);
            pr_vreg(b, f, o->index, o->index_loc);
            pr_printf(b, "*%d", o->scale);
            sep = " + ";
        }
        if (o->imm != 0 || *sep == '\0') {
            if (*sep && o->imm < 0) {
                pr_printf(b, " - %" PRId64, -o->imm);
            }
            else {
                pr_printf(b, "%s%" PRId64, sep, o->imm);
            }
        }
        pr_printf(b, "]");
        break;
    }
    default:
        pr_printf(b, "?");
    }
}

static void
pr_instr(PrBuf *b, const LirFunc *f, const LirInstr *i)
{
    for (int k = 0; k < i->nout; k++) {
        pr_printf(b, k ? ", " : "");
        pr_vreg(b, f, i->out[k].vreg, i->out[k].loc);
    }
    pr_printf(b, "%s%s", i->nout ? " = " : "", lir_op_info[i->op].name);
    if (lir_op_has(i->op, LF_CC)) {
        pr_printf(b, " %s", lir_cc_names[i->cc]);
    }
    for (int k = 0; k < i->nin; k++) {
        pr_printf(b, k ? ", " : " ");
        if (i->op == LIR_Phi) {
            pr_printf(b, "(bb%d, ", i->targets[k]->id);
            pr_operand(b, f, &i->in[k]);
            pr_printf(b, ")");
        }
        else if (k == 0 && i->op == LIR_Call && i->callee_name != NULL) {
            pr_printf(b, "@%s", i->callee_name);
        }
        else {
            pr_operand(b, f, &i->in[k]);
        }
    }
    if (i->op != LIR_Phi) {
        for (int k = 0; k < i->ntargets; k++) {
            pr_printf(b, "%sbb%d", (k || i->nin) ? ", " : " ", i->targets[k]->id);
        }
    }
    if (i->deopt != NULL) {
        const LirDeopt *d = i->deopt;
        pr_printf(b, " deopt(%s, %d, %d, \"%s\") [",
                  d->kind == LIR_DEOPT_ERROR ? "error" : "guard", d->bc_offset,
                  d->stacktop, d->reason);
        for (int k = 0; k < d->nvalues; k++) {
            pr_printf(b, k ? ", " : "");
            pr_operand(b, f, &d->values[k].value);
            pr_printf(b, "@%d%s", d->values[k].slot, d->values[k].owned ? " owned" : "");
        }
        pr_printf(b, "]");
        for (int k = 0; k < d->nrelease; k++) {
            pr_printf(b, k ? ", " : " release ");
            pr_operand(b, f, &d->release[k]);
        }
    }
}

char *
lir_instr_print(const LirFunc *f, const LirInstr *i)
{
    PrBuf b = {0};
    pr_printf(&b, "");
    pr_instr(&b, f, i);
    return b.data;
}

char *
lir_func_print(const LirFunc *f)
{
    PrBuf b = {0};
    pr_printf(&b, "func %s {\n", f->name);
    for (int k = 0; k < f->nblocks; k++) {
        const LirBlock *bb = f->blocks[k];
        pr_printf(&b, "bb%d:\n", bb->id);
        for (const LirInstr *i = bb->first; i != NULL; i = i->next) {
            pr_printf(&b, "  ");
            pr_instr(&b, f, i);
            if (i->origin_label != NULL) {
                pr_printf(&b, "  # %s", i->origin_label);
            }
            pr_printf(&b, "\n");
        }
    }
    pr_printf(&b, "}\n");
    return b.data;
}
