/* The HIR text form, written. parse.c reads the same form back:

     fun mod:qualname {
       bb0 {
         v0:Object = LoadLocal<0>
         v3:Object = BinaryOp<0> v0 v2 {bc 8 stack v0 v2}
         CondBranch<bb1, bb2> v4
       }
       bb1 (preds bb0, bb3) {
         v7:Object = Phi v3 v6
         ...
       }
     }

   Phi inputs follow the order of the block's printed predecessors. A frame state prints as
   {bc OFFSET stack VALUES [release VALUES]}; after refcount insertion a stack value is
   suffixed by + (the exit stores a new reference) or - (it stores NULL). */

#include "Jit/hir/hir.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *buf;
    size_t len, cap;
} PrBuf;

static void
pr_put(PrBuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)(n > 0 ? n : 0) + 256;
        char *p = realloc(b->buf, cap);
        if (p == NULL) {
            Py_FatalError("JIT: out of memory");
        }
        b->buf = p;
        b->cap = cap;
    }
}

static void
pr_name(PrBuf *b, PyObject *name)
{
    if (name == NULL) {
        pr_put(b, "?");
    }
    else if (PyUnicode_Check(name)) {
        pr_put(b, "%s", PyUnicode_AsUTF8(name));
    }
    else if (PyTuple_Check(name)) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(name); i++) {
            pr_put(b, "%s%s", i ? "," : "", PyUnicode_AsUTF8(PyTuple_GET_ITEM(name, i)));
        }
    }
}

static void
pr_params(PrBuf *b, const HirInstr *i)
{
    char tbuf[256];
    switch (hir_op_info[i->op].param) {
    case HP_None:
        return;
    case HP_Type:
        hir_type_format(i->param, tbuf, sizeof(tbuf));
        pr_put(b, "<%s>", tbuf);
        return;
    case HP_Index:
        pr_put(b, "<%lld>", (long long)i->index);
        return;
    case HP_Name:
        pr_put(b, "<");
        pr_name(b, i->name);
        pr_put(b, ">");
        return;
    case HP_Targets:
        if (i->op == HIR_CondBranch) {
            pr_put(b, "<bb%d, bb%d>", i->target[0]->id, i->target[1]->id);
        }
        else {
            pr_put(b, "<bb%d>", i->target[0]->id);
        }
        return;
    case HP_Call:
        pr_put(b, "<%lld", (long long)i->index);
        if (i->name != NULL) {
            pr_put(b, ", kw=");
            pr_name(b, i->name);
        }
        pr_put(b, ">");
        return;
    }
}

static void
pr_instr(PrBuf *b, const HirInstr *i)
{
    char tbuf[256];
    pr_put(b, "    ");
    if (hir_instr_has_output(i)) {
        hir_type_format(i->type, tbuf, sizeof(tbuf));
        pr_put(b, "v%d:%s = ", i->id, tbuf);
    }
    pr_put(b, "%s", hir_op_info[i->op].name);
    pr_params(b, i);
    for (int k = 0; k < i->nin; k++) {
        pr_put(b, " v%d", i->in[k]->id);
    }
    if (i->fs != NULL) {
        static const char *const kind_suffix[] = {"", "+", "-"};
        pr_put(b, " {bc %d stack", i->fs->bc_offset);
        for (int k = 0; k < i->fs->nstack; k++) {
            pr_put(b, " v%d%s", i->fs->stack[k]->id,
                   i->fs->slot_kind ? kind_suffix[i->fs->slot_kind[k]] : "");
        }
        if (i->fs->nrelease > 0) {
            pr_put(b, " release");
            for (int k = 0; k < i->fs->nrelease; k++) {
                pr_put(b, " v%d", i->fs->release[k]->id);
            }
        }
        pr_put(b, "}");
    }
    pr_put(b, "\n");
}

char *
hir_func_to_string(const HirFunc *func)
{
    PrBuf b = {NULL, 0, 0};
    pr_put(&b, "fun %s {\n", func->name);
    for (const HirBlock *blk = func->blocks; blk; blk = blk->next_in_func) {
        pr_put(&b, "  bb%d", blk->id);
        if (blk->npreds > 0) {
            pr_put(&b, " (preds");
            for (int k = 0; k < blk->npreds; k++) {
                pr_put(&b, "%s bb%d", k ? "," : "", blk->preds[k]->id);
            }
            pr_put(&b, ")");
        }
        pr_put(&b, " {\n");
        for (const HirInstr *i = blk->first; i; i = i->next) {
            pr_instr(&b, i);
        }
        pr_put(&b, "  }\n");
    }
    pr_put(&b, "}\n");
    return b.buf;
}

void
hir_func_print(FILE *out, const HirFunc *func)
{
    char *s = hir_func_to_string(func);
    fputs(s, out);
    free(s);
}
