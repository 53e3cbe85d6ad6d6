// HIR golden tests: every RuntimeTests/hir_tests/*.txt, Python source in, HIR out.

#include <gtest/gtest.h>

#include "Python.h"

extern "C" {
#include "Jit/hir/builder.h"
#include "Jit/hir/passes.h"
}

#include "ir_test_driver.h"

namespace {

// Prints func, then checks that the printed form parses back to the same text.
std::string
print_and_reparse(HirFunc *func)
{
    char *text = hir_func_to_string(func);
    std::string out = text;
    free(text);
    JitArena *arena = jit_arena_new();
    PyObject *keep = PyList_New(0);
    char err[256];
    HirFunc *again = hir_func_parse(arena, out.c_str(), keep, err, sizeof(err));
    if (again == nullptr) {
        out += std::string("<printed HIR does not parse: ") + err + ">\n";
    }
    else {
        char *text2 = hir_func_to_string(again);
        if (out != text2) {
            out += "<printed HIR does not round-trip; reparsed:>\n" + std::string(text2);
        }
        free(text2);
    }
    Py_DECREF(keep);
    jit_arena_free(arena);
    return out;
}

std::string
run_passes(HirFunc *func, const std::string &passes)
{
    std::string out;
    char msg[256];
    if (!hir_func_verify(func, msg, sizeof(msg))) {
        out = std::string("<input HIR invalid: ") + msg + ">\n";
    }
    char err[512];
    HirPassOptions opts = {nullptr, true};
    if (!hir_run_passes(func, passes.c_str(), &opts, err, sizeof(err))) {
        out += std::string("<") + err + ">\n";
    }
    return out + print_and_reparse(func);
}

// Input is HIR text (starting with "# HIR") or Python source defining `test`: build its
// HIR, run `passes` on it and print the result.
std::string
hir_for_input(const std::string &passes, const std::string &input)
{
    if (input.compare(0, 5, "# HIR") == 0) {
        JitArena *arena = jit_arena_new();
        PyObject *keep = PyList_New(0);
        char err[256];
        HirFunc *func = hir_func_parse(arena, input.c_str(), keep, err, sizeof(err));
        std::string out = func ? run_passes(func, passes)
                               : std::string("<does not parse: ") + err + ">";
        Py_DECREF(keep);
        jit_arena_free(arena);
        return out;
    }
    PyObject *globals = PyDict_New();
    PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
    PyObject *modname = PyUnicode_FromString("hirtest");
    PyDict_SetItemString(globals, "__name__", modname);
    Py_DECREF(modname);
    PyObject *r = PyRun_String(input.c_str(), Py_file_input, globals, globals);
    if (r == nullptr) {
        PyErr_Print();
        Py_DECREF(globals);
        return "<source does not compile>";
    }
    Py_DECREF(r);
    PyObject *func = PyDict_GetItemString(globals, "test");
    if (func == nullptr || !PyFunction_Check(func)) {
        Py_DECREF(globals);
        return "<no function named test>";
    }
    JitArena *arena = jit_arena_new();
    const char *why = nullptr;
    int bad_opcode = 0;
    std::string out;
    HirFunc *hir = hir_build(arena, (PyFunctionObject *)func, "test", &why, &bad_opcode);
    if (hir == nullptr) {
        out = std::string("<not compiled: ") + why + ">";
    }
    else {
        out = run_passes(hir, passes);
    }
    jit_arena_free(arena);
    Py_DECREF(globals);
    return out;
}

}  // namespace

TEST(HirGolden, AllFiles)
{
    std::vector<std::string> files = ir_test_files("hir_tests");
    ASSERT_FALSE(files.empty());
    for (const std::string &path : files) {
        IrTestFile file;
        std::string error;
        ASSERT_TRUE(ir_test_read(path, &file, &error)) << error;
        ir_test_run(file, hir_for_input);
    }
}
