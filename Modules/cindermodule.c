/* The built-in `cinder` module: what this interpreter is and the runtime controls it adds
   on top of CPython. */

#include "Python.h"
#include "cinder/eager_await.h"
#include "cinder/immortal.h"
#include "cinder/version.h"

PyDoc_STRVAR(cinder_doc,
"Cinder for CPython 3.11: runtime controls and information.\n"
"\n"
"version                    -- Cinder's version, a string\n"
"upstream_version           -- the CPython release this interpreter is built on\n"
"immortal_instances         -- whether immortal instances are built in\n"
"immortalize_heap()         -- make the heap immortal, before forking workers\n"
"is_immortal(obj)           -- whether obj is immortal\n"
"set_eager_coroutines(flag) -- turn eager evaluation of awaited calls on or off\n"
"eager_coroutines_enabled() -- whether it is on");

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


/* --- Eager coroutine evaluation (Python/eager_await.c) ------------------------- */

PyDoc_STRVAR(set_eager_coroutines_doc,
"set_eager_coroutines(flag, /)\n"
"--\n"
"\n"
"Turn eager evaluation of awaited coroutine calls (and eager asyncio.gather) on or\n"
"off for the whole process; return the previous setting.  -X no-eager-coroutines\n"
"starts with it off.");

static PyObject *
cinder_set_eager_coroutines(PyObject *mod, PyObject *flag)
{
    int enable = PyObject_IsTrue(flag);
    if (enable < 0) {
        return NULL;
    }
    return PyBool_FromLong(Ci_EagerAwait_SetEnabled(enable));
}

PyDoc_STRVAR(eager_coroutines_enabled_doc,
"eager_coroutines_enabled()\n"
"--\n"
"\n"
"Whether awaited coroutine calls run eagerly.");

static PyObject *
cinder_eager_coroutines_enabled(PyObject *mod, PyObject *unused)
{
    return PyBool_FromLong(Ci_EagerAwait_IsEnabled());
}

PyDoc_STRVAR(eager_coroutine_stats_doc,
"_eager_coroutine_stats()\n"
"--\n"
"\n"
"(returned, suspended, raised): how many eagerly run awaited calls finished\n"
"without suspending, suspended (becoming coroutine objects), and raised.");

static PyObject *
cinder_eager_coroutine_stats(PyObject *mod, PyObject *unused)
{
    Py_ssize_t returned, suspended, raised;
    Ci_EagerAwait_GetStats(&returned, &suspended, &raised);
    return Py_BuildValue("(nnn)", returned, suspended, raised);
}

PyDoc_STRVAR(call_awaited_doc,
"_call_awaited(callable, /, *args, **kwargs)\n"
"--\n"
"\n"
"Test hook for the C API Ci_PyObject_CallAwaited: call as the operand of an await.\n"
"Returns ('done', result, None), ('suspended', coroutine, yielded_value) or\n"
"('lazy', awaitable, None).");

static PyObject *
cinder_call_awaited(PyObject *mod, PyObject *const *args, Py_ssize_t nargs,
                    PyObject *kwnames)
{
    if (nargs < 1) {
        PyErr_SetString(PyExc_TypeError, "_call_awaited() needs a callable");
        return NULL;
    }
    PyObject *result, *yielded;
    Ci_AwaitStatus status = Ci_PyObject_CallAwaited(
        args[0], args + 1, (size_t)(nargs - 1), kwnames, &result, &yielded);
    const char *names[] = {"done", "suspended", "lazy"};
    if (status == CI_AWAIT_ERROR) {
        return NULL;
    }
    if (yielded == NULL) {
        yielded = Py_NewRef(Py_None);
    }
    PyObject *res = Py_BuildValue("(sNN)", names[status], result, yielded);
    return res;
}

static PyMethodDef cinder_methods[] = {
    {"immortalize_heap", cinder_immortalize_heap, METH_NOARGS,
     immortalize_heap_doc},
    {"is_immortal", cinder_is_immortal, METH_O, is_immortal_doc},
    {"set_eager_coroutines", cinder_set_eager_coroutines, METH_O,
     set_eager_coroutines_doc},
    {"eager_coroutines_enabled", cinder_eager_coroutines_enabled, METH_NOARGS,
     eager_coroutines_enabled_doc},
    {"_eager_coroutine_stats", cinder_eager_coroutine_stats, METH_NOARGS,
     eager_coroutine_stats_doc},
    {"_call_awaited", (PyCFunction)(void (*)(void))cinder_call_awaited,
     METH_FASTCALL | METH_KEYWORDS, call_awaited_doc},
    {NULL, NULL},
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
