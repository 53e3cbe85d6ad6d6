/* Runtime helpers called from compiled code (see helpers.h): the generic semantics of the
   bytecodes that compiled code does not lower inline. */

#include "Jit/rt/helpers.h"

#include "Jit/hir/hir.h"

#include "opcode.h"
#include "pycore_dict.h"
#include "pycore_long.h"
#include "pycore_object.h"
#include "pycore_pyerrors.h"
#include "pycore_unicodeobject.h"

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
Ci_JitRt_LoadGlobal(_PyInterpreterFrame *frame, PyObject *name, int kind,
                    uint32_t module_version, uint32_t builtins_version, uint32_t index)
{
    PyObject *globals = frame->f_globals, *builtins = frame->f_builtins;
    PyObject *v;
    if (PyDict_CheckExact(globals) && PyDict_CheckExact(builtins)) {
        PyDictKeysObject *gk = ((PyDictObject *)globals)->ma_keys;
        PyDictKeysObject *bk = ((PyDictObject *)builtins)->ma_keys;
        if (kind == HIR_CACHE_GLOBAL_MODULE && gk->dk_version == module_version
            && module_version != 0) {
            v = DK_UNICODE_ENTRIES(gk)[index].me_value;
            if (v != NULL) {
                return Py_NewRef(v);
            }
        }
        else if (kind == HIR_CACHE_GLOBAL_BUILTIN && gk->dk_version == module_version
                 && (uint16_t)bk->dk_version == builtins_version && module_version != 0) {
            v = DK_UNICODE_ENTRIES(bk)[index].me_value;
            if (v != NULL) {
                return Py_NewRef(v);
            }
        }
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
Ci_JitRt_LoadMethod(PyObject *obj, PyObject *name, int kind, uint32_t type_version,
                    uint32_t keys_version, PyObject *descr)
{
    CiJitPair r = {NULL, NULL};
    PyTypeObject *tp = Py_TYPE(obj);
    if (kind != HIR_CACHE_NONE && tp->tp_version_tag == type_version && type_version != 0) {
        bool hit = kind == HIR_CACHE_METHOD_NO_DICT;
        if (kind == HIR_CACHE_METHOD_VALUES && (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT)
            && *_PyObject_ManagedDictPointer(obj) == NULL
            && ((PyHeapTypeObject *)tp)->ht_cached_keys->dk_version == keys_version) {
            hit = true;
        }
        if (hit) {
            r.first = Py_NewRef(descr);
            r.second = Py_NewRef(obj);
            return r;
        }
    }
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

/* The instance-values slot a LOAD_ATTR/STORE_ATTR cache names, or NULL. */
static PyDictValues *
rt_cached_values(PyObject *obj, uint32_t type_version)
{
    PyTypeObject *tp = Py_TYPE(obj);
    if (type_version == 0 || tp->tp_version_tag != type_version
        || !(tp->tp_flags & Py_TPFLAGS_MANAGED_DICT)) {
        return NULL;
    }
    return *_PyObject_ValuesPointer(obj);
}

PyObject *
Ci_JitRt_LoadAttr(PyObject *obj, PyObject *name, uint32_t type_version, uint32_t index)
{
    PyDictValues *values = rt_cached_values(obj, type_version);
    if (values != NULL && values->values[index] != NULL) {
        return Py_NewRef(values->values[index]);
    }
    return PyObject_GetAttr(obj, name);
}

int
Ci_JitRt_StoreAttr(PyObject *obj, PyObject *name, PyObject *value, uint32_t type_version,
                   uint32_t index)
{
    PyDictValues *values = rt_cached_values(obj, type_version);
    if (values == NULL) {
        return PyObject_SetAttr(obj, name, value);
    }
    PyObject *old = values->values[index];
    values->values[index] = Py_NewRef(value);
    if (old == NULL) {
        _PyDictValues_AddToInsertionOrder(values, index);
    }
    else {
        Py_DECREF(old);
    }
    return 0;
}

/* The value of a small exact int (at most one digit), through *out. */
static bool
rt_small_int(PyObject *v, Py_ssize_t *out)
{
    if (!PyLong_CheckExact(v) || (size_t)(Py_SIZE(v) + 1) > 2) {
        return false;
    }
    *out = Py_SIZE(v) * (Py_ssize_t)((PyLongObject *)v)->ob_digit[0];
    return true;
}

PyObject *
Ci_JitRt_BinarySubscr(PyObject *container, PyObject *sub)
{
    Py_ssize_t i;
    if (rt_small_int(sub, &i) && i >= 0) {
        if (PyList_CheckExact(container) && i < PyList_GET_SIZE(container)) {
            return Py_NewRef(PyList_GET_ITEM(container, i));
        }
        if (PyTuple_CheckExact(container) && i < PyTuple_GET_SIZE(container)) {
            return Py_NewRef(PyTuple_GET_ITEM(container, i));
        }
    }
    return PyObject_GetItem(container, sub);
}

int
Ci_JitRt_StoreSubscr(PyObject *container, PyObject *sub, PyObject *value)
{
    Py_ssize_t i;
    if (PyList_CheckExact(container) && rt_small_int(sub, &i) && i >= 0
        && i < PyList_GET_SIZE(container)) {
        PyObject *old = PyList_GET_ITEM(container, i);
        PyList_SET_ITEM(container, i, Py_NewRef(value));
        Py_DECREF(old);
        return 0;
    }
    if (PyDict_CheckExact(container)) {
        return PyDict_SetItem(container, sub, value);
    }
    return PyObject_SetItem(container, sub, value);
}

/* Arithmetic on two exact floats, or NULL when the operation has no fast path. */
static PyObject *
rt_float_op(double a, double b, int oparg)
{
    switch (oparg) {
    case NB_ADD: case NB_INPLACE_ADD: return PyFloat_FromDouble(a + b);
    case NB_SUBTRACT: case NB_INPLACE_SUBTRACT: return PyFloat_FromDouble(a - b);
    case NB_MULTIPLY: case NB_INPLACE_MULTIPLY: return PyFloat_FromDouble(a * b);
    case NB_TRUE_DIVIDE: case NB_INPLACE_TRUE_DIVIDE:
        return b != 0.0 ? PyFloat_FromDouble(a / b) : NULL;
    default: return NULL;
    }
}

PyObject *
Ci_JitRt_BinaryOp(PyObject *lhs, PyObject *rhs, int oparg)
{
    if (PyLong_CheckExact(lhs) && PyLong_CheckExact(rhs)) {
        switch (oparg) {
        case NB_ADD: case NB_INPLACE_ADD:
            return _PyLong_Add((PyLongObject *)lhs, (PyLongObject *)rhs);
        case NB_SUBTRACT: case NB_INPLACE_SUBTRACT:
            return _PyLong_Subtract((PyLongObject *)lhs, (PyLongObject *)rhs);
        case NB_MULTIPLY: case NB_INPLACE_MULTIPLY:
            return _PyLong_Multiply((PyLongObject *)lhs, (PyLongObject *)rhs);
        default:
            break;
        }
    }
    else if (PyFloat_CheckExact(lhs) && PyFloat_CheckExact(rhs)) {
        PyObject *r = rt_float_op(PyFloat_AS_DOUBLE(lhs), PyFloat_AS_DOUBLE(rhs), oparg);
        if (r != NULL || PyErr_Occurred()) {
            return r;
        }
    }
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

/* The comparison of two exact ints or floats as 0/1, or -1 when there is no fast path. */
static int
rt_compare_fast(PyObject *lhs, PyObject *rhs, int op)
{
    double a, b;
    Py_ssize_t ia, ib;
    if (rt_small_int(lhs, &ia) && rt_small_int(rhs, &ib)) {
        a = (double)ia;
        b = (double)ib;
    }
    else if (PyFloat_CheckExact(lhs) && PyFloat_CheckExact(rhs)) {
        a = PyFloat_AS_DOUBLE(lhs);
        b = PyFloat_AS_DOUBLE(rhs);
    }
    else {
        return -1;
    }
    switch (op) {
    case Py_LT: return a < b;
    case Py_LE: return a <= b;
    case Py_EQ: return a == b;
    case Py_NE: return a != b;
    case Py_GT: return a > b;
    case Py_GE: return a >= b;
    default: return -1;
    }
}

PyObject *
Ci_JitRt_Compare(PyObject *lhs, PyObject *rhs, int oparg)
{
    int r = rt_compare_fast(lhs, rhs, oparg);
    if (r >= 0) {
        return Py_NewRef(r ? Py_True : Py_False);
    }
    return PyObject_RichCompare(lhs, rhs, oparg);
}

int
Ci_JitRt_CompareBool(PyObject *lhs, PyObject *rhs, int oparg)
{
    int r = rt_compare_fast(lhs, rhs, oparg);
    if (r >= 0) {
        return r;
    }
    if (PyUnicode_CheckExact(lhs) && PyUnicode_CheckExact(rhs)
        && (oparg == Py_EQ || oparg == Py_NE)) {
        return _PyUnicode_Equal(lhs, rhs) == (oparg == Py_EQ);
    }
    PyObject *res = PyObject_RichCompare(lhs, rhs, oparg);
    if (res == NULL) {
        return -1;
    }
    r = PyObject_IsTrue(res);
    Py_DECREF(res);
    return r;
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
Ci_JitRt_BuildConstKeyMap(PyObject **items, Py_ssize_t n)
{
    PyObject *keys = items[n];
    PyObject *d = NULL;
    if (!PyTuple_CheckExact(keys) || PyTuple_GET_SIZE(keys) != n) {
        PyErr_SetString(PyExc_SystemError, "bad BUILD_CONST_KEY_MAP keys argument");
    }
    else {
        d = _PyDict_FromItems(&PyTuple_GET_ITEM(keys, 0), 1, items, 1, n);
    }
    rt_release(items, n + 1);
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
    PyErr_Format(PyExc_ValueError, "too many values to unpack (expected %d)", n);
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

PyObject *
Ci_JitRt_CallEx(PyObject *func, PyObject *args, PyObject *kwargs)
{
    return PyObject_Call(func, args, kwargs);
}

PyObject *
Ci_JitRt_MakeFunction(_PyInterpreterFrame *frame, PyObject **in, int flags)
{
    int n = 1 + ((flags & 8) != 0) + ((flags & 4) != 0) + ((flags & 2) != 0)
            + ((flags & 1) != 0);
    PyFunctionObject *func = (PyFunctionObject *)PyFunction_New(in[0], frame->f_globals);
    Py_DECREF(in[0]);
    if (func == NULL) {
        rt_release(in + 1, n - 1);
        return NULL;
    }
    int k = 1;
    if (flags & 8) {
        func->func_closure = in[k++];
    }
    if (flags & 4) {
        func->func_annotations = in[k++];
    }
    if (flags & 2) {
        func->func_kwdefaults = in[k++];
    }
    if (flags & 1) {
        func->func_defaults = in[k++];
    }
    return (PyObject *)func;
}

CiJitPair
Ci_JitRt_BeforeWith(PyObject *mgr)
{
    CiJitPair r = {NULL, NULL};
    PyObject *enter = _PyObject_LookupSpecial(mgr, &_Py_ID(__enter__));
    if (enter == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_TypeError,
                         "'%.200s' object does not support the context manager protocol",
                         Py_TYPE(mgr)->tp_name);
        }
        return r;
    }
    PyObject *exit = _PyObject_LookupSpecial(mgr, &_Py_ID(__exit__));
    if (exit == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_TypeError,
                         "'%.200s' object does not support the context manager protocol "
                         "(missed __exit__ method)", Py_TYPE(mgr)->tp_name);
        }
        Py_DECREF(enter);
        return r;
    }
    PyObject *res = PyObject_CallNoArgs(enter);
    Py_DECREF(enter);
    if (res == NULL) {
        Py_DECREF(exit);
        return r;
    }
    r.first = exit;
    r.second = res;
    return r;
}

PyObject *
Ci_JitRt_FormatValue(PyObject *value, PyObject *spec, int conversion)
{
    PyObject *converted;
    switch (conversion) {
    case FVC_NONE: converted = Py_NewRef(value); break;
    case FVC_STR: converted = PyObject_Str(value); break;
    case FVC_REPR: converted = PyObject_Repr(value); break;
    case FVC_ASCII: converted = PyObject_ASCII(value); break;
    default:
        PyErr_Format(PyExc_SystemError, "unexpected conversion flag %d", conversion);
        return NULL;
    }
    if (converted == NULL) {
        return NULL;
    }
    if (PyUnicode_CheckExact(converted) && spec == NULL) {
        return converted;
    }
    PyObject *result = PyObject_Format(converted, spec);
    Py_DECREF(converted);
    return result;
}

PyObject *
Ci_JitRt_BuildString(PyObject **items, Py_ssize_t n)
{
    PyObject *s = _PyUnicode_JoinArray(&_Py_STR(empty), items, n);
    rt_release(items, n);
    return s;
}

PyObject *
Ci_JitRt_BuildSlice(PyObject **items, Py_ssize_t n)
{
    return PySlice_New(items[0], items[1], n == 3 ? items[2] : NULL);
}

int
Ci_JitRt_ListExtend(PyObject *list, PyObject *iterable)
{
    PyObject *none = _PyList_Extend((PyListObject *)list, iterable);
    if (none == NULL) {
        if (PyErr_ExceptionMatches(PyExc_TypeError) && Py_TYPE(iterable)->tp_iter == NULL
            && !PySequence_Check(iterable)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "Value after * must be an iterable, not %.200s",
                         Py_TYPE(iterable)->tp_name);
        }
        return -1;
    }
    Py_DECREF(none);
    return 0;
}

int
Ci_JitRt_DeleteAttr(PyObject *obj, PyObject *name)
{
    return PyObject_SetAttr(obj, name, NULL);
}

int
Ci_JitRt_StoreGlobal(_PyInterpreterFrame *frame, PyObject *name, PyObject *value)
{
    return PyDict_SetItem(frame->f_globals, name, value);
}
