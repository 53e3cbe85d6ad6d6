/* Runtime helpers called from compiled code (see helpers.h): the generic semantics of the
   bytecodes that compiled code does not lower inline. */

#include "Jit/rt/helpers.h"

#include "opcode.h"
#include "pycore_dict.h"
#include "pycore_object.h"
#include "pycore_pyerrors.h"

/* NameError for a missing global, with .name set as the interpreter does, so that the
   traceback printer can suggest a close name. */
static void
rt_name_error(PyObject *name)
{
    PyErr_Format(PyExc_NameError, "name '%.200s' is not defined", PyUnicode_AsUTF8(name));
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value != NULL && PyErr_GivenExceptionMatches(value, PyExc_NameError)
        && ((PyNameErrorObject *)value)->name == NULL) {
        if (PyObject_SetAttrString(value, "name", name) < 0) {
            PyErr_Clear();
        }
    }
    PyErr_Restore(type, value, tb);
}

PyObject *
Ci_JitRt_LoadGlobal(_PyInterpreterFrame *frame, PyObject *name)
{
    PyObject *globals = frame->f_globals, *builtins = frame->f_builtins;
    PyObject *v;
    if (PyDict_CheckExact(globals) && PyDict_CheckExact(builtins)) {
        v = _PyDict_LoadGlobal((PyDictObject *)globals, (PyDictObject *)builtins, name);
        if (v != NULL) {
            return Py_NewRef(v);
        }
        if (!PyErr_Occurred()) {
            rt_name_error(name);
        }
        return NULL;
    }
    v = PyObject_GetItem(globals, name);
    if (v != NULL || !PyErr_ExceptionMatches(PyExc_KeyError)) {
        return v;
    }
    PyErr_Clear();
    v = PyObject_GetItem(builtins, name);
    if (v != NULL) {
        return v;
    }
    if (PyErr_ExceptionMatches(PyExc_KeyError)) {
        PyErr_Clear();
        rt_name_error(name);
    }
    return NULL;
}

CiJitPair
Ci_JitRt_LoadMethod(PyObject *obj, PyObject *name)
{
    CiJitPair r = {NULL, NULL};
    PyObject *meth = NULL;
    if (_PyObject_GetMethod(obj, name, &meth)) {
        r.first = meth;
        r.second = Py_NewRef(obj);
    }
    else {
        r.second = meth;   /* the attribute, or NULL on error */
    }
    return r;
}

PyObject *
Ci_JitRt_BinaryOp(PyObject *lhs, PyObject *rhs, int oparg)
{
    switch (oparg) {
    case NB_ADD: return PyNumber_Add(lhs, rhs);
    case NB_AND: return PyNumber_And(lhs, rhs);
    case NB_FLOOR_DIVIDE: return PyNumber_FloorDivide(lhs, rhs);
    case NB_LSHIFT: return PyNumber_Lshift(lhs, rhs);
    case NB_MATRIX_MULTIPLY: return PyNumber_MatrixMultiply(lhs, rhs);
    case NB_MULTIPLY: return PyNumber_Multiply(lhs, rhs);
    case NB_REMAINDER: return PyNumber_Remainder(lhs, rhs);
    case NB_OR: return PyNumber_Or(lhs, rhs);
    case NB_POWER: return PyNumber_Power(lhs, rhs, Py_None);
    case NB_RSHIFT: return PyNumber_Rshift(lhs, rhs);
    case NB_SUBTRACT: return PyNumber_Subtract(lhs, rhs);
    case NB_TRUE_DIVIDE: return PyNumber_TrueDivide(lhs, rhs);
    case NB_XOR: return PyNumber_Xor(lhs, rhs);
    case NB_INPLACE_ADD: return PyNumber_InPlaceAdd(lhs, rhs);
    case NB_INPLACE_AND: return PyNumber_InPlaceAnd(lhs, rhs);
    case NB_INPLACE_FLOOR_DIVIDE: return PyNumber_InPlaceFloorDivide(lhs, rhs);
    case NB_INPLACE_LSHIFT: return PyNumber_InPlaceLshift(lhs, rhs);
    case NB_INPLACE_MATRIX_MULTIPLY: return PyNumber_InPlaceMatrixMultiply(lhs, rhs);
    case NB_INPLACE_MULTIPLY: return PyNumber_InPlaceMultiply(lhs, rhs);
    case NB_INPLACE_REMAINDER: return PyNumber_InPlaceRemainder(lhs, rhs);
    case NB_INPLACE_OR: return PyNumber_InPlaceOr(lhs, rhs);
    case NB_INPLACE_POWER: return PyNumber_InPlacePower(lhs, rhs, Py_None);
    case NB_INPLACE_RSHIFT: return PyNumber_InPlaceRshift(lhs, rhs);
    case NB_INPLACE_SUBTRACT: return PyNumber_InPlaceSubtract(lhs, rhs);
    case NB_INPLACE_TRUE_DIVIDE: return PyNumber_InPlaceTrueDivide(lhs, rhs);
    case NB_INPLACE_XOR: return PyNumber_InPlaceXor(lhs, rhs);
    default:
        PyErr_Format(PyExc_SystemError, "JIT: bad BINARY_OP oparg %d", oparg);
        return NULL;
    }
}

PyObject *
Ci_JitRt_UnaryOp(PyObject *value, int opcode)
{
    switch (opcode) {
    case UNARY_NEGATIVE: return PyNumber_Negative(value);
    case UNARY_POSITIVE: return PyNumber_Positive(value);
    case UNARY_INVERT: return PyNumber_Invert(value);
    default:
        PyErr_Format(PyExc_SystemError, "JIT: bad unary opcode %d", opcode);
        return NULL;
    }
}

PyObject *
Ci_JitRt_Compare(PyObject *lhs, PyObject *rhs, int oparg)
{
    return PyObject_RichCompare(lhs, rhs, oparg);
}

static void
rt_release(PyObject **items, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_XDECREF(items[i]);
    }
}

PyObject *
Ci_JitRt_BuildTuple(PyObject **items, Py_ssize_t n)
{
    PyObject *t = PyTuple_New(n);
    if (t == NULL) {
        rt_release(items, n);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyTuple_SET_ITEM(t, i, items[i]);
    }
    return t;
}

PyObject *
Ci_JitRt_BuildList(PyObject **items, Py_ssize_t n)
{
    PyObject *l = PyList_New(n);
    if (l == NULL) {
        rt_release(items, n);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyList_SET_ITEM(l, i, items[i]);
    }
    return l;
}

PyObject *
Ci_JitRt_BuildSet(PyObject **items, Py_ssize_t n)
{
    PyObject *s = PySet_New(NULL);
    int err = s == NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!err) {
            err = PySet_Add(s, items[i]) < 0;
        }
        Py_DECREF(items[i]);
    }
    if (err) {
        Py_XDECREF(s);
        return NULL;
    }
    return s;
}

PyObject *
Ci_JitRt_BuildMap(PyObject **items, Py_ssize_t n)
{
    PyObject *d = _PyDict_FromItems(items, 2, items + 1, 2, n);
    rt_release(items, 2 * n);
    return d;
}

PyObject *
Ci_JitRt_Unpack(PyObject *seq, int n)
{
    if ((PyTuple_CheckExact(seq) && PyTuple_GET_SIZE(seq) == n)) {
        return Py_NewRef(seq);
    }
    if (PyList_CheckExact(seq) && PyList_GET_SIZE(seq) == n) {
        return PyList_AsTuple(seq);
    }
    if (Py_TYPE(seq)->tp_iter == NULL && !PySequence_Check(seq)) {
        PyErr_Format(PyExc_TypeError, "cannot unpack non-iterable %.200s object",
                     Py_TYPE(seq)->tp_name);
        return NULL;
    }
    PyObject *it = PyObject_GetIter(seq);
    if (it == NULL) {
        return NULL;
    }
    PyObject *result = PyTuple_New(n);
    if (result == NULL) {
        Py_DECREF(it);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        PyObject *item = PyIter_Next(it);
        if (item == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_Format(PyExc_ValueError,
                             "not enough values to unpack (expected %d, got %d)", n, i);
            }
            goto error;
        }
        PyTuple_SET_ITEM(result, i, item);
    }
    PyObject *extra = PyIter_Next(it);
    if (extra == NULL) {
        if (PyErr_Occurred()) {
            goto error;
        }
        Py_DECREF(it);
        return result;
    }
    Py_DECREF(extra);
    if (PyList_CheckExact(seq) || PyTuple_CheckExact(seq) || PyDict_CheckExact(seq)) {
        Py_ssize_t size = PyDict_CheckExact(seq) ? PyDict_Size(seq) : Py_SIZE(seq);
        PyErr_Format(PyExc_ValueError, "too many values to unpack (expected %d, got %zd)",
                     n, size);
    }
    else {
        PyErr_Format(PyExc_ValueError, "too many values to unpack (expected %d)", n);
    }
error:
    Py_DECREF(it);
    Py_DECREF(result);
    return NULL;
}

PyObject *
Ci_JitRt_Call(PyObject **stack, Py_ssize_t nargs, PyObject *kwnames)
{
    /* LOAD_METHOD's (method, self) shape passes self as the first argument. */
    int is_meth = stack[0] != NULL;
    PyObject *callable = is_meth ? stack[0] : stack[1];
    PyObject **args = stack + 2 - is_meth;
    Py_ssize_t total = nargs + is_meth;
    Py_ssize_t npos = total - (kwnames ? PyTuple_GET_SIZE(kwnames) : 0);
    PyObject *res = PyObject_Vectorcall(callable, args, (size_t)npos | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                        kwnames);
    rt_release(stack, nargs + 2);
    return res;
}

PyObject *
Ci_JitRt_ForIterNext(PyObject *iter)
{
    PyObject *next = (*Py_TYPE(iter)->tp_iternext)(iter);
    if (next == NULL && PyErr_Occurred() && PyErr_ExceptionMatches(PyExc_StopIteration)) {
        PyErr_Clear();
    }
    return next;
}

int
Ci_JitRt_Contains(PyObject *item, PyObject *container)
{
    return PySequence_Contains(container, item);
}
