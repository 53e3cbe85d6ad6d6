/* Eager evaluation of awaited coroutine calls: the interpreter hooks (called from the
   patched ceval.c), the switch, and the C API for awaited calls from C and compiled code.
   Design notes: CinderDoc/eager_coroutines.rst. */

#ifndef CINDER_EAGER_AWAIT_H
#define CINDER_EAGER_AWAIT_H

#include "Python.h"

#if defined(Py_BUILD_CORE) && !defined(__cplusplus)
#include "pycore_frame.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* --- The switch ---------------------------------------------------------------------
   On unless -X no-eager-coroutines was given; cinder.set_eager_coroutines() flips it.
   Ci_EagerAwait_SetEnabled returns the previous setting. */
PyAPI_FUNC(int) Ci_EagerAwait_IsEnabled(void);
PyAPI_FUNC(int) Ci_EagerAwait_SetEnabled(int enabled);

/* How many eagerly awaited calls returned, suspended (and became coroutines) and
   raised, since the process started. */
PyAPI_FUNC(void) Ci_EagerAwait_GetStats(Py_ssize_t *returned, Py_ssize_t *suspended,
                                        Py_ssize_t *raised);

/* --- Awaited calls from C and compiled code -----------------------------------------
   A caller that is about to await the result of a call can make the call through
   Ci_PyObject_CallAwaited instead of PyObject_Vectorcall.  It never passes the marker
   to a callee that does not understand it: plain Python coroutine functions are run
   eagerly here, vectorcall entry points registered with
   Ci_PyVectorcall_RegisterAwaitAware get the marker in nargsf, and everything else is
   called normally.

   An await-aware vectorcall receiving Ci_Py_AWAITED_CALL_MARKER in nargsf returns
   either the awaited result itself (the call completed without suspending) or a
   Ci_PyWaitHandle (it suspended): wh_coro is the suspended coroutine, to be awaited
   further, and wh_waiter the value it yielded, to be passed up to the event loop. */

#define Ci_Py_AWAITED_CALL_MARKER ((size_t)1 << 62)

typedef struct {
    PyObject_HEAD
    PyObject *wh_coro;      /* the suspended coroutine (strong) */
    PyObject *wh_waiter;    /* what it yielded (strong) */
} Ci_PyWaitHandle;

PyAPI_DATA(PyTypeObject) Ci_PyWaitHandle_Type;
#define Ci_PyWaitHandle_CheckExact(op) Py_IS_TYPE((op), &Ci_PyWaitHandle_Type)

/* A new wait handle; steals both references.  NULL on error (references dropped). */
PyAPI_FUNC(PyObject *) Ci_PyWaitHandle_New(PyObject *coro, PyObject *waiter);

/* Declare that `entry` understands Ci_Py_AWAITED_CALL_MARKER.  0 on success, -1 with an
   exception set when the (small, fixed) registry is full. */
PyAPI_FUNC(int) Ci_PyVectorcall_RegisterAwaitAware(vectorcallfunc entry);

typedef enum {
    CI_AWAIT_ERROR = -1,    /* an exception is set */
    CI_AWAIT_DONE = 0,      /* *result is the awaited value: no need to await anything */
    CI_AWAIT_SUSPENDED = 1, /* *result is a coroutine that suspended yielding *yielded */
    CI_AWAIT_LAZY = 2,      /* *result is an awaitable to await as usual */
} Ci_AwaitStatus;

/* Call `callable` as the operand of `await`.  nargsf and kwnames as for vectorcall
   (without the marker).  On success *result (and for CI_AWAIT_SUSPENDED *yielded) hold
   new references. */
PyAPI_FUNC(Ci_AwaitStatus) Ci_PyObject_CallAwaited(
    PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames,
    PyObject **result, PyObject **yielded);

#if defined(Py_BUILD_CORE) && !defined(__cplusplus)
/* --- Interpreter hooks (patches/0009) -------------------------------------------------
   The frame of an eagerly awaited call carries CI_FRAME_EAGER_AWAIT in ci_flags. */

/* At a CALL that pushed the frame of a CO_COROUTINE function: mark the frame eager
   (and start it past RETURN_GENERATOR) when it should run eagerly.  next_instr is
   the instruction after the CALL and its caches. */
extern void Ci_EagerAwait_Mark(PyThreadState *tstate, _PyInterpreterFrame *frame,
                               const _Py_CODEUNIT *next_instr);

/* YIELD_VALUE in an eager frame: turn it into a suspended coroutine, pop it and leave the
   awaiting frame ready to execute its own YIELD_VALUE.  Returns the awaiting frame, or
   NULL with an exception set (yielded is consumed either way). */
extern _PyInterpreterFrame *Ci_EagerAwait_Suspend(PyThreadState *tstate,
                                                  _PyInterpreterFrame *frame,
                                                  PyObject *yielded);

/* YIELD_VALUE in an eager entry frame (an awaited call from C): move the frame into a
   coroutine and return a wait handle for it and `yielded` (consumed), leaving the
   thread frame empty for its caller to pop; NULL with an exception set on error. */
extern PyObject *Ci_EagerAwait_SuspendEntry(PyThreadState *tstate,
                                            _PyInterpreterFrame *frame,
                                            PyObject *yielded);

/* RETURN_VALUE from an eager frame, after unlinking it: the awaiting frame continues
   after its await loop. */
extern void Ci_EagerAwait_Return(_PyInterpreterFrame *dying,
                                 _PyInterpreterFrame *awaiter);

/* An exception leaves an eager frame, after unlinking it: the awaiting frame sees it
   at its SEND, as it would from a coroutine. */
extern void Ci_EagerAwait_Unwind(PyThreadState *tstate, _PyInterpreterFrame *dying,
                                 _PyInterpreterFrame *awaiter);

/* --- Compiled code's awaited calls (Jit/rt/helpers.c) ----------------------------------
   What the interpreter's CALL does for an awaited call, for compiled code. */

/* Whether an awaited call may run eagerly now (the switch is on, nothing traces). */
extern int Ci_EagerAwait_Allowed(PyThreadState *tstate);

/* Run FUNC, a Python coroutine function, eagerly on a new entry frame (arguments as for
   vectorcall, borrowed). Returns the result, a wait handle if it suspended, or NULL with
   an exception: then *in_body is 1 if the body raised it (the interpreter reports that
   at the awaiting SEND), 0 if binding the arguments did (at the CALL). */
extern PyObject *Ci_EagerAwait_CallFunction(PyThreadState *tstate, PyFunctionObject *func,
                                            PyObject *const *args, size_t nargs,
                                            PyObject *kwnames, int *in_body);

/* What the frame of an eager call, run and popped by the caller, ended with: counts it,
   and turns a StopIteration it raised into RuntimeError as coroutines do. Returns RES
   (its value, a wait handle, or NULL with the exception set). */
extern PyObject *Ci_EagerAwait_Finish(PyThreadState *tstate, PyObject *res);
#endif

#ifdef __cplusplus
}
#endif
#endif /* !CINDER_EAGER_AWAIT_H */
