/* The JIT runtime: per-code state in co_extra, the compile trigger behind
   RESUME, entry through RESUME_JIT, statistics, and startup/shutdown
   (Ci_JitInit, Ci_JitFini). */

#include "Jit/runtime.h"

#include "cinder/jit_hooks.h"
#include "Jit/jit_list.h"
#include "Jit/jit_options.h"
#include "Jit/perf_map.h"
#include "Jit/rt/helpers.h"
#include "pycore_atomic.h"
#include "pycore_code.h"
#include "pycore_interp.h"
#include "pycore_opcode.h"
#include "pycore_pystate.h"

#include <errno.h>
#include <string.h>
#include <time.h>

/* How entry works.

   The interpreter pushes and binds a frame for every call (from C through
   _PyEval_Vector, or inline from CALL, CALL_PY_* and BINARY_SUBSCR_GETITEM)
   and then runs the code's first RESUME. Unquickened, RESUME calls
   Ci_JitOnResume, which decides whether to compile (first call, or N-th
   with -X jit-auto; the JIT list) and, on success, rewrites that RESUME
   into RESUME_JIT and has the frame enter it at once. RESUME_JIT calls
   Ci_JitRunFrame, which runs the body on the frame and hands its result
   back to ceval.c: a value goes through RETURN_VALUE, CI_JIT_DEOPT resumes
   the interpreter at prev_instr + 1, CI_JIT_DEOPT_ERROR takes the error
   path at prev_instr.

   Under sys.settrace/setprofile the interpreter dispatches every
   instruction through DO_TRACING, which executes the base opcode:
   RESUME_JIT runs as RESUME, whose hook declines while tracing, so traced
   frames are interpreted from their first line.

   -X jit-auto=N needs to see every call until the N-th, but quickening
   turns RESUME into RESUME_QUICK after a few calls; while a code object is
   still counting, the hook turns its RESUME_QUICK back into RESUME. */

/* --- State --------------------------------------------------------------- */

/* What the runtime knows about one code object, kept in its co_extra slot. */
typedef struct CiJitCodeState {
    CiJitEntry entry;        /* the installed body, or NULL, and the globals and
                                builtins it was compiled for (NULL for test bodies);
                                these are compared by address only, never owned: a
                                strong reference from here would hide a module's
                                cycles from the GC. Compiled code reads globals
                                through the frame and checks every cache against the
                                dicts' keys versions, so a reused address is
                                harmless. */
    PyCodeObject *code;      /* borrowed: the state dies with the code */
    CiJitCode *compiled;     /* the compiler's output, kept when uninstalled */
    PyObject *name;          /* "module:qualname" while installed */
    bool cell_prefix;        /* the code begins with COPY_FREE_VARS and MAKE_CELL only,
                                which direct calls run (ci_jit_run_cell_prefix) */
    const char *refused;     /* why this code stays interpreted, or NULL */
    unsigned long ncalls;    /* calls seen while counting for -X jit-auto */
    struct CiJitCodeState *prev, *next; /* the list of installed bodies */
} CiJitCodeState;

#define RT_MAX_REFUSALS 64

typedef struct {
    const char *why;
    unsigned long count;
} RtRefusal;

static struct {
    CiJitOptions options;
    CiJitList *list;
    FILE *log;                   /* the -X jit-log-file, or NULL for stderr */
    int compiling;               /* compile functions as they are called */
    Py_ssize_t extra_index;      /* our co_extra slot; -1: not initialised */
    PyInterpreterState *interp;  /* the interpreter the slot belongs to */
    CiJitCodeState installed;    /* sentinel of the circular list */
    unsigned long ncompiled;
    double compile_seconds;
    size_t code_size;
    RtRefusal refusals[RT_MAX_REFUSALS];
    int nrefusals;
    unsigned long long deopts[CI_JIT_DEOPT_NUM_REASONS];
} rt = {.extra_index = -1};

static const char *const rt_deopt_names[] = {
#define RT_DEOPT_NAME(NAME, STR) STR,
    CI_JIT_DEOPT_REASONS(RT_DEOPT_NAME)
#undef RT_DEOPT_NAME
};

static const char RT_WHY_BODY[] = "module or class body";
static const char RT_WHY_LIST[] = "not in the JIT list";
static const char RT_WHY_NO_RESUME[] = "no RESUME at the entry";
static const char RT_WHY_UNINSTALLED[] = "uninstalled";
static const char RT_WHY_NO_MEMORY[] = "out of memory";
static const char RT_WHY_BUSY[] = "being compiled";

static void
rt_unlink(CiJitCodeState *st)
{
    if (st->next != NULL) {
        st->prev->next = st->next;
        st->next->prev = st->prev;
        st->prev = st->next = NULL;
    }
}

static void
rt_link(CiJitCodeState *st)
{
    if (rt.installed.next == NULL) {
        rt.installed.next = rt.installed.prev = &rt.installed;
    }
    st->next = &rt.installed;
    st->prev = rt.installed.prev;
    st->prev->next = st;
    rt.installed.prev = st;
}

/* The co_extra free function: called when the code object dies. */
static void
rt_state_free(void *ptr)
{
    CiJitCodeState *st = ptr;
    if (st == NULL) {
        return;
    }
    rt_unlink(st);
    if (st->compiled != NULL) {
        ci_jit_code_free(st->compiled);
    }
    Py_XDECREF(st->name);
    free(st);
}

static int
rt_active_in(PyInterpreterState *interp)
{
    return rt.extra_index >= 0 && interp == rt.interp;
}

/* CODE's state, or NULL when it has none. Read straight from co_extra: it runs on every
   entry into compiled code. */
static inline CiJitCodeState *
rt_state(PyCodeObject *code)
{
    _PyCodeObjectExtra *extra = code->co_extra;
    if (extra == NULL || rt.extra_index < 0 || rt.extra_index >= extra->ce_size) {
        return NULL;
    }
    return extra->ce_extras[rt.extra_index];
}

/* Give CODE a co_extra array just long enough for our slot when it has none.
   _PyCode_SetExtra would size it for every index requested so far, and code_dealloc
   calls each of their free functions, with NULL, for every code object whose array
   covers them: the JIT's state would make other users' free functions run on every
   code object the JIT has seen (a Python free function then runs while its own code
   object dies, and crashes). Returns -1 when out of memory. */
static int
rt_extra_reserve(PyCodeObject *code)
{
    if (code->co_extra != NULL) {
        return 0;
    }
    _PyCodeObjectExtra *extra = PyMem_Malloc(sizeof(_PyCodeObjectExtra)
                                             + sizeof(void *) * (size_t)rt.extra_index);
    if (extra == NULL) {
        return -1;
    }
    extra->ce_size = rt.extra_index + 1;
    for (Py_ssize_t i = 0; i < extra->ce_size; i++) {
        extra->ce_extras[i] = NULL;
    }
    code->co_extra = extra;
    return 0;
}

/* CODE's state, created if needed; NULL (no exception) when out of memory. */
static CiJitCodeState *
rt_state_ensure(PyCodeObject *code)
{
    CiJitCodeState *st = rt_state(code);
    if (st != NULL || rt.extra_index < 0) {
        return st;
    }
    st = calloc(1, sizeof(*st));
    if (st == NULL) {
        return NULL;
    }
    st->code = code;
    if (rt_extra_reserve(code) < 0) {
        free(st);
        return NULL;
    }
    if (_PyCode_SetExtra((PyObject *)code, rt.extra_index, st) < 0) {
        PyErr_Clear();
        free(st);
        return NULL;
    }
    return st;
}

static void
rt_count_refusal(const char *why)
{
    int i;
    for (i = 0; i < rt.nrefusals; i++) {
        if (rt.refusals[i].why == why
            || strcmp(rt.refusals[i].why, why) == 0) {
            break;
        }
    }
    if (i == rt.nrefusals) {
        if (rt.nrefusals == RT_MAX_REFUSALS) {
            i = RT_MAX_REFUSALS - 1;
            rt.refusals[i].why = "other";
        }
        else {
            rt.refusals[rt.nrefusals++].why = why;
        }
    }
    rt.refusals[i].count++;
}

static void
rt_refuse(CiJitCodeState *st, const char *why)
{
    st->refused = why;
    rt_count_refusal(why);
}

/* --- Installing bodies --------------------------------------------------- */

/* The RESUME that starts CODE's body, or NULL if there is none. */
static _Py_CODEUNIT *
rt_entry_resume(PyCodeObject *code)
{
    if (code->_co_firsttraceable >= Py_SIZE(code)) {
        return NULL;
    }
    _Py_CODEUNIT *instr = _PyCode_CODE(code) + code->_co_firsttraceable;
    if (_PyOpcode_Deopt[_Py_OPCODE(*instr)] != RESUME) {
        return NULL;
    }
    return instr;
}

/* Why CODE cannot be compiled whatever the options say, or NULL. */
static const char *
rt_unsupported(PyCodeObject *code)
{
    if (!(code->co_flags & CO_OPTIMIZED)) {
        return RT_WHY_BODY;
    }
    if (rt_entry_resume(code) == NULL) {
        return RT_WHY_NO_RESUME;
    }
    return NULL;
}

/* FUNC's "module:qualname" (module: its globals' __name__), or NULL with an
   exception. */
static PyObject *
rt_function_name(PyFunctionObject *func)
{
    PyObject *module = NULL;
    if (PyDict_Check(func->func_globals)) {
        module = PyDict_GetItemWithError(func->func_globals,
                                         &_Py_ID(__name__));
        if (module == NULL && PyErr_Occurred()) {
            return NULL;
        }
    }
    if (module == NULL || !PyUnicode_Check(module)) {
        module = &_Py_STR(empty);
    }
    PyCodeObject *code = (PyCodeObject *)(func->func_code);
    return PyUnicode_FromFormat("%U:%U", module, code->co_qualname);
}

/* Whether the JIT list admits FUNC. */
static int
rt_listed(PyFunctionObject *func)
{
    PyObject *name = rt_function_name(func);
    if (name == NULL) {
        PyErr_Clear();
        return 0;
    }
    int listed = 0;
    const char *utf8 = PyUnicode_AsUTF8(name);
    if (utf8 == NULL) {
        PyErr_Clear();
    }
    else {
        const char *colon = strrchr(utf8, ':');
        size_t mlen = colon - utf8;
        char small[256];
        char *module = small;
        if (mlen >= sizeof(small)) {
            module = PyMem_RawMalloc(mlen + 1);
        }
        if (module != NULL) {
            memcpy(module, utf8, mlen);
            module[mlen] = '\0';
            listed = ci_jit_list_contains(rt.list, module, colon + 1);
            if (module != small) {
                PyMem_RawFree(module);
            }
        }
    }
    Py_DECREF(name);
    return listed;
}

/* Set every RESUME of CODE (the entry, and in a generator or coroutine each resume
   point after a yield) to OPCODE. */
static void
rt_set_resumes(PyCodeObject *code, int opcode)
{
    _Py_CODEUNIT *instrs = _PyCode_CODE(code);
    for (Py_ssize_t k = code->_co_firsttraceable; k < Py_SIZE(code);) {
        int op = _PyOpcode_Deopt[_Py_OPCODE(instrs[k])];
        if (op == RESUME) {
            _Py_SET_OPCODE(instrs[k], opcode);
        }
        k += 1 + _PyOpcode_Caches[op];
    }
}

/* Whether everything before CODE's entry RESUME is COPY_FREE_VARS or MAKE_CELL (no
   EXTENDED_ARG, no RETURN_GENERATOR), and there is something. */
static bool
rt_has_cell_prefix(PyCodeObject *code)
{
    _Py_CODEUNIT *instr = _PyCode_CODE(code);
    for (int k = 0; k < code->_co_firsttraceable; k++) {
        int op = _Py_OPCODE(instr[k]);
        if (op != COPY_FREE_VARS && op != MAKE_CELL) {
            return false;
        }
    }
    return code->_co_firsttraceable > 0;
}

static void
rt_install(CiJitCodeState *st, CiJitBody body)
{
    st->entry.body = body;
    st->cell_prefix = rt_has_cell_prefix(st->code);
    st->refused = NULL;
    st->ncalls = 0;
    if (st->next == NULL) {
        rt_link(st);
    }
    rt_set_resumes(st->code, RESUME_JIT);
}

static double
rt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Compile FUNC's code (whose state is ST) and install it. Returns 0, or -1
   when refused (ST records why). Never raises. */
static int
rt_compile(CiJitCodeState *st, PyFunctionObject *func)
{
    assert(!PyErr_Occurred());
    PyObject *name = rt_function_name(func);
    if (name == NULL) {
        PyErr_Clear();
        rt_refuse(st, RT_WHY_NO_MEMORY);
        return -1;
    }
    const char *why = NULL;
    double start = rt_now();
    /* Should a finalizer run during compilation and call this function, it
       stays interpreted rather than being compiled twice at once. */
    st->refused = RT_WHY_BUSY;
    CiJitCode *compiled = ci_jit_compile(func, &why);
    st->refused = NULL;
    rt.compile_seconds += rt_now() - start;
    if (PyErr_Occurred()) {
        /* The compiler must not raise; do not let a bug leak an exception
           into the frame about to run. */
        PyErr_WriteUnraisable((PyObject *)func);
    }
    if (compiled == NULL) {
        Py_DECREF(name);
        rt_refuse(st, why != NULL ? why : "refused by the compiler");
        return -1;
    }
    st->compiled = compiled;
    Py_XSETREF(st->name, name);
    st->entry.globals = func->func_globals;
    st->entry.builtins = func->func_builtins;
    rt.ncompiled++;
    rt.code_size += compiled->code_size;
    if (rt.options.perfmap) {
        const char *utf8 = PyUnicode_AsUTF8(name);
        if (utf8 == NULL) {
            PyErr_Clear();
        }
        ci_jit_perf_map_add(compiled->memory, compiled->code_size, utf8 ? utf8 : "?");
    }
    rt_install(st, compiled->body);
    return 0;
}

/* --- The interpreter's hooks --------------------------------------------- */

int
Ci_JitOnResume(PyThreadState *tstate, _PyInterpreterFrame *frame)
{
    if (!rt.compiling || tstate->cframe->use_tracing
        || !rt_active_in(tstate->interp)) {
        return 0;
    }
    PyCodeObject *code = frame->f_code;
    if (frame->prev_instr != _PyCode_CODE(code) + code->_co_firsttraceable) {
        return 0;  /* a generator resuming after its first RESUME */
    }
    if (frame->f_func == NULL
        || frame->f_func->func_code != (PyObject *)code) {
        return 0;  /* the function's __code__ was replaced: compile it later */
    }
    CiJitCodeState *st = rt_state(code);
    if (st == NULL) {
        st = rt_state_ensure(code);
        if (st == NULL) {
            return 0;
        }
        const char *why = rt_unsupported(code);
        if (why == NULL && rt.list != NULL && !rt_listed(frame->f_func)) {
            why = RT_WHY_LIST;
        }
        if (why != NULL) {
            rt_refuse(st, why);
            return 0;
        }
    }
    if (st->entry.body != NULL) {
        return 1;
    }
    if (st->refused != NULL) {
        return 0;
    }
    if (rt.options.auto_threshold > 1
        && ++st->ncalls < rt.options.auto_threshold) {
        /* Keep counting calls: undo the quickening _PyCode_Warmup may just
           have done. */
        if (_Py_OPCODE(*frame->prev_instr) == RESUME_QUICK) {
            _Py_SET_OPCODE(*frame->prev_instr, RESUME);
        }
        return 0;
    }
    return rt_compile(st, frame->f_func) == 0;
}

PyObject *
Ci_JitRunFrame(PyThreadState *tstate, _PyInterpreterFrame *frame)
{
    CiJitCodeState *st = NULL;
    if (rt_active_in(tstate->interp)) {
        st = rt_state(frame->f_code);
    }
    if (st == NULL || st->entry.body == NULL || tstate->cframe->use_tracing
        || (st->entry.globals != NULL
            && (frame->f_globals != st->entry.globals
                || frame->f_builtins != st->entry.builtins))) {
        rt.deopts[CI_JIT_DEOPT_NOT_ENTERED]++;
        return CI_JIT_DEOPT;
    }
    /* Later calls from C enter the body directly. */
    if (frame->f_func->vectorcall == _PyFunction_Vectorcall
        && (frame->f_code->_co_firsttraceable == 0 || st->cell_prefix)) {
        frame->f_func->vectorcall = Ci_JitRt_Vectorcall;
    }
    /* While the body runs, the collector (which traverses a generator's frame up to
       stacktop) sees nothing of the frame, as while the interpreter runs one: a resumed
       generator's stack holds what it was suspended with and the value sent in, which
       the body takes (LoadStack) by slot, and the body then uses the area for call
       arguments that it does not keep counted there. Exits set stacktop again. */
    frame->stacktop = -1;
    return st->entry.body(tstate, frame);
}

int
Ci_JitResumeGenerator(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject **result)
{
    /* Only where the interpreter would go straight from RESUME_JIT into the body: a
       resume after a yield or await, nothing pending for RESUME to handle, no tracer
       and no other frame evaluator, and stack to spare. */
    _Py_CODEUNIT *resume = frame->prev_instr + 1;
    if (_Py_OPCODE(*resume) != RESUME_JIT || _Py_OPARG(*resume) == 0 || frame->ci_flags != 0
        || tstate->cframe->use_tracing || tstate->interp->eval_frame != NULL
        || tstate->recursion_remaining <= 0
        || _Py_atomic_load_relaxed(&tstate->interp->ceval.eval_breaker)) {
        return 0;
    }
    _PyCFrame *cframe = tstate->cframe;
    frame->prev_instr = resume;
    frame->previous = cframe->current_frame;
    cframe->current_frame = frame;
    tstate->recursion_remaining--;
    PyObject *res = Ci_JitRunFrame(tstate, frame);
    tstate->recursion_remaining++;
    cframe->current_frame = frame->previous;
    if (res == CI_JIT_DEOPT && _Py_OPCODE(frame->prev_instr[1]) == YIELD_VALUE) {
        /* YIELD_VALUE, as the interpreter runs it. */
        frame->prev_instr++;
        res = frame->localsplus[--frame->stacktop];
        _PyFrame_GetGenerator(frame)->gi_frame_state = FRAME_SUSPENDED;
    }
    else if (res == CI_JIT_DEOPT || res == CI_JIT_DEOPT_ERROR) {
        res = ci_jit_finish_deopted(tstate, frame, res);
    }
    else {
        /* Returned: the body consumed its stack (RESUME_JIT's return path). */
        frame->stacktop = frame->f_code->co_nlocalsplus;
    }
    *result = res;
    return 1;
}

/* --- API for compiled code ----------------------------------------------- */

/* The entry of FUNC's code for direct calls, when its entry RESUME is at ENTRY and a
   body compiled for FUNC's globals and builtins is installed; else NULL. */
static CiJitEntry *
rt_entry(PyFunctionObject *func, int entry)
{
    PyCodeObject *code = (PyCodeObject *)func->func_code;
    CiJitCodeState *st = rt_state(code);
    if (st == NULL || st->entry.body == NULL
        || (code->_co_firsttraceable != entry && !(entry == 0 && st->cell_prefix))
        || (st->entry.globals != NULL
            && (func->func_globals != st->entry.globals
                || func->func_builtins != st->entry.builtins))) {
        return NULL;
    }
    return &st->entry;
}

int
ci_jit_run_cell_prefix(_PyInterpreterFrame *frame)
{
    PyCodeObject *code = frame->f_code;
    _Py_CODEUNIT *instr = _PyCode_CODE(code);
    for (int k = 0; k < code->_co_firsttraceable; k++) {
        int oparg = _Py_OPARG(instr[k]);
        switch (_Py_OPCODE(instr[k])) {
        case COPY_FREE_VARS: {
            PyObject *closure = frame->f_func->func_closure;
            int offset = code->co_nlocals + code->co_nplaincellvars;
            for (int i = 0; i < oparg; i++) {
                frame->localsplus[offset + i] = Py_NewRef(PyTuple_GET_ITEM(closure, i));
            }
            break;
        }
        case MAKE_CELL: {
            /* The initial value is an argument, or NULL. */
            PyObject *initial = frame->localsplus[oparg];
            PyObject *cell = PyCell_New(initial);
            if (cell == NULL) {
                return -1;
            }
            frame->localsplus[oparg] = cell;
            Py_XDECREF(initial);
            break;
        }
        default:
            return 0;
        }
    }
    return 0;
}

/* The compiled body for a direct call of FUNC whose code's entry RESUME is at ENTRY. */
static CiJitBody
rt_direct_entry(PyThreadState *tstate, PyFunctionObject *func, int entry)
{
    if (!ci_jit_may_enter(tstate) || !rt_active_in(tstate->interp)) {
        return NULL;
    }
    CiJitEntry *e = rt_entry(func, entry);
    return e != NULL ? e->body : NULL;
}

const CiJitEntry *
ci_jit_call_entry(PyThreadState *tstate, PyFunctionObject *func)
{
    if (!rt_active_in(tstate->interp)) {
        return NULL;
    }
    CiJitEntry *e = rt_entry(func, 0);
    return e != NULL && e->globals != NULL ? e : NULL;
}

PyObject *
ci_jit_finish_deopted(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *res)
{
    assert(res == CI_JIT_DEOPT || res == CI_JIT_DEOPT_ERROR);
    /* The interpreter continues at prev_instr + 1, or unwinds from prev_instr with the
       exception set (its generator.throw() entry, less the tracer's event). */
    return _PyEval_EvalFrameDefault(
        tstate, frame, res == CI_JIT_DEOPT_ERROR ? CI_JIT_THROWFLAG_DEOPT_ERROR : 0);
}

CiJitBody
ci_jit_direct_entry(PyThreadState *tstate, PyFunctionObject *func)
{
    return rt_direct_entry(tstate, func, 0);
}

CiJitBody
ci_jit_direct_entry_eager(PyThreadState *tstate, PyFunctionObject *func)
{
    _Py_CODEUNIT *first = _PyCode_CODE((PyCodeObject *)func->func_code);
    if (_Py_OPCODE(first[0]) != RETURN_GENERATOR) {
        return NULL;
    }
    return rt_direct_entry(tstate, func, 2);   /* after RETURN_GENERATOR, POP_TOP */
}

static PyObject *
rt_deopt_value(const CiJitDeoptValue *v, const uint64_t *regs, const char *rbp)
{
    switch (v->where) {
    case CI_JIT_DEOPT_IN_REG:
        return (PyObject *)(uintptr_t)regs[v->where_value];
    case CI_JIT_DEOPT_IN_SLOT:
        return *(PyObject *const *)(rbp + v->where_value);
    default:
        return (PyObject *)(intptr_t)v->where_value;
    }
}

PyObject *
ci_jit_deopt_exit(const CiJitDeoptTable *table, uint32_t index, const uint64_t *regs,
                  const char *rbp, _PyInterpreterFrame *frame)
{
    const CiJitDeoptExit *e = &table->exits[index];
    const CiJitDeoptValue *v = &table->values[e->first];
    for (uint32_t k = 0; k < e->nvalues; k++, v++) {
        PyObject *value = rt_deopt_value(v, regs, rbp);
        frame->localsplus[v->slot] = v->owned ? value : Py_XNewRef(value);
    }
    frame->stacktop = e->stacktop;
    for (uint32_t k = 0; k < e->nrelease; k++, v++) {
        Py_XDECREF(rt_deopt_value(v, regs, rbp));
    }
    frame->prev_instr = _PyCode_CODE(frame->f_code) + e->bc_offset;
    rt.deopts[e->reason]++;
    return e->is_error ? CI_JIT_DEOPT_ERROR : CI_JIT_DEOPT;
}

unsigned long long *
ci_jit_deopt_counter(int reason)
{
    if (reason < 0 || reason >= CI_JIT_DEOPT_NUM_REASONS) {
        reason = CI_JIT_DEOPT_UNSUPPORTED;
    }
    return &rt.deopts[reason];
}

const char *
ci_jit_deopt_reason_name(int reason)
{
    if (reason < 0 || reason >= CI_JIT_DEOPT_NUM_REASONS) {
        return "unknown";
    }
    return rt_deopt_names[reason];
}

const CiJitOptions *
ci_jit_options(void)
{
    return &rt.options;
}

FILE *
ci_jit_log(void)
{
    return rt.log != NULL ? rt.log : stderr;
}

/* --- Per-code API -------------------------------------------------------- */

int
Ci_JitIsCompiled(PyCodeObject *code)
{
    CiJitCodeState *st = rt_state(code);
    return st != NULL && st->entry.body != NULL;
}

int
Ci_JitCompileFunction(PyFunctionObject *func, const char **why)
{
    PyCodeObject *code = (PyCodeObject *)func->func_code;
    const char *dummy;
    why = why != NULL ? why : &dummy;
    *why = NULL;
    if (!rt_active_in(_PyInterpreterState_GET())) {
        *why = "the JIT runs in the main interpreter only";
        return 0;
    }
    CiJitCodeState *st = rt_state_ensure(code);
    if (st == NULL) {
        *why = RT_WHY_NO_MEMORY;
        return 0;
    }
    if (st->entry.body != NULL) {
        return 1;
    }
    if (st->refused != NULL && st->refused != RT_WHY_LIST
        && st->refused != RT_WHY_UNINSTALLED) {
        *why = st->refused;
        return 0;
    }
    *why = rt_unsupported(code);
    if (*why != NULL) {
        rt_refuse(st, *why);
        return 0;
    }
    if (rt_compile(st, func) < 0) {
        *why = st->refused;
        return 0;
    }
    return 1;
}

int
Ci_JitUninstall(PyCodeObject *code)
{
    CiJitCodeState *st = rt_state(code);
    if (st == NULL || st->entry.body == NULL) {
        return -1;
    }
    st->entry.body = NULL;
    st->refused = RT_WHY_UNINSTALLED;
    rt_unlink(st);
    /* Quickened code (co_warmup == 0) never runs an unquickened RESUME
       again. */
    rt_set_resumes(code, code->co_warmup == 0 ? RESUME_QUICK : RESUME);
    return 0;
}

int
Ci_JitInstallBodyForTesting(PyCodeObject *code, CiJitBody body)
{
    if (!rt_active_in(_PyInterpreterState_GET())) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the JIT runtime is not initialised");
        return -1;
    }
    const char *why = rt_unsupported(code);
    if (why != NULL) {
        PyErr_Format(PyExc_ValueError, "cannot install a body: %s", why);
        return -1;
    }
    CiJitCodeState *st = rt_state_ensure(code);
    if (st == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    PyObject *name = PyUnicode_FromFormat("<test>:%U", code->co_qualname);
    if (name == NULL) {
        return -1;
    }
    Py_XSETREF(st->name, name);
    st->entry.globals = NULL;
    st->entry.builtins = NULL;
    rt_install(st, body);
    return 0;
}

/* --- Control ------------------------------------------------------------- */

int
Ci_JitIsEnabled(void)
{
    return rt.compiling;
}

void
Ci_JitDisable(void)
{
    rt.compiling = 0;
}

PyObject *
Ci_JitGetCompiledFunctions(void)
{
    PyObject *list = PyList_New(0);
    if (list == NULL || rt.installed.next == NULL) {
        return list;
    }
    for (CiJitCodeState *st = rt.installed.next; st != &rt.installed;
         st = st->next) {
        if (PyList_Append(list, st->name) < 0) {
            Py_DECREF(list);
            return NULL;
        }
    }
    return list;
}

/* Set DICT[KEY] = VALUE, stealing VALUE. */
static int
rt_dict_steal(PyObject *dict, const char *key, PyObject *value)
{
    if (value == NULL) {
        return -1;
    }
    int r = PyDict_SetItemString(dict, key, value);
    Py_DECREF(value);
    return r;
}

PyObject *
Ci_JitGetStats(void)
{
    PyObject *stats = PyDict_New();
    PyObject *refused = PyDict_New();
    PyObject *deopts = PyDict_New();
    if (stats == NULL || refused == NULL || deopts == NULL) {
        goto error;
    }
    for (int i = 0; i < rt.nrefusals; i++) {
        if (rt_dict_steal(refused, rt.refusals[i].why,
                          PyLong_FromUnsignedLong(rt.refusals[i].count)) < 0) {
            goto error;
        }
    }
    for (int i = 0; i < CI_JIT_DEOPT_NUM_REASONS; i++) {
        if (rt_dict_steal(deopts, rt_deopt_names[i],
                          PyLong_FromUnsignedLongLong(rt.deopts[i])) < 0) {
            goto error;
        }
    }
    if (rt_dict_steal(stats, "compiled",
                      PyLong_FromUnsignedLong(rt.ncompiled)) < 0
        || rt_dict_steal(stats, "refused", Py_NewRef(refused)) < 0
        || rt_dict_steal(stats, "deopts", Py_NewRef(deopts)) < 0
        || rt_dict_steal(stats, "compile_time",
                         PyFloat_FromDouble(rt.compile_seconds)) < 0
        || rt_dict_steal(stats, "code_size",
                         PyLong_FromSize_t(rt.code_size)) < 0) {
        goto error;
    }
    Py_DECREF(refused);
    Py_DECREF(deopts);
    return stats;

error:
    Py_XDECREF(stats);
    Py_XDECREF(refused);
    Py_XDECREF(deopts);
    return NULL;
}

/* --- Startup and shutdown ------------------------------------------------ */

static PyStatus
rt_fail(const char *message)
{
    fprintf(stderr, "Cinder JIT: %s\n", message);
    fflush(stderr);
    Ci_JitFini();
    return PyStatus_Exit(1);
}

PyStatus
Ci_JitInit(PyThreadState *tstate)
{
    const PyConfig *config = _PyInterpreterState_GetConfig(tstate->interp);
    char err[1024];
    Ci_JitFini();
    rt.ncompiled = 0;
    rt.compile_seconds = 0;
    rt.code_size = 0;
    rt.nrefusals = 0;
    memset(rt.deopts, 0, sizeof(rt.deopts));
    if (ci_jit_options_parse(&rt.options, &config->xoptions,
                             config->use_environment, err, sizeof(err)) < 0) {
        return rt_fail(err);
    }
    if (rt.options.help) {
        ci_jit_options_print_help(stdout);
        fflush(stdout);
        Ci_JitFini();
        return PyStatus_Exit(0);
    }
    if (rt.options.log_file != NULL) {
        rt.log = fopen(rt.options.log_file, "w");
        if (rt.log == NULL) {
            snprintf(err, sizeof(err), "cannot open JIT log file %s: %s",
                     rt.options.log_file, strerror(errno));
            return rt_fail(err);
        }
    }
    if (rt.options.list_file != NULL) {
        rt.list = ci_jit_list_load(rt.options.list_file, err, sizeof(err));
        if (rt.list == NULL) {
            return rt_fail(err);
        }
    }
    rt.extra_index = _PyEval_RequestCodeExtraIndex(rt_state_free);
    if (rt.extra_index < 0) {
        PyErr_Clear();
        return rt_fail("no co_extra slot left for the JIT");
    }
    rt.interp = tstate->interp;
    rt.compiling = rt.options.enabled;
    return PyStatus_Ok();
}

void
Ci_JitFini(void)
{
    rt.compiling = 0;
    rt.extra_index = -1;
    rt.interp = NULL;
    /* Code objects that outlive this keep their state, unlisted: the code may still
       run while the interpreter finalizes. The frozen modules' static code objects
       free theirs when _PyStaticCode_Dealloc resets them at the end (patches/0016). */
    while (rt.installed.next != NULL && rt.installed.next != &rt.installed) {
        rt_unlink(rt.installed.next);
    }
    ci_jit_list_free(rt.list);
    rt.list = NULL;
    ci_jit_perf_map_close();
    if (rt.log != NULL) {
        fclose(rt.log);
        rt.log = NULL;
    }
    ci_jit_options_clear(&rt.options);
}
