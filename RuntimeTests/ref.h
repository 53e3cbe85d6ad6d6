// An owned PyObject reference released at scope exit, for the runtime tests.
#pragma once

#include "Python.h"

struct Ref {
    PyObject *obj;
    explicit Ref(PyObject *o = nullptr) : obj(o) {}
    ~Ref() { Py_XDECREF(obj); }
    Ref(const Ref &) = delete;
    Ref &operator=(const Ref &) = delete;
};
