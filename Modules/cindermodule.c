/* The built-in `cinder` module: what this interpreter is and the runtime controls it adds
   on top of CPython. */

#include "Python.h"
#include "cinder/version.h"

PyDoc_STRVAR(cinder_doc,
"Cinder for CPython 3.11: runtime controls and information.\n"
"\n"
"version           -- Cinder's version, a string\n"
"upstream_version -- the CPython release this interpreter is built on");

static int
cinder_exec(PyObject *mod)
{
    if (PyModule_AddStringConstant(mod, "version", CINDER_VERSION) < 0) {
        return -1;
    }
    if (PyModule_AddStringConstant(mod, "upstream_version", PY_VERSION) < 0) {
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
    .m_slots = cinder_slots,
};

PyMODINIT_FUNC
PyInit_cinder(void)
{
    return PyModuleDef_Init(&cinder_module);
}
