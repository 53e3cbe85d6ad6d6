/* Eager evaluation of awaited coroutine calls: `await f(...)` runs f's body at once, in
   the awaiting frame's eval loop, and creates a coroutine object only if f suspends.
   Hooks called from the patched ceval.c (patches/0009), the switch, and the C API. */

#include "Python.h"
#include "pycore_ceval.h"         // _Py_MakeCoro
#include "pycore_frame.h"
#include "pycore_initconfig.h"    // _PyInterpreterState_GetConfig
#include "pycore_pyerrors.h"      // _PyErr_FormatFromCause
#include "pycore_pystate.h"       // _PyThreadState_GET
#include "opcode.h"

#include "cinder/ceval_frames.h"
#include "cinder/eager_await.h"

/* How it works.
 *
 * The compiler emits `await f(x)` as
 *
 *     ... PRECALL n; CALL n; GET_AWAITABLE 0; LOAD_CONST None;
 *     SEND k; YIELD_VALUE; RESUME 3; JUMP_BACKWARD_NO_INTERRUPT; <after>
 *
 * When CALL inlines a call to a coroutine function (the interpreter pushes the callee's
 * frame and jumps to it without C recursion) and this pattern follows, the patched
 * interpreter calls Ci_EagerAwait_Mark, which decides whether to run the callee
 * eagerly, and if so marks the new frame with CI_FRAME_EAGER_AWAIT.  Such a frame is
 * an ordinary thread-owned frame, not the entry frame of its eval loop (except for
 * awaited calls made from C, at the end of this file).  Then:
 *
 * - RETURN_GENERATOR in it creates nothing: it pushes None (the value a first send()
 *   would push, eaten by the following POP_TOP) and the body runs on.  When the
 *   body starts with that pair (no cells or free variables to set up first), the
 *   frame simply starts after it.
 * - RETURN_VALUE means the callee finished without suspending.  The frame is popped as
 *   for any call and the result pushed onto the awaiting frame, which then continues
 *   at <after>, exactly where SEND jumps when its receiver returns
 *   (Ci_EagerAwait_Return).  No coroutine object ever existed.
 * - YIELD_VALUE means the callee suspended.  Ci_EagerAwait_Suspend materialises it: a
 *   coroutine object is made for the function, the frame (locals, value stack, frame
 *   object if any) moves into it as RETURN_GENERATOR would have moved it, and the
 *   awaiting frame is left as if its SEND had just received the yielded value from that
 *   coroutine: stack [..., coro, value], positioned on its own YIELD_VALUE.  From there
 *   the ordinary machinery takes over: a coroutine awaiting frame yields to its driver
 *   (the Task), an eager awaiting frame materialises in turn, and later resumptions go
 *   through SEND and gen_send_ex2 as usual.
 * - An exception leaving the frame is seen by the awaiting frame at its SEND, as if it
 *   came out of the coroutine, so tracebacks and handlers match (Ci_EagerAwait_Unwind);
 *   StopIteration becomes RuntimeError as gen_send_ex2 would make it.
 *
 * Exception state.  A running coroutine has its own _PyErr_StackItem (gi_exc_state)
 * linked in front of its awaiter's.  An eager frame has none: it shares the awaiter's.
 * While it runs this is invisible, because a coroutine's empty item is skipped by
 * sys.exc_info() anyway and PUSH_EXC_INFO then saves None either way.  The one
 * difference would be a suspension inside an except block, when the handled exception
 * must travel with the coroutine.  So calls are made eager only when the awaiter's
 * item holds no exception; at suspension an exception found in the shared item belongs
 * to the callee and moves into the new coroutine's gi_exc_state.
 *
 * Everything the lazy path would observe differently falls back to it: tracing and
 * profiling, PEP 523 frame evaluators, coroutine origin tracking (asyncio debug mode),
 * awaiting from inside an except block, and the switch being off.
 */

/* --- The switch ----------------------------------------------------------------- */

/* 1 on, 0 off, -1 not yet decided from the command line. */
static int eager_enabled = -1;

static int
eager_enabled_from_config(void)
{
    const PyConfig *config = _Py_GetConfig();
    for (Py_ssize_t i = 0; i < config->xoptions.length; i++) {
        if (wcscmp(config->xoptions.items[i], L"no-eager-coroutines") == 0) {
            return 0;
        }
    }
    return 1;
}

int
Ci_EagerAwait_IsEnabled(void)
{
    if (eager_enabled < 0) {
        eager_enabled = eager_enabled_from_config();
    }
    return eager_enabled;
}

int
Ci_EagerAwait_SetEnabled(int enabled)
{
    int previous = Ci_EagerAwait_IsEnabled();
    eager_enabled = enabled ? 1 : 0;
    return previous;
}

/* Whether the thread is in a state where eager and lazy evaluation look the same. */
static inline int
eager_allowed(PyThreadState *tstate)
{
    if (eager_enabled <= 0 && !Ci_EagerAwait_IsEnabled()) {
        return 0;
    }
    if (tstate->cframe->use_tracing || tstate->interp->eval_frame != NULL
            || tstate->coroutine_origin_tracking_depth != 0) {
        return 0;
    }
    PyObject *handled = tstate->exc_info->exc_value;
    return handled == NULL || handled == Py_None;
}

/* --- Interpreter hooks ---------------------------------------------------------- */

/* How eager calls ended, for tests and tuning (cinder._eager_coroutine_stats()). */
static Py_ssize_t n_returned, n_suspended, n_raised;

void
Ci_EagerAwait_GetStats(Py_ssize_t *returned, Py_ssize_t *suspended,
                       Py_ssize_t *raised)
{
    *returned = n_returned;
    *suspended = n_suspended;
    *raised = n_raised;
}

void
Ci_EagerAwait_Mark(PyThreadState *tstate, _PyInterpreterFrame *frame,
                   const _Py_CODEUNIT *next_instr)
{
    PyCodeObject *code = frame->f_code;
    int kind = code->co_flags & (CO_COROUTINE | CO_GENERATOR | CO_ASYNC_GENERATOR);
    if (kind != CO_COROUTINE) {
        return;
    }
    /* The exact await sequence; anything else (EXTENDED_ARG, `async with`'s
       GET_AWAITABLE 1 and 2) stays lazy. */
    if (_Py_OPCODE(next_instr[0]) != GET_AWAITABLE || _Py_OPARG(next_instr[0]) != 0
            || _Py_OPCODE(next_instr[1]) != LOAD_CONST
            || _Py_OPCODE(next_instr[2]) != SEND) {
        return;
    }
    /* The first value sent is None (anything else would be an error to report
       lazily). */
    PyObject *consts = frame->previous->f_code->co_consts;
    if (PyTuple_GET_ITEM(consts, _Py_OPARG(next_instr[1])) != Py_None) {
        return;
    }
    if (!eager_allowed(tstate)) {
        return;
    }
    frame->ci_flags = CI_FRAME_EAGER_AWAIT;
    /* Without cells or free variables the body starts RETURN_GENERATOR, POP_TOP,
       RESUME: start it at the RESUME, skipping the no-op pair. */
    _Py_CODEUNIT *first = _PyCode_CODE(code);
    if (_Py_OPCODE(first[0]) == RETURN_GENERATOR) {
        assert(_Py_OPCODE(first[1]) == POP_TOP);
        frame->prev_instr = first + 1;
    }
}

/* The awaiting frame's prev_instr is the last cache entry of its CALL; its SEND is
   three code units further (GET_AWAITABLE, LOAD_CONST, SEND). */
static inline _Py_CODEUNIT *
awaiter_send(_PyInterpreterFrame *awaiter)
{
    _Py_CODEUNIT *send = awaiter->prev_instr + 3;
    assert(_Py_OPCODE(send[-2]) == GET_AWAITABLE);
    assert(_Py_OPCODE(*send) == SEND);
    return send;
}

/* Move a suspending eager frame into `coro`, made for its function: as
   RETURN_GENERATOR does, but suspended at this YIELD_VALUE instead of created.  The
   thread frame keeps its contents, but they now belong to the coroutine. */
static void
move_into_coroutine(PyThreadState *tstate, _PyInterpreterFrame *frame,
                    PyGenObject *coro)
{
    assert(frame->ci_flags & CI_FRAME_EAGER_AWAIT);
    assert(frame->owner == FRAME_OWNED_BY_THREAD);
    _PyInterpreterFrame *coro_frame = (_PyInterpreterFrame *)coro->gi_iframe;
    _PyFrame_Copy(frame, coro_frame);
    coro_frame->ci_flags = 0;
    coro_frame->owner = FRAME_OWNED_BY_GENERATOR;
    if (coro_frame->frame_obj != NULL) {
        coro_frame->frame_obj->f_frame = coro_frame;
    }
    coro->gi_frame_state = FRAME_SUSPENDED;

    /* An exception being handled now is the callee's (see the essay above). */
    _PyErr_StackItem *exc_info = tstate->exc_info;
    PyObject *handled = exc_info->exc_value;
    if (handled != NULL && handled != Py_None) {
        coro->gi_exc_state.exc_value = handled;
        exc_info->exc_value = NULL;
    }
    n_suspended++;
}

_PyInterpreterFrame *
Ci_EagerAwait_Suspend(PyThreadState *tstate, _PyInterpreterFrame *frame,
                      PyObject *yielded)
{
    assert(!frame->is_entry);
    _PyInterpreterFrame *awaiter = frame->previous;
    _Py_CODEUNIT *send = awaiter_send(awaiter);

    PyGenObject *coro = (PyGenObject *)_Py_MakeCoro(frame->f_func);
    if (coro == NULL) {
        Py_DECREF(yielded);
        return NULL;
    }
    move_into_coroutine(tstate, frame, coro);
    /* Pop without clearing: the references are the coroutine's now. */
    _PyThreadState_PopFrame(tstate, frame);

    /* The awaiter looks as if its SEND had received `yielded` from the coroutine. */
    _PyFrame_StackPush(awaiter, (PyObject *)coro);
    _PyFrame_StackPush(awaiter, yielded);
    awaiter->prev_instr = send;
    return awaiter;
}

PyObject *
Ci_EagerAwait_SuspendEntry(PyThreadState *tstate, _PyInterpreterFrame *frame,
                           PyObject *yielded)
{
    assert(frame->is_entry);
    PyObject *coro = _Py_MakeCoro(frame->f_func);
    if (coro == NULL) {
        Py_DECREF(yielded);
        return NULL;
    }
    PyObject *handle = Ci_PyWaitHandle_New(Py_NewRef(coro), yielded);
    if (handle == NULL) {
        Py_DECREF(coro);
        return NULL;
    }
    move_into_coroutine(tstate, frame, (PyGenObject *)coro);
    Py_DECREF(coro);
    /* The caller (Ci_EagerAwait_CallFunction) clears and pops this frame: leave it empty
       but valid, as RETURN_GENERATOR leaves an entry frame. */
    frame->stacktop = 0;
    frame->f_locals = NULL;
    frame->frame_obj = NULL;
    Py_INCREF(frame->f_func);
    Py_INCREF(frame->f_code);
    return handle;
}

void
Ci_EagerAwait_Return(_PyInterpreterFrame *dying, _PyInterpreterFrame *awaiter)
{
    assert(dying->ci_flags & CI_FRAME_EAGER_AWAIT);
    _Py_CODEUNIT *send = awaiter_send(awaiter);
    /* SEND's jump target is send + 1 + oparg; continue there. */
    awaiter->prev_instr = send + _Py_OPARG(*send);
    n_returned++;
    /* A finished coroutine's frame keeps no link to its awaiter (gen_send_ex2). */
    dying->previous = NULL;
}

void
Ci_EagerAwait_Unwind(PyThreadState *tstate, _PyInterpreterFrame *dying,
                     _PyInterpreterFrame *awaiter)
{
    assert(dying->ci_flags & CI_FRAME_EAGER_AWAIT);
    awaiter->prev_instr = awaiter_send(awaiter);
    dying->previous = NULL;
    n_raised++;
    if (_PyErr_ExceptionMatches(tstate, PyExc_StopIteration)) {
        _PyErr_FormatFromCause(PyExc_RuntimeError, "%s",
                               "coroutine raised StopIteration");
    }
}

/* --- Wait handles ----------------------------------------------------------------- */

static void
waithandle_dealloc(Ci_PyWaitHandle *self)
{
    Py_XDECREF(self->wh_coro);
    Py_XDECREF(self->wh_waiter);
    PyObject_Free(self);
}

PyTypeObject Ci_PyWaitHandle_Type = {
    PyVarObject_HEAD_INIT(&PyType_Type, 0)
    .tp_name = "cinder.WaitHandle",
    .tp_basicsize = sizeof(Ci_PyWaitHandle),
    .tp_dealloc = (destructor)waithandle_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The result of an await-aware call that suspended (C API only).",
};

PyObject *
Ci_PyWaitHandle_New(PyObject *coro, PyObject *waiter)
{
    Ci_PyWaitHandle *wh = NULL;
    if (PyType_Ready(&Ci_PyWaitHandle_Type) == 0) {
        wh = PyObject_New(Ci_PyWaitHandle, &Ci_PyWaitHandle_Type);
    }
    if (wh == NULL) {
        Py_DECREF(coro);
        Py_DECREF(waiter);
        return NULL;
    }
    wh->wh_coro = coro;
    wh->wh_waiter = waiter;
    return (PyObject *)wh;
}

/* --- Awaited calls from C --------------------------------------------------------- */

#define AWAIT_AWARE_MAX 8
static vectorcallfunc await_aware[AWAIT_AWARE_MAX];
static int n_await_aware;

int
Ci_PyVectorcall_RegisterAwaitAware(vectorcallfunc entry)
{
    for (int i = 0; i < n_await_aware; i++) {
        if (await_aware[i] == entry) {
            return 0;
        }
    }
    if (n_await_aware == AWAIT_AWARE_MAX) {
        PyErr_SetString(PyExc_RuntimeError, "too many await-aware entry points");
        return -1;
    }
    await_aware[n_await_aware++] = entry;
    return 0;
}

static int
is_await_aware(vectorcallfunc entry)
{
    for (int i = 0; i < n_await_aware; i++) {
        if (await_aware[i] == entry) {
            return 1;
        }
    }
    return 0;
}

int
Ci_EagerAwait_Allowed(PyThreadState *tstate)
{
    return eager_allowed(tstate);
}

/* Run a Python coroutine function's body eagerly, as the entry frame of a new eval
   loop: what _PyEval_Vector does for any call, with the frame marked eager. */
PyObject *
Ci_EagerAwait_CallFunction(PyThreadState *tstate, PyFunctionObject *func,
                           PyObject *const *args, size_t nargs, PyObject *kwnames,
                           int *in_body)
{
    *in_body = 0;
    /* _PyEvalFramePushAndInit consumes references to func and the arguments. */
    Py_INCREF(func);
    size_t total = nargs + (kwnames ? (size_t)PyTuple_GET_SIZE(kwnames) : 0);
    for (size_t i = 0; i < total; i++) {
        Py_INCREF(args[i]);
    }
    PyCodeObject *code = (PyCodeObject *)func->func_code;
    PyObject *locals = (code->co_flags & CO_OPTIMIZED) ? NULL : func->func_globals;
    _PyInterpreterFrame *frame = _PyEvalFramePushAndInit(
        tstate, func, locals, args, nargs, kwnames);
    if (frame == NULL) {
        return NULL;
    }
    *in_body = 1;
    frame->ci_flags = CI_FRAME_EAGER_AWAIT;
    _Py_CODEUNIT *first = _PyCode_CODE(code);
    if (_Py_OPCODE(first[0]) == RETURN_GENERATOR) {
        frame->prev_instr = first + 1;
    }
    PyObject *res = _PyEval_EvalFrame(tstate, frame, 0);
    _PyEvalFrameClearAndPop(tstate, frame);
    return Ci_EagerAwait_Finish(tstate, res);
}

PyObject *
Ci_EagerAwait_Finish(PyThreadState *tstate, PyObject *res)
{
    if (res == NULL) {
        n_raised++;
        if (_PyErr_ExceptionMatches(tstate, PyExc_StopIteration)) {
            _PyErr_FormatFromCause(PyExc_RuntimeError, "%s",
                                   "coroutine raised StopIteration");
        }
    }
    else if (!Ci_PyWaitHandle_CheckExact(res)) {
        n_returned++;
    }
    return res;
}


/* What an eager call's result means: an error (NULL), a suspension (a wait handle with the
   coroutine and the value it yielded), or the call's value. Consumes res. */
static Ci_AwaitStatus
await_status(PyObject *res, PyObject **result, PyObject **yielded)
{
    if (res == NULL) {
        return CI_AWAIT_ERROR;
    }
    if (Ci_PyWaitHandle_CheckExact(res)) {
        Ci_PyWaitHandle *wh = (Ci_PyWaitHandle *)res;
        *result = Py_NewRef(wh->wh_coro);
        *yielded = Py_NewRef(wh->wh_waiter);
        Py_DECREF(res);
        return CI_AWAIT_SUSPENDED;
    }
    *result = res;
    return CI_AWAIT_DONE;
}

Ci_AwaitStatus
Ci_PyObject_CallAwaited(PyObject *callable, PyObject *const *args, size_t nargsf,
                        PyObject *kwnames, PyObject **result, PyObject **yielded)
{
    *result = NULL;
    *yielded = NULL;
    nargsf &= ~Ci_Py_AWAITED_CALL_MARKER;
    PyThreadState *tstate = _PyThreadState_GET();
    vectorcallfunc entry = PyVectorcall_Function(callable);
    if (entry != NULL && is_await_aware(entry) && eager_allowed(tstate)) {
        PyObject *res = entry(callable, args, nargsf | Ci_Py_AWAITED_CALL_MARKER,
                              kwnames);
        return await_status(res, result, yielded);
    }
    if (entry == _PyFunction_Vectorcall
            && (((PyCodeObject *)PyFunction_GET_CODE(callable))->co_flags
                & (CO_COROUTINE | CO_GENERATOR | CO_ASYNC_GENERATOR)) == CO_COROUTINE
            && eager_allowed(tstate)) {
        int in_body;
        PyObject *res = Ci_EagerAwait_CallFunction(tstate, (PyFunctionObject *)callable,
                                                   args, PyVectorcall_NARGS(nargsf),
                                                   kwnames, &in_body);
        return await_status(res, result, yielded);
    }
    PyObject *res = PyObject_Vectorcall(callable, args, nargsf, kwnames);
    if (res == NULL) {
        return CI_AWAIT_ERROR;
    }
    *result = res;
    return CI_AWAIT_LAZY;
}
