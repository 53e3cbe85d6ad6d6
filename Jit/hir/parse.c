/* The HIR text form, read back (print.c writes it). Values and blocks keep their printed
   numbers, so printing a parsed function reproduces the text. Uses may precede
   definitions in the text (a block printed before the block defining its input), so
   instructions are created first and their inputs resolved at the end. */

#include "Jit/hir/hir.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    HirInstr *instr;
    int nin;
    int *in_ids;
    int nstack;
    int *stack_ids;
    HirSlotKind *kinds;
    int nrelease;
    int *release_ids;
} PsPending;

typedef struct {
    JitArena *arena;
    HirFunc *func;
    PyObject *keepalive;
    const char *p;          /* cursor */
    int line;
    char *err;
    size_t errsize;
    HirInstr **by_id;
    int ids_cap;
    HirBlock **blocks;
    int blocks_cap;
    PsPending *pending;
    int npending, pending_cap;
    int **block_preds;      /* printed preds, by block id */
    int *block_npreds;
    HirBlock **order;       /* blocks in printed order */
    int norder;
} Ps;

static bool
ps_fail(Ps *ps, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(ps->err, ps->errsize, "line %d: %s", ps->line, msg);
    return false;
}

static void
ps_skip_spaces(Ps *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r') {
        ps->p++;
    }
}

static bool
ps_eat(Ps *ps, const char *s)
{
    ps_skip_spaces(ps);
    size_t n = strlen(s);
    if (strncmp(ps->p, s, n) == 0) {
        ps->p += n;
        return true;
    }
    return false;
}

static bool
ps_number(Ps *ps, long long *out)
{
    ps_skip_spaces(ps);
    char *end;
    long long v = strtoll(ps->p, &end, 10);
    if (end == ps->p) {
        return false;
    }
    ps->p = end;
    *out = v;
    return true;
}

/* A token up to a space, a newline, or one of `stops`. */
static int
ps_token(Ps *ps, char *buf, size_t size, const char *stops)
{
    ps_skip_spaces(ps);
    size_t n = 0;
    while (*ps->p && *ps->p != '\n' && *ps->p != ' ' && !strchr(stops, *ps->p)) {
        if (n + 1 < size) {
            buf[n++] = *ps->p;
        }
        ps->p++;
    }
    buf[n] = '\0';
    return (int)n;
}

/* A type: up to a space or one of `stops`, outside brackets and quotes. */
static int
ps_type_token(Ps *ps, char *buf, size_t size, const char *stops)
{
    ps_skip_spaces(ps);
    size_t n = 0;
    int depth = 0;
    char quote = 0;
    while (*ps->p && *ps->p != '\n') {
        char c = *ps->p;
        if (quote) {
            if (c == '\\' && ps->p[1] && ps->p[1] != '\n') {
                if (n + 1 < size) {
                    buf[n++] = c;
                }
                ps->p++;
                c = *ps->p;
            }
            else if (c == quote) {
                quote = 0;
            }
        }
        else if (depth > 0 && (c == '\'' || c == '"')) {
            quote = c;
        }
        else if (c == '[') {
            depth++;
        }
        else if (c == ']') {
            depth--;
        }
        else if (depth == 0 && (c == ' ' || strchr(stops, c))) {
            break;
        }
        if (n + 1 < size) {
            buf[n++] = c;
        }
        ps->p++;
    }
    buf[n] = '\0';
    return (int)n;
}

static HirBlock *
ps_block(Ps *ps, int id)
{
    if (id < 0 || id > 100000) {
        return NULL;
    }
    if (id >= ps->blocks_cap) {
        int cap = id * 2 + 16;
        ps->blocks = realloc(ps->blocks, sizeof(HirBlock *) * (size_t)cap);
        ps->block_preds = realloc(ps->block_preds, sizeof(int *) * (size_t)cap);
        ps->block_npreds = realloc(ps->block_npreds, sizeof(int) * (size_t)cap);
        for (int i = ps->blocks_cap; i < cap; i++) {
            ps->blocks[i] = NULL;
            ps->block_preds[i] = NULL;
            ps->block_npreds[i] = 0;
        }
        ps->blocks_cap = cap;
    }
    if (ps->blocks[id] == NULL) {
        HirBlock *b = hir_block_new(ps->func);
        b->id = id;
        ps->blocks[id] = b;
        if (id >= ps->func->next_block_id) {
            ps->func->next_block_id = id + 1;
        }
    }
    return ps->blocks[id];
}

static bool
ps_value_ref(Ps *ps, int *id)
{
    long long v;
    if (!ps_eat(ps, "v") || !ps_number(ps, &v)) {
        return false;
    }
    *id = (int)v;
    return true;
}

static bool
ps_keep(Ps *ps, PyObject *obj)
{
    int r = PyList_Append(ps->keepalive, obj);
    Py_DECREF(obj);
    return r == 0;
}

static bool
ps_params(Ps *ps, HirInstr *i)
{
    HirParamKind kind = hir_op_info[i->op].param;
    if (kind == HP_None) {
        return true;
    }
    if (!ps_eat(ps, "<")) {
        return ps_fail(ps, "%s needs <...>", hir_op_info[i->op].name);
    }
    char tok[256];
    long long n;
    switch (kind) {
    case HP_None:
        break;
    case HP_Type:
        ps_type_token(ps, tok, sizeof(tok), ">");
        if (!hir_type_parse(tok, &i->param)) {
            return ps_fail(ps, "bad type '%s'", tok);
        }
        if ((i->param.spec == HS_OBJECT || i->param.spec == HS_OPAQUE)
            && !ps_keep(ps, i->param.value.obj)) {
            return ps_fail(ps, "out of memory");
        }
        break;
    case HP_Index:
        if (!ps_number(ps, &n)) {
            return ps_fail(ps, "expected a number");
        }
        i->index = n;
        break;
    case HP_Name: {
        ps_token(ps, tok, sizeof(tok), ">");
        PyObject *name = PyUnicode_InternFromString(tok);
        if (name == NULL || !ps_keep(ps, name)) {
            return ps_fail(ps, "bad name");
        }
        i->name = name;
        break;
    }
    case HP_Targets:
        for (int k = 0; k < (i->op == HIR_CondBranch ? 2 : 1); k++) {
            if ((k > 0 && !ps_eat(ps, ",")) || !ps_eat(ps, "bb") || !ps_number(ps, &n)) {
                return ps_fail(ps, "expected a block");
            }
            i->target[k] = ps_block(ps, (int)n);
        }
        break;
    case HP_Call:
        if (!ps_number(ps, &n)) {
            return ps_fail(ps, "expected an argument count");
        }
        i->index = n;
        if (ps_eat(ps, ",")) {
            if (!ps_eat(ps, "kw=")) {
                return ps_fail(ps, "expected kw=");
            }
            ps_token(ps, tok, sizeof(tok), ">");
            PyObject *names = PyList_New(0);
            char *save = NULL;
            for (char *t = strtok_r(tok, ",", &save); t && names; t = strtok_r(NULL, ",", &save)) {
                PyObject *s = PyUnicode_InternFromString(t);
                if (s == NULL || PyList_Append(names, s) < 0) {
                    Py_CLEAR(names);
                }
                Py_XDECREF(s);
            }
            PyObject *tuple = names ? PyList_AsTuple(names) : NULL;
            Py_XDECREF(names);
            if (tuple == NULL || !ps_keep(ps, tuple)) {
                return ps_fail(ps, "bad keyword names");
            }
            i->name = tuple;
        }
        break;
    }
    if (!ps_eat(ps, ">")) {
        return ps_fail(ps, "expected >");
    }
    return true;
}

static bool
ps_instr(Ps *ps, HirBlock *b)
{
    int id = -1;
    HirType type = hir_type(0);
    char tok[256];
    const char *start = ps->p;
    if (ps_value_ref(ps, &id)) {
        if (!ps_eat(ps, ":")) {
            return ps_fail(ps, "expected ':' after v%d", id);
        }
        ps_type_token(ps, tok, sizeof(tok), "=");
        if (!hir_type_parse(tok, &type)) {
            return ps_fail(ps, "bad type '%s'", tok);
        }
        if ((type.spec == HS_OBJECT || type.spec == HS_OPAQUE)
            && !ps_keep(ps, type.value.obj)) {
            return ps_fail(ps, "out of memory");
        }
        if (!ps_eat(ps, "=")) {
            return ps_fail(ps, "expected '='");
        }
    }
    else {
        ps->p = start;
    }
    ps_token(ps, tok, sizeof(tok), "<{");
    int op = -1;
    for (int k = 0; k < HIR_NUM_OPS; k++) {
        if (strcmp(hir_op_info[k].name, tok) == 0) {
            op = k;
        }
    }
    if (op < 0) {
        return ps_fail(ps, "unknown instruction '%s'", tok);
    }
    HirInstr *i = hir_instr_new(ps->func, (HirOp)op, 0);
    if (id >= 0) {
        if (id >= ps->ids_cap) {
            int cap = id * 2 + 16;
            ps->by_id = realloc(ps->by_id, sizeof(HirInstr *) * (size_t)cap);
            for (int k = ps->ids_cap; k < cap; k++) {
                ps->by_id[k] = NULL;
            }
            ps->ids_cap = cap;
        }
        if (ps->by_id[id] != NULL) {
            return ps_fail(ps, "v%d defined twice", id);
        }
        ps->by_id[id] = i;
        i->id = id;
        i->type = type;
        if (hir_op_info[op].out_kind == HO_PARAM) {
            i->param = type;
        }
    }
    if (!ps_params(ps, i)) {
        return false;
    }
    if (ps->npending == ps->pending_cap) {
        ps->pending_cap = ps->pending_cap * 2 + 16;
        ps->pending = realloc(ps->pending, sizeof(PsPending) * (size_t)ps->pending_cap);
    }
    PsPending *pd = &ps->pending[ps->npending++];
    memset(pd, 0, sizeof(*pd));
    pd->instr = i;
    int ids[256];
    int n = 0, ref;
    while (n < 256 && ps_value_ref(ps, &ref)) {
        ids[n++] = ref;
    }
    pd->nin = n;
    pd->in_ids = jit_arena_alloc(ps->arena, sizeof(int) * (size_t)(n + 1));
    memcpy(pd->in_ids, ids, sizeof(int) * (size_t)n);
    if (ps_eat(ps, "{")) {
        long long bc;
        if (!ps_eat(ps, "bc") || !ps_number(ps, &bc) || !ps_eat(ps, "stack")) {
            return ps_fail(ps, "expected {bc N stack ...}");
        }
        i->fs = jit_arena_alloc(ps->arena, sizeof(HirFrameState));
        i->fs->bc_offset = (int)bc;
        HirSlotKind kinds[256];
        bool any_kind = false;
        n = 0;
        while (n < 256 && ps_value_ref(ps, &ref)) {
            kinds[n] = HIR_SLOT_GIVE;
            if (*ps->p == '+' || *ps->p == '-') {
                kinds[n] = *ps->p == '+' ? HIR_SLOT_NEWREF : HIR_SLOT_NULL;
                any_kind = true;
                ps->p++;
            }
            ids[n++] = ref;
        }
        pd->nstack = n;
        pd->stack_ids = jit_arena_alloc(ps->arena, sizeof(int) * (size_t)(n + 1));
        memcpy(pd->stack_ids, ids, sizeof(int) * (size_t)n);
        if (any_kind) {
            pd->kinds = jit_arena_alloc(ps->arena, sizeof(HirSlotKind) * (size_t)(n + 1));
            memcpy(pd->kinds, kinds, sizeof(HirSlotKind) * (size_t)n);
        }
        if (ps_eat(ps, "release")) {
            n = 0;
            while (n < 256 && ps_value_ref(ps, &ref)) {
                ids[n++] = ref;
            }
            pd->nrelease = n;
            pd->release_ids = jit_arena_alloc(ps->arena, sizeof(int) * (size_t)(n + 1));
            memcpy(pd->release_ids, ids, sizeof(int) * (size_t)n);
        }
        if (!ps_eat(ps, "}")) {
            return ps_fail(ps, "expected '}'");
        }
    }
    hir_block_append(b, i);
    return true;
}

static HirInstr *
ps_lookup(Ps *ps, int id)
{
    return id >= 0 && id < ps->ids_cap ? ps->by_id[id] : NULL;
}

static bool
ps_resolve(Ps *ps)
{
    int max_id = -1;
    for (int k = 0; k < ps->ids_cap; k++) {
        if (ps->by_id[k] != NULL) {
            max_id = k;
        }
    }
    for (int k = 0; k < ps->npending; k++) {
        PsPending *pd = &ps->pending[k];
        HirInstr *i = pd->instr;
        if (!hir_instr_has_output(i) && i->id < ps->ids_cap && ps->by_id[i->id] != i) {
            i->id = ++max_id;   /* instructions without a result get fresh numbers */
        }
        i->nin = pd->nin;
        i->in = jit_arena_alloc(ps->arena, sizeof(HirInstr *) * (size_t)(pd->nin + 1));
        for (int j = 0; j < pd->nin; j++) {
            i->in[j] = ps_lookup(ps, pd->in_ids[j]);
            if (i->in[j] == NULL) {
                return ps_fail(ps, "v%d is used but never defined", pd->in_ids[j]);
            }
        }
        if (i->fs) {
            i->fs->nstack = pd->nstack;
            i->fs->stack = jit_arena_alloc(ps->arena, sizeof(HirInstr *) * (size_t)(pd->nstack + 1));
            for (int j = 0; j < pd->nstack; j++) {
                i->fs->stack[j] = ps_lookup(ps, pd->stack_ids[j]);
                if (i->fs->stack[j] == NULL) {
                    return ps_fail(ps, "v%d is used but never defined", pd->stack_ids[j]);
                }
            }
            i->fs->slot_kind = pd->kinds;
            i->fs->nrelease = pd->nrelease;
            i->fs->release = jit_arena_alloc(ps->arena, sizeof(HirInstr *) * (size_t)(pd->nrelease + 1));
            for (int j = 0; j < pd->nrelease; j++) {
                i->fs->release[j] = ps_lookup(ps, pd->release_ids[j]);
                if (i->fs->release[j] == NULL) {
                    return ps_fail(ps, "v%d is used but never defined", pd->release_ids[j]);
                }
            }
        }
    }
    if (max_id + 1 > ps->func->next_instr_id) {
        ps->func->next_instr_id = max_id + 1;
    }
    /* Predecessors in their printed order: phi inputs follow it. */
    for (int b = 0; b < ps->blocks_cap; b++) {
        HirBlock *blk = ps->blocks[b];
        if (blk == NULL) {
            continue;
        }
        if (blk->first == NULL) {
            return ps_fail(ps, "bb%d is referenced but not defined", b);
        }
        blk->npreds = ps->block_npreds[b];
        blk->preds = jit_arena_alloc(ps->arena, sizeof(HirBlock *) * (size_t)(blk->npreds + 1));
        for (int k = 0; k < blk->npreds; k++) {
            blk->preds[k] = ps_block(ps, ps->block_preds[b][k]);
        }
    }
    return true;
}

static bool
ps_next_line(Ps *ps)
{
    while (*ps->p && *ps->p != '\n') {
        ps->p++;
    }
    if (*ps->p == '\n') {
        ps->p++;
        ps->line++;
        return true;
    }
    return false;
}

static bool
ps_func(Ps *ps)
{
    char tok[256];
    while (*ps->p == '\n' || *ps->p == ' ' || *ps->p == '#') {
        if (*ps->p == '#') {
            ps_next_line(ps);   /* a comment line, e.g. "# HIR" */
        }
        else if (*ps->p == '\n') {
            ps->p++;
            ps->line++;
        }
        else {
            ps->p++;
        }
    }
    if (!ps_eat(ps, "fun")) {
        return ps_fail(ps, "expected 'fun'");
    }
    ps_token(ps, tok, sizeof(tok), "{");
    ps->func = hir_func_new(ps->arena, tok);
    if (!ps_eat(ps, "{") || !ps_next_line(ps)) {
        return ps_fail(ps, "expected '{'");
    }
    for (;;) {
        long long id;
        if (ps_eat(ps, "}")) {
            break;
        }
        if (!ps_eat(ps, "bb") || !ps_number(ps, &id)) {
            return ps_fail(ps, "expected a block");
        }
        HirBlock *b = ps_block(ps, (int)id);
        if (b == NULL || b->first != NULL) {
            return ps_fail(ps, "bad or repeated block bb%lld", id);
        }
        ps->order = realloc(ps->order, sizeof(HirBlock *) * (size_t)(ps->norder + 1));
        ps->order[ps->norder++] = b;
        if (ps_eat(ps, "(preds")) {
            int preds[256], n = 0;
            long long p;
            do {
                if (!ps_eat(ps, "bb") || !ps_number(ps, &p)) {
                    return ps_fail(ps, "expected a predecessor");
                }
                preds[n++] = (int)p;
            } while (n < 256 && ps_eat(ps, ","));
            if (!ps_eat(ps, ")")) {
                return ps_fail(ps, "expected ')'");
            }
            ps->block_npreds[id] = n;
            ps->block_preds[id] = jit_arena_alloc(ps->arena, sizeof(int) * (size_t)(n + 1));
            memcpy(ps->block_preds[id], preds, sizeof(int) * (size_t)n);
        }
        if (!ps_eat(ps, "{") || !ps_next_line(ps)) {
            return ps_fail(ps, "expected '{' after bb%lld", id);
        }
        while (!ps_eat(ps, "}")) {
            if (!ps_instr(ps, b)) {
                return false;
            }
            ps_skip_spaces(ps);
            if (*ps->p != '\n') {
                return ps_fail(ps, "unexpected '%c'", *ps->p);
            }
            ps_next_line(ps);
        }
        if (b->first == NULL) {
            return ps_fail(ps, "bb%lld is empty", id);
        }
        ps_next_line(ps);
    }
    /* Blocks in their printed order; the first is the entry. */
    for (int k = 0; k < ps->norder; k++) {
        ps->order[k]->next_in_func = k + 1 < ps->norder ? ps->order[k + 1] : NULL;
    }
    if (ps->norder == 0) {
        return ps_fail(ps, "a function needs a block");
    }
    ps->func->blocks = ps->order[0];
    ps->func->entry = ps->order[0];
    return ps_resolve(ps);
}

HirFunc *
hir_func_parse(JitArena *arena, const char *text, PyObject *keepalive, char *err,
               size_t errsize)
{
    Ps ps = {0};
    ps.arena = arena;
    ps.keepalive = keepalive;
    ps.p = text;
    ps.line = 1;
    ps.err = err;
    ps.errsize = errsize;
    bool ok = ps_func(&ps);
    free(ps.by_id);
    free(ps.blocks);
    free(ps.block_preds);
    free(ps.block_npreds);
    free(ps.pending);
    free(ps.order);
    return ok ? ps.func : NULL;
}
