/* The built-in `cinderjit` module: the JIT's controls and statistics for
   Python code (CinderDoc/jit.rst). */

#include "Jit/runtime.h"

PyDoc_STRVAR(cinderjit_doc,
"Controls and statistics of Cinder's JIT.\n"
"\n"
"force_compile(f)         -- compile f now; whether it is compiled\n"
"is_jit_compiled(f)       -- whether f runs compiled code\n"
"disable()                -- stop compiling functions as they are called\n"
"is_enabled()             -- whether functions are compiled when called\n"
"get_compiled_functions() -- 'module:qualname' of each compiled function\n"
"jit_stats()              -- compiled and refused functions, deopts");

static PyCodeObject *
cj_code_of(PyObject *f)
{
    if (!PyFunction_Check(f)) {
        PyErr_Format(PyExc_TypeError, "expected a Python function, not %.200s",
                     Py_TYPE(f)->tp_name);
        return NULL;
    }
    return (PyCodeObject *)((PyFunctionObject *)f)->func_code;
}

PyDoc_STRVAR(force_compile_doc,
"force_compile(f) -> bool\n"
"\n"
"Compile the Python function f now, even when the JIT is off or f is not in\n"
"the JIT list. Returns whether f is compiled; jit_stats() counts why it was\n"
"refused.");

static PyObject *
cj_force_compile(PyObject *mod, PyObject *f)
{
    if (cj_code_of(f) == NULL) {
        return NULL;
    }
    return PyBool_FromLong(Ci_JitCompileFunction((PyFunctionObject *)f, NULL));
}

PyDoc_STRVAR(is_jit_compiled_doc,
"is_jit_compiled(f) -> bool\n"
"\n"
"Whether calls to the Python function f run compiled code.");

static PyObject *
cj_is_jit_compiled(PyObject *mod, PyObject *f)
{
    PyCodeObject *code = cj_code_of(f);
    if (code == NULL) {
        return NULL;
    }
    return PyBool_FromLong(Ci_JitIsCompiled(code));
}

PyDoc_STRVAR(disable_doc,
"disable()\n"
"\n"
"Stop compiling functions as they are called. Compiled functions keep\n"
"running compiled code; force_compile() still works.");

static PyObject *
cj_disable(PyObject *mod, PyObject *unused)
{
    Ci_JitDisable();
    Py_RETURN_NONE;
}

PyDoc_STRVAR(is_enabled_doc,
"is_enabled() -> bool\n"
"\n"
"Whether functions are compiled as they are called (-X jit, PYTHONJIT=1, and\n"
"disable() not called).");

static PyObject *
cj_is_enabled(PyObject *mod, PyObject *unused)
{
    return PyBool_FromLong(Ci_JitIsEnabled());
}

PyDoc_STRVAR(get_compiled_functions_doc,
"get_compiled_functions() -> list of str\n"
"\n"
"'module:qualname' of every live compiled function, in the JIT-list format.");

static PyObject *
cj_get_compiled_functions(PyObject *mod, PyObject *unused)
{
    return Ci_JitGetCompiledFunctions();
}

PyDoc_STRVAR(jit_stats_doc,
"jit_stats() -> dict\n"
"\n"
"'compiled': functions compiled; 'refused': {reason: functions};\n"
"'deopts': {reason: count}; 'compile_time': seconds spent compiling;\n"
"'code_size': bytes of machine code generated.");

static PyObject *
cj_jit_stats(PyObject *mod, PyObject *unused)
{
    return Ci_JitGetStats();
}

static PyMethodDef cinderjit_methods[] = {
    {"force_compile", cj_force_compile, METH_O, force_compile_doc},
    {"is_jit_compiled", cj_is_jit_compiled, METH_O, is_jit_compiled_doc},
    {"disable", cj_disable, METH_NOARGS, disable_doc},
    {"is_enabled", cj_is_enabled, METH_NOARGS, is_enabled_doc},
    {"get_compiled_functions", cj_get_compiled_functions, METH_NOARGS,
     get_compiled_functions_doc},
    {"jit_stats", cj_jit_stats, METH_NOARGS, jit_stats_doc},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot cinderjit_slots[] = {
    {0, NULL},
};

static struct PyModuleDef cinderjit_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "cinderjit",
    .m_doc = cinderjit_doc,
    .m_size = 0,
    .m_methods = cinderjit_methods,
    .m_slots = cinderjit_slots,
};

PyMODINIT_FUNC
PyInit_cinderjit(void)
{
    return PyModuleDef_Init(&cinderjit_module);
}
