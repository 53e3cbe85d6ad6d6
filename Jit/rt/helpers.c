/* Runtime helpers called from compiled code (see helpers.h): the generic semantics of the
   bytecodes that compiled code does not lower inline. */

#include "Jit/rt/helpers.h"

#include "Jit/hir/hir.h"
#include "Jit/runtime.h"
#include "cinder/ceval_frames.h"
#include "cinder/eager_await.h"
#include "cinder/jit_hooks.h"
#include "pycore_ceval.h"

#include "opcode.h"
#include "pycore_dict.h"
#include "pycore_function.h"
#include "pycore_genobject.h"
#include "pycore_long.h"
#include "pycore_moduleobject.h"
#include "pycore_object.h"
#include "pycore_pyerrors.h"
#include "pycore_unicodeobject.h"
#include "structmember.h"

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

/* -- Inline caches ------------------------------------------------------------------------ */

/* The way a site's refill should write, or NULL when it should not refill now: the first
   misses always, then one in RT_REFILL_PERIOD, so that a megamorphic site does not pay
   for a refill each time. The refill goes to way 0, which compiled code tries inline;
   the older ways move down one and the oldest is dropped. */
#define RT_REFILL_EAGER 64
#define RT_REFILL_PERIOD 64

static HirCache *
rt_refill_way(CiJitSiteCache *c, int nways)
{
    c->misses++;
    if (c->misses > RT_REFILL_EAGER && c->misses % RT_REFILL_PERIOD != 0) {
        return NULL;
    }
    memmove(&c->way[1], &c->way[0], sizeof(HirCache) * (size_t)(nways - 1));
    return &c->way[0];
}

/* Where TP's instances keep their dict: the managed dict's place before the object, or
   tp_dictoffset; 0 when they have none, or one these caches do not handle (at the end
   of a variable-size object: a negative offset). */
static int32_t
rt_dict_offset(PyTypeObject *tp)
{
    if (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) {
        return -3 * (int32_t)sizeof(PyObject *);
    }
    return tp->tp_dictoffset > 0 && tp->tp_dictoffset <= INT16_MAX ? (int32_t)tp->tp_dictoffset
                                                                   : 0;
}

/* OBJ's dict at OFFSET (from rt_dict_offset), or NULL. */
static inline PyDictObject *
rt_instance_dict(PyObject *obj, int32_t offset)
{
    return *(PyDictObject **)((char *)obj + offset);
}

/* A type's version tag for caching, assigning one if needed; 0 when it has none. */
static uint32_t
rt_type_version(PyTypeObject *tp, PyObject *name, PyObject **descr)
{
    *descr = _PyType_Lookup(tp, name); /* assigns the version tag when it can */
    if (!(tp->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG)) {
        return 0;
    }
    return tp->tp_version_tag;
}

/* The index of NAME in the shared keys of TP's instances, or -1. */
static Py_ssize_t
rt_shared_index(PyTypeObject *tp, PyObject *name)
{
    PyDictKeysObject *keys = ((PyHeapTypeObject *)tp)->ht_cached_keys;
    return keys == NULL ? -1 : _PyDictKeys_StringLookup(keys, name);
}

/* A MODULE cache entry C for NAME in a module's dict: its keys version, the index of
   NAME's entry and its value slot; false if there is none. */
static bool
rt_module_entry(PyObject *module, PyObject *name, HirCache *c)
{
    PyObject *dict = ((PyModuleObject *)module)->md_dict;
    if (dict == NULL || !PyDict_CheckExact(dict)) {
        return false;
    }
    PyDictKeysObject *keys = ((PyDictObject *)dict)->ma_keys;
    if (keys->dk_kind != DICT_KEYS_UNICODE) {
        return false;
    }
    Py_ssize_t ix = _PyDictKeys_StringLookup(keys, name);
    if (ix < 0 || ix > UINT16_MAX) {
        return false;
    }
    uint32_t v = _PyDictKeys_GetVersionForCurrentState(keys);
    if (v == 0) {
        return false;
    }
    c->version = v;
    c->index = (uint32_t)ix;
    c->value = &DK_UNICODE_ENTRIES(keys)[ix].me_value;
    return true;
}

/* Refill an attribute site's cache from OBJ's type, for a load (LOAD_ATTR or, with
   METHOD, LOAD_METHOD) or a store. Leaves the kind NONE when no fast path applies. */
static void
rt_fill_attr(HirCache *c, PyObject *obj, PyObject *name, bool store, bool method)
{
    PyTypeObject *tp = Py_TYPE(obj);
    c->kind = HIR_CACHE_NONE;
    if (PyModule_CheckExact(obj) && !store) {
        if (rt_module_entry(obj, name, c)) {
            c->kind = HIR_CACHE_MODULE;
        }
        return;
    }
    if ((store ? tp->tp_setattro != PyObject_GenericSetAttr
               : tp->tp_getattro != PyObject_GenericGetAttr)) {
        return;
    }
    PyObject *descr;
    uint32_t version = rt_type_version(tp, name, &descr);
    if (version == 0) {
        return;
    }
    bool managed = (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) != 0;
    int32_t offset = rt_dict_offset(tp);
    if (offset == 0 && tp->tp_dictoffset != 0) {
        return; /* a dict at the end of a variable-size object, or too far */
    }
    c->version = version;
    if (descr == NULL) {
        /* Only the instance can have it: in its values, or in its real dict (the entry
           where the name is now, a hint checked on every lookup). */
        if (method || offset == 0) {
            return;
        }
        Py_ssize_t ix = -1;
        PyDictObject *dict = rt_instance_dict(obj, offset);
        if (managed && *_PyObject_ValuesPointer(obj) != NULL) {
            ix = rt_shared_index(tp, name);
            c->kind = HIR_CACHE_INSTANCE_VALUE;
        }
        else if (dict != NULL && dict->ma_keys->dk_kind != DICT_KEYS_GENERAL) {
            ix = _PyDictKeys_StringLookup(dict->ma_keys, name);
            c->kind = HIR_CACHE_DICT_HINT;
            c->version2 = (uint32_t)offset;
        }
        if (ix >= 0 && ix <= UINT16_MAX) {
            c->index = (uint32_t)ix;
        }
        else {
            c->kind = HIR_CACHE_NONE;
        }
        return;
    }
    PyTypeObject *dtp = Py_TYPE(descr);
    if (dtp == &PyMemberDescr_Type && !method) {
        PyMemberDef *m = ((PyMemberDescrObject *)descr)->d_member;
        if (!PyType_IsSubtype(tp, ((PyMemberDescrObject *)descr)->d_common.d_type)) {
            return; /* another class's slot: the descriptor raises TypeError */
        }
        if (m->type == T_OBJECT_EX && !(store && (m->flags & READONLY))
            && m->offset > 0 && m->offset <= UINT16_MAX) {
            c->kind = HIR_CACHE_SLOT;
            c->index = (uint32_t)m->offset;
        }
        return;
    }
    /* The type's attribute, unless the instance shadows it: true only when no instance
       of the type has a dict (NO_DICT), or this one keeps its attributes in values whose
       shared keys lack the name (checked through the keys version). */
    if (store || dtp->tp_descr_set != NULL
        || (method ? !(dtp->tp_flags & Py_TPFLAGS_METHOD_DESCRIPTOR)
                   : dtp->tp_descr_get != NULL)) {
        return;
    }
    if (offset == 0) {
        c->kind = method ? HIR_CACHE_METHOD_NO_DICT : HIR_CACHE_CLASS_VALUE;
        c->descr = descr;
        return;
    }
    /* The keys the instance's attributes use must lack the name: the type's shared keys
       (values not made a dict), or those of its real dict; or it has no dict yet (a
       method only, for these two). */
    PyDictObject *dict = rt_instance_dict(obj, offset);
    bool values = managed && *_PyObject_ValuesPointer(obj) != NULL;
    if (!values && !method) {
        return;
    }
    PyDictKeysObject *keys = values ? ((PyHeapTypeObject *)tp)->ht_cached_keys
                             : dict != NULL ? dict->ma_keys
                                            : NULL;
    c->version2 = 0;
    if (keys != NULL) {
        if (keys->dk_kind == DICT_KEYS_GENERAL
            || _PyDictKeys_StringLookup(keys, name) != DKIX_EMPTY
            || (c->version2 = _PyDictKeys_GetVersionForCurrentState(keys)) == 0) {
            return;
        }
    }
    else if (values || managed) {
        return; /* a managed dict is NULL only while the values hold the attributes */
    }
    c->kind = values ? (method ? HIR_CACHE_METHOD_VALUES : HIR_CACHE_CLASS_VALUE)
                     : HIR_CACHE_METHOD_WITH_DICT;
    c->index = (uint32_t)offset;
    c->descr = descr;
}

/* Whether OBJ, of the cached type, keeps no attribute of its own that could shadow the
   type's (a METHOD_VALUES or CLASS_VALUE cache). */
static inline bool
rt_unshadowed(PyObject *obj, HirCache *c)
{
    if (!(Py_TYPE(obj)->tp_flags & Py_TPFLAGS_MANAGED_DICT)) {
        return true; /* instances of the type have no dict at all */
    }
    return *_PyObject_ManagedDictPointer(obj) == NULL
           && ((PyHeapTypeObject *)Py_TYPE(obj))->ht_cached_keys->dk_version == c->version2;
}

/* The module attribute a MODULE cache names, or NULL: entry `index` of the module
   dict's keys while they are the keys whose version the cache holds (a keys version
   names one keys object and its layout; the interpreter's LOAD_ATTR_MODULE cache, which
   seeds compiled code's, holds the same two). */
static inline PyObject *
rt_cached_module_attr(PyObject *obj, HirCache *c)
{
    if (!PyModule_CheckExact(obj)) {
        return NULL;
    }
    PyDictKeysObject *keys = ((PyDictObject *)((PyModuleObject *)obj)->md_dict)->ma_keys;
    if (keys->dk_version != c->version) {
        return NULL;
    }
    return DK_UNICODE_ENTRIES(keys)[c->index].me_value;
}

/* The value of the entry a DICT_HINT cache names in OBJ's real dict, when the entry
   still holds NAME; else NULL. */
static inline PyObject *
rt_dict_hint(PyObject *obj, PyObject *name, HirCache *c)
{
    PyDictObject *dict = rt_instance_dict(obj, (int32_t)c->version2);
    if (dict == NULL) {
        return NULL;
    }
    PyDictKeysObject *keys = dict->ma_keys;
    if (keys->dk_kind == DICT_KEYS_GENERAL || c->index >= (uint32_t)keys->dk_nentries
        || DK_UNICODE_ENTRIES(keys)[c->index].me_key != name) {
        return NULL;
    }
    return dict->ma_values != NULL ? dict->ma_values->values[c->index]
                                   : DK_UNICODE_ENTRIES(keys)[c->index].me_value;
}

/* LOAD_ATTR's fast path through way E: a borrowed reference, or NULL on a miss. */
static inline PyObject *
rt_load_attr_way(PyObject *obj, PyObject *name, HirCache *e)
{
    if (e->kind == HIR_CACHE_MODULE) {
        return rt_cached_module_attr(obj, e);
    }
    if (Py_TYPE(obj)->tp_version_tag != e->version) {
        return NULL;
    }
    switch (e->kind) {
    case HIR_CACHE_INSTANCE_VALUE: {
        PyDictValues *values = *_PyObject_ValuesPointer(obj);
        return values != NULL ? values->values[e->index] : NULL;
    }
    case HIR_CACHE_SLOT:
        return *(PyObject **)((char *)obj + e->index);
    case HIR_CACHE_CLASS_VALUE:
        return rt_unshadowed(obj, e) ? e->descr : NULL;
    case HIR_CACHE_DICT_HINT:
        return rt_dict_hint(obj, name, e);
    default:
        return NULL;
    }
}

PyObject *
Ci_JitRt_LoadAttr(PyObject *obj, PyObject *name, CiJitSiteCache *c)
{
    c->calls++;
    PyObject *v;
    for (int k = 0; k < CI_JIT_CACHE_WAYS; k++) {
        if ((v = rt_load_attr_way(obj, name, &c->way[k])) != NULL) {
            return Py_NewRef(v);
        }
    }
    HirCache *e = rt_refill_way(c, CI_JIT_CACHE_WAYS);
    if (e != NULL) {
        rt_fill_attr(e, obj, name, false, false);
        if ((v = rt_load_attr_way(obj, name, e)) != NULL) {
            return Py_NewRef(v);
        }
    }
    return PyObject_GetAttr(obj, name);
}

/* STORE_ATTR's fast path through way E: true when it stored VALUE. */
static inline bool
rt_store_attr_way(PyObject *obj, PyObject *value, HirCache *e)
{
    if (Py_TYPE(obj)->tp_version_tag != e->version) {
        return false;
    }
    PyObject **slot, *old;
    if (e->kind == HIR_CACHE_INSTANCE_VALUE) {
        PyDictValues *values = *_PyObject_ValuesPointer(obj);
        if (values == NULL) {
            return false;
        }
        slot = &values->values[e->index];
        old = *slot;
        *slot = Py_NewRef(value);
        if (old == NULL) {
            _PyDictValues_AddToInsertionOrder(values, e->index);
        }
        else {
            Py_DECREF(old);
        }
        return true;
    }
    if (e->kind == HIR_CACHE_SLOT) {
        slot = (PyObject **)((char *)obj + e->index);
        old = *slot;
        *slot = Py_NewRef(value);
        Py_XDECREF(old);
        return true;
    }
    return false;
}

int
Ci_JitRt_StoreAttr(PyObject *obj, PyObject *name, PyObject *value, CiJitSiteCache *c)
{
    c->calls++;
    for (int k = 0; k < CI_JIT_CACHE_WAYS; k++) {
        if (rt_store_attr_way(obj, value, &c->way[k])) {
            return 0;
        }
    }
    HirCache *e = rt_refill_way(c, CI_JIT_CACHE_WAYS);
    if (e != NULL) {
        rt_fill_attr(e, obj, name, true, false);
        if (rt_store_attr_way(obj, value, e)) {
            return 0;
        }
    }
    return PyObject_SetAttr(obj, name, value);
}

/* LOAD_METHOD's fast path through way E: true when it set *r. */
static inline bool
rt_load_method_way(PyObject *obj, PyObject *name, HirCache *e, CiJitPair *r)
{
    if (e->kind == HIR_CACHE_MODULE) {
        PyObject *v = rt_cached_module_attr(obj, e);
        if (v == NULL) {
            return false;
        }
        r->first = NULL;
        r->second = Py_NewRef(v);
        return true;
    }
    if (Py_TYPE(obj)->tp_version_tag != e->version) {
        return false;
    }
    switch (e->kind) {
    case HIR_CACHE_METHOD_NO_DICT:
        break;
    case HIR_CACHE_METHOD_VALUES:
        if (!rt_unshadowed(obj, e)) {
            return false;
        }
        break;
    case HIR_CACHE_METHOD_WITH_DICT: {
        /* no dict yet (version2 0), or a dict whose keys are still those cached, or
           else lack the name (instances of a builtin type with a __dict__, such as
           asyncio's tasks, each have keys of their own) */
        PyDictObject *dict = rt_instance_dict(obj, (int32_t)e->index);
        if (dict == NULL ? e->version2 != 0
                         : (e->version2 == 0 || dict->ma_keys->dk_version != e->version2)
                               && (dict->ma_keys->dk_kind == DICT_KEYS_GENERAL
                                   || _PyDictKeys_StringLookup(dict->ma_keys, name)
                                          != DKIX_EMPTY)) {
            return false;
        }
        break;
    }
    default:
        return false;
    }
    r->first = Py_NewRef(e->descr);
    r->second = Py_NewRef(obj);
    return true;
}

CiJitPair
Ci_JitRt_LoadMethod(PyObject *obj, PyObject *name, CiJitSiteCache *c)
{
    c->calls++;
    CiJitPair r = {NULL, NULL};
    for (int k = 0; k < CI_JIT_CACHE_WAYS; k++) {
        if (rt_load_method_way(obj, name, &c->way[k], &r)) {
            return r;
        }
    }
    HirCache *e = rt_refill_way(c, CI_JIT_CACHE_WAYS);
    if (e != NULL) {
        rt_fill_attr(e, obj, name, false, true);
        if (rt_load_method_way(obj, name, e, &r)) {
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

/* LOAD_GLOBAL's fast path through way C: a borrowed reference, or NULL on a miss. */
static inline PyObject *
rt_load_global_way(PyDictObject *globals, PyDictObject *builtins, HirCache *c)
{
    if (globals->ma_keys->dk_version != c->version) {
        return NULL;
    }
    if (c->kind == HIR_CACHE_GLOBAL_MODULE
        || (c->kind == HIR_CACHE_GLOBAL_BUILTIN
            && builtins->ma_keys->dk_version == c->version2)) {
        return *c->value;
    }
    return NULL;
}

/* Refill a LOAD_GLOBAL cache: where NAME is now, in the globals or else the builtins. */
static void
rt_fill_global(HirCache *c, PyDictObject *globals, PyDictObject *builtins, PyObject *name)
{
    c->kind = HIR_CACHE_NONE;
    PyDictKeysObject *gk = globals->ma_keys, *bk = builtins->ma_keys;
    if (gk->dk_kind != DICT_KEYS_UNICODE || bk->dk_kind != DICT_KEYS_UNICODE) {
        return;
    }
    Py_ssize_t ix = _PyDictKeys_StringLookup(gk, name);
    uint32_t gv = _PyDictKeys_GetVersionForCurrentState(gk);
    if (gv == 0 || ix > UINT16_MAX) {
        return;
    }
    if (ix >= 0) {
        c->kind = HIR_CACHE_GLOBAL_MODULE;
        c->value = &DK_UNICODE_ENTRIES(gk)[ix].me_value;
    }
    else {
        ix = _PyDictKeys_StringLookup(bk, name);
        c->version2 = _PyDictKeys_GetVersionForCurrentState(bk);
        if (ix < 0 || ix > UINT16_MAX || c->version2 == 0) {
            return;
        }
        c->kind = HIR_CACHE_GLOBAL_BUILTIN;
        c->value = &DK_UNICODE_ENTRIES(bk)[ix].me_value;
    }
    c->version = gv;
    c->index = (uint32_t)ix;
}

void
Ci_JitRt_SeedModuleAttrCache(HirCache *c, PyObject *module, PyObject *name)
{
    c->kind = HIR_CACHE_NONE;
    if (PyModule_CheckExact(module) && PyUnicode_CheckExact(name)) {
        rt_fill_attr(c, module, name, false, false);   /* a module's: MODULE or NONE */
    }
}

void
Ci_JitRt_SeedGlobalCache(HirCache *c, PyObject *globals, PyObject *builtins, PyObject *name)
{
    if (PyDict_CheckExact(globals) && PyDict_CheckExact(builtins)
        && PyUnicode_CheckExact(name)) {
        rt_fill_global(c, (PyDictObject *)globals, (PyDictObject *)builtins, name);
    }
}

PyObject *
Ci_JitRt_LoadGlobal(_PyInterpreterFrame *frame, PyObject *name, CiJitSiteCache *c)
{
    c->calls++;
    PyObject *globals = frame->f_globals, *builtins = frame->f_builtins;
    PyObject *v;
    if (PyDict_CheckExact(globals) && PyDict_CheckExact(builtins)) {
        PyDictObject *g = (PyDictObject *)globals, *b = (PyDictObject *)builtins;
        if ((v = rt_load_global_way(g, b, &c->way[0])) != NULL) {
            return Py_NewRef(v);
        }
        HirCache *e = rt_refill_way(c, 1);
        if (e != NULL) {
            rt_fill_global(e, g, b, name);
            if ((v = rt_load_global_way(g, b, e)) != NULL) {
                return Py_NewRef(v);
            }
        }
        v = _PyDict_LoadGlobal(g, b, name);
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

/* The interpreter's unpacking of SEQ (its unpack_iterable), into a new tuple: the first
   BEFORE items and, when AFTER >= 0 (a starred target), a list of the middle items and
   the last AFTER items; AFTER < 0 takes exactly BEFORE items. NULL with the
   interpreter's errors. */
static PyObject *
rt_unpack_iterable(PyObject *seq, int before, int after)
{
    PyObject *it = PyObject_GetIter(seq);
    if (it == NULL) {
        if (PyErr_ExceptionMatches(PyExc_TypeError) && Py_TYPE(seq)->tp_iter == NULL
            && !PySequence_Check(seq)) {
            PyErr_Format(PyExc_TypeError, "cannot unpack non-iterable %.200s object",
                         Py_TYPE(seq)->tp_name);
        }
        return NULL;
    }
    PyObject *result = PyTuple_New(before + (after < 0 ? 0 : 1 + after));
    PyObject *rest = NULL;
    if (result == NULL) {
        goto error;
    }
    for (int i = 0; i < before; i++) {
        PyObject *item = PyIter_Next(it);
        if (item == NULL) {
            if (!PyErr_Occurred() && after < 0) {
                PyErr_Format(PyExc_ValueError,
                             "not enough values to unpack (expected %d, got %d)", before, i);
            }
            else if (!PyErr_Occurred()) {
                PyErr_Format(PyExc_ValueError,
                             "not enough values to unpack (expected at least %d, got %d)",
                             before + after, i);
            }
            goto error;
        }
        PyTuple_SET_ITEM(result, i, item);
    }
    if (after < 0) {
        PyObject *extra = PyIter_Next(it);
        if (extra == NULL) {
            if (PyErr_Occurred()) {
                goto error;
            }
            Py_DECREF(it);
            return result;
        }
        Py_DECREF(extra);
        PyErr_Format(PyExc_ValueError, "too many values to unpack (expected %d)", before);
        goto error;
    }
    rest = PySequence_List(it);
    if (rest == NULL) {
        goto error;
    }
    Py_ssize_t nrest = PyList_GET_SIZE(rest);
    if (nrest < after) {
        PyErr_Format(PyExc_ValueError,
                     "not enough values to unpack (expected at least %d, got %zd)",
                     before + after, before + nrest);
        goto error;
    }
    /* The last AFTER items move from the list to the tuple. */
    for (int j = 0; j < after; j++) {
        PyTuple_SET_ITEM(result, before + 1 + j, PyList_GET_ITEM(rest, nrest - after + j));
    }
    Py_SET_SIZE(rest, nrest - after);
    PyTuple_SET_ITEM(result, before, rest);
    Py_DECREF(it);
    return result;
error:
    Py_XDECREF(rest);
    Py_XDECREF(result);
    Py_DECREF(it);
    return NULL;
}

PyObject *
Ci_JitRt_Unpack(PyObject *seq, int n)
{
    if (PyList_CheckExact(seq) && PyList_GET_SIZE(seq) == n) {
        return PyList_AsTuple(seq);
    }
    return rt_unpack_iterable(seq, n, -1);
}

PyObject *
Ci_JitRt_UnpackEx(PyObject *seq, int oparg)
{
    return rt_unpack_iterable(seq, oparg & 0xFF, oparg >> 8);
}

PyObject *
Ci_JitRt_LoadBuildClass(_PyInterpreterFrame *frame)
{
    PyObject *builtins = frame->f_builtins, *bc;
    if (PyDict_CheckExact(builtins)) {
        bc = Py_XNewRef(_PyDict_GetItemWithError(builtins, &_Py_ID(__build_class__)));
        if (bc == NULL && !PyErr_Occurred()) {
            PyErr_SetString(PyExc_NameError, "__build_class__ not found");
        }
    }
    else {
        bc = PyObject_GetItem(builtins, &_Py_ID(__build_class__));
        if (bc == NULL && PyErr_ExceptionMatches(PyExc_KeyError)) {
            PyErr_SetString(PyExc_NameError, "__build_class__ not found");
        }
    }
    return bc;
}

/* Whether a call of FUNC (whose code is CODE) with NPOS positional arguments and no
   keywords binds them, and the defaults of the parameters after them, without
   initialize_locals: no keyword-only or star parameters, at most co_argcount arguments
   and a default for each missing one. */
static inline bool
rt_binds_positionally(PyFunctionObject *func, PyCodeObject *code, Py_ssize_t npos)
{
    Py_ssize_t ndefaults = func->func_defaults ? PyTuple_GET_SIZE(func->func_defaults) : 0;
    return code->co_kwonlyargcount == 0 && !(code->co_flags & (CO_VARARGS | CO_VARKEYWORDS))
           && npos <= code->co_argcount && npos >= code->co_argcount - ndefaults;
}

/* Pushes the frame of a call of FUNC, whose CODE binds the NARGS positional ARGS it gets
   positionally (rt_binds_positionally), and binds them and the defaults of the remaining
   parameters as the interpreter does (consuming FUNC and ARGS). NULL (nothing consumed)
   when the thread's data stack needs a new chunk. */
static inline _PyInterpreterFrame *
rt_push_positional(PyThreadState *tstate, PyFunctionObject *func, PyCodeObject *code,
                   PyObject **args, Py_ssize_t nargs)
{
    size_t size = (size_t)(code->co_nlocalsplus + code->co_stacksize) + FRAME_SPECIALS_SIZE;
    _PyInterpreterFrame *frame = _PyThreadState_BumpFramePointer(tstate, size);
    if (frame != NULL) {
        _PyFrame_InitializeSpecials(frame, func, NULL, code->co_nlocalsplus);
        for (Py_ssize_t k = 0; k < nargs; k++) {
            frame->localsplus[k] = args[k];
        }
        int argcount = code->co_argcount;
        if (nargs < argcount) {
            /* The defaults are the last parameters'. */
            PyObject *defaults = func->func_defaults;
            int first = argcount - (int)PyTuple_GET_SIZE(defaults);
            for (int k = (int)nargs; k < argcount; k++) {
                frame->localsplus[k] = Py_NewRef(PyTuple_GET_ITEM(defaults, k - first));
            }
        }
        for (int k = Py_MAX(argcount, (int)nargs); k < code->co_nlocalsplus; k++) {
            frame->localsplus[k] = NULL;
        }
    }
    return frame;
}

/* Makes FRAME, pushed and bound, the current frame with what precedes its entry RESUME
   and the RESUME run, and counts the recursion. Returns FRAME, or NULL with an exception
   set (RecursionError, or no memory for a cell) and FRAME popped. */
static inline _PyInterpreterFrame *
rt_link_frame(PyThreadState *tstate, _PyInterpreterFrame *frame)
{
    if (frame->f_code->_co_firsttraceable != 0 && ci_jit_run_cell_prefix(frame) < 0) {
        _PyEvalFrameClearAndPop(tstate, frame);
        return NULL;
    }
    frame->prev_instr = _PyCode_CODE(frame->f_code) + frame->f_code->_co_firsttraceable;
    _PyCFrame *cframe = tstate->cframe;
    frame->previous = cframe->current_frame;
    cframe->current_frame = frame;
    if (_Py_EnterRecursiveCallTstate(tstate, "")) {
        cframe->current_frame = frame->previous;
        _PyEvalFrameClearAndPop(tstate, frame);
        return NULL;
    }
    return frame;
}

/* The frame of a call of FUNC whose compiled body will run at once: push and bind it as
   the interpreter does (consuming FUNC and ARGS), make it the current frame and count
   the recursion, which skips _PyEval_Vector and an interpreter activation per call
   between compiled functions. With EAGER, FUNC is a coroutine function whose awaited call
   runs eagerly: its frame is marked so, and starts at the RESUME after RETURN_GENERATOR,
   POP_TOP. Returns NULL with an exception set; *PUSHED then says whether the frame had
   been pushed (binding the arguments did not fail) before the recursion limit stopped
   it. */
static _PyInterpreterFrame *
rt_enter_compiled(PyThreadState *tstate, PyFunctionObject *func, PyObject **args,
                  Py_ssize_t nargs, PyObject *kwnames, bool eager, bool *pushed)
{
    PyCodeObject *code = (PyCodeObject *)func->func_code;
    _PyInterpreterFrame *frame = NULL;
    if (kwnames == NULL && rt_binds_positionally(func, code, nargs)) {
        frame = rt_push_positional(tstate, func, code, args, nargs);
    }
    if (frame == NULL) {
        frame = _PyEvalFramePushAndInit(tstate, func, NULL, args, (size_t)nargs, kwnames);
        if (frame == NULL) {
            *pushed = false;
            return NULL;
        }
    }
    *pushed = true;
    if (eager) {
        frame->ci_flags = CI_FRAME_EAGER_AWAIT;
    }
    return rt_link_frame(tstate, frame);
}

/* The end of a call that rt_enter_compiled began, after the body returned RES on FRAME:
   unlink and pop the frame, after letting the interpreter finish it if the body
   deopted. Returns the call's result. */
PyObject *
Ci_JitRt_CallLeave(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *res)
{
    tstate->cframe->current_frame = frame->previous;
    if (res == CI_JIT_DEOPT || res == CI_JIT_DEOPT_ERROR || frame->frame_obj != NULL) {
        _Py_LeaveRecursiveCallTstate(tstate);
        if (res == CI_JIT_DEOPT || res == CI_JIT_DEOPT_ERROR) {
            res = ci_jit_finish_deopted(tstate, frame, res);
        }
        /* _PyEvalFrameClearAndPop; with a frame object, which takes a copy of the
           frame, as it outlives it. */
        _PyEvalFrameClearAndPop(tstate, frame);
        return res;
    }
    /* _PyEvalFrameClearAndPop, for a frame without a frame object: the frame's
       references go at the callee's recursion depth, which the interpreter leaves
       (_Py_LeaveRecursiveCallTstate) and enters again around them; so the call is left
       after them. */
    for (int k = 0; k < frame->stacktop; k++) {
        Py_XDECREF(frame->localsplus[k]);
    }
    Py_XDECREF(frame->f_locals);
    Py_DECREF(frame->f_func);
    Py_DECREF(frame->f_code);
    _Py_LeaveRecursiveCallTstate(tstate);
    if ((PyObject **)frame == &tstate->datastack_chunk->data[0]) {
        _PyThreadState_PopFrame(tstate, frame);   /* the chunk goes too */
    }
    else {
        tstate->datastack_top = (PyObject **)frame;
    }
    return res;
}

/* A CALL's stack (NULL or method, callable or self, arguments): the callable, where its
   arguments start and how many are positional. LOAD_METHOD's (method, self) shape passes
   self as the first argument. */
static inline void
rt_call_shape(PyObject **stack, Py_ssize_t nargs, PyObject *kwnames, PyObject **callable,
              PyObject ***args, Py_ssize_t *npos)
{
    int is_meth = stack[0] != NULL;
    *callable = is_meth ? stack[0] : stack[1];
    *args = stack + 2 - is_meth;
    *npos = nargs + is_meth - (kwnames ? PyTuple_GET_SIZE(kwnames) : 0);
}

/* A builtin function, or a method of a builtin type called on an instance of exactly
   that type, with no keywords and the arguments its METH_NOARGS, METH_O or
   METH_FASTCALL flags take: straight through its C function, as the interpreter's
   specialised PRECALL_BUILTIN_* and PRECALL_*_METHOD_DESCRIPTOR* instructions call it
   (PyObject_Vectorcall would find the same function after checking what these tests
   established), and with PyObject_Vectorcall's check of the result (a NULL without an
   exception, or a result with one, is a SystemError). False when the call is not of
   that form; else *RES is the result, or NULL with an exception. */
static inline bool
rt_call_c_function(PyThreadState *tstate, PyObject *callable, PyObject **args,
                   Py_ssize_t npos, PyObject **res)
{
    PyMethodDef *def;
    PyObject *self;
    if (Py_IS_TYPE(callable, &PyCFunction_Type)) {
        def = ((PyCFunctionObject *)callable)->m_ml;
        self = PyCFunction_GET_SELF(callable);
    }
    else if (Py_IS_TYPE(callable, &PyMethodDescr_Type) && npos >= 1
             && Py_IS_TYPE(args[0], ((PyMethodDescrObject *)callable)->d_common.d_type)) {
        def = ((PyMethodDescrObject *)callable)->d_method;
        self = *args++;
        npos--;
    }
    else {
        return false;
    }
    int flags = def->ml_flags;
    if (!(flags == METH_FASTCALL || (flags == METH_NOARGS && npos == 0)
          || (flags == METH_O && npos == 1))) {
        return false;
    }
    if (_Py_EnterRecursiveCallTstate(tstate, " while calling a Python object")) {
        *res = NULL;
        return true;
    }
    if (flags == METH_FASTCALL) {
        *res = ((_PyCFunctionFast)(void (*)(void))def->ml_meth)(self, args, npos);
    }
    else {
        *res = _PyCFunction_TrampolineCall(def->ml_meth, self, npos ? args[0] : NULL);
    }
    _Py_LeaveRecursiveCallTstate(tstate);
    if ((*res == NULL) == (tstate->curexc_type == NULL)) {   /* the rare bad result */
        *res = _Py_CheckFunctionResult(tstate, callable, *res, NULL);
    }
    return true;
}

/* The generic path of a CALL: anything but a compiled function. */
static inline Py_ALWAYS_INLINE PyObject *
rt_call_vector(PyThreadState *tstate, PyObject **stack, Py_ssize_t nargs, PyObject *kwnames,
               PyObject *callable, PyObject **args, Py_ssize_t npos)
{
    PyObject *res;
    if (kwnames != NULL || !rt_call_c_function(tstate, callable, args, npos, &res)) {
        res = PyObject_Vectorcall(callable, args, (size_t)npos | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                  kwnames);
    }
    rt_release(stack, nargs + 2);
    return res;
}

/* A call of FUNC, a generator, coroutine or async generator function, with NPOS
   positional ARGS that bind positionally: the generator object, made as the
   interpreter's RETURN_GENERATOR makes it from the callee's frame, without running an
   interpreter activation for that one instruction (_PyEval_Vector's path). False when
   the call is not of that form or a tracer, profiler, PEP 523 evaluator, pending
   eval-breaker request or coroutine origin tracking wants the interpreter's path; else
   FUNC and ARGS were consumed and *RES is the generator, or NULL with an exception. */
static bool
rt_make_generator(PyThreadState *tstate, PyFunctionObject *func, PyObject **args,
                  Py_ssize_t npos, PyObject **res)
{
    PyCodeObject *code = (PyCodeObject *)func->func_code;
    int start = code->_co_firsttraceable - 2;   /* RETURN_GENERATOR, POP_TOP, RESUME */
    if (!(code->co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR)) || start < 0
        || _Py_OPCODE(_PyCode_CODE(code)[start]) != RETURN_GENERATOR
        || !rt_binds_positionally(func, code, npos) || !ci_jit_may_enter(tstate)
        || tstate->coroutine_origin_tracking_depth != 0) {
        return false;
    }
    _PyInterpreterFrame *frame = rt_push_positional(tstate, func, code, args, npos);
    if (frame == NULL) {
        return false;
    }
    *res = NULL;
    if (_Py_EnterRecursiveCallTstate(tstate, "")) {
        _PyEvalFrameClearAndPop(tstate, frame);
        return true;
    }
    if (start > 0 && ci_jit_run_cell_prefix(frame) < 0) {
        _Py_LeaveRecursiveCallTstate(tstate);
        _PyEvalFrameClearAndPop(tstate, frame);
        return true;
    }
    frame->prev_instr = _PyCode_CODE(code) + start;
    PyGenObject *gen = (PyGenObject *)_Py_MakeCoro(func);
    _Py_LeaveRecursiveCallTstate(tstate);
    if (gen == NULL) {
        _PyEvalFrameClearAndPop(tstate, frame);
        return true;
    }
    /* The generator takes the frame's references over. */
    _PyInterpreterFrame *gen_frame = (_PyInterpreterFrame *)gen->gi_iframe;
    _PyFrame_Copy(frame, gen_frame);
    gen_frame->owner = FRAME_OWNED_BY_GENERATOR;
    gen->gi_frame_state = FRAME_CREATED;
    _PyThreadState_PopFrame(tstate, frame);
    *res = (PyObject *)gen;
    return true;
}

/* Ci_JitRt_CallEnter without the cache's fast path, given the call's shape (CALLABLE,
   ARGS, NPOS: rt_call_shape); refills CC (unless NULL) when the call enters a compiled
   body with positional arguments only, which bind positionally. */
static CiJitPair
rt_call_enter(PyThreadState *tstate, PyObject **stack, Py_ssize_t nargs, PyObject *kwnames,
              PyObject *callable, PyObject **args, Py_ssize_t npos, CiJitCallCache *cc)
{
    if (PyFunction_Check(callable)) {
        PyFunctionObject *func = (PyFunctionObject *)callable;
        CiJitBody body = ci_jit_direct_entry(tstate, func);
        if (body != NULL) {
            PyCodeObject *code = (PyCodeObject *)func->func_code;
            if (cc != NULL && kwnames == NULL && rt_binds_positionally(func, code, npos)
                && code->co_argcount <= UINT16_MAX) {
                const CiJitEntry *entry = ci_jit_call_entry(tstate, func);
                uint32_t version = _PyFunction_GetVersionForCurrentState(func);
                Py_ssize_t ndefaults =
                    func->func_defaults ? PyTuple_GET_SIZE(func->func_defaults) : 0;
                if (entry != NULL && version != 0) {
                    *cc = (CiJitCallCache){
                        version, (uint16_t)code->co_argcount,
                        (uint16_t)Py_MAX(code->co_argcount - ndefaults, 0), entry};
                }
            }
            bool pushed;
            _PyInterpreterFrame *frame =
                rt_enter_compiled(tstate, func, args, npos, kwnames, false, &pushed);
            return (CiJitPair){frame ? (PyObject *)body : NULL, (PyObject *)frame};
        }
        PyObject *gen;
        if (kwnames == NULL && rt_make_generator(tstate, func, args, npos, &gen)) {
            return (CiJitPair){NULL, gen};
        }
    }
    return (CiJitPair){NULL, rt_call_vector(tstate, stack, nargs, kwnames, callable, args, npos)};
}

/* PRECALL's unpacking of a bound method in a CALL's STACK (NULL, method, args) into
   (function, self, args). */
static inline void
rt_unpack_bound_method(PyObject **stack)
{
    if (stack[0] == NULL && Py_IS_TYPE(stack[1], &PyMethod_Type)) {
        PyObject *meth = stack[1];
        stack[0] = Py_NewRef(PyMethod_GET_FUNCTION(meth));
        stack[1] = Py_NewRef(PyMethod_GET_SELF(meth));
        Py_DECREF(meth);
    }
}

CiJitPair
Ci_JitRt_CallEnter(PyThreadState *tstate, PyObject **stack, Py_ssize_t nargs,
                   PyObject *kwnames, CiJitSiteCache *cache)
{
    rt_unpack_bound_method(stack);  /* its function may have a body to enter */
    PyObject *callable, **args;
    Py_ssize_t npos;
    rt_call_shape(stack, nargs, kwnames, &callable, &args, &npos);
    if (!Py_IS_TYPE(callable, &PyFunction_Type)) {
        /* A builtin, a type, a method of a builtin... */
        return (CiJitPair){NULL, rt_call_vector(tstate, stack, nargs, kwnames, callable, args, npos)};
    }
    PyFunctionObject *func = (PyFunctionObject *)callable;
    CiJitCallCache *cc = &cache->call;
    const CiJitEntry *entry = cc->entry;
    /* The function the cache holds (its version implies its code and defaults, so how
       the arguments bind), its body still installed for its globals, and nothing that
       makes the interpreter run the call. */
    if (entry != NULL && kwnames == NULL && npos >= cc->required && npos <= cc->argcount
        && func->func_version == cc->func_version
        && entry->body != NULL && entry->globals == func->func_globals
        && entry->builtins == func->func_builtins && ci_jit_may_enter(tstate)) {
        _PyInterpreterFrame *frame =
            rt_push_positional(tstate, func, (PyCodeObject *)func->func_code, args, npos);
        if (frame != NULL) {
            frame = rt_link_frame(tstate, frame);
            return (CiJitPair){frame ? (PyObject *)entry->body : NULL, (PyObject *)frame};
        }
    }
    cache->misses++;
    return rt_call_enter(tstate, stack, nargs, kwnames, callable, args, npos, cc);
}

PyObject *
Ci_JitRt_Vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                    PyObject *kwnames)
{
    PyThreadState *tstate = _PyThreadState_GET();
    PyFunctionObject *func = (PyFunctionObject *)callable;
    CiJitBody body = ci_jit_direct_entry(tstate, func);
    if (body == NULL) {
        return _PyFunction_Vectorcall(callable, args, nargsf, kwnames);
    }
    /* The references _PyEval_Vector would take: the frame owns them. */
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t total = nargs + (kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0);
    Py_INCREF(func);
    for (Py_ssize_t k = 0; k < total; k++) {
        Py_INCREF(args[k]);
    }
    bool pushed;
    _PyInterpreterFrame *frame =
        rt_enter_compiled(tstate, func, (PyObject **)args, nargs, kwnames, false, &pushed);
    if (frame == NULL) {
        return NULL;
    }
    return Ci_JitRt_CallLeave(tstate, frame, body(tstate, frame));
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

/* Turns the error of merging a call's **KWARGS into its keywords dict (_PyDict_MergeEx
   with override 2) into the interpreter's TypeErrors naming FUNC: an AttributeError
   (KWARGS has no keys()) means it is not a mapping, a KeyError a keyword given twice. */
static void
rt_kwargs_merge_error(PyObject *func, PyObject *kwargs)
{
    if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
        PyErr_Clear();
        PyObject *funcstr = _PyObject_FunctionStr(func);
        if (funcstr != NULL) {
            PyErr_Format(PyExc_TypeError, "%U argument after ** must be a mapping, not %.200s",
                         funcstr, Py_TYPE(kwargs)->tp_name);
            Py_DECREF(funcstr);
        }
    }
    else if (PyErr_ExceptionMatches(PyExc_KeyError)) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (value != NULL && PyTuple_Check(value) && PyTuple_GET_SIZE(value) == 1) {
            PyObject *funcstr = _PyObject_FunctionStr(func);
            if (funcstr != NULL) {
                PyErr_Format(PyExc_TypeError,
                             "%U got multiple values for keyword argument '%S'", funcstr,
                             PyTuple_GET_ITEM(value, 0));
                Py_DECREF(funcstr);
            }
            Py_XDECREF(type);
            Py_XDECREF(value);
            Py_XDECREF(tb);
        }
        else {
            PyErr_Restore(type, value, tb);
        }
    }
}

int
Ci_JitRt_DictMerge(PyObject *func, PyObject *dict, PyObject *update)
{
    if (_PyDict_MergeEx(dict, update, 2) < 0) {
        rt_kwargs_merge_error(func, update);
        return -1;
    }
    return 0;
}

int
Ci_JitRt_DictUpdate(PyObject *dict, PyObject *update)
{
    if (PyDict_Update(dict, update) < 0) {
        if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
            PyErr_Format(PyExc_TypeError, "'%.200s' object is not a mapping",
                         Py_TYPE(update)->tp_name);
        }
        return -1;
    }
    return 0;
}

/* CALL_FUNCTION_EX's positional arguments as a new tuple, for ARGS that is not exactly
   a tuple, with the interpreter's TypeError naming FUNC when ARGS is not iterable. */
static PyObject *
rt_call_ex_args_tuple(PyObject *func, PyObject *args)
{
    if (Py_TYPE(args)->tp_iter == NULL && !PySequence_Check(args)) {
        PyObject *funcstr = _PyObject_FunctionStr(func);
        if (funcstr != NULL) {
            PyErr_Format(PyExc_TypeError, "%U argument after * must be an iterable, not %.200s",
                         funcstr, Py_TYPE(args)->tp_name);
            Py_DECREF(funcstr);
        }
        return NULL;
    }
    return PySequence_Tuple(args);
}

PyObject *
Ci_JitRt_CallEx(PyObject *func, PyObject *args, PyObject *kwargs)
{
    if (PyTuple_CheckExact(args) && (kwargs == NULL || PyDict_CheckExact(kwargs))) {
        return PyObject_Call(func, args, kwargs);
    }
    /* The interpreter converts the keywords first, then the arguments. */
    PyObject *dict = NULL;
    if (kwargs != NULL && !PyDict_CheckExact(kwargs)) {
        dict = PyDict_New();
        if (dict == NULL || Ci_JitRt_DictMerge(func, dict, kwargs) < 0) {
            Py_XDECREF(dict);
            return NULL;
        }
        kwargs = dict;
    }
    PyObject *tuple = NULL;
    if (!PyTuple_CheckExact(args)) {
        tuple = rt_call_ex_args_tuple(func, args);
        if (tuple == NULL) {
            Py_XDECREF(dict);
            return NULL;
        }
        args = tuple;
    }
    PyObject *res = PyObject_Call(func, args, kwargs);
    Py_XDECREF(tuple);
    Py_XDECREF(dict);
    return res;
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

PyObject *
Ci_JitRt_GetLen(PyObject *obj)
{
    Py_ssize_t n = PyObject_Length(obj);
    return n < 0 ? NULL : PyLong_FromSsize_t(n);
}

/* Whether NAME (a key or an attribute name) is new to the set SEEN, which it then joins:
   1 new, 0 seen before, -1 error. */
static int
rt_first_sight(PyObject *seen, PyObject *name)
{
    int found = PySet_Contains(seen, name);
    if (found != 0) {
        return found < 0 ? -1 : 0;
    }
    return PySet_Add(seen, name) < 0 ? -1 : 1;
}

PyObject *
Ci_JitRt_MatchKeys(PyObject *map, PyObject *keys)
{
    Py_ssize_t n = PyTuple_GET_SIZE(keys);
    if (n == 0) {
        return PyTuple_New(0);
    }
    /* map.get(key, missing): one lookup that neither raises for a missing key nor makes
       a mapping with __missing__ (a defaultdict) create it. */
    PyObject *get = NULL, *seen = NULL, *missing = NULL, *values = NULL;
    int unbound = _PyObject_GetMethod(map, &_Py_ID(get), &get);
    if (get == NULL || (seen = PySet_New(NULL)) == NULL
        || (missing = PyObject_CallNoArgs((PyObject *)&PyBaseObject_Type)) == NULL
        || (values = PyTuple_New(n)) == NULL) {
        goto done;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *key = PyTuple_GET_ITEM(keys, k);
        int first = rt_first_sight(seen, key);
        if (first <= 0) {
            if (first == 0) {
                PyErr_Format(PyExc_ValueError, "mapping pattern checks duplicate key (%R)",
                             key);
            }
            Py_CLEAR(values);
            goto done;
        }
        PyObject *args[3] = {map, key, missing};
        PyObject *value = unbound ? PyObject_Vectorcall(get, args, 3, NULL)
                                  : PyObject_Vectorcall(get, args + 1, 2, NULL);
        if (value == NULL || value == missing) {
            Py_CLEAR(values);
            if (value != NULL) {   /* no such key: no match */
                Py_DECREF(value);
                values = Py_NewRef(Py_None);
            }
            goto done;
        }
        PyTuple_SET_ITEM(values, k, value);
    }
done:
    Py_XDECREF(get);
    Py_XDECREF(seen);
    Py_XDECREF(missing);
    return values;
}

/* An attribute a class pattern of TYPE reads: NAME of SUBJECT (new reference), or NULL:
   without an exception when SUBJECT has no such attribute (no match), with a TypeError
   when the pattern names it twice (SEEN holds the names read so far). */
static PyObject *
rt_match_attr(PyObject *subject, PyObject *type, PyObject *name, PyObject *seen)
{
    int first = rt_first_sight(seen, name);
    if (first <= 0) {
        if (first == 0) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple sub-patterns for attribute %R",
                         ((PyTypeObject *)type)->tp_name, name);
        }
        return NULL;
    }
    PyObject *attr = PyObject_GetAttr(subject, name);
    if (attr == NULL && PyErr_ExceptionMatches(PyExc_AttributeError)) {
        PyErr_Clear();
    }
    return attr;
}

PyObject *
Ci_JitRt_MatchClass(PyObject *subject, PyObject *type, PyObject *names, int npos)
{
    if (!PyType_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "called match pattern must be a type");
        return NULL;
    }
    int instance = PyObject_IsInstance(subject, type);
    if (instance <= 0) {
        return instance < 0 ? NULL : Py_NewRef(Py_None);
    }
    const char *tp_name = ((PyTypeObject *)type)->tp_name;
    Py_ssize_t nkw = PyTuple_GET_SIZE(names);
    PyObject *match_args = NULL, *result = NULL;
    PyObject *seen = PySet_New(NULL);
    PyObject *attrs = seen != NULL ? PyTuple_New(npos + nkw) : NULL;
    if (attrs == NULL) {
        goto done;
    }
    if (npos > 0) {
        /* Positional sub-patterns name the attributes in __match_args__; a type without
           one that matches itself (int, str, ...) takes one, the subject. */
        bool match_self = false;
        Py_ssize_t allowed;
        match_args = PyObject_GetAttrString(type, "__match_args__");
        if (match_args != NULL && !PyTuple_CheckExact(match_args)) {
            PyErr_Format(PyExc_TypeError, "%s.__match_args__ must be a tuple (got %s)",
                         tp_name, Py_TYPE(match_args)->tp_name);
            goto done;
        }
        if (match_args != NULL) {
            allowed = PyTuple_GET_SIZE(match_args);
        }
        else if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
            PyErr_Clear();
            match_self = PyType_HasFeature((PyTypeObject *)type, _Py_TPFLAGS_MATCH_SELF);
            allowed = match_self ? 1 : 0;
        }
        else {
            goto done;
        }
        if (allowed < npos) {
            PyErr_Format(PyExc_TypeError,
                         "%s() accepts %zd positional sub-pattern%s (%d given)", tp_name,
                         allowed, allowed == 1 ? "" : "s", npos);
            goto done;
        }
        for (int k = 0; k < npos; k++) {
            PyObject *attr;
            if (match_self) {
                attr = Py_NewRef(subject);
            }
            else {
                PyObject *name = PyTuple_GET_ITEM(match_args, k);
                if (!PyUnicode_CheckExact(name)) {
                    PyErr_Format(PyExc_TypeError,
                                 "__match_args__ elements must be strings (got %s)",
                                 Py_TYPE(name)->tp_name);
                    goto done;
                }
                if ((attr = rt_match_attr(subject, type, name, seen)) == NULL) {
                    goto done;
                }
            }
            PyTuple_SET_ITEM(attrs, k, attr);
        }
    }
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *attr = rt_match_attr(subject, type, PyTuple_GET_ITEM(names, k), seen);
        if (attr == NULL) {
            goto done;
        }
        PyTuple_SET_ITEM(attrs, npos + k, attr);
    }
    result = attrs;
    attrs = NULL;
done:
    Py_XDECREF(match_args);
    Py_XDECREF(seen);
    Py_XDECREF(attrs);
    if (result == NULL && !PyErr_Occurred()) {
        result = Py_NewRef(Py_None);   /* a missing attribute: no match */
    }
    return result;
}

PyObject *
Ci_JitRt_GetAIter(PyObject *obj)
{
    PyAsyncMethods *am = Py_TYPE(obj)->tp_as_async;
    if (am == NULL || am->am_aiter == NULL) {
        PyErr_Format(PyExc_TypeError,
                     "'async for' requires an object with __aiter__ method, got %.100s",
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    PyObject *iter = am->am_aiter(obj);
    if (iter == NULL) {
        return NULL;
    }
    am = Py_TYPE(iter)->tp_as_async;
    if (am == NULL || am->am_anext == NULL) {
        PyErr_Format(PyExc_TypeError,
                     "'async for' received an object from __aiter__ that does not "
                     "implement __anext__: %.100s", Py_TYPE(iter)->tp_name);
        Py_DECREF(iter);
        return NULL;
    }
    return iter;
}

PyObject *
Ci_JitRt_GetANext(PyObject *aiter)
{
    PyAsyncMethods *am = Py_TYPE(aiter)->tp_as_async;
    if (PyAsyncGen_CheckExact(aiter)) {
        return am->am_anext(aiter);   /* already an awaitable */
    }
    if (am == NULL || am->am_anext == NULL) {
        PyErr_Format(PyExc_TypeError,
                     "'async for' requires an iterator with __anext__ method, got %.100s",
                     Py_TYPE(aiter)->tp_name);
        return NULL;
    }
    PyObject *next = am->am_anext(aiter);
    if (next == NULL) {
        return NULL;
    }
    PyObject *awaitable = _PyCoro_GetAwaitableIter(next);
    if (awaitable == NULL) {
        _PyErr_FormatFromCause(PyExc_TypeError,
                               "'async for' received an invalid object from __anext__: %.100s",
                               Py_TYPE(next)->tp_name);
    }
    Py_DECREF(next);
    return awaitable;
}

void
Ci_JitRt_PopExcept(PyThreadState *tstate, PyObject *value)
{
    _PyErr_StackItem *exc_info = tstate->exc_info;
    PyObject *handled = exc_info->exc_value;
    exc_info->exc_value = value;
    Py_XDECREF(handled);
}

CiJitPair
Ci_JitRt_BeforeWith(PyObject *mgr, int is_async)
{
    CiJitPair r = {NULL, NULL};
    const char *kind = is_async ? "asynchronous context manager" : "context manager";
    PyObject *enter = _PyObject_LookupSpecial(
        mgr, is_async ? &_Py_ID(__aenter__) : &_Py_ID(__enter__));
    if (enter == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_TypeError, "'%.200s' object does not support the %s protocol",
                         Py_TYPE(mgr)->tp_name, kind);
        }
        return r;
    }
    PyObject *exit = _PyObject_LookupSpecial(
        mgr, is_async ? &_Py_ID(__aexit__) : &_Py_ID(__exit__));
    if (exit == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_TypeError,
                         "'%.200s' object does not support the %s protocol "
                         "(missed %s method)", Py_TYPE(mgr)->tp_name, kind,
                         is_async ? "__aexit__" : "__exit__");
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

int
Ci_JitRt_DeleteGlobal(_PyInterpreterFrame *frame, PyObject *name)
{
    if (PyDict_DelItem(frame->f_globals, name) == 0) {
        return 0;
    }
    if (PyErr_ExceptionMatches(PyExc_KeyError)) {
        PyErr_Clear();
        rt_name_error(name);
    }
    return -1;
}

PyObject *
Ci_JitRt_ImportName(_PyInterpreterFrame *frame, PyObject *name, PyObject *fromlist,
                    PyObject *level)
{
    PyObject *import = _PyDict_GetItemWithError(frame->f_builtins, &_Py_ID(__import__));
    if (import == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ImportError, "__import__ not found");
        }
        return NULL;
    }
    PyObject *locals = frame->f_locals != NULL ? frame->f_locals : Py_None;
    if (import == _PyInterpreterState_GET()->import_func) {
        /* builtins.__import__ itself, without the call */
        int ilevel = _PyLong_AsInt(level);
        if (ilevel == -1 && PyErr_Occurred()) {
            return NULL;
        }
        return PyImport_ImportModuleLevelObject(name, frame->f_globals, locals, fromlist,
                                                ilevel);
    }
    PyObject *args[5] = {name, frame->f_globals, locals, fromlist, level};
    Py_INCREF(import);   /* the call may replace it in the builtins */
    PyObject *res = PyObject_Vectorcall(import, args, 5, NULL);
    Py_DECREF(import);
    return res;
}

/* IMPORT_FROM's ImportError for NAME missing from MODULE, whose __name__ is PKGNAME (a
   str, or NULL when it has none; consumed): the module's location when it has a file,
   and a hint at a circular import when the module is still initializing. */
static void
rt_import_from_error(PyObject *module, PyObject *name, PyObject *pkgname)
{
    PyObject *path = PyModule_GetFilenameObject(module);
    PyErr_Clear();
    PyObject *shown = pkgname != NULL ? Py_NewRef(pkgname)
                                      : PyUnicode_FromString("<unknown module name>");
    if (shown == NULL) {
        Py_XDECREF(path);
        Py_XDECREF(pkgname);
        return;
    }
    PyObject *msg;
    if (path == NULL || !PyUnicode_Check(path)) {
        Py_CLEAR(path);
        msg = PyUnicode_FromFormat("cannot import name %R from %R (unknown location)", name,
                                   shown);
    }
    else {
        PyObject *spec = PyObject_GetAttr(module, &_Py_ID(__spec__));
        int initializing = _PyModuleSpec_IsInitializing(spec);
        Py_XDECREF(spec);
        msg = PyUnicode_FromFormat(initializing
                                       ? "cannot import name %R from partially initialized "
                                         "module %R (most likely due to a circular import) "
                                         "(%S)"
                                       : "cannot import name %R from %R (%S)",
                                   name, shown, path);
    }
    PyErr_SetImportError(msg, pkgname, path);
    Py_XDECREF(msg);
    Py_DECREF(shown);
    Py_XDECREF(path);
    Py_XDECREF(pkgname);
}

PyObject *
Ci_JitRt_ImportFrom(PyObject *module, PyObject *name)
{
    PyObject *res;
    if (_PyObject_LookupAttr(module, name, &res) != 0) {
        return res;   /* found, or an error other than AttributeError */
    }
    /* A circular relative import may have put the submodule in sys.modules before the
       package's attribute. */
    PyObject *pkgname = PyObject_GetAttr(module, &_Py_ID(__name__));
    if (pkgname != NULL && PyUnicode_Check(pkgname)) {
        PyObject *fullname = PyUnicode_FromFormat("%U.%U", pkgname, name);
        if (fullname == NULL) {
            Py_DECREF(pkgname);
            return NULL;
        }
        res = PyImport_GetModule(fullname);
        Py_DECREF(fullname);
        if (res != NULL || PyErr_Occurred()) {
            Py_DECREF(pkgname);
            return res;
        }
    }
    else {
        Py_CLEAR(pkgname);
    }
    rt_import_from_error(module, name, pkgname);
    return NULL;
}

/* -- Generators and coroutines ------------------------------------------------------------ */

PyObject *
Ci_JitRt_GetAwaitable(PyObject *iterable, int oparg)
{
    PyObject *iter = _PyCoro_GetAwaitableIter(iterable);
    if (iter == NULL) {
        PyTypeObject *type = Py_TYPE(iterable);
        if ((type->tp_as_async == NULL || type->tp_as_async->am_await == NULL)
            && (oparg == 1 || oparg == 2)) {
            PyErr_Format(PyExc_TypeError,
                         "'async with' received an object from %s "
                         "that does not implement __await__: %.100s",
                         oparg == 1 ? "__aenter__" : "__aexit__", type->tp_name);
        }
    }
    Py_DECREF(iterable);
    if (iter != NULL && PyCoro_CheckExact(iter)) {
        PyObject *yf = _PyGen_yf((PyGenObject *)iter);
        if (yf != NULL) {
            Py_DECREF(yf);
            Py_CLEAR(iter);
            PyErr_SetString(PyExc_RuntimeError, "coroutine is being awaited already");
        }
    }
    return iter;
}

PyObject *
Ci_JitRt_GetYieldFromIter(PyObject *iterable, int co_flags)
{
    if (PyCoro_CheckExact(iterable)) {
        if (!(co_flags & (CO_COROUTINE | CO_ITERABLE_COROUTINE))) {
            Py_DECREF(iterable);
            PyErr_SetString(PyExc_TypeError,
                            "cannot 'yield from' a coroutine object in a non-coroutine "
                            "generator");
            return NULL;
        }
        return iterable;
    }
    if (PyGen_CheckExact(iterable)) {
        return iterable;
    }
    PyObject *iter = PyObject_GetIter(iterable);
    Py_DECREF(iterable);
    return iter;
}

CiJitPair
Ci_JitRt_Send(PyObject *receiver, PyObject *v)
{
    PyObject *retval;
    PySendResult status = PyIter_Send(receiver, v, &retval);
    Py_DECREF(v);
    if (status == PYGEN_ERROR) {
        return (CiJitPair){NULL, NULL};
    }
    return (CiJitPair){retval, (PyObject *)(intptr_t)(status == PYGEN_NEXT)};
}

CiJitPair
Ci_JitRt_CallAwaited(PyThreadState *tstate, PyObject **stack, Py_ssize_t nargs,
                     PyObject *kwnames)
{
    /* So that a bound method's function runs eagerly. */
    rt_unpack_bound_method(stack);
    PyObject *callable, **args;
    Py_ssize_t npos;
    rt_call_shape(stack, nargs, kwnames, &callable, &args, &npos);
    if (PyFunction_Check(callable)
        && (((PyCodeObject *)PyFunction_GET_CODE(callable))->co_flags
            & (CO_COROUTINE | CO_GENERATOR | CO_ASYNC_GENERATOR)) == CO_COROUTINE
        && Ci_EagerAwait_Allowed(tstate)) {
        PyFunctionObject *func = (PyFunctionObject *)callable;
        CiJitBody body = ci_jit_direct_entry_eager(tstate, func);
        PyObject *res;
        int in_body;
        if (body != NULL) {
            /* Compiled: run the body directly, as for other calls between compiled
               functions. */
            bool pushed;
            _PyInterpreterFrame *frame =
                rt_enter_compiled(tstate, func, args, npos, kwnames, true, &pushed);
            res = frame ? Ci_JitRt_CallLeave(tstate, frame, body(tstate, frame)) : NULL;
            in_body = pushed;
            if (pushed) {
                res = Ci_EagerAwait_Finish(tstate, res);
            }
        }
        else {
            res = Ci_EagerAwait_CallFunction(tstate, func, args, (size_t)npos, kwnames,
                                             &in_body);
            rt_release(stack, nargs + 2);
        }
        intptr_t status = res == NULL ? (in_body ? CI_JIT_AWAIT_ERROR_IN_BODY : CI_AWAIT_ERROR)
                          : Ci_PyWaitHandle_CheckExact(res) ? CI_AWAIT_SUSPENDED
                                                            : CI_AWAIT_DONE;
        return (CiJitPair){res, (PyObject *)status};
    }
    CiJitPair call = rt_call_enter(tstate, stack, nargs, kwnames, callable, args, npos, NULL);
    PyObject *res = call.second;
    if (call.first != NULL) {
        _PyInterpreterFrame *frame = (_PyInterpreterFrame *)call.second;
        res = Ci_JitRt_CallLeave(tstate, frame, ((CiJitBody)call.first)(tstate, frame));
    }
    return (CiJitPair){res, (PyObject *)(intptr_t)(res ? CI_AWAIT_LAZY : CI_AWAIT_ERROR)};
}

CiJitPair
Ci_JitRt_UnpackWaitHandle(PyObject *handle)
{
    Ci_PyWaitHandle *wh = (Ci_PyWaitHandle *)handle;
    CiJitPair out = {Py_NewRef(wh->wh_coro), Py_NewRef(wh->wh_waiter)};
    Py_DECREF(handle);
    return out;
}
