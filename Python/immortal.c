/* Immortal instances: cinder.immortalize_heap() makes everything a pre-fork
   server has built immortal, so that the workers it forks keep sharing its
   pages. The encoding and the refcounting macros are CPython's
   Include/object.h (patches/0003); CinderDoc/immortal.rst has the design. */

#include "Python.h"
#include "pycore_code.h"
#include "pycore_frame.h"
#include "pycore_function.h"
#include "pycore_gc.h"
#include "pycore_interp.h"
#include "pycore_object.h"
#include "pycore_pystate.h"
#include "pycore_runtime.h"

#include "cinder/immortal.h"

#ifdef Py_IMMORTAL_INSTANCES

/* The walk
   --------
   An object's immortal mark doubles as the walk's "visited" mark. An object
   is marked the moment it is first seen and pushed on an explicit stack (a
   heap can be deep: a linked list of a million nodes would overflow the C
   stack); expanding it visits its referents, pushing those not yet
   immortal. An object found immortal is taken to be done. That holds for
   everything the walk itself marked and for the objects immortal from
   start-up, which reference only each other, with two exceptions that are
   expanded whatever their mark:

   - static types, whose dicts hold mortal objects (functions, descriptors)
     and which tp_traverse does not cover: they are enumerated from `object`
     through their subclasses;
   - GC-tracked containers, which may have gained mortal items since an
     earlier immortalize_heap(): the roots loop expands every object of the
     permanent generation.

   Referents are found through tp_traverse, with two additions: a dict's
   traverse leaves out str keys (they cannot form cycles), and code objects
   are not GC objects in 3.11; both are visited by hand.

   Marking also fills in the caches that a forked worker's first read would
   otherwise write into shared pages: str and bytes hashes, type version
   tags and function versions (read by the specializing interpreter). */

typedef struct {
    PyObject **items;   /* the stack of marked objects still to expand */
    size_t len;
    size_t cap;
    Py_ssize_t marked;  /* objects made immortal so far */
} ImmWalk;

static int
imm_push(ImmWalk *w, PyObject *op)
{
    if (w->len == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 4096;
        PyObject **items = PyMem_RawRealloc(w->items, cap * sizeof(*items));
        if (items == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        w->items = items;
        w->cap = cap;
    }
    w->items[w->len++] = op;
    return 0;
}

static void
imm_fill_caches(PyObject *op)
{
    if (PyUnicode_CheckExact(op) || PyBytes_CheckExact(op)) {
        if (PyObject_Hash(op) == -1) {
            /* Only a legacy str that cannot be made ready fails. */
            PyErr_Clear();
        }
    }
    else if (PyType_Check(op)) {
        PyTypeObject *type = (PyTypeObject *)op;
        if (PyType_HasFeature(type, Py_TPFLAGS_READY)) {
            /* A lookup assigns the type's version tag. */
            (void)_PyType_Lookup(type, &_Py_ID(__init__));
        }
    }
    else if (PyFunction_Check(op)) {
        (void)_PyFunction_GetVersionForCurrentState((PyFunctionObject *)op);
    }
}

static void
imm_mark(ImmWalk *w, PyObject *op)
{
#ifdef Py_REF_DEBUG
    /* The references counted so far will never be released. */
    _Py_RefTotal -= Py_REFCNT(op);
#endif
    _Py_SetImmortal(op);
    w->marked++;
    imm_fill_caches(op);
}

/* The visitproc: mark and push what is still mortal. */
static int
imm_visit(PyObject *op, void *arg)
{
    ImmWalk *w = (ImmWalk *)arg;
    if (op == NULL || _Py_IsImmortal(op)) {
        return 0;
    }
    imm_mark(w, op);
    return imm_push(w, op);
}

static int
imm_visit_array(ImmWalk *w, PyObject *const *objs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (imm_visit(objs[i], w) < 0) {
            return -1;
        }
    }
    return 0;
}

static int
imm_visit_code(ImmWalk *w, PyCodeObject *co)
{
    PyObject *fields[] = {
        co->co_consts, co->co_names, co->co_exceptiontable,
        co->co_localsplusnames, co->co_localspluskinds, co->co_filename,
        co->co_name, co->co_qualname, co->co_linetable, co->_co_code,
    };
    return imm_visit_array(w, fields, Py_ARRAY_LENGTH(fields));
}

static int
imm_visit_static_type(ImmWalk *w, PyTypeObject *type)
{
    PyObject *fields[] = {
        type->tp_dict, type->tp_bases, type->tp_mro, type->tp_cache,
        (PyObject *)type->tp_base,
    };
    return imm_visit_array(w, fields, Py_ARRAY_LENGTH(fields));
}

/* A dict's keys, which dict_traverse leaves out when they are all str. */
static int
imm_visit_dict_keys(ImmWalk *w, PyObject *dict)
{
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(dict, &pos, &key, &value)) {
        if (imm_visit(key, w) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Visit everything `op` references. */
static int
imm_expand(ImmWalk *w, PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    if (PyCode_Check(op)) {
        return imm_visit_code(w, (PyCodeObject *)op);
    }
    if (PyType_Check(op) &&
        !PyType_HasFeature((PyTypeObject *)op, Py_TPFLAGS_HEAPTYPE)) {
        return imm_visit_static_type(w, (PyTypeObject *)op);
    }
    if (PyDict_Check(op) && imm_visit_dict_keys(w, op) < 0) {
        return -1;
    }
    if (tp->tp_traverse != NULL && PyObject_IS_GC(op)) {
        return tp->tp_traverse(op, imm_visit, w);
    }
    return 0;
}

/* Expand what is on the stack until it is empty. */
static int
imm_drain(ImmWalk *w)
{
    while (w->len > 0) {
        if (imm_expand(w, w->items[--w->len]) < 0) {
            return -1;
        }
    }
    return 0;
}

/* A root: mark it if need be, then expand it whatever its mark. */
static int
imm_root(ImmWalk *w, PyObject *op)
{
    if (op == NULL) {
        return 0;
    }
    if (!_Py_IsImmortal(op)) {
        imm_mark(w, op);
    }
    if (imm_expand(w, op) < 0) {
        return -1;
    }
    return imm_drain(w);
}

/* --- Roots ---------------------------------------------------------------- */

/* `type` and its static subclasses (a static type's bases are static). */
static int
imm_static_types(ImmWalk *w, PyTypeObject *type)
{
    if (imm_root(w, (PyObject *)type) < 0) {
        return -1;
    }
    PyObject *subclasses = _PyType_GetSubclasses(type);
    if (subclasses == NULL) {
        return -1;
    }
    int res = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(subclasses) && res == 0; i++) {
        PyTypeObject *sub = (PyTypeObject *)PyList_GET_ITEM(subclasses, i);
        if (!PyType_HasFeature(sub, Py_TPFLAGS_HEAPTYPE)) {
            res = imm_static_types(w, sub);
        }
    }
    Py_DECREF(subclasses);
    return res;
}

/* What the interpreter frames of every thread hold: a running function's
   locals are referenced from no GC object. While a frame executes, its
   stacktop is -1 and only its locals are known to be valid. */
static int
imm_frames(ImmWalk *w, PyInterpreterState *interp)
{
    for (PyThreadState *t = PyInterpreterState_ThreadHead(interp); t != NULL;
         t = PyThreadState_Next(t)) {
        for (_PyInterpreterFrame *f = t->cframe->current_frame; f != NULL;
             f = f->previous) {
            PyObject *specials[] = {
                (PyObject *)f->f_func, f->f_globals, f->f_builtins,
                f->f_locals, (PyObject *)f->f_code, (PyObject *)f->frame_obj,
            };
            for (size_t i = 0; i < Py_ARRAY_LENGTH(specials); i++) {
                if (imm_root(w, specials[i]) < 0) {
                    return -1;
                }
            }
            PyObject **locals = _PyFrame_GetLocalsArray(f);
            int n = Py_MAX(f->f_code->co_nlocalsplus, f->stacktop);
            for (int i = 0; i < n; i++) {
                if (imm_root(w, locals[i]) < 0) {
                    return -1;
                }
            }
        }
    }
    return 0;
}

/* Every GC-tracked object; after the freeze they are all in the permanent
   generation, which the walk does not change (it allocates no GC object). */
static int
imm_gc_objects(ImmWalk *w, PyInterpreterState *interp)
{
    PyGC_Head *head = &interp->gc.permanent_generation.head;
    for (PyGC_Head *g = _PyGCHead_NEXT(head); g != head;
         g = _PyGCHead_NEXT(g)) {
        if (imm_root(w, (PyObject *)(g + 1)) < 0) {
            return -1;
        }
    }
    return 0;
}

static Py_ssize_t
imm_walk(PyInterpreterState *interp)
{
    ImmWalk w = {0};
    int res = imm_static_types(&w, &PyBaseObject_Type);
    if (res == 0) {
        res = imm_root(&w, _PyUnicode_GetInternedDict());
    }
    if (res == 0) {
        res = imm_frames(&w, interp);
    }
    if (res == 0) {
        res = imm_gc_objects(&w, interp);
    }
    PyMem_RawFree(w.items);
    return res < 0 ? -1 : w.marked;
}

#endif /* Py_IMMORTAL_INSTANCES */

/* --- The entry point ------------------------------------------------------ */

static int
imm_call_gc(PyObject *gc, const char *name)
{
    PyObject *res = PyObject_CallMethod(gc, name, NULL);
    Py_XDECREF(res);
    return res == NULL ? -1 : 0;
}

Py_ssize_t
Ci_ImmortalizeHeap(void)
{
    PyObject *gc = PyImport_ImportModule("gc");
    if (gc == NULL) {
        return -1;
    }
    int res = imm_call_gc(gc, "collect");
    if (res == 0) {
        res = imm_call_gc(gc, "freeze");
    }
    Py_DECREF(gc);
    if (res < 0) {
        return -1;
    }
#ifdef Py_IMMORTAL_INSTANCES
    /* No collection may move objects out of the permanent generation or run
       finalizers while the walk goes on. */
    int was_enabled = PyGC_Disable();
    Py_ssize_t marked = imm_walk(_PyInterpreterState_GET());
    if (was_enabled) {
        PyGC_Enable();
    }
    return marked;
#else
    return 0;
#endif
}
