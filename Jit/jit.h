/* The contract between the interpreter and compiled code: how a compiled body is entered
   on a frame the interpreter pushed, and how it hands control back (deoptimisation). */
#ifndef CINDER_JIT_H
#define CINDER_JIT_H

#include "Python.h"
#include "pycore_frame.h"

/* A compiled function body. It runs on `frame`, which the interpreter has pushed, bound and
   made current (tstate->cframe->current_frame == frame), with frame->stacktop set (0 on
   entry to an ordinary function). Locals live in frame->localsplus, owned by the frame, and
   compiled code keeps them there (stores write through), so introspection sees them.
   It returns:
     - a new reference: the function's return value; the frame's locals are still owned by
       the frame, which the caller clears and pops as RETURN_VALUE does;
     - CI_JIT_DEOPT: the frame holds exactly the interpreter's state (value stack written
       to localsplus[co_nlocalsplus...], stacktop set, owned); the interpreter continues at
       frame->prev_instr + 1;
     - CI_JIT_DEOPT_ERROR: as CI_JIT_DEOPT, but an exception is set and frame->prev_instr is
       the instruction that raised; the interpreter takes its error path there (traceback
       entry, exception table, handlers). */
typedef PyObject *(*CiJitBody)(PyThreadState *tstate, _PyInterpreterFrame *frame);

#define CI_JIT_DEOPT ((PyObject *)1)
#define CI_JIT_DEOPT_ERROR ((PyObject *)2)

#endif /* CINDER_JIT_H */
