/* Runtime helpers called from compiled code, one per HIR operation that is not lowered
   inline (hir_ops.def names each). All follow the interpreter's semantics for the bytecode
   the operation came from. Unless a comment says otherwise, an object result is a new
   reference, or NULL with an exception set; an int result is negative on error. */
#ifndef CINDER_JIT_RT_HELPERS_H
#define CINDER_JIT_RT_HELPERS_H

#include "Python.h"
#include "pycore_frame.h"

/* Two results in rax:rdx (SysV returns a two-pointer struct in registers). */
typedef struct {
    PyObject *first;
    PyObject *second;
} CiJitPair;

/* LOAD_GLOBAL: globals, then builtins; NameError (with .name set) when absent. */
PyObject *Ci_JitRt_LoadGlobal(_PyInterpreterFrame *frame, PyObject *name);

/* LOAD_METHOD: the two stack slots LOAD_METHOD pushes, as new references: (method, self)
   when a method descriptor was found, else (NULL, attribute). Both NULL on error. */
CiJitPair Ci_JitRt_LoadMethod(PyObject *obj, PyObject *name);

/* BINARY_OP with its oparg (NB_ADD ... NB_INPLACE_XOR). */
PyObject *Ci_JitRt_BinaryOp(PyObject *lhs, PyObject *rhs, int oparg);

/* UNARY_NEGATIVE, UNARY_POSITIVE or UNARY_INVERT, by opcode. */
PyObject *Ci_JitRt_UnaryOp(PyObject *value, int opcode);

/* COMPARE_OP with its oparg (Py_LT ... Py_GE). */
PyObject *Ci_JitRt_Compare(PyObject *lhs, PyObject *rhs, int oparg);

/* The BUILD_* operations consume their items, even when they fail. */
PyObject *Ci_JitRt_BuildTuple(PyObject **items, Py_ssize_t n);
PyObject *Ci_JitRt_BuildList(PyObject **items, Py_ssize_t n);
PyObject *Ci_JitRt_BuildSet(PyObject **items, Py_ssize_t n);
/* items holds n key/value pairs. */
PyObject *Ci_JitRt_BuildMap(PyObject **items, Py_ssize_t n);

/* UNPACK_SEQUENCE: a tuple of exactly n items, with the interpreter's error messages. */
PyObject *Ci_JitRt_Unpack(PyObject *seq, int n);

/* CALL: `stack` holds LOAD_METHOD's or PUSH_NULL's two slots then nargs arguments (the
   last len(kwnames) of them keywords); consumes all nargs + 2 slots, even on error. */
PyObject *Ci_JitRt_Call(PyObject **stack, Py_ssize_t nargs, PyObject *kwnames);

/* FOR_ITER: the next item; NULL when the iterator is exhausted (StopIteration is
   cleared) or on error (exception set). */
PyObject *Ci_JitRt_ForIterNext(PyObject *iter);

/* CONTAINS_OP's test: 1 if item in container, 0 if not, -1 on error. */
int Ci_JitRt_Contains(PyObject *item, PyObject *container);

#endif /* CINDER_JIT_RT_HELPERS_H */
