/* Simplify: local rewrites decided by types, to a fixed point. Constant comparisons and
   truth tests fold to constants, branches on constants become jumps (their dead arm is
   dropped), guards and unbound-local checks whose input already satisfies them go, and
   a tuple built only to be unpacked (`a, b, c, d = b, c, d, a`) is never built, nor
   a constant tuple unpacked. */

#include "Jit/hir/passes.h"

static HirInstr *
simp_const_before(HirInstr *where, HirType t)
{
    HirInstr *c = hir_instr_new(where->block->func, HIR_LoadConst, 0);
    c->param = t;
    c->type = t;
    hir_instr_insert_before(where, c);
    return c;
}

/* The truth value of a value of type t, or -1 when only running it can tell. */
static int
simp_truth(HirType t)
{
    if (t.spec == HS_OBJECT) {
        PyObject *o = t.value.obj;
        if (o == Py_None || o == Py_False) {
            return 0;
        }
        if (o == Py_True) {
            return 1;
        }
        if (PyLong_CheckExact(o)) {
            return _PyLong_Sign(o) != 0;
        }
        if (PyUnicode_CheckExact(o)) {
            return PyUnicode_GET_LENGTH(o) != 0;
        }
        if (PyTuple_CheckExact(o)) {
            return PyTuple_GET_SIZE(o) != 0;
        }
        return -1;
    }
    if (t.bits == HT_NoneType) {
        return 0;
    }
    return -1;
}

/* Is V an input or a frame-state value of any instruction of FUNC? */
static bool
simp_used(HirFunc *func, HirInstr *v)
{
    for (HirBlock *b = func->blocks; b; b = b->next_in_func) {
        for (HirInstr *i = b->first; i; i = i->next) {
            for (int k = 0; k < i->nin; k++) {
                if (i->in[k] == v) {
                    return true;
                }
            }
            for (int k = 0; i->fs && k < i->fs->nstack; k++) {
                if (i->fs->stack[k] == v) {
                    return true;
                }
            }
        }
    }
    return false;
}

/* Is I an UnpackSequence<n> of a BuildTuple of n values, or of a constant tuple of n
   items? Then its TupleItem<k>s are the k-th values (constants), and once they are gone
   it goes, with a built tuple unless something else uses it: neither can fail then,
   nor run code. */
static bool
simp_unpacks_known_tuple(HirInstr *i)
{
    if (i->op != HIR_UnpackSequence) {
        return false;
    }
    HirInstr *t = i->in[0];
    if (t->op == HIR_BuildTuple) {
        return t->nin == i->index;
    }
    PyObject *o = t->type.spec == HS_OBJECT ? t->type.value.obj : NULL;
    return o != NULL && PyTuple_CheckExact(o) && PyTuple_GET_SIZE(o) == i->index;
}

/* Rewrites instruction i if its types decide it; returns true on a change. */
static bool
simp_instr(HirFunc *func, HirInstr *i)
{
    HirInstr *repl = NULL;
    switch (i->op) {
    case HIR_GuardType:
    case HIR_GuardIs:
    case HIR_RefineType:
        if (hir_type_is_subtype(i->in[0]->type, i->param)) {
            repl = i->in[0];
        }
        break;
    case HIR_CheckLocal:
        if (!hir_type_could_be(i->in[0]->type, HT_Nullptr)) {
            repl = i->in[0];
        }
        break;
    case HIR_PtrEq: {
        HirType a = i->in[0]->type, b = i->in[1]->type;
        int value = -1;
        /* BoxBool<k>(x) is True exactly when x != 0 (x == 0 when inverted). */
        if (i->in[0]->op == HIR_BoxBool && b.spec == HS_OBJECT
            && (b.value.obj == Py_True || b.value.obj == Py_False)) {
            HirInstr *x = i->in[0]->in[0];
            bool want_nonzero = (b.value.obj == Py_True) != (i->in[0]->index != 0);
            if (want_nonzero) {
                repl = x;
            }
            else {
                HirInstr *zero = simp_const_before(i, hir_type_of_int(HT_CInt64, 0));
                i->in[0] = x;
                i->in[1] = zero;
                return true;
            }
            break;
        }
        if (i->in[0] == i->in[1]) {
            value = 1;
        }
        else if (a.spec == HS_OBJECT && b.spec == HS_OBJECT) {
            value = a.value.obj == b.value.obj;
        }
        else if ((a.bits & b.bits) == 0 && (a.bits & ~HT_OptObject) == 0
                 && (b.bits & ~HT_OptObject) == 0) {
            value = 0;   /* no object has both types (C values compare by number) */
        }
        if (value >= 0) {
            repl = simp_const_before(i, hir_type_of_int(HT_CBool, value));
        }
        break;
    }
    case HIR_TupleItem: {
        HirInstr *t = i->in[0]->in[0];
        if (!simp_unpacks_known_tuple(i->in[0])) {
            break;
        }
        repl = t->op == HIR_BuildTuple
                   ? t->in[i->index]
                   : simp_const_before(i, hir_type_of_object(
                                              PyTuple_GET_ITEM(t->type.value.obj, i->index)));
        break;
    }
    case HIR_UnpackSequence: {
        HirInstr *t = i->in[0];
        if (!simp_unpacks_known_tuple(i) || simp_used(func, i)) {
            return false;
        }
        hir_instr_remove(i);
        if (t->op == HIR_BuildTuple && !simp_used(func, t)) {
            hir_instr_remove(t);
        }
        return true;
    }
    case HIR_IsTruthy: {
        int value = simp_truth(i->in[0]->type);
        if (value >= 0) {
            repl = simp_const_before(i, hir_type_of_int(HT_CInt64, value));
        }
        break;
    }
    case HIR_BoxBool: {
        HirType c = i->in[0]->type;
        if (c.spec == HS_INT) {
            bool value = (c.value.i != 0) != (i->index != 0);
            repl = simp_const_before(i, hir_type_of_object(value ? Py_True : Py_False));
        }
        break;
    }
    case HIR_CondBranch: {
        HirType c = i->in[0]->type;
        int value = -1;
        if (c.spec == HS_INT) {
            value = c.value.i != 0;
        }
        else if (c.bits == HT_Nullptr) {
            value = 0;
        }
        else if ((c.bits & HT_Object) == c.bits && c.bits != 0) {
            value = 1;   /* an object, never NULL */
        }
        if (value < 0) {
            return false;
        }
        HirInstr *br = hir_instr_new(func, HIR_Branch, 0);
        br->target[0] = i->target[value ? 0 : 1];
        hir_instr_insert_before(i, br);
        hir_instr_remove(i);
        return true;
    }
    default:
        return false;
    }
    if (repl == NULL) {
        return false;
    }
    hir_func_replace_uses(func, i, repl);
    hir_instr_remove(i);
    return true;
}

void
hir_simplify(HirFunc *func)
{
    bool changed = true;
    while (changed) {
        changed = false;
        int nblocks;
        hir_func_rpo(func, &nblocks);
        hir_func_infer_types(func);
        for (HirBlock *b = func->blocks; b; b = b->next_in_func) {
            for (HirInstr *i = b->first; i;) {
                HirInstr *next = i->next;
                changed |= simp_instr(func, i);
                i = next;
            }
        }
    }
    int nblocks;
    hir_func_rpo(func, &nblocks);
    hir_func_infer_types(func);
}
