/* The built-in `cinder` module: what this interpreter is and the runtime controls it adds
   on top of CPython. */

#include "Python.h"
#include "cinder/immortal.h"
#include "cinder/version.h"

PyDoc_STRVAR(cinder_doc,
"Cinder for CPython 3.11: runtime controls and information.\n"
"\n"
"version            -- Cinder's version, a string\n"
"upstream_version   -- the CPython release this interpreter is built on\n"
"immortal_instances -- whether immortal instances are built in\n"
"immortalize_heap() -- make the heap immortal, before forking workers\n"
"is_immortal(obj)   -- whether obj is immortal");

PyDoc_STRVAR(immortalize_heap_doc,
"immortalize_heap() -> int\n"
"\n"
"Collect garbage, freeze the GC-tracked objects as gc.freeze() does, and\n"
"make every object reachable from them, from the modules, the interned\n"
"strings, the static types and the running frames immortal: reference\n"
"counting never writes to them again and they are never freed. Call it in\n"
"a pre-fork server's parent just before forking workers, so that they\n"
"keep sharing its memory. Returns how many objects were made immortal\n"
"(0 when the interpreter is built --without-immortal-instances, where it\n"
"only collects and freezes).");

static PyObject *
cinder_immortalize_heap(PyObject *mod, PyObject *Py_UNUSED(ignored))
{
    Py_ssize_t marked = Ci_ImmortalizeHeap();
    if (marked < 0) {
        return NULL;
    }
    return PyLong_FromSsize_t(marked);
}

PyDoc_STRVAR(is_immortal_doc,
"is_immortal(obj) -> bool\n"
"\n"
"Whether obj is immortal: never freed, and skipped by reference counting.");

static PyObject *
cinder_is_immortal(PyObject *mod, PyObject *obj)
{
    return PyBool_FromLong(Ci_IsImmortal(obj));
}

static PyMethodDef cinder_methods[] = {
    {"immortalize_heap", cinder_immortalize_heap, METH_NOARGS,
     immortalize_heap_doc},
    {"is_immortal", cinder_is_immortal, METH_O, is_immortal_doc},
    {NULL, NULL, 0, NULL},
};

static int
cinder_exec(PyObject *mod)
{
    if (PyModule_AddStringConstant(mod, "version", CINDER_VERSION) < 0) {
        return -1;
    }
    if (PyModule_AddStringConstant(mod, "upstream_version", PY_VERSION) < 0) {
        return -1;
    }
    if (PyModule_AddObjectRef(mod, "immortal_instances",
                              CI_IMMORTAL_INSTANCES ? Py_True : Py_False) < 0) {
        return -1;
    }
    return 0;
}

static PyModuleDef_Slot cinder_slots[] = {
    {Py_mod_exec, cinder_exec},
    {0, NULL},
};

static struct PyModuleDef cinder_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "cinder",
    .m_doc = cinder_doc,
    .m_size = 0,
    .m_methods = cinder_methods,
    .m_slots = cinder_slots,
};

PyMODINIT_FUNC
PyInit_cinder(void)
{
    return PyModuleDef_Init(&cinder_module);
}
