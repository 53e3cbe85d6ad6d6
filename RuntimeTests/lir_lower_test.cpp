// Tests of the HIR -> LIR lowering: golden files (RuntimeTests/lower_tests/, Python
// source in, LIR out) and whole functions compiled through HIR, LIR and x86-64 and run on
// real interpreter frames.

#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <string>
#include <vector>

#include "Python.h"
#include "opcode.h"
#include "pycore_frame.h"

extern "C" {
#include "Jit/codegen/backend.h"
#include "Jit/codegen/x86_64.h"
#include "Jit/hir/builder.h"
#include "Jit/hir/passes.h"
#include "Jit/lir/lower.h"
#include "Jit/rt/helpers.h"
}

#include "ir_test_driver.h"

namespace {

// Defines `test` from SOURCE in a fresh module namespace; a new reference or NULL.
PyObject *
define_test(const std::string &source)
{
    PyObject *globals = PyDict_New();
    PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
    PyDict_SetItemString(globals, "__name__", PyUnicode_FromString("lowertest"));
    PyObject *r = PyRun_String(source.c_str(), Py_file_input, globals, globals);
    if (r == nullptr) {
        PyErr_Print();
        Py_DECREF(globals);
        return nullptr;
    }
    Py_DECREF(r);
    PyObject *func = PyDict_GetItemString(globals, "test");
    Py_XINCREF(func);
    Py_DECREF(globals);
    return func;
}

// Python function -> HIR (standard pipeline) -> LIR. Returns NULL with *error set.
// The LIR's inline caches live in *caches, which must outlive code made from it.
LirFunc *
lower_function(PyObject *func, JitArena *arena, std::string *error,
               std::vector<CiJitSiteCache> *caches)
{
    const char *why = nullptr;
    HirFunc *hir = hir_build(arena, (PyFunctionObject *)func, "test", &why, nullptr);
    if (hir == nullptr) {
        *error = std::string("not built: ") + why;
        return nullptr;
    }
    char err[512];
    HirPassOptions opts = {nullptr, true};
    if (!hir_run_passes(hir, nullptr, &opts, err, sizeof err)) {
        *error = err;
        return nullptr;
    }
    caches->assign((size_t)lir_lower_ncaches(hir), CiJitSiteCache{});
    LirFunc *lir = lir_lower(hir, caches->data(), true, &why);
    if (lir == nullptr) {
        *error = why;
        return nullptr;
    }
    if (lir_verify(lir, err, sizeof err) != 0) {
        *error = std::string("lowered LIR invalid: ") + err;
        lir_func_free(lir);
        return nullptr;
    }
    return lir;
}

// Addresses differ from run to run: print every integer of 6 digits or more as <ptr>.
std::string
hide_pointers(const std::string &text)
{
    std::string out;
    for (size_t k = 0; k < text.size();) {
        size_t e = k;
        while (e < text.size() && isdigit((unsigned char)text[e])) {
            e++;
        }
        bool word = k > 0 && (isalnum((unsigned char)text[k - 1]) || text[k - 1] == '%' ||
                              text[k - 1] == '_');
        if (e - k >= 6 && !word) {
            out += "<ptr>";
            k = e;
        }
        else if (e > k) {
            out += text.substr(k, e - k);
            k = e;
        }
        else {
            out += text[k++];
        }
    }
    return out;
}

// Golden runner: passes "lower" (always) and optionally "regalloc".
std::string
run_lower(const std::string &passes, const std::string &source)
{
    PyObject *func = define_test(source);
    if (func == nullptr) {
        return "ERROR: source does not define test";
    }
    JitArena *arena = jit_arena_new();
    std::string error, out;
    std::vector<CiJitSiteCache> caches;
    LirFunc *lir = lower_function(func, arena, &error, &caches);
    if (lir == nullptr) {
        out = "ERROR: " + error;
    }
    else {
        char err[256];
        if (passes.find("regalloc") != std::string::npos &&
            lir_regalloc(lir, err, sizeof err) != 0) {
            out = std::string("ERROR: regalloc: ") + err;
        }
        else {
            char *text = lir_func_print(lir);
            out = hide_pointers(text);
            free(text);
        }
        lir_func_free(lir);
    }
    jit_arena_free(arena);
    Py_DECREF(func);
    return out;
}

// A function compiled all the way to machine code.
struct CompiledFunc {
    PyObject *func = nullptr;
    CiJitCode code = {};
    std::vector<CiJitSiteCache> caches;
    std::string error;
    int deopts = 0;

    explicit CompiledFunc(const std::string &source)
    {
        func = define_test(source);
        if (func == nullptr) {
            error = "source does not define test";
            return;
        }
        JitArena *arena = jit_arena_new();
        LirFunc *lir = lower_function(func, arena, &error, &caches);
        if (lir != nullptr) {
            char err[256];
            const char *why = nullptr;
            if (lir_regalloc(lir, err, sizeof err) != 0) {
                error = err;
            }
            else if (ci_codegen_x86_64(lir, &code, nullptr, &why) != 0) {
                error = why;
            }
            lir_func_free(lir);
        }
        jit_arena_free(arena);
    }
    ~CompiledFunc()
    {
        if (code.memory != nullptr) {
            ci_codegen_release(code.memory);
        }
        Py_XDECREF(func);
    }

    // Runs the body on a frame pushed as the interpreter pushes one for a call with
    // ARGS. Returns what the body returned; *stacktop gets the frame's stacktop and
    // *lasti the index of prev_instr when the body deopts. With RESUME, a deopt hands
    // the frame to the interpreter, which finishes the call (as the runtime will).
    PyObject *call(std::vector<PyObject *> args, int *stacktop = nullptr, int *lasti = nullptr,
                   bool resume = false)
    {
        PyThreadState *tstate = PyThreadState_Get();
        PyFunctionObject *f = (PyFunctionObject *)func;
        PyCodeObject *co = (PyCodeObject *)f->func_code;
        size_t size = size_t(co->co_nlocalsplus + co->co_stacksize) + FRAME_SPECIALS_SIZE;
        _PyInterpreterFrame *frame = _PyThreadState_BumpFramePointer(tstate, size);
        if (frame == nullptr) {
            return nullptr;
        }
        Py_INCREF(f);
        _PyFrame_InitializeSpecials(frame, f, nullptr, co->co_nlocalsplus);
        for (int k = 0; k < co->co_nlocalsplus; k++) {
            frame->localsplus[k] = k < int(args.size()) ? Py_NewRef(args[k]) : nullptr;
        }
        frame->previous = tstate->cframe->current_frame;
        tstate->cframe->current_frame = frame;
        PyObject *r = code.body(tstate, frame);
        if (stacktop != nullptr) {
            *stacktop = frame->stacktop;
        }
        if (lasti != nullptr) {
            *lasti = int(frame->prev_instr - _PyCode_CODE(co));
        }
        tstate->cframe->current_frame = frame->previous;
        if (resume && (r == CI_JIT_DEOPT || r == CI_JIT_DEOPT_ERROR)) {
            // Let the interpreter finish the call from the state the exit left.
            deopts++;
            r = _PyEval_EvalFrameDefault(tstate, frame, r == CI_JIT_DEOPT_ERROR);
        }
        else if (r == CI_JIT_DEOPT || r == CI_JIT_DEOPT_ERROR) {
            // Release what the exit handed to the frame's stack, as unwinding would.
            for (int k = co->co_nlocalsplus; k < frame->stacktop; k++) {
                Py_CLEAR(frame->localsplus[k]);
            }
        }
        frame->stacktop = co->co_nlocalsplus;
        _PyFrame_Clear(frame);
        _PyThreadState_PopFrame(tstate, frame);
        return r;
    }
};

long
as_long(PyObject *o)
{
    return o != nullptr && PyLong_Check(o) ? PyLong_AsLong(o) : -999999;
}

}  // namespace

TEST(LirLowerGolden, AllFiles)
{
    std::vector<std::string> files = ir_test_files("lower_tests");
    ASSERT_FALSE(files.empty());
    for (const std::string &path : files) {
        IrTestFile file;
        std::string error;
        ASSERT_TRUE(ir_test_read(path, &file, &error)) << error;
        ir_test_run(file, run_lower);
    }
}

TEST(LirLowerRun, Arithmetic)
{
    CompiledFunc c("def test(a, b):\n    return a * 2 + b - 1\n");
    ASSERT_NE(c.code.body, nullptr) << c.error;
    PyObject *a = PyLong_FromLong(20), *b = PyLong_FromLong(3);
    PyObject *r = c.call({a, b});
    EXPECT_EQ(as_long(r), 42);
    Py_XDECREF(r);
    PyObject *s1 = PyUnicode_FromString("ab"), *s2 = PyUnicode_FromString("c");
    r = c.call({s1, PyLong_FromLong(0)});
    EXPECT_EQ(r, CI_JIT_DEOPT_ERROR); // "abab" - 1 raises TypeError
    EXPECT_TRUE(PyErr_ExceptionMatches(PyExc_TypeError));
    PyErr_Clear();
    Py_DECREF(a);
    Py_DECREF(b);
    Py_DECREF(s1);
    Py_DECREF(s2);
}

TEST(LirLowerRun, LoopOverRange)
{
    CompiledFunc c("def test(n):\n    total = 0\n    for i in range(n):\n"
                   "        total += i\n    return total\n");
    ASSERT_NE(c.code.body, nullptr) << c.error;
    for (long n : {0L, 1L, 10L, 1000L}) {
        PyObject *arg = PyLong_FromLong(n);
        PyObject *r = c.call({arg});
        EXPECT_EQ(as_long(r), n * (n - 1) / 2) << n;
        Py_XDECREF(r);
        Py_DECREF(arg);
    }
}

TEST(LirLowerRun, BranchesAttributesAndCalls)
{
    CompiledFunc c("def test(a, b):\n    if a is None:\n        return b\n"
                   "    return a.real if b else a.bit_length()\n");
    ASSERT_NE(c.code.body, nullptr) << c.error;
    PyObject *n = PyLong_FromLong(1000);
    PyObject *r = c.call({Py_None, n});
    EXPECT_EQ(r, n);
    Py_XDECREF(r);
    r = c.call({n, Py_True});
    EXPECT_EQ(as_long(r), 1000);
    Py_XDECREF(r);
    r = c.call({n, Py_False});
    EXPECT_EQ(as_long(r), 10);
    Py_XDECREF(r);
    Py_DECREF(n);
}

TEST(LirLowerRun, ContainersAndSubscripts)
{
    CompiledFunc c("def test(x, y):\n    t = (x, y, [x, y])\n    d = {x: y}\n"
                   "    t[2].append(d[x])\n    a, b, l = t\n"
                   "    return len(l) + a + (x in d)\n");
    ASSERT_NE(c.code.body, nullptr) << c.error;
    PyObject *x = PyLong_FromLong(5), *y = PyLong_FromLong(7);
    PyObject *r = c.call({x, y});
    EXPECT_EQ(as_long(r), 3 + 5 + 1);
    Py_XDECREF(r);
    Py_DECREF(x);
    Py_DECREF(y);
}

TEST(LirLowerRun, NoReferenceLeaks)
{
    CompiledFunc c("def test(n, o):\n    out = []\n    for i in range(n):\n"
                   "        out.append((i, o, str(i)))\n    return len(out)\n");
    ASSERT_NE(c.code.body, nullptr) << c.error;
    PyObject *n = PyLong_FromLong(50);
    PyObject *o = PyUnicode_FromString("a mortal object passed around");
    ASSERT_FALSE(_Py_IsImmortal(o));
    PyObject *r = c.call({n, o});
    EXPECT_EQ(as_long(r), 50);
    Py_XDECREF(r);
    Py_ssize_t before = Py_REFCNT(o);
    for (int k = 0; k < 20; k++) {
        r = c.call({n, o});
        Py_XDECREF(r);
    }
    EXPECT_EQ(Py_REFCNT(o), before);
    Py_DECREF(n);
    Py_DECREF(o);
}

TEST(LirLowerRun, ImmortalObjectsAreNotWritten)
{
    // None, True and small ints are immortal: the compiled code's increfs and decrefs
    // must leave their counts alone.
    CompiledFunc c("def test(a):\n    x = None\n    y = a\n    return (x, y, True, 5)\n");
    ASSERT_NE(c.code.body, nullptr) << c.error;
    PyObject *five = PyLong_FromLong(5);
    Py_ssize_t none_refs = Py_REFCNT(Py_None), five_refs = Py_REFCNT(five);
    for (int k = 0; k < 10; k++) {
        PyObject *r = c.call({five});
        ASSERT_NE(r, nullptr);
        Py_DECREF(r);
    }
    if (_Py_IsImmortal(Py_None)) {
        EXPECT_EQ(Py_REFCNT(Py_None), none_refs);
        EXPECT_EQ(Py_REFCNT(five), five_refs);
    }
    Py_DECREF(five);
}

TEST(LirLowerRun, UnboundLocalDeopts)
{
    CompiledFunc c("def test(a):\n    if a:\n        x = 1\n    return x\n");
    ASSERT_NE(c.code.body, nullptr) << c.error;
    PyObject *r = c.call({Py_True});
    EXPECT_EQ(as_long(r), 1);
    Py_XDECREF(r);
    int stacktop = -1, lasti = -2;
    r = c.call({Py_False}, &stacktop, &lasti);
    EXPECT_EQ(r, CI_JIT_DEOPT);
    // The interpreter resumes at the LOAD_FAST, which raises UnboundLocalError.
    PyCodeObject *co = (PyCodeObject *)((PyFunctionObject *)c.func)->func_code;
    EXPECT_EQ(stacktop, co->co_nlocalsplus);
    _Py_CODEUNIT instr = _PyCode_CODE(co)[lasti + 1];
    EXPECT_EQ(_Py_OPCODE(instr), LOAD_FAST) << "resumes at opcode " << _Py_OPCODE(instr);
}

TEST(LirLowerRun, OneCallBackEndWithDumps)
{
    PyObject *func = define_test("def test(a):\n    return a + 1\n");
    ASSERT_NE(func, nullptr);
    JitArena *arena = jit_arena_new();
    const char *why = nullptr;
    HirFunc *hir = hir_build(arena, (PyFunctionObject *)func, "lowertest:test", &why, nullptr);
    ASSERT_NE(hir, nullptr) << why;
    char err[256];
    HirPassOptions popts = {nullptr, true};
    ASSERT_TRUE(hir_run_passes(hir, nullptr, &popts, err, sizeof err)) << err;
    char *lir_text = nullptr, *asm_text = nullptr;
    size_t lir_len = 0, asm_len = 0;
    FILE *lir_out = open_memstream(&lir_text, &lir_len);
    FILE *asm_out = open_memstream(&asm_text, &asm_len);
    CiBackendOptions opts = {lir_out, asm_out, true};
    CiJitCode code = {};
    ASSERT_EQ(ci_backend_compile(hir, &opts, &code, &why), 0) << why;
    fclose(lir_out);
    fclose(asm_out);
    std::string lir = lir_text, listing = asm_text;
    free(lir_text);
    free(asm_text);
    EXPECT_NE(lir.find("--- LIR after lowering: lowertest:test ---"), std::string::npos);
    EXPECT_NE(lir.find("--- LIR after register allocation: lowertest:test ---"),
              std::string::npos);
    EXPECT_NE(listing.find(" = BinaryOp<0> v"), std::string::npos) << listing;
    EXPECT_GT(code.code_size, 0u);
    ci_codegen_release(code.memory);
    PyMem_RawFree(code.caches);
    jit_arena_free(arena);
    Py_DECREF(func);
}

// -- Differential: compiled (deopting into the interpreter when it must) vs interpreted --

namespace {

// The result as text: its repr, or the exception's type name.
std::string
outcome(PyObject *r)
{
    if (r == nullptr) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        std::string s = std::string("raised ") + ((PyTypeObject *)type)->tp_name;
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        return s;
    }
    PyObject *repr = PyObject_Repr(r);
    std::string s = repr ? PyUnicode_AsUTF8(repr) : "<repr failed>";
    Py_XDECREF(repr);
    Py_DECREF(r);
    return s;
}

struct Snippet {
    const char *source;
    const char *args; // a Python expression for the argument tuple
};

const Snippet kSnippets[] = {
    {"def test(a, b):\n    return a * 2 + b - 1\n", "(20, 3)"},
    {"def test(a, b):\n    return a * 2 + b - 1\n", "('x', 'y')"},  // raises
    {"def test(a, b):\n    return a * 2 + b - 1\n", "(1.5, 2)"},
    {"def test(n):\n    t = 0\n    for i in range(n):\n        t += i * i\n    return t\n",
     "(100,)"},
    {"def test(a):\n    if a:\n        x = 1\n    return x\n", "(0,)"},  // unbound
    {"def test(a):\n    if a:\n        x = 1\n    return x\n", "(1,)"},
    {"def test(xs):\n    out = []\n    for x in xs:\n        if x % 2:\n"
     "            out.append(x)\n    return out\n",
     "([1, 2, 3, 4, 5],)"},
    {"def test(xs):\n    out = []\n    for x in xs:\n        if x % 2:\n"
     "            out.append(x)\n    return out\n",
     "([1, 'a', 3],)"},  // raises inside the loop
    {"def test(d, k):\n    try:\n        return d[k]\n    except KeyError:\n"
     "        return -1\n",
     "({1: 2}, 1)"},
    {"def test(d, k):\n    try:\n        return d[k]\n    except KeyError:\n"
     "        return -1\n",
     "({1: 2}, 5)"},  // the handler runs in the interpreter
    {"def test(a, b):\n    x, y = a, b\n    return (y, x, [x, y], {x: y}, {x})\n", "(1, 2)"},
    {"def test(s):\n    return s.upper() + s[1:] if s else 'empty'\n", "('abc',)"},
    {"def test(s):\n    return s.upper() + s[1:] if s else 'empty'\n", "('',)"},
    {"def test(a, b):\n    return (a < b, a == b, a is b, a in [b], not a, -a, ~a)\n",
     "(3, 4)"},
    // (No closures here: these frames are made by hand, without the MAKE_CELL prologue
    // the interpreter runs before RESUME; test_cinderjit covers them end to end.)
    {"def test(n):\n    f = lambda k: k + 1\n    return f(n)\n", "(41,)"},
    {"def test(o):\n    o.attr = 5\n    return o.attr * 2\n",
     "(type('C', (), {})(),)"},
    {"def test(n):\n    total = 0\n    i = 0\n    while i < n:\n        total += i\n"
     "        i += 1\n    return total\n",
     "(10000,)"},
};

}  // namespace

TEST(LirLowerDifferential, CompiledMatchesInterpreted)
{
    int compiled = 0, deopted = 0;
    for (const Snippet &s : kSnippets) {
        PyObject *args = PyRun_String(s.args, Py_eval_input, PyEval_GetBuiltins(),
                                      PyEval_GetBuiltins());
        ASSERT_NE(args, nullptr) << s.args;
        CompiledFunc c(s.source);
        ASSERT_NE(c.func, nullptr) << s.source;
        std::string want = outcome(PyObject_Call(c.func, args, nullptr));
        if (c.code.body == nullptr) {
            printf("not compiled (%s): %s", c.error.c_str(), s.source);
            Py_DECREF(args);
            continue; // not supported by the builder or the lowering yet
        }
        compiled++;
        std::vector<PyObject *> argv;
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(args); k++) {
            argv.push_back(PyTuple_GET_ITEM(args, k));
        }
        std::string got = outcome(c.call(argv, nullptr, nullptr, true));
        EXPECT_EQ(got, want) << s.source << "args " << s.args;
        deopted += c.deopts > 0;
        Py_DECREF(args);
    }
    EXPECT_GE(compiled, 10);
    EXPECT_GE(deopted, 3); // the error and unbound-local cases went through an exit
    printf("%d of %zu snippets compiled, %d finished in the interpreter after a deopt\n",
           compiled, sizeof kSnippets / sizeof kSnippets[0], deopted);
}
