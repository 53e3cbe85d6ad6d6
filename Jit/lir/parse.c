/* The LIR parser: reads the textual form print.c writes (see there for the grammar), so
   that any dump can become a test input. */

#include "Jit/lir/lir.h"

#include <ctype.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct PsState {
    LirFunc *f;
    const char *p;       /* cursor in the current line */
    int line;
    char *err;
    size_t errlen;
    bool failed;
    LirBlock **blocks;   /* by printed number */
    int nblocks;
    int8_t *vclass;      /* by printed number: -1 unseen */
    int nv;
    LirSymbolResolver resolve;
    void *data;
} PsState;

static void
ps_fail(PsState *s, const char *what)
{
    if (!s->failed) {
        snprintf(s->err, s->errlen, "line %d: %s near '%.20s'", s->line, what, s->p);
        s->failed = true;
    }
}

static void
ps_ws(PsState *s)
{
    while (*s->p == ' ' || *s->p == '\t' || *s->p == '\r') {
        s->p++;
    }
}

static bool
ps_eat(PsState *s, char c)
{
    ps_ws(s);
    if (*s->p == c) {
        s->p++;
        return true;
    }
    return false;
}

static void
ps_expect(PsState *s, char c)
{
    if (!ps_eat(s, c)) {
        char msg[32];
        snprintf(msg, sizeof msg, "expected '%c'", c);
        ps_fail(s, msg);
    }
}

static int
ps_ident(PsState *s, char *buf, int size)
{
    ps_ws(s);
    int n = 0;
    while (isalnum((unsigned char)*s->p) || *s->p == '_' || *s->p == '.') {
        if (n < size - 1) {
            buf[n++] = *s->p;
        }
        s->p++;
    }
    buf[n] = '\0';
    return n;
}

static bool
ps_at_word(PsState *s, const char *w)
{
    ps_ws(s);
    size_t n = strlen(w);
    return strncmp(s->p, w, n) == 0 && !isalnum((unsigned char)s->p[n]);
}

static long long
ps_int(PsState *s)
{
    ps_ws(s);
    char *end;
    long long v = strtoll(s->p, &end, 0);
    if (end == s->p) {
        ps_fail(s, "expected a number");
    }
    s->p = end;
    return v;
}

static LirBlock *
ps_block(PsState *s, int n)
{
    if (n < 0 || n > 100000) {
        ps_fail(s, "bad block number");
        return NULL;
    }
    if (n >= s->nblocks) {
        s->blocks = realloc(s->blocks, sizeof(LirBlock *) * (n + 1));
        memset(s->blocks + s->nblocks, 0, sizeof(LirBlock *) * (n + 1 - s->nblocks));
        s->nblocks = n + 1;
    }
    if (s->blocks[n] == NULL) {
        s->blocks[n] = lir_alloc(s->f, sizeof(LirBlock));
        s->blocks[n]->id = n;
    }
    return s->blocks[n];
}

static LirBlock *
ps_block_ref(PsState *s)
{
    ps_ws(s);
    if (strncmp(s->p, "bb", 2) != 0) {
        ps_fail(s, "expected a block");
        return NULL;
    }
    s->p += 2;
    return ps_block(s, (int)ps_int(s));
}

static LirLoc
ps_loc(PsState *s)
{
    LirLoc loc = {LIR_LOC_NONE, 0};
    if (*s->p != ':') {
        return loc;
    }
    s->p++;
    char name[16];
    ps_ident(s, name, sizeof name);
    if (name[0] == 's' && isdigit((unsigned char)name[1])) {
        return lir_loc_stack(atoi(name + 1));
    }
    for (int r = 0; r < LIR_NUM_REGS; r++) {
        if (strcmp(name, lir_reg_names[r]) == 0) {
            return lir_loc_reg(r);
        }
    }
    ps_fail(s, "unknown register");
    return loc;
}

/* %N or %fN, with an optional :location. */
static int
ps_vreg(PsState *s, LirLoc *loc)
{
    ps_ws(s);
    if (*s->p != '%') {
        ps_fail(s, "expected a vreg");
        return 0;
    }
    s->p++;
    int cls = LIR_GP;
    if (*s->p == 'f') {
        cls = LIR_FP;
        s->p++;
    }
    if (!isdigit((unsigned char)*s->p)) {
        ps_fail(s, "expected a vreg number");
        return 0;
    }
    int n = (int)strtol(s->p, (char **)&s->p, 10);
    if (n > 1000000) {
        ps_fail(s, "vreg number too large");
        return 0;
    }
    if (n >= s->nv) {
        int nn = n + 1;
        s->vclass = realloc(s->vclass, (size_t)nn);
        memset(s->vclass + s->nv, -1, (size_t)(nn - s->nv));
        s->nv = nn;
    }
    if (s->vclass[n] >= 0 && s->vclass[n] != cls) {
        ps_fail(s, "vreg used with two classes");
    }
    s->vclass[n] = (int8_t)cls;
    LirLoc l = ps_loc(s);
    if (loc) {
        *loc = l;
    }
    return n;
}

static LirOperand
ps_operand(PsState *s)
{
    ps_ws(s);
    if (*s->p == '%') {
        LirOperand o = lir_vreg(0);
        o.vreg = ps_vreg(s, &o.loc);
        return o;
    }
    if (*s->p == '[') {
        s->p++;
        LirOperand o = lir_mem(-1, -1, 1, 0);
        bool first = true;
        for (;;) {
            ps_ws(s);
            int sign = 1;
            if (!first) {
                if (ps_eat(s, ']')) {
                    break;
                }
                if (ps_eat(s, '-')) {
                    sign = -1;
                }
                else {
                    ps_expect(s, '+');
                }
                ps_ws(s);
            }
            first = false;
            if (*s->p == '%') {
                LirLoc loc;
                int v = ps_vreg(s, &loc);
                if (ps_eat(s, '*')) {
                    o.index = v;
                    o.index_loc = loc;
                    o.scale = (uint8_t)ps_int(s);
                }
                else if (o.vreg < 0) {
                    o.vreg = v;
                    o.loc = loc;
                }
                else {
                    o.index = v;
                    o.index_loc = loc;
                }
            }
            else {
                o.imm = sign * ps_int(s);
            }
            if (s->failed) {
                break;
            }
        }
        return o;
    }
    size_t len = strcspn(s->p, ", \t)]#");
    const char *digits = s->p + (*s->p == '-' || *s->p == '+');
    bool hex = digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X');
    bool fp = false;
    for (size_t k = 0; k < len && !hex; k++) {
        fp |= strchr(".eEni", s->p[k]) != NULL;
    }
    if (fp) {
        char *end;
        double d = strtod(s->p, &end);
        if (end != s->p + len) {
            ps_fail(s, "bad number");
        }
        s->p = end;
        return lir_fimm(d);
    }
    return lir_imm((int64_t)ps_int(s));
}

static void *
ps_resolve(PsState *s, const char *name)
{
    void *addr = s->resolve ? s->resolve(name, s->data) : NULL;
    if (addr == NULL) {
        addr = dlsym(RTLD_DEFAULT, name);
    }
    return addr;
}

static void
ps_deopt(PsState *s, LirInstr *i)
{
    char kind[16];
    ps_expect(s, '(');
    ps_ident(s, kind, sizeof kind);
    ps_expect(s, ',');
    int off = (int)ps_int(s);
    ps_expect(s, ',');
    int top = (int)ps_int(s);
    ps_expect(s, ',');
    ps_ws(s);
    char reason[128] = "";
    if (ps_eat(s, '"')) {
        const char *q = strchr(s->p, '"');
        if (q == NULL) {
            ps_fail(s, "unterminated string");
            return;
        }
        snprintf(reason, sizeof reason, "%.*s", (int)(q - s->p), s->p);
        s->p = q + 1;
    }
    ps_expect(s, ')');
    LirOperand vals[256];
    int slots[256];
    bool owned[256];
    int n = 0;
    ps_expect(s, '[');
    while (!s->failed && !ps_eat(s, ']')) {
        if (n > 0) {
            ps_expect(s, ',');
        }
        if (n == 256) {
            ps_fail(s, "too many deopt values");
            return;
        }
        vals[n] = ps_operand(s);
        ps_expect(s, '@');
        slots[n] = (int)ps_int(s);
        owned[n] = ps_at_word(s, "owned");
        if (owned[n]) {
            s->p += 5;
        }
        n++;
    }
    LirDeopt *d = lir_deopt_new(s->f, strcmp(kind, "error") == 0 ? LIR_DEOPT_ERROR
                                                                  : LIR_DEOPT_GUARD,
                                off, top, reason, n);
    for (int k = 0; k < n; k++) {
        d->values[k].value = vals[k];
        d->values[k].slot = slots[k];
        d->values[k].owned = owned[k];
    }
    i->deopt = d;
    if (ps_at_word(s, "release")) {
        s->p += 7;
        n = 0;
        do {
            if (n == 256) {
                ps_fail(s, "too many released values");
                return;
            }
            vals[n++] = ps_operand(s);
        } while (!s->failed && ps_eat(s, ','));
        lir_deopt_set_release(s->f, d, n);
        memcpy(d->release, vals, sizeof(LirOperand) * n);
    }
}

static void
ps_instr(PsState *s, LirBlock *b)
{
    LirOperand outs[8], ins[256];
    LirBlock *targets[256];
    int nout = 0, nin = 0, nt = 0;
    const char *callee = NULL;
    char calleebuf[128];
    ps_ws(s);
    if (*s->p == '%') {
        do {
            if (nout == 8) {
                ps_fail(s, "too many outputs");
                return;
            }
            outs[nout] = lir_vreg(0);
            outs[nout].vreg = ps_vreg(s, &outs[nout].loc);
            nout++;
        } while (!s->failed && ps_eat(s, ','));
        ps_expect(s, '=');
    }
    char name[32];
    ps_ident(s, name, sizeof name);
    int op = 0;
    while (op < LIR_NUM_OPS && strcmp(lir_op_info[op].name, name) != 0) {
        op++;
    }
    if (op == LIR_NUM_OPS) {
        ps_fail(s, "unknown instruction");
        return;
    }
    int cc = 0;
    if (lir_op_has((LirOp)op, LF_CC)) {
        char ccn[8];
        ps_ident(s, ccn, sizeof ccn);
        while (cc < LIR_NUM_CC && strcmp(lir_cc_names[cc], ccn) != 0) {
            cc++;
        }
        if (cc == LIR_NUM_CC) {
            ps_fail(s, "unknown condition");
            return;
        }
    }
    bool first = true;
    for (;;) {
        ps_ws(s);
        if (*s->p == '\0' || *s->p == '#' || ps_at_word(s, "deopt") || s->failed) {
            break;
        }
        if (!first) {
            ps_expect(s, ',');
            ps_ws(s);
        }
        first = false;
        if (nin == 256 || nt == 256) {
            ps_fail(s, "too many operands");
            return;
        }
        if (op == LIR_Phi) {
            ps_expect(s, '(');
            targets[nt++] = ps_block_ref(s);
            ps_expect(s, ',');
            ins[nin++] = ps_operand(s);
            ps_expect(s, ')');
        }
        else if (strncmp(s->p, "bb", 2) == 0) {
            targets[nt++] = ps_block_ref(s);
        }
        else if (*s->p == '@') {
            s->p++;
            ps_ident(s, calleebuf, sizeof calleebuf);
            callee = calleebuf;
            void *addr = ps_resolve(s, callee);
            ins[nin++] = lir_imm((int64_t)(intptr_t)addr);
        }
        else {
            ins[nin++] = ps_operand(s);
        }
    }
    if (s->failed) {
        return;
    }
    LirInstr *i = lir_instr_new(s->f, (LirOp)op, nout, nin, nt);
    i->cc = (uint8_t)cc;
    memcpy(i->out, outs, sizeof(LirOperand) * nout);
    memcpy(i->in, ins, sizeof(LirOperand) * nin);
    memcpy(i->targets, targets, sizeof(LirBlock *) * nt);
    if (callee != NULL) {
        i->callee_name = lir_strdup(s->f, callee);
    }
    if (ps_at_word(s, "deopt")) {
        s->p += 5;
        ps_deopt(s, i);
    }
    else if (lir_op_has((LirOp)op, LF_DEOPT)) {
        i->deopt = lir_deopt_new(s->f, LIR_DEOPT_GUARD, -1, 0, "", 0);
    }
    ps_ws(s);
    if (*s->p == '#') {
        /* A trailing comment is the instruction's origin label. */
        const char *label = s->p + 1;
        while (*label == ' ') {
            label++;
        }
        size_t n = strlen(label);
        while (n > 0 && (label[n - 1] == ' ' || label[n - 1] == '\r')) {
            n--;
        }
        char *copy = lir_alloc(s->f, n + 1);
        memcpy(copy, label, n);
        i->origin_label = copy;
    }
    else if (*s->p != '\0') {
        ps_fail(s, "unexpected text");
    }
    lir_block_append(b, i);
}

static void
ps_note_loc(LirFunc *f, LirLoc loc)
{
    if (loc.kind == LIR_LOC_REG) {
        f->used_regs |= 1u << loc.index;
        f->allocated = true;
    }
    else if (loc.kind == LIR_LOC_STACK) {
        f->nspill_slots = loc.index + 1 > f->nspill_slots ? loc.index + 1 : f->nspill_slots;
        f->allocated = true;
    }
}

/* Text with locations (a dump after allocation) is allocated LIR: the code generator
   can take it as it is. */
static void
ps_note_locations(LirFunc *f)
{
    for (int k = 0; k < f->nblocks; k++) {
        for (LirInstr *i = f->blocks[k]->first; i != NULL; i = i->next) {
            for (int o = 0; o < i->nout; o++) {
                ps_note_loc(f, i->out[o].loc);
            }
            int nu = lir_instr_nuses(i);
            for (int u = 0; u < nu; u++) {
                ps_note_loc(f, lir_instr_use_at(i, u)->loc);
                ps_note_loc(f, lir_instr_use_at(i, u)->index_loc);
            }
        }
    }
}

LirFunc *
lir_parse(const char *text, LirSymbolResolver resolve, void *data, char *err,
          size_t errlen)
{
    PsState s = {0};
    s.err = err;
    s.errlen = errlen;
    s.resolve = resolve;
    s.data = data;
    err[0] = '\0';
    LirFunc *f = NULL;
    LirBlock *cur = NULL;
    bool done = false;
    int *order = NULL, norder = 0;
    const char *line = text;
    while (*line != '\0' && !s.failed) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        char *buf = malloc(len + 1);
        memcpy(buf, line, len);
        buf[len] = '\0';
        s.line++;
        s.p = buf;
        ps_ws(&s);
        if (*s.p == '\0' || *s.p == '#') {
            /* blank line or comment */
        }
        else if (done) {
            ps_fail(&s, "text after the function");
        }
        else if (f == NULL) {
            char name[128];
            if (!ps_at_word(&s, "func")) {
                ps_fail(&s, "expected 'func NAME {'");
            }
            else {
                s.p += 4;
                ps_ws(&s);
                size_t n = strcspn(s.p, " \t{");
                snprintf(name, sizeof name, "%.*s", (int)n, s.p);
                s.p += n;
                ps_expect(&s, '{');
                f = lir_func_new(name);
                s.f = f;
            }
        }
        else if (*s.p == '}') {
            done = true;
        }
        else if (strncmp(s.p, "bb", 2) == 0 && strchr(s.p, ':') &&
                 strchr(s.p, ':')[1] == '\0') {
            cur = ps_block_ref(&s);
            if (cur != NULL && cur->first == NULL) {
                order = realloc(order, sizeof(int) * (norder + 1));
                order[norder++] = cur->id;
            }
            ps_expect(&s, ':');
        }
        else if (cur == NULL) {
            ps_fail(&s, "instruction outside a block");
        }
        else {
            ps_instr(&s, cur);
        }
        free(buf);
        line = eol ? eol + 1 : line + len;
    }
    if (!s.failed && !done) {
        s.line++;
        s.p = "";
        ps_fail(&s, "missing '}'");
    }
    if (!s.failed) {
        for (int k = 0; k < s.nblocks; k++) {
            bool defined = false;
            for (int j = 0; j < norder; j++) {
                defined |= order[j] == k;
            }
            if (s.blocks[k] != NULL && !defined) {
                snprintf(err, errlen, "bb%d is used but not defined", k);
                s.failed = true;
            }
        }
    }
    if (!s.failed) {
        f->blocks = lir_alloc(f, sizeof(LirBlock *) * (norder + 1));
        f->blocks_cap = norder + 1;
        f->nblocks = norder;
        for (int k = 0; k < norder; k++) {
            f->blocks[k] = s.blocks[order[k]];
        }
        for (int v = 0; v < s.nv; v++) {
            lir_vreg_new(f, s.vclass[v] == LIR_FP ? LIR_FP : LIR_GP);
        }
        lir_func_compute_preds(f);
        ps_note_locations(f);
    }
    free(order);
    free(s.blocks);
    free(s.vclass);
    if (s.failed) {
        lir_func_free(f);
        return NULL;
    }
    return f;
}
