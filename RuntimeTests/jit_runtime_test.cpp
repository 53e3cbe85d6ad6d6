// Tests of entry into compiled code and the deoptimisation protocol (RESUME_JIT,
// Jit/runtime.c) with hand-written bodies in place of the compiler's output.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "Python.h"
#include "ref.h"
#include "Jit/runtime.h"
#include "Jit/rt/helpers.h"
#include "opcode.h"
#include "pycore_code.h"
#include "pycore_frame.h"
#include "pycore_opcode.h"

namespace {

std::string
fetch_error()
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    std::string msg = "no exception";
    if (value != nullptr) {
        PyObject *s = PyObject_Repr(value);
        msg = s ? PyUnicode_AsUTF8(s) : "<unprintable>";
        Py_XDECREF(s);
    }
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return msg;
}

// Runs SOURCE as a module named "jitrt_test", then keeps its namespace.
struct RuntimeFixture : ::testing::Test {
    Ref globals{PyDict_New()};

    void SetUp() override
    {
        ASSERT_NE(globals.obj, nullptr);
        ASSERT_EQ(PyDict_SetItemString(globals.obj, "__name__",
                                       Ref(PyUnicode_FromString("jitrt_test")).obj),
                  0);
        ASSERT_EQ(PyDict_SetItemString(globals.obj, "__builtins__", PyEval_GetBuiltins()),
                  0);
    }

    void run(const char *source)
    {
        Ref r(PyRun_String(source, Py_file_input, globals.obj, globals.obj));
        ASSERT_NE(r.obj, nullptr) << fetch_error();
    }

    // A new reference to the value of EXPR, or nullptr with the error in *error.
    PyObject *eval(const char *expr, std::string *error = nullptr)
    {
        PyObject *r = PyRun_String(expr, Py_eval_input, globals.obj, globals.obj);
        if (r == nullptr) {
            std::string e = fetch_error();
            if (error != nullptr) {
                *error = e;
            }
        }
        return r;
    }

    long eval_long(const char *expr)
    {
        std::string error;
        Ref r(eval(expr, &error));
        EXPECT_NE(r.obj, nullptr) << expr << ": " << error;
        return r.obj ? PyLong_AsLong(r.obj) : -1;
    }

    std::string eval_repr(const char *expr)
    {
        std::string error;
        Ref r(eval(expr, &error));
        if (r.obj == nullptr) {
            return "error: " + error;
        }
        Ref s(PyObject_Repr(r.obj));
        return PyUnicode_AsUTF8(s.obj);
    }

    PyCodeObject *code_of(const char *name)
    {
        PyObject *f = PyDict_GetItemString(globals.obj, name);
        EXPECT_NE(f, nullptr) << name;
        EXPECT_TRUE(f && PyFunction_Check(f)) << name;
        return (PyCodeObject *)PyFunction_GET_CODE(f);
    }

    // The function EXPR evaluates to (borrowed: the namespace keeps it), compiled by the
    // JIT itself.
    PyObject *compiled(const char *expr)
    {
        Ref f(eval(expr));
        const char *why = "not a function";
        EXPECT_TRUE(f.obj && PyFunction_Check(f.obj) &&
                    Ci_JitCompileFunction((PyFunctionObject *)f.obj, &why))
            << expr << ": " << why;
        return f.obj;
    }

    void install(const char *name, CiJitBody body)
    {
        ASSERT_EQ(Ci_JitInstallBodyForTesting(code_of(name), body), 0) << fetch_error();
        ASSERT_TRUE(Ci_JitIsCompiled(code_of(name)));
    }

    void TearDown() override
    {
        PyObject *key, *value;
        Py_ssize_t pos = 0;
        while (PyDict_Next(globals.obj, &pos, &key, &value)) {
            if (PyFunction_Check(value)) {
                Ci_JitUninstall((PyCodeObject *)PyFunction_GET_CODE(value));
            }
        }
    }
};

// The first instruction at or after the body's RESUME whose base opcode is OPCODE.
_Py_CODEUNIT *
find_instr(PyCodeObject *code, int opcode, int nth = 0)
{
    _Py_CODEUNIT *instrs = _PyCode_CODE(code);
    for (Py_ssize_t i = 0; i < Py_SIZE(code); i++) {
        int op = _PyOpcode_Deopt[_Py_OPCODE(instrs[i])];
        if (op == opcode && nth-- == 0) {
            return &instrs[i];
        }
        i += _PyOpcode_Caches[op];
    }
    return nullptr;
}

// A body runs with stacktop -1 (the collector sees none of the frame); its exits set
// stacktop, as compiled code's do: exit_stack() makes the value stack empty, push() adds
// to it.
void
exit_stack(_PyInterpreterFrame *frame)
{
    if (frame->stacktop < 0) {
        frame->stacktop = frame->f_code->co_nlocalsplus;
    }
}

void
push(_PyInterpreterFrame *frame, PyObject *value)
{
    exit_stack(frame);
    frame->localsplus[frame->stacktop++] = value;
}

// --- Bodies ---------------------------------------------------------------------------

PyObject *
body_return_42(PyThreadState *, _PyInterpreterFrame *frame)
{
    EXPECT_EQ(frame->stacktop, -1);
    return PyLong_FromLong(42);
}

// Deopt at the frame's first BINARY_OP with the operands 7 and 2 on the stack.
PyObject *
body_deopt_at_binary_op(PyThreadState *, _PyInterpreterFrame *frame)
{
    _Py_CODEUNIT *binop = find_instr(frame->f_code, BINARY_OP);
    EXPECT_NE(binop, nullptr);
    push(frame, PyLong_FromLong(7));
    push(frame, PyLong_FromLong(2));
    frame->prev_instr = binop - 1;
    ++*ci_jit_deopt_counter(CI_JIT_DEOPT_GUARD);
    return CI_JIT_DEOPT;
}

// Store 100 into the first local (write-through) and let the interpreter run the body.
PyObject *
body_set_first_local(PyThreadState *, _PyInterpreterFrame *frame)
{
    Py_XSETREF(frame->localsplus[0], PyLong_FromLong(100));
    exit_stack(frame);
    return CI_JIT_DEOPT;
}

// Raise ValueError("boom") at the frame's first CALL.
PyObject *
body_raise_at_call(PyThreadState *tstate, _PyInterpreterFrame *frame)
{
    _Py_CODEUNIT *call = find_instr(frame->f_code, CALL);
    EXPECT_NE(call, nullptr);
    frame->prev_instr = call;
    exit_stack(frame);
    PyErr_SetString(PyExc_ValueError, "boom");
    ++*ci_jit_deopt_counter(CI_JIT_DEOPT_RAISE);
    return CI_JIT_DEOPT_ERROR;
}

// Raise KeyError at the frame's second BINARY_OP, with one value left on the stack.
PyObject *
body_raise_at_second_binary_op(PyThreadState *, _PyInterpreterFrame *frame)
{
    _Py_CODEUNIT *binop = find_instr(frame->f_code, BINARY_OP, 1);
    EXPECT_NE(binop, nullptr);
    push(frame, PyLong_FromLong(1));
    frame->prev_instr = binop;
    PyErr_SetString(PyExc_KeyError, "deopted");
    return CI_JIT_DEOPT_ERROR;
}

int
raise_runtime_error(void *)
{
    PyErr_SetString(PyExc_RuntimeError, "pending call");
    return -1;
}

unsigned long long
deopt_count(const char *reason)
{
    Ref stats(Ci_JitGetStats());
    EXPECT_NE(stats.obj, nullptr);
    PyObject *deopts = PyDict_GetItemString(stats.obj, "deopts");
    PyObject *n = deopts ? PyDict_GetItemString(deopts, reason) : nullptr;
    EXPECT_NE(n, nullptr) << reason;
    return n ? PyLong_AsUnsignedLongLong(n) : 0;
}

// Calls CALLABLE (with SELF first when not nullptr: LOAD_METHOD's shape) on ARGS through
// the call site CACHE as compiled code does: Ci_JitRt_CallEnter, then the body and
// Ci_JitRt_CallLeave when it enters one. The result as a C long, or -1 with an error.
long
call_at_site(CiJitSiteCache *cache, PyObject *callable, PyObject *self, std::vector<long> args)
{
    std::vector<PyObject *> stack;
    stack.push_back(self != nullptr ? Py_NewRef(callable) : nullptr);
    stack.push_back(Py_NewRef(self != nullptr ? self : callable));
    for (long a : args) {
        stack.push_back(PyLong_FromLong(a));
    }
    PyThreadState *tstate = PyThreadState_Get();
    CiJitPair p = Ci_JitRt_CallEnter(tstate, stack.data(), (Py_ssize_t)args.size(), nullptr,
                                     cache);
    PyObject *res = p.second;
    if (p.first != nullptr) {
        _PyInterpreterFrame *frame = (_PyInterpreterFrame *)p.second;
        res = Ci_JitRt_CallLeave(tstate, frame, ((CiJitBody)p.first)(tstate, frame));
    }
    if (res == nullptr) {
        ADD_FAILURE() << fetch_error();
        return -1;
    }
    long value = PyLong_AsLong(res);
    Py_DECREF(res);
    return value;
}

}  // namespace

// --- Entry and return -----------------------------------------------------------------

TEST_F(RuntimeFixture, ValueIsReturnedFromEveryKindOfCall)
{
    run("def f(): return 1\n"
        "def g(): return f() + 1\n"
        "class C:\n"
        "    def __getitem__(self, i): return f()\n");
    EXPECT_EQ(eval_long("f()"), 1);
    install("f", body_return_42);
    EXPECT_EQ(eval_long("f()"), 42);           // from C (_PyEval_Vector)
    EXPECT_EQ(eval_long("g()"), 43);           // an inlined Python-to-Python call
    EXPECT_EQ(eval_long("sum(g() for i in range(100))"), 4300);  // warm, specialised
    EXPECT_EQ(eval_long("C()[0]"), 42);
    EXPECT_EQ(eval_long("list(map(lambda x: f(), [1]))[0]"), 42);
    ASSERT_EQ(Ci_JitUninstall(code_of("f")), 0);
    EXPECT_FALSE(Ci_JitIsCompiled(code_of("f")));
    EXPECT_EQ(eval_long("f()"), 1);
    EXPECT_EQ(eval_long("g()"), 2);
}

TEST_F(RuntimeFixture, RecursionCounterIsBalanced)
{
    run("def f(): return 1\n"
        "def g(n): return f() + (g(n - 1) if n else 0)\n");
    install("f", body_return_42);
    PyThreadState *tstate = PyThreadState_Get();
    int before = tstate->recursion_remaining;
    EXPECT_EQ(eval_long("g(50)"), 42 * 51);
    EXPECT_EQ(eval_long("sum(f() for i in range(1000))"), 42000);
    EXPECT_EQ(tstate->recursion_remaining, before);
    // Deep recursion through compiled frames still raises RecursionError.
    EXPECT_EQ(eval_repr("(lambda: g(100000))()").rfind("error: RecursionError", 0), 0u);
    EXPECT_EQ(tstate->recursion_remaining, before);
}

// --- Deoptimisation -------------------------------------------------------------------

TEST_F(RuntimeFixture, DeoptResumesWithTheGivenStack)
{
    run("def f(a, b):\n"
        "    x = a * b\n"
        "    return x - 1\n");
    install("f", body_deopt_at_binary_op);
    unsigned long long before = deopt_count("guard failure");
    EXPECT_EQ(eval_long("f(3, 4)"), 13);  // 7 * 2 - 1: the interpreter used our stack
    EXPECT_EQ(eval_long("sum(f(0, 0) for i in range(50))"), 650);
    EXPECT_EQ(deopt_count("guard failure"), before + 51);
}

TEST_F(RuntimeFixture, DeoptSeesLocalsWrittenThrough)
{
    run("def f(a): return a + 1\n"
        "def g(): return f(1) * 2\n");
    install("f", body_set_first_local);
    EXPECT_EQ(eval_long("f(5)"), 101);
    EXPECT_EQ(eval_long("g()"), 202);
}

TEST_F(RuntimeFixture, ErrorDeoptRunsTheHandler)
{
    run("def g(): return 'not raised'\n"
        "def f():\n"
        "    try:\n"
        "        return g()\n"
        "    except ValueError as e:\n"
        "        return ('handled', e.args, e.__traceback__.tb_lineno)\n");
    install("f", body_raise_at_call);
    unsigned long long before = deopt_count("exception");
    EXPECT_EQ(eval_repr("f()"), "('handled', ('boom',), 4)");
    EXPECT_EQ(eval_repr("[f() for i in range(3)][2]"), "('handled', ('boom',), 4)");
    EXPECT_EQ(deopt_count("exception"), before + 4);
}

TEST_F(RuntimeFixture, ErrorDeoptWithoutHandlerHasTheRightTraceback)
{
    run("def f(a):\n"
        "    b = a + 1\n"
        "    return b * 2\n"
        "def g():\n"
        "    try:\n"
        "        f(1)\n"
        "    except KeyError as e:\n"
        "        tb = e.__traceback__\n"
        "        lines = []\n"
        "        while tb:\n"
        "            lines.append((tb.tb_frame.f_code.co_name, tb.tb_lineno))\n"
        "            tb = tb.tb_next\n"
        "        return lines\n");
    install("f", body_raise_at_second_binary_op);
    EXPECT_EQ(eval_repr("g()"), "[('g', 6), ('f', 3)]");
    std::string error;
    Ref r(eval("f(1)", &error));
    EXPECT_EQ(r.obj, nullptr);
    EXPECT_EQ(error, "KeyError('deopted')");
}

// --- Tracing, eval breaker, refusals ---------------------------------------------------

TEST_F(RuntimeFixture, TracedCallsAreInterpreted)
{
    run("import sys\n"
        "def f(): return 1\n"
        "events = []\n"
        "def tracer(frame, event, arg):\n"
        "    if frame.f_code is f.__code__: events.append(event)\n"
        "    return tracer\n"
        "def traced():\n"
        "    sys.settrace(tracer)\n"
        "    try:\n"
        "        return f()\n"
        "    finally:\n"
        "        sys.settrace(None)\n");
    install("f", body_return_42);
    EXPECT_EQ(eval_long("traced()"), 1);
    EXPECT_EQ(eval_repr("events"), "['call', 'line', 'return']");
    EXPECT_EQ(eval_long("f()"), 42);
    EXPECT_TRUE(Ci_JitIsCompiled(code_of("f")));
}

TEST_F(RuntimeFixture, EntryHandlesPendingCalls)
{
    // RESUME_JIT handles the eval breaker before running the body: a pending call that
    // raises makes the call raise, and the next call runs the body.
    run("def f(): return 1\n");
    install("f", body_return_42);
    ASSERT_EQ(Py_AddPendingCall(raise_runtime_error, nullptr), 0);
    Ref r(PyObject_CallNoArgs(PyDict_GetItemString(globals.obj, "f")));
    EXPECT_EQ(r.obj, nullptr);
    EXPECT_EQ(fetch_error(), "RuntimeError('pending call')");
    EXPECT_EQ(eval_long("f()"), 42);
}

TEST_F(RuntimeFixture, ModuleAndClassBodiesAreRefused)
{
    run("def gen(): yield 1\n");
    Ref module_code(Py_CompileString("x = 1\n", "<m>", Py_file_input));
    ASSERT_NE(module_code.obj, nullptr);
    EXPECT_EQ(Ci_JitInstallBodyForTesting((PyCodeObject *)module_code.obj, body_return_42),
              -1);
    EXPECT_EQ(fetch_error(), "ValueError('cannot install a body: module or class body')");
    EXPECT_EQ(eval_long("next(gen())"), 1);
}

// A generator's every RESUME enters its body: the entry and each resume point.
TEST_F(RuntimeFixture, GeneratorResumePointsEnterTheBody)
{
    run("def gen():\n"
        "    yield 1\n"
        "    yield 2\n");
    install("gen", body_return_42);
    PyCodeObject *code = code_of("gen");
    int resumes = 0;
    for (Py_ssize_t k = 0; k < Py_SIZE(code); k++) {
        if (_Py_OPCODE(_PyCode_CODE(code)[k]) == RESUME_JIT) {
            resumes++;
        }
    }
    EXPECT_EQ(resumes, 3);
    ASSERT_EQ(Ci_JitUninstall(code), 0);
    for (Py_ssize_t k = 0; k < Py_SIZE(code); k++) {
        EXPECT_NE(_Py_OPCODE(_PyCode_CODE(code)[k]), RESUME_JIT);
    }
}

TEST_F(RuntimeFixture, CompiledFunctionsAreListed)
{
    run("def f(): return 1\n");
    install("f", body_return_42);
    Ref names(Ci_JitGetCompiledFunctions());
    ASSERT_NE(names.obj, nullptr);
    Ref name(PyUnicode_FromString("<test>:f"));
    EXPECT_EQ(PySequence_Contains(names.obj, name.obj), 1);
    ASSERT_EQ(Ci_JitUninstall(code_of("f")), 0);
    Ref after(Ci_JitGetCompiledFunctions());
    EXPECT_EQ(PySequence_Contains(after.obj, name.obj), 0);
    EXPECT_EQ(Ci_JitUninstall(code_of("f")), -1);
}

// --- Call sites' caches ---------------------------------------------------------------

TEST_F(RuntimeFixture, CallSiteCacheEntersOnlyTheFunctionItHolds)
{
    run("def f(a, b): return a - b\n"
        "def g(a, b): return a * b\n"
        "def h(a, b=10): return a + b\n");
    PyObject *f = compiled("f"), *g = compiled("g"), *h = compiled("h");
    CiJitSiteCache cache = {};
    EXPECT_EQ(call_at_site(&cache, f, nullptr, {7, 3}), 4);
    EXPECT_EQ(cache.misses, 1u);  // the first call fills the cache
    EXPECT_EQ(call_at_site(&cache, f, nullptr, {7, 3}), 4);
    EXPECT_EQ(cache.misses, 1u);
    EXPECT_EQ(call_at_site(&cache, g, nullptr, {7, 3}), 21);  // another function
    EXPECT_EQ(cache.misses, 2u);
    EXPECT_EQ(call_at_site(&cache, g, nullptr, {7, 3}), 21);
    EXPECT_EQ(cache.misses, 2u);
    EXPECT_EQ(call_at_site(&cache, f, nullptr, {8, 3}), 5);
    EXPECT_EQ(cache.misses, 3u);
    // LOAD_METHOD's shape: self is the first of the two parameters.
    Ref nine(PyLong_FromLong(9));
    EXPECT_EQ(call_at_site(&cache, f, nine.obj, {3}), 6);
    EXPECT_EQ(cache.misses, 3u);
    // A function with a default, called with and without the argument for it.
    EXPECT_EQ(call_at_site(&cache, h, nullptr, {1}), 11);
    EXPECT_EQ(cache.misses, 4u);
    EXPECT_EQ(call_at_site(&cache, h, nullptr, {1}), 11);
    EXPECT_EQ(call_at_site(&cache, h, nullptr, {1, 5}), 6);
    EXPECT_EQ(cache.misses, 4u);
    // New defaults give h a new version.
    run("h.__defaults__ = (20,)\n");
    EXPECT_EQ(call_at_site(&cache, h, nullptr, {1}), 21);
    EXPECT_EQ(cache.misses, 5u);
    EXPECT_EQ(call_at_site(&cache, h, nullptr, {1}), 21);
    EXPECT_EQ(cache.misses, 5u);
    // Too few arguments: the generic call raises TypeError, from the interpreter's
    // binding.
    {
        std::vector<PyObject *> stack = {nullptr, Py_NewRef(h)};
        CiJitPair p = Ci_JitRt_CallEnter(PyThreadState_Get(), stack.data(), 0, nullptr,
                                         &cache);
        EXPECT_EQ(p.first, nullptr);
        EXPECT_EQ(p.second, nullptr);
        EXPECT_EQ(fetch_error().rfind("TypeError(\"h() missing 1 required positional", 0),
                  0u);
    }
    EXPECT_EQ(cache.misses, 6u);
    EXPECT_EQ(call_at_site(&cache, f, nullptr, {8, 3}), 5);
    EXPECT_EQ(cache.misses, 7u);
    // A new __code__ gives f a new version: the cache no longer holds it.
    run("f.__code__ = g.__code__\n");
    EXPECT_EQ(call_at_site(&cache, f, nullptr, {8, 3}), 24);
    EXPECT_EQ(cache.misses, 8u);
    EXPECT_EQ(call_at_site(&cache, f, nullptr, {8, 3}), 24);
    EXPECT_EQ(cache.misses, 8u);
    // An uninstalled body is not entered.
    ASSERT_EQ(Ci_JitUninstall(code_of("g")), 0);
    EXPECT_EQ(call_at_site(&cache, f, nullptr, {8, 3}), 24);
    EXPECT_EQ(cache.misses, 9u);
    // Nor is any body while a profiler is on: the interpreter runs the call.
    EXPECT_EQ(call_at_site(&cache, h, nullptr, {1, 2}), 3);
    run("calls = []\n"
        "import sys\n"
        "sys.setprofile(lambda frame, event, arg: calls.append((frame.f_code.co_name, event)))\n");
    EXPECT_EQ(call_at_site(&cache, h, nullptr, {1, 2}), 3);
    EXPECT_EQ(cache.misses, 11u);
    run("sys.setprofile(None)\n");
    EXPECT_EQ(eval_repr("[c for c in calls if c[0] == 'h']"), "[('h', 'call'), ('h', 'return')]");
}

TEST_F(RuntimeFixture, CallSiteCacheEntersClosuresAndCellsDirectly)
{
    // inner: COPY_FREE_VARS before its RESUME; cell_arg: MAKE_CELL of an argument.
    run("def outer(k):\n"
        "    def inner(a, b): return a * k + b\n"
        "    return inner\n"
        "inner = outer(10)\n"
        "def cell_arg(a, b):\n"
        "    def bump():\n"
        "        nonlocal a\n"
        "        a += b\n"
        "        return a\n"
        "    bump()\n"
        "    return bump() * 100 + a\n");
    PyObject *inner = compiled("inner"), *cell_arg = compiled("cell_arg");
    for (PyObject *func : {inner, cell_arg}) {
        ASSERT_NE(((PyCodeObject *)PyFunction_GET_CODE(func))->_co_firsttraceable, 0);
    }
    CiJitSiteCache cache = {};
    for (int k = 0; k < 3; k++) {
        EXPECT_EQ(call_at_site(&cache, inner, nullptr, {3, 4}), 34);
    }
    EXPECT_EQ(cache.misses, 1u);  // entered directly, from the cache
    for (int k = 0; k < 3; k++) {
        EXPECT_EQ(call_at_site(&cache, cell_arg, nullptr, {1, 2}), 505);
    }
    EXPECT_EQ(cache.misses, 2u);
    // From C, through the vectorcall the first run installs.
    EXPECT_EQ(eval_long("inner(5, 6)"), 56);
    EXPECT_EQ(eval_long("sum(cell_arg(1, 2) for i in range(10))"), 5050);
    EXPECT_EQ(eval_long("sum(outer(i)(1, 0) for i in range(10))"), 45);
}

TEST_F(RuntimeFixture, CallSiteCacheEntersBoundMethodsFunctions)
{
    run("class K:\n"
        "    def m(self, a): return a + self.x\n"
        "k = K()\n"
        "k.x = 5\n"
        "bound = k.m\n");
    PyObject *m = compiled("K.m");
    PyObject *bound = PyDict_GetItemString(globals.obj, "bound");
    CiJitSiteCache cache = {};
    for (int k = 0; k < 3; k++) {
        EXPECT_EQ(call_at_site(&cache, bound, nullptr, {3}), 8);
    }
    EXPECT_EQ(cache.misses, 1u);  // unpacked into (function, self), then cached
    EXPECT_EQ(call_at_site(&cache, m, PyDict_GetItemString(globals.obj, "k"), {4}), 9);
    EXPECT_EQ(cache.misses, 1u);  // the same function, called as LOAD_METHOD does
}
