/* The interpreter's calls into the JIT runtime (Jit/runtime.c), made by the
   patched Python/ceval.c (RESUME, RESUME_JIT), Objects/genobject.c (resuming
   generators) and Python/pylifecycle.c (startup, shutdown), and the one
   interpreter function compiled code calls. */
#ifndef CINDER_JIT_HOOKS_H
#define CINDER_JIT_HOOKS_H

#include "Python.h"
#include "pycore_frame.h"
#include "Jit/jit.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parse the JIT's options and set up the runtime: once per main
   interpreter, when its config is read. An exit status for -X jit-help (0)
   and for a bad option or JIT list (1, after printing why). */
PyStatus Ci_JitInit(PyThreadState *tstate);

/* Stop compiling and release the options and the JIT list; compiled code
   stays valid. */
void Ci_JitFini(void);

/* Called by an unquickened RESUME in FRAME (frame->prev_instr points at
   it): compile FRAME's code if the JIT wants it now. Returns 1 when
   compiled code is installed (the RESUME became RESUME_JIT) and the frame
   should enter it, else 0. Never raises. */
int Ci_JitOnResume(PyThreadState *tstate, _PyInterpreterFrame *frame);

/* Called by RESUME_JIT: run FRAME's compiled body. Returns what the body
   returns (see Jit/jit.h); CI_JIT_DEOPT with the frame untouched when
   compiled code must not run (tracing is on, the frame has other globals
   than the code was compiled for). */
PyObject *Ci_JitRunFrame(PyThreadState *tstate, _PyInterpreterFrame *frame);

/* Called by gen_send_ex2 (Objects/genobject.c) to resume a suspended generator or
   coroutine FRAME, its sent value pushed, without an interpreter activation: when the
   frame resumes at a RESUME_JIT after a yield or await and nothing the interpreter's
   entry or RESUME would handle is pending, run its compiled body, do the YIELD_VALUE it
   stops at (or let the interpreter finish the frame if it deopts elsewhere), store
   what the frame yielded or returned (NULL with an exception set) in *RESULT and return
   1. Returns 0, changing nothing, when the interpreter must run the frame. */
int Ci_JitResumeGenerator(PyThreadState *tstate, _PyInterpreterFrame *frame,
                          PyObject **result);

/* _PyEval_EvalFrameDefault's throwflag for a frame whose compiled body left with
   CI_JIT_DEOPT_ERROR outside RESUME_JIT (a direct call between compiled functions): take
   the error path at frame->prev_instr, as for generator.throw(), but without the
   tracer's 'call' event: the call began, in compiled code, before tracing came on. */
#define CI_JIT_THROWFLAG_DEOPT_ERROR 2

/* The interpreter's eval-breaker handler (Python/ceval.c): pending signals, pending
   calls, a GIL drop request, an async exception. Returns -1 with an exception set. */
int _PyEval_HandlePending(PyThreadState *tstate);

#ifdef __cplusplus
}
#endif

#endif /* CINDER_JIT_HOOKS_H */
