/* HIR core: the opcode table, the type lattice, and building and walking the
   control-flow graph. */

#include "Jit/hir/hir.h"

#include <stdlib.h>
#include <string.h>

/* -- Opcode table ----------------------------------------------------------------------- */

#define VAR HIR_VAR
#define TERM HF_TERM
#define DEOPT HF_DEOPT
#define RAISE HF_RAISE
#define ARB HF_ARB
#define PURE HF_PURE
#define BORROW HF_BORROW
#define ALIAS HF_ALIAS
#define WLOCAL HF_WLOCAL
#define PAIR HF_PAIR
#define OUT_None HO_NONE, 0
#define OUT_Param HO_PARAM, 0
#define OUT_Refine HO_REFINE, 0
#define OUT_Phi HO_PHI, 0
#define OUT_NotNull HO_NOTNULL, 0
#define OUT_Object HO_FIXED, HT_Object
#define OUT_OptObject HO_FIXED, HT_OptObject
#define OUT_Bool HO_FIXED, HT_Bool
#define OUT_CInt64 HO_FIXED, HT_CInt64
#define OUT_CBool HO_FIXED, HT_CBool
#define OUT_TupleExact HO_FIXED, HT_TupleExact
#define OUT_StrExact HO_FIXED, HT_StrExact
#define OUT_Str HO_FIXED, HT_Str
#define OUT_Slice HO_FIXED, HT_Slice
#define OUT_Func HO_FIXED, HT_Func
#define OUT_ListExact HO_FIXED, HT_ListExact
#define OUT_SetExact HO_FIXED, HT_SetExact
#define OUT_DictExact HO_FIXED, HT_DictExact
#define OUT_LongExact HO_FIXED, HT_LongExact

const HirOpInfo hir_op_info[HIR_NUM_OPS] = {
#define HIR_OP(name, nin, out, flags, steals, param) \
    [HIR_##name] = {#name, nin, OUT_##out, flags, steals, HP_##param},
#include "Jit/hir/hir_ops.def"
#undef HIR_OP
};

_Static_assert(HIR_Return == 0 && HIR_Yield + 1 == HIR_GuardType,
               "ORDER HIR: terminators come first, then guards");
_Static_assert(HIR_CheckLocal + 1 == HIR_RefineType, "ORDER HIR: guards are contiguous");

/* -- Types ------------------------------------------------------------------------------ */

static const struct {
    const char *name;
    HirTypeBits bits;
} ht_names[] = {
#define HIR_BASIC_TYPE(name, type) {#name, HT_##name},
#include "Jit/hir/hir_types.def"
#define HIR_UNION_TYPE(name, bits) {#name, HT_##name},
#include "Jit/hir/hir_types.def"
};

static PyTypeObject *
ht_exact_type(int bit)
{
    switch (bit) {
#define HIR_BASIC_TYPE(name, type) case HT_BIT_##name: return (PyTypeObject *)(type);
#include "Jit/hir/hir_types.def"
    default:
        return NULL;
    }
}

/* The basic bits an instance of `type` (exactly) falls in. */
static HirTypeBits
ht_bits_of_exact(PyTypeObject *type)
{
    for (int bit = 0; bit < HT_NUM_BITS; bit++) {
        if (ht_exact_type(bit) == type) {
            return (HirTypeBits)1 << bit;
        }
    }
    /* A subclass of a builtin is that builtin's User bit. */
    static const struct {
        PyTypeObject *base;
        HirTypeBits user;
    } users[] = {
        {&PyLong_Type, HT_LongUser},   {&PyFloat_Type, HT_FloatUser},
        {&PyUnicode_Type, HT_StrUser}, {&PyBytes_Type, HT_BytesUser},
        {&PyTuple_Type, HT_TupleUser}, {&PyList_Type, HT_ListUser},
        {&PyDict_Type, HT_DictUser},   {&PySet_Type, HT_SetUser},
        {&PyType_Type, HT_TypeUser},
    };
    for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
        if (PyType_IsSubtype(type, users[i].base)) {
            return users[i].user;
        }
    }
    return HT_ObjectUser;
}

HirType
hir_type_of_exact(PyTypeObject *type)
{
    return hir_type(ht_bits_of_exact(type));
}

HirType
hir_type_of_pytype(PyTypeObject *type)
{
    static const HirTypeBits all_user = HT_ObjectUser | HT_LongUser | HT_FloatUser
        | HT_StrUser | HT_BytesUser | HT_TupleUser | HT_ListUser | HT_DictUser
        | HT_SetUser | HT_TypeUser;
    if (type == &PyBaseObject_Type) {
        return hir_type(HT_Object);
    }
    if (type == &PyLong_Type) {
        return hir_type(HT_Long);   /* bool is an int subclass */
    }
    HirTypeBits bits = ht_bits_of_exact(type);
    if (type->tp_flags & Py_TPFLAGS_BASETYPE) {
        /* Subclass instances: the builtin family's User bit, or for a class of ours, any
           user type (a subclass may also derive from a builtin). */
        static const HirTypeBits families[] = {HT_Float, HT_Str, HT_Bytes, HT_Tuple,
                                               HT_List, HT_Dict, HT_Set, HT_Type};
        if (bits == HT_ObjectUser) {
            bits = all_user;
        }
        for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
            if (bits & families[i]) {
                bits |= families[i] & all_user;
            }
        }
    }
    return hir_type(bits);
}

HirType
hir_type_of_object(PyObject *obj)
{
    HirType t = hir_type(ht_bits_of_exact(Py_TYPE(obj)));
    t.spec = HS_OBJECT;
    t.value.obj = obj;
    return t;
}

HirType
hir_type_of_int(HirTypeBits c_bits, int64_t value)
{
    HirType t = hir_type(c_bits);
    t.spec = HS_INT;
    t.value.i = value;
    return t;
}

static bool
ht_spec_equal(HirType a, HirType b)
{
    if (a.spec != b.spec) {
        return false;
    }
    switch (a.spec) {
    case HS_NONE:
        return true;
    case HS_OBJECT:
    case HS_OPAQUE:
        return a.value.obj == b.value.obj;
    case HS_INT:
        return a.value.i == b.value.i;
    }
    return false;
}

bool
hir_type_equal(HirType a, HirType b)
{
    return a.bits == b.bits && ht_spec_equal(a, b);
}

HirType
hir_type_union(HirType a, HirType b)
{
    HirType t = hir_type(a.bits | b.bits);
    if (a.bits == 0) {
        return b;
    }
    if (b.bits == 0) {
        return a;
    }
    if (ht_spec_equal(a, b)) {
        t.spec = a.spec;
        t.value = a.value;
    }
    return t;
}

HirType
hir_type_meet(HirType a, HirType b)
{
    HirType t = hir_type(a.bits & b.bits);
    if (a.spec != HS_NONE && b.spec != HS_NONE) {
        if (!ht_spec_equal(a, b)) {
            return hir_type(0);
        }
        t.spec = a.spec;
        t.value = a.value;
    }
    else if (a.spec != HS_NONE) {
        t.spec = a.spec;
        t.value = a.value;
    }
    else if (b.spec != HS_NONE) {
        t.spec = b.spec;
        t.value = b.value;
    }
    if (t.bits == 0) {
        return hir_type(0);
    }
    return t;
}

bool
hir_type_is_subtype(HirType a, HirType b)
{
    if ((a.bits & ~b.bits) != 0) {
        return false;
    }
    if (b.spec == HS_NONE) {
        return true;
    }
    return a.bits == 0 || ht_spec_equal(a, b);
}

bool
hir_type_could_be(HirType a, HirTypeBits bits)
{
    return (a.bits & bits) != 0;
}

bool
hir_type_is_counted(HirType t)
{
    return (t.bits & HT_Object) != 0;
}

static void
ht_format_bits(HirTypeBits bits, char *buf, size_t size)
{
    size_t n = sizeof(ht_names) / sizeof(ht_names[0]);
    /* A named type that equals the bits, unions last so basic names win. */
    for (size_t i = n; i-- > 0;) {
        if (ht_names[i].bits == bits) {
            snprintf(buf, size, "%s", ht_names[i].name);
            return;
        }
    }
    /* Otherwise the widest named parts, joined by '|'. */
    buf[0] = '\0';
    HirTypeBits left = bits;
    for (size_t i = n; i-- > 0 && left != 0;) {
        HirTypeBits b = ht_names[i].bits;
        if (b != 0 && (b & ~bits) == 0 && (b & left) == b) {
            size_t len = strlen(buf);
            snprintf(buf + len, size - len, "%s%s", len ? "|" : "", ht_names[i].name);
            left &= ~b;
        }
    }
}

void
hir_type_format(HirType t, char *buf, size_t size)
{
    ht_format_bits(t.bits, buf, size);
    size_t len = strlen(buf);
    if (t.spec == HS_INT) {
        snprintf(buf + len, size - len, "[%lld]", (long long)t.value.i);
    }
    else if (t.spec == HS_OPAQUE) {
        snprintf(buf + len, size - len, "[<%s>]", PyUnicode_AsUTF8(t.value.obj));
    }
    else if (t.spec == HS_OBJECT) {
        PyObject *obj = t.value.obj;
        PyObject *r = NULL;
        if (PyLong_CheckExact(obj) || PyUnicode_CheckExact(obj) || obj == Py_None
            || PyBool_Check(obj) || PyFloat_CheckExact(obj)) {
            r = PyObject_Repr(obj);
        }
        if (r != NULL && PyUnicode_GET_LENGTH(r) <= 60 && PyUnicode_IS_ASCII(r)) {
            snprintf(buf + len, size - len, "[%s]", PyUnicode_AsUTF8(r));
        }
        else if (PyType_Check(obj)) {
            snprintf(buf + len, size - len, "[<type %s>]", ((PyTypeObject *)obj)->tp_name);
        }
        else {
            /* Pointers are not stable between runs: name the object by its type. */
            snprintf(buf + len, size - len, "[<%s>]", Py_TYPE(obj)->tp_name);
        }
        Py_XDECREF(r);
        PyErr_Clear();
    }
}

/* The str a repr() of a str spells, for the ASCII reprs the printer writes. */
static PyObject *
ht_unrepr(const char *s, size_t n)
{
    if (n < 2 || (s[0] != '\'' && s[0] != '"') || s[n - 1] != s[0]) {
        return NULL;
    }
    char *out = PyMem_Malloc(n);
    if (out == NULL) {
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 1; i + 1 < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 2 < n) {
            char e = s[++i];
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'x': {
                unsigned v = 0;
                for (int d = 0; d < 2 && i + 2 < n; d++) {
                    char h = s[++i];
                    v = v * 16 + (unsigned)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
                }
                c = (char)v;
                break;
            }
            default: c = e; break;
            }
        }
        out[k++] = c;
    }
    PyObject *str = PyUnicode_DecodeLatin1(out, (Py_ssize_t)k, NULL);
    PyMem_Free(out);
    if (str != NULL) {
        PyUnicode_InternInPlace(&str);
    }
    return str;
}

static bool
ht_parse_bits(const char *text, size_t len, HirTypeBits *out)
{
    HirTypeBits bits = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || text[i] == '|') {
            size_t n = sizeof(ht_names) / sizeof(ht_names[0]);
            bool found = false;
            for (size_t k = 0; k < n; k++) {
                if (strlen(ht_names[k].name) == i - start
                    && strncmp(ht_names[k].name, text + start, i - start) == 0) {
                    bits |= ht_names[k].bits;
                    found = true;
                    break;
                }
            }
            if (!found) {
                return false;
            }
            start = i + 1;
        }
    }
    *out = bits;
    return true;
}

bool
hir_type_parse(const char *text, HirType *out)
{
    const char *br = strchr(text, '[');
    size_t len = br ? (size_t)(br - text) : strlen(text);
    HirTypeBits bits;
    if (!ht_parse_bits(text, len, &bits)) {
        return false;
    }
    *out = hir_type(bits);
    if (br == NULL) {
        return true;
    }
    size_t vlen = strlen(br + 1);
    if (vlen == 0 || br[vlen] != ']') {
        return false;
    }
    char value[256];
    if (vlen - 1 >= sizeof(value)) {
        return false;
    }
    memcpy(value, br + 1, vlen - 1);
    value[vlen - 1] = '\0';
    if (bits & (HT_CInt64 | HT_CBool)) {
        char *end;
        long long v = strtoll(value, &end, 10);
        if (*end != '\0') {
            return false;
        }
        *out = hir_type_of_int(bits, v);
        return true;
    }
    PyObject *obj = NULL;
    if (strcmp(value, "None") == 0) {
        obj = Py_NewRef(Py_None);
    }
    else if (strcmp(value, "True") == 0) {
        obj = Py_NewRef(Py_True);
    }
    else if (strcmp(value, "False") == 0) {
        obj = Py_NewRef(Py_False);
    }
    else if (value[0] == '\'' || value[0] == '"') {
        obj = ht_unrepr(value, strlen(value));
    }
    else if (value[0] == '<' && value[strlen(value) - 1] == '>') {
        obj = PyUnicode_FromStringAndSize(value + 1, (Py_ssize_t)strlen(value) - 2);
        if (obj == NULL) {
            PyErr_Clear();
            return false;
        }
        out->spec = HS_OPAQUE;
        out->value.obj = obj;
        return true;
    }
    else {
        char *end;
        obj = PyLong_FromString(value, &end, 10);
        if (obj != NULL && *end != '\0') {
            Py_CLEAR(obj);
        }
    }
    if (obj == NULL) {
        PyErr_Clear();
        return false;
    }
    /* The caller keeps the object alive (see hir_func_parse). */
    *out = hir_type_of_object(obj);
    out->bits &= bits ? bits : HT_Object;
    if (out->bits == 0) {
        Py_DECREF(obj);
        return false;
    }
    return true;
}

/* -- The graph -------------------------------------------------------------------------- */

HirFunc *
hir_func_new(JitArena *arena, const char *name)
{
    HirFunc *func = jit_arena_alloc(arena, sizeof(HirFunc));
    func->arena = arena;
    func->name = jit_arena_strdup(arena, name);
    return func;
}

HirBlock *
hir_block_new(HirFunc *func)
{
    HirBlock *block = jit_arena_alloc(func->arena, sizeof(HirBlock));
    block->id = func->next_block_id++;
    block->func = func;
    /* Keep creation order: append at the end of the list. */
    HirBlock **p = &func->blocks;
    while (*p != NULL) {
        p = &(*p)->next_in_func;
    }
    *p = block;
    func->nblocks++;
    if (func->entry == NULL) {
        func->entry = block;
    }
    return block;
}

HirInstr *
hir_instr_new(HirFunc *func, HirOp op, int nin)
{
    HirInstr *instr = jit_arena_alloc(func->arena, sizeof(HirInstr));
    instr->op = op;
    instr->id = func->next_instr_id++;
    instr->nin = nin;
    if (nin > 0) {
        instr->in = jit_arena_alloc(func->arena, sizeof(HirInstr *) * (size_t)nin);
    }
    instr->type = hir_type(0);
    return instr;
}

void
hir_block_append(HirBlock *block, HirInstr *instr)
{
    instr->block = block;
    instr->prev = block->last;
    instr->next = NULL;
    if (block->last) {
        block->last->next = instr;
    }
    else {
        block->first = instr;
    }
    block->last = instr;
}

void
hir_instr_insert_before(HirInstr *where, HirInstr *instr)
{
    HirBlock *block = where->block;
    instr->block = block;
    instr->next = where;
    instr->prev = where->prev;
    if (where->prev) {
        where->prev->next = instr;
    }
    else {
        block->first = instr;
    }
    where->prev = instr;
}

void
hir_instr_insert_after(HirInstr *where, HirInstr *instr)
{
    if (where->next) {
        hir_instr_insert_before(where->next, instr);
    }
    else {
        hir_block_append(where->block, instr);
    }
}

void
hir_instr_remove(HirInstr *instr)
{
    HirBlock *block = instr->block;
    if (instr->prev) {
        instr->prev->next = instr->next;
    }
    else {
        block->first = instr->next;
    }
    if (instr->next) {
        instr->next->prev = instr->prev;
    }
    else {
        block->last = instr->prev;
    }
    instr->prev = instr->next = NULL;
    instr->block = NULL;
}

void
hir_func_replace_uses(HirFunc *func, HirInstr *from, HirInstr *to)
{
    for (HirBlock *b = func->blocks; b; b = b->next_in_func) {
        for (HirInstr *i = b->first; i; i = i->next) {
            for (int k = 0; k < i->nin; k++) {
                if (i->in[k] == from) {
                    i->in[k] = to;
                }
            }
            HirFrameState *fs = i->fs;
            if (fs) {
                for (int k = 0; k < fs->nstack; k++) {
                    if (fs->stack[k] == from) {
                        fs->stack[k] = to;
                    }
                }
            }
        }
    }
}

int
hir_block_succs(HirBlock *block, HirBlock *out[2])
{
    HirInstr *t = block->last;
    if (t == NULL) {
        return 0;
    }
    switch (t->op) {
    case HIR_Branch:
        out[0] = t->target[0];
        return 1;
    case HIR_CondBranch:
        out[0] = t->target[0];
        out[1] = t->target[1];
        return 2;
    default:
        return 0;
    }
}

static void
hir_rpo_visit(HirBlock *b, char *seen, HirBlock **post, int *n)
{
    seen[b->id] = 1;
    HirBlock *s[2];
    int ns = hir_block_succs(b, s);
    for (int i = ns - 1; i >= 0; i--) {
        if (!seen[s[i]->id]) {
            hir_rpo_visit(s[i], seen, post, n);
        }
    }
    post[(*n)++] = b;
}

void
hir_func_compute_preds(HirFunc *func)
{
    for (HirBlock *b = func->blocks; b; b = b->next_in_func) {
        b->npreds = 0;
    }
    for (HirBlock *b = func->blocks; b; b = b->next_in_func) {
        HirBlock *s[2];
        int ns = hir_block_succs(b, s);
        for (int i = 0; i < ns; i++) {
            s[i]->npreds++;
        }
    }
    for (HirBlock *b = func->blocks; b; b = b->next_in_func) {
        b->preds = jit_arena_alloc(func->arena, sizeof(HirBlock *) * (size_t)(b->npreds + 1));
        b->npreds = 0;
    }
    for (HirBlock *b = func->blocks; b; b = b->next_in_func) {
        HirBlock *s[2];
        int ns = hir_block_succs(b, s);
        for (int i = 0; i < ns; i++) {
            if (ns == 2 && s[0] == s[1] && i == 1) {
                break;   /* both edges to one block count once */
            }
            s[i]->preds[s[i]->npreds++] = b;
        }
    }
}

/* After preds changed, keep each phi's inputs matching the new preds: an input is kept
   for each surviving predecessor (by identity with the old list). */
static void
hir_fix_phis(HirBlock *b, HirBlock **old_preds, int old_npreds)
{
    for (HirInstr *phi = b->first; phi && phi->op == HIR_Phi; phi = phi->next) {
        HirInstr **in = jit_arena_alloc(b->func->arena,
                                        sizeof(HirInstr *) * (size_t)(b->npreds + 1));
        for (int p = 0; p < b->npreds; p++) {
            for (int q = 0; q < old_npreds && q < phi->nin; q++) {
                if (old_preds[q] == b->preds[p]) {
                    in[p] = phi->in[q];
                    break;
                }
            }
        }
        phi->in = in;
        phi->nin = b->npreds;
    }
}

HirBlock **
hir_func_rpo(HirFunc *func, int *n)
{
    char *seen = jit_arena_alloc(func->arena, (size_t)func->next_block_id + 1);
    HirBlock **post = jit_arena_alloc(func->arena,
                                      sizeof(HirBlock *) * (size_t)(func->nblocks + 1));
    int count = 0;
    hir_rpo_visit(func->entry, seen, post, &count);
    /* Drop unreachable blocks. */
    HirBlock **p = &func->blocks;
    while (*p) {
        if (!seen[(*p)->id]) {
            *p = (*p)->next_in_func;
            func->nblocks--;
        }
        else {
            p = &(*p)->next_in_func;
        }
    }
    HirBlock **rpo = jit_arena_alloc(func->arena, sizeof(HirBlock *) * (size_t)(count + 1));
    for (int i = 0; i < count; i++) {
        rpo[i] = post[count - 1 - i];
        rpo[i]->rpo_index = i;
    }
    /* Phi inputs follow the order of preds: remember the old lists to fix them up. */
    HirBlock ***old_preds = jit_arena_alloc(func->arena,
                                            sizeof(HirBlock **) * (size_t)(count + 1));
    int *old_npreds = jit_arena_alloc(func->arena, sizeof(int) * (size_t)(count + 1));
    for (int i = 0; i < count; i++) {
        old_preds[i] = rpo[i]->preds;
        old_npreds[i] = rpo[i]->npreds;
    }
    hir_func_compute_preds(func);
    for (int i = 0; i < count; i++) {
        if (rpo[i]->first && rpo[i]->first->op == HIR_Phi && old_preds[i] != NULL) {
            hir_fix_phis(rpo[i], old_preds[i], old_npreds[i]);
        }
    }
    *n = count;
    return rpo;
}

bool
hir_instr_has_output(const HirInstr *instr)
{
    return hir_op_info[instr->op].out_kind != HO_NONE;
}

HirType
hir_instr_output_type(const HirInstr *instr)
{
    const HirOpInfo *info = &hir_op_info[instr->op];
    switch (info->out_kind) {
    case HO_NONE:
        return hir_type(0);
    case HO_FIXED:
        return hir_type(info->out_bits);
    case HO_PARAM:
        return instr->param;
    case HO_REFINE:
        return hir_type_meet(instr->in[0]->type, instr->param);
    case HO_NOTNULL: {
        HirType t = instr->in[0]->type;
        t.bits &= ~HT_Nullptr;
        return t;
    }
    case HO_PHI: {
        HirType t = hir_type(0);
        for (int i = 0; i < instr->nin; i++) {
            t = hir_type_union(t, instr->in[i]->type);
        }
        return t;
    }
    }
    return hir_type(HT_Top);
}

void
hir_func_infer_types(HirFunc *func)
{
    /* Phis start from Bottom and grow; everything else follows its inputs. Types only
       grow, so this terminates. */
    for (HirBlock *b = func->blocks; b; b = b->next_in_func) {
        for (HirInstr *i = b->first; i; i = i->next) {
            if (i->op == HIR_Phi) {
                i->type = hir_type(0);
            }
        }
    }
    bool changed = true;
    while (changed) {
        changed = false;
        for (HirBlock *b = func->blocks; b; b = b->next_in_func) {
            for (HirInstr *i = b->first; i; i = i->next) {
                HirType t = hir_instr_output_type(i);
                if (!hir_type_equal(t, i->type)) {
                    i->type = t;
                    changed = true;
                }
            }
        }
    }
}
