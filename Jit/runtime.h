/* The runtime around compiled code, as compiled code and the compiler see
   it: the deoptimisation counters, direct calls, per-code JIT state. The
   interpreter's side (entry, compile trigger) is in
   Include/cinder/jit_hooks.h. */
#ifndef CINDER_JIT_RUNTIME_H
#define CINDER_JIT_RUNTIME_H

#include "Python.h"
#include "pycore_frame.h"
#include "Jit/compile.h"
#include "Jit/jit.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- Deoptimisation statistics ------------------------------------------- */

/* Why compiled code handed a frame back to the interpreter, as (enum
   suffix, name shown by cinderjit.jit_stats()):
     GUARD          a type or value guard failed;
     RAISE          compiled code raised (CI_JIT_DEOPT_ERROR: the interpreter
                    unwinds);
     UNBOUND_LOCAL  a local was read before assignment;
     UNSUPPORTED    compiled code reached a path it does not implement;
     TRACING        sys.settrace/sys.setprofile came on while compiled code
                    ran;
     NOT_ENTERED    RESUME_JIT ran the interpreter instead of the body
                    (tracing was on, or the frame has other globals or
                    builtins than it was compiled for);
     YIELD          a generator or coroutine yields: the interpreter's
                    YIELD_VALUE suspends the frame (not a failure). */
#define CI_JIT_DEOPT_REASONS(X)                 \
    X(GUARD, "guard failure")                   \
    X(RAISE, "exception")                       \
    X(UNBOUND_LOCAL, "unbound local")           \
    X(UNSUPPORTED, "unsupported path")          \
    X(TRACING, "tracing")                       \
    X(NOT_ENTERED, "not entered")               \
    X(YIELD, "yield")

typedef enum {
#define CI_JIT_DEOPT_ENUM(NAME, STR) CI_JIT_DEOPT_##NAME,
    CI_JIT_DEOPT_REASONS(CI_JIT_DEOPT_ENUM)
#undef CI_JIT_DEOPT_ENUM
    CI_JIT_DEOPT_NUM_REASONS
} CiJitDeoptReason;

/* The counter of deoptimisations for REASON, which deopt exits increment
   before they return CI_JIT_DEOPT or CI_JIT_DEOPT_ERROR. Out-of-range
   reasons count as CI_JIT_DEOPT_UNSUPPORTED. */
unsigned long long *ci_jit_deopt_counter(int reason);

/* The printable name of a reason ("guard failure", ...). */
const char *ci_jit_deopt_reason_name(int reason);

/* Deopt exit INDEX of TABLE, for the deopt entry of compiled code (x86_64.c), called
   with the general registers as they were at the exit (REGS, by register number), the
   compiled function's rbp and its FRAME: stores the exit's values into the frame's
   value stack (a new reference where compiled code did not own one), sets stacktop,
   releases the other references compiled code held, points prev_instr at the exit's
   instruction and counts the deopt. Returns CI_JIT_DEOPT or CI_JIT_DEOPT_ERROR, which
   the body returns. */
PyObject *ci_jit_deopt_exit(const CiJitDeoptTable *table, uint32_t index,
                            const uint64_t *regs, const char *rbp,
                            _PyInterpreterFrame *frame);

/* --- Calls between compiled functions ------------------------------------ */

#ifndef __cplusplus  /* pycore_atomic.h's C11 atomics are not C++ */
#include "pycore_interp.h"

/* Whether a call may run a compiled body directly now: no tracing or profiling, no
   PEP 523 frame evaluator, and the eval breaker clear (the interpreter's RESUME
   handles it first). */
static inline int
ci_jit_may_enter(PyThreadState *tstate)
{
    PyInterpreterState *interp = tstate->interp;
    return !tstate->cframe->use_tracing && interp->eval_frame == NULL
           && !_Py_atomic_load_relaxed(&interp->ceval.eval_breaker);
}
#endif

/* What a direct call needs of a code object's JIT state: the installed body (NULL when
   none is) and the globals and builtins it was compiled for (NULL for test bodies). */
typedef struct CiJitEntry {
    CiJitBody body;
    PyObject *globals;
    PyObject *builtins;
} CiJitEntry;

/* For a call site's cache: the entry of FUNC's code, which lives as long as the code,
   when a call of FUNC may enter its body directly (compiled for FUNC's globals and
   builtins; nothing but cell set-up before the entry RESUME); else NULL. A caller that
   keeps it must check again, at each call, ci_jit_may_enter and that the body is still
   installed for FUNC's globals and builtins. */
const CiJitEntry *ci_jit_call_entry(PyThreadState *tstate, PyFunctionObject *func);

/* What the interpreter runs before the entry RESUME of a directly called frame, pushed
   and bound, whose code begins with COPY_FREE_VARS and MAKE_CELL (closures, and functions
   whose variables closures capture): the free variables copied from the function's
   closure, a cell for each cell variable. Stops at anything else (RETURN_GENERATOR).
   Returns -1 with MemoryError set. */
int ci_jit_run_cell_prefix(_PyInterpreterFrame *frame);

/* The compiled body a call of FUNC may run directly, on a frame the caller pushes and
   binds as the interpreter would (then runs the cell prefix, ci_jit_run_cell_prefix, and
   sets prev_instr at the entry RESUME), or NULL when the call must go through the
   interpreter: FUNC's code is not compiled (or for other globals or builtins), its code
   starts with something else than cell set-up (a generator's RETURN_GENERATOR), tracing, profiling or a PEP 523 frame evaluator is active, or
   the eval breaker is set (the interpreter's RESUME handles it). */
CiJitBody ci_jit_direct_entry(PyThreadState *tstate, PyFunctionObject *func);

/* The same for an eager awaited call of FUNC, a coroutine function: its code must start
   RETURN_GENERATOR, POP_TOP, RESUME (no cells or free variables); the body then runs on
   the frame the caller pushes, marked eager, as the interpreter's CALL would run it. */
CiJitBody ci_jit_direct_entry_eager(PyThreadState *tstate, PyFunctionObject *func);

/* The result of FRAME (linked as the current frame), whose compiled body deopted: RES is
   CI_JIT_DEOPT or CI_JIT_DEOPT_ERROR, and the interpreter finishes the frame. */
PyObject *ci_jit_finish_deopted(PyThreadState *tstate, _PyInterpreterFrame *frame,
                                PyObject *res);

/* --- Per-code state ------------------------------------------------------ */

/* Whether CODE has a compiled body installed. */
int Ci_JitIsCompiled(PyCodeObject *code);

/* Compile FUNC now, whatever the options say (cinderjit.force_compile).
   Returns 1 when FUNC's code is compiled (now or before), 0 when refused
   (*why, if given, says why). Never raises. */
int Ci_JitCompileFunction(PyFunctionObject *func, const char **why);

/* Run CODE in the interpreter again, and never compile it automatically:
   restore its RESUME. Its machine code is kept until CODE is freed, as
   frames may still be running it. Returns 0, or -1 if CODE had no compiled
   body. Never raises. */
int Ci_JitUninstall(PyCodeObject *code);

/* Install BODY as CODE's compiled body, without the compiler, so that tests
   can exercise entry and deoptimisation with hand-written bodies. Returns
   0, or -1 with an exception (generators and module bodies are refused, as
   by the compiler). */
int Ci_JitInstallBodyForTesting(PyCodeObject *code, CiJitBody body);

/* --- Control (the cinderjit module) -------------------------------------- */

/* Whether the JIT compiles functions as they are called (-X jit and not
   disabled). */
int Ci_JitIsEnabled(void);

/* Stop compiling new functions; compiled ones keep running. */
void Ci_JitDisable(void);

/* New references: a list of "module:qualname" strings of the live compiled
   code objects; a dict of statistics (see CinderDoc/jit.rst). NULL with an
   exception on failure. */
PyObject *Ci_JitGetCompiledFunctions(void);
PyObject *Ci_JitGetStats(void);

#ifdef __cplusplus
}
#endif

#endif /* CINDER_JIT_RUNTIME_H */
