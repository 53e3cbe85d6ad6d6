/* Runtime helpers called from compiled code, one per HIR operation that is not lowered
   inline (hir_ops.def names each). All follow the interpreter's semantics for the bytecode
   the operation came from. Unless a comment says otherwise, an object result is a new
   reference, or NULL with an exception set; an int result is negative on error. */
#ifndef CINDER_JIT_RT_HELPERS_H
#define CINDER_JIT_RT_HELPERS_H

#include "Python.h"
#include "pycore_frame.h"

#include "Jit/hir/hir.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Two results in rax:rdx (SysV returns a two-pointer struct in registers). */
typedef struct {
    PyObject *first;
    PyObject *second;
} CiJitPair;

/* Lookups with an inline cache: compiled code owns one CiJitSiteCache per LoadAttr,
   StoreAttr, LoadMethod and LoadGlobal, seeded from the interpreter's cache. A helper
   takes the fast path of the first way whose versions hold (compiled code tries way 0
   inline); on a miss it does the generic lookup and refills way 0 from the current
   state, moving the older ways down, so a site that sees a few types (subclasses sharing
   a method, say) hits for each of them. A site that keeps missing backs off from
   refilling. LoadGlobal uses one way. */
#define CI_JIT_CACHE_WAYS 4

/* A Call site's cache: the function, by its func_version (which changes with its
   __code__ or defaults and never names another function), whose compiled body the site
   entered last with positional arguments only, how many it takes (the positional
   parameters, those without a default), and its code's entry (Jit/runtime.h; NULL while
   the cache is empty). */
typedef struct CiJitCallCache {
    uint32_t func_version;
    uint16_t argcount;
    uint16_t required;
    const struct CiJitEntry *entry;
} CiJitCallCache;

typedef struct CiJitSiteCache {
    union {
        HirCache way[CI_JIT_CACHE_WAYS];    /* lookups */
        CiJitCallCache call;                /* Call */
    };
    uint32_t misses;    /* lookups that missed every way; calls that missed the cache */
    uint32_t calls;     /* times compiled code's inline path called the helper */
} CiJitSiteCache;

/* Fills the LOAD_GLOBAL cache way C from where NAME is now: in the exact dict GLOBALS,
   or else BUILTINS (kind HIR_CACHE_NONE when that cannot be cached). Runs no Python
   code. */
void Ci_JitRt_SeedGlobalCache(HirCache *c, PyObject *globals, PyObject *builtins,
                              PyObject *name);

/* Fills the LOAD_ATTR or LOAD_METHOD cache way C for NAME of MODULE (kind
   HIR_CACHE_NONE unless MODULE is a module with NAME in its dict). Runs no Python code. */
void Ci_JitRt_SeedModuleAttrCache(HirCache *c, PyObject *module, PyObject *name);

/* LOAD_GLOBAL: globals, then builtins; NameError (with .name set) when absent. */
PyObject *Ci_JitRt_LoadGlobal(_PyInterpreterFrame *frame, PyObject *name, CiJitSiteCache *cache);

/* LOAD_METHOD: the two stack slots LOAD_METHOD pushes, as new references: (method, self)
   when a method descriptor was found, else (NULL, attribute). Both NULL on error. */
CiJitPair Ci_JitRt_LoadMethod(PyObject *obj, PyObject *name, CiJitSiteCache *cache);

/* LOAD_ATTR and STORE_ATTR (the latter 0 or -1). */
PyObject *Ci_JitRt_LoadAttr(PyObject *obj, PyObject *name, CiJitSiteCache *cache);
int Ci_JitRt_StoreAttr(PyObject *obj, PyObject *name, PyObject *value, CiJitSiteCache *cache);

/* BINARY_SUBSCR and STORE_SUBSCR (the latter 0 or -1). */
PyObject *Ci_JitRt_BinarySubscr(PyObject *container, PyObject *sub);
int Ci_JitRt_StoreSubscr(PyObject *container, PyObject *sub, PyObject *value);

/* A comparison whose result is only tested for truth: 1, 0, or -1 on error. */
int Ci_JitRt_CompareBool(PyObject *lhs, PyObject *rhs, int oparg);

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

/* BUILD_CONST_KEY_MAP: items holds n values, then the tuple of their n keys; consumes
   them all. */
PyObject *Ci_JitRt_BuildConstKeyMap(PyObject **items, Py_ssize_t n);

/* UNPACK_SEQUENCE where compiled code's inline paths (an exact tuple of n items, an exact
   list of n items read at once) do not apply: a new tuple of exactly n items, with the
   interpreter's error messages. */
PyObject *Ci_JitRt_Unpack(PyObject *seq, int n);

/* UNPACK_EX with OPARG (its low byte counts the targets before the starred one, its high
   byte those after): SEQ's first items, a list of the ones in the middle and its last
   items, in that order in a new tuple, with the interpreter's error messages. */
PyObject *Ci_JitRt_UnpackEx(PyObject *seq, int oparg);

/* LOAD_BUILD_CLASS: __build_class__ from FRAME's builtins (a dict or any mapping), or
   the interpreter's NameError. */
PyObject *Ci_JitRt_LoadBuildClass(_PyInterpreterFrame *frame);

/* CALL, in two halves so that compiled code calls a compiled callee's body itself, one
   native call per Python call (a helper in between would triple the native recursion of
   recursive Python code, and returns deeper than the CPU's return-stack predictor
   mispredict). `stack` holds LOAD_METHOD's or PUSH_NULL's two slots then nargs arguments
   (the last len(kwnames) of them keywords); all nargs + 2 slots are consumed, even on
   error. CallEnter returns (body, frame) when the callee is a function with compiled
   code: its frame is pushed, bound and current, and the caller runs body(tstate, frame)
   and hands the result to CallLeave, which returns the call's result. Otherwise it makes
   the call and returns (NULL, result). The site's cache makes a call of the function it
   last entered, with no keywords, skip the generic checks. */
CiJitPair Ci_JitRt_CallEnter(PyThreadState *tstate, PyObject **stack, Py_ssize_t nargs,
                             PyObject *kwnames, CiJitSiteCache *cache);
PyObject *Ci_JitRt_CallLeave(PyThreadState *tstate, _PyInterpreterFrame *frame,
                             PyObject *res);

/* The vectorcall of a function whose code has a compiled body (Ci_JitRunFrame installs
   it): a call from C runs the body directly, as a call from compiled code does, instead
   of through _PyEval_Vector and an interpreter activation; when the body may not run
   (tracing, the JIT disabled, other globals, a new __code__), _PyFunction_Vectorcall. */
PyObject *Ci_JitRt_Vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                              PyObject *kwnames);

/* FOR_ITER: the next item; NULL when the iterator is exhausted (StopIteration is
   cleared) or on error (exception set). */
PyObject *Ci_JitRt_ForIterNext(PyObject *iter);

/* CALL_FUNCTION_EX: ARGS any iterable and KWARGS (or NULL) any mapping, converted to a
   tuple and a dict with the interpreter's errors when they are not exactly those. */
PyObject *Ci_JitRt_CallEx(PyObject *func, PyObject *args, PyObject *kwargs);

/* MAKE_FUNCTION: in[0] is the code object, then the extras its oparg (flags) announces,
   in the order the interpreter pops them; consumes them all. */
PyObject *Ci_JitRt_MakeFunction(_PyInterpreterFrame *frame, PyObject **in, int flags);

/* Pattern matching. GET_LEN: len(OBJ) as an int. MATCH_KEYS: the values of MAP at the
   tuple KEYS, through MAP.get, in a tuple, or None when one is missing. MATCH_CLASS: the
   attributes of SUBJECT that the class pattern TYPE(NPOS positional sub-patterns,
   keyword sub-patterns NAMES) extracts, in a tuple, or None when it does not match.
   Each returns NULL with the interpreter's errors. */
PyObject *Ci_JitRt_GetLen(PyObject *obj);
PyObject *Ci_JitRt_MatchKeys(PyObject *map, PyObject *keys);
PyObject *Ci_JitRt_MatchClass(PyObject *subject, PyObject *type, PyObject *names, int npos);

/* async for. GET_AITER: OBJ's asynchronous iterator. GET_ANEXT: the awaitable of
   AITER's next item. NULL with the interpreter's TypeErrors. */
PyObject *Ci_JitRt_GetAIter(PyObject *obj);
PyObject *Ci_JitRt_GetANext(PyObject *aiter);

/* POP_EXCEPT: VALUE (consumed) becomes TSTATE's handled exception again, in place of the
   one the except clause handled. */
void Ci_JitRt_PopExcept(PyThreadState *tstate, PyObject *value);

/* BEFORE_WITH: (bound __exit__, what __enter__ returned); with IS_ASYNC,
   BEFORE_ASYNC_WITH: (bound __aexit__, what __aenter__ returned). Both NULL on error,
   with the interpreter's TypeErrors. */
CiJitPair Ci_JitRt_BeforeWith(PyObject *mgr, int is_async);

/* FORMAT_VALUE: conversion is oparg & FVC_MASK; spec may be NULL. */
PyObject *Ci_JitRt_FormatValue(PyObject *value, PyObject *spec, int conversion);

/* BUILD_STRING: joins and consumes the pieces. */
PyObject *Ci_JitRt_BuildString(PyObject **items, Py_ssize_t n);

/* BUILD_SLICE with 2 or 3 items (start, stop[, step]). */
PyObject *Ci_JitRt_BuildSlice(PyObject **items, Py_ssize_t n);

/* LIST_EXTEND, with the interpreter's message for a non-iterable. */
int Ci_JitRt_ListExtend(PyObject *list, PyObject *iterable);

/* DICT_UPDATE ({**mapping}), with the interpreter's message for a non-mapping. */
int Ci_JitRt_DictUpdate(PyObject *dict, PyObject *update);

/* DICT_MERGE (a call's **mapping into DICT), with the interpreter's messages naming
   FUNC, the callable: a non-mapping, or a keyword given twice. */
int Ci_JitRt_DictMerge(PyObject *func, PyObject *dict, PyObject *update);

int Ci_JitRt_DeleteAttr(PyObject *obj, PyObject *name);

/* DELETE_GLOBAL of NAME from FRAME's globals, with the interpreter's NameError. */
int Ci_JitRt_DeleteGlobal(_PyInterpreterFrame *frame, PyObject *name);

/* IMPORT_NAME of NAME in FRAME's globals, through builtins.__import__ as the
   interpreter calls it. */
PyObject *Ci_JitRt_ImportName(_PyInterpreterFrame *frame, PyObject *name, PyObject *fromlist,
                              PyObject *level);

/* IMPORT_FROM: NAME from MODULE, with the interpreter's fallback on sys.modules and its
   ImportError. */
PyObject *Ci_JitRt_ImportFrom(PyObject *module, PyObject *name);
int Ci_JitRt_StoreGlobal(_PyInterpreterFrame *frame, PyObject *name, PyObject *value);

/* CONTAINS_OP's test: 1 if item in container, 0 if not, -1 on error. */
int Ci_JitRt_Contains(PyObject *item, PyObject *container);

/* -- Generators and coroutines ----------------------------------------------------------
   Compiled code never suspends a frame itself: a yield leaves for the interpreter's
   YIELD_VALUE, and the frame's next RESUME (RESUME_JIT) enters compiled code again. */

/* GET_AWAITABLE (oparg says what `async with` received, for the message); consumes
   iterable. */
PyObject *Ci_JitRt_GetAwaitable(PyObject *iterable, int oparg);

/* GET_YIELD_FROM_ITER in code with flags CO_FLAGS; consumes iterable. */
PyObject *Ci_JitRt_GetYieldFromIter(PyObject *iterable, int co_flags);

/* SEND: (what the receiver yielded, 1) or (its return value, 0); (NULL, 0) on error.
   Consumes v, not the receiver. */
CiJitPair Ci_JitRt_Send(PyObject *receiver, PyObject *v);

/* A CALL whose result is awaited at once (CALL; GET_AWAITABLE 0; LOAD_CONST None; SEND),
   as the interpreter makes it: a Python coroutine function (bound methods unpacked) runs
   eagerly, anything else is called as usual. Stack shape and references as for
   Ci_JitRt_Call. Returns (value, status): the awaited result (CI_AWAIT_DONE), a wait
   handle holding the coroutine that suspended and what it yielded (CI_AWAIT_SUSPENDED),
   or an awaitable to await as usual (CI_AWAIT_LAZY); on error NULL and CI_AWAIT_ERROR,
   or CI_JIT_AWAIT_ERROR_IN_BODY when the callee's body raised (which the interpreter
   reports at the SEND). */
#define CI_JIT_AWAIT_ERROR_IN_BODY (-2)
CiJitPair Ci_JitRt_CallAwaited(PyThreadState *tstate, PyObject **stack, Py_ssize_t nargs,
                               PyObject *kwnames);

/* A wait handle's (coroutine, yielded value); consumes the handle. */
CiJitPair Ci_JitRt_UnpackWaitHandle(PyObject *handle);

#ifdef __cplusplus
}
#endif

#endif /* CINDER_JIT_RT_HELPERS_H */
