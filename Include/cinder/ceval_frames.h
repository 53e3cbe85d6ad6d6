/* The interpreter's frame push and pop for calls, which patches/0009 makes visible
   outside ceval.c: eager awaited calls (Python/eager_await.c) and calls between compiled
   functions (Jit/rt/helpers.c) push frames as _PyEval_Vector does. */
#ifndef CINDER_CEVAL_FRAMES_H
#define CINDER_CEVAL_FRAMES_H

#include "Python.h"
#include "pycore_frame.h"

/* Push and bind a frame for a call of FUNC; consumes the references to FUNC and to the
   arguments (argcount positional, then one per name in KWNAMES), even on failure.
   NULL with an exception set on failure. */
extern _PyInterpreterFrame *_PyEvalFramePushAndInit(
    PyThreadState *tstate, PyFunctionObject *func, PyObject *locals,
    PyObject *const *args, size_t argcount, PyObject *kwnames);

/* Clear and pop FRAME, the topmost frame of the thread's stack. */
extern void _PyEvalFrameClearAndPop(PyThreadState *tstate, _PyInterpreterFrame *frame);

#endif /* CINDER_CEVAL_FRAMES_H */
