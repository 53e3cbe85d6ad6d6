// HIR golden tests: every RuntimeTests/hir_tests/*.txt, Python source in, HIR out.

#include <gtest/gtest.h>

#include "Python.h"

extern "C" {
#include "Jit/hir/builder.h"
#include "Jit/hir/passes.h"
}

#include "ir_test_driver.h"

namespace {

// Compiles `source`, builds the HIR of its function `test` and runs `passes` on it.
std::string
hir_for_source(const std::string &passes, const std::string &source)
{
    PyObject *globals = PyDict_New();
    PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
    PyDict_SetItemString(globals, "__name__", PyUnicode_FromString("hirtest"));
    PyObject *r = PyRun_String(source.c_str(), Py_file_input, globals, globals);
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
        char err[512];
        HirPassOptions opts = {nullptr, true};
        char msg[256];
        if (!hir_func_verify(hir, msg, sizeof(msg))) {
            out = std::string("<built HIR invalid: ") + msg + ">\n";
        }
        if (!hir_run_passes(hir, passes.c_str(), &opts, err, sizeof(err))) {
            out += std::string("<") + err + ">\n";
        }
        char *text = hir_func_to_string(hir);
        out += text;
        free(text);
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
        ir_test_run(file, hir_for_source);
    }
}
