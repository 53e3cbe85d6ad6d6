/* The compiler driver: one function in, machine code out. Builds HIR from the bytecode,
   runs the pass pipeline (Jit/hir/passes.c), and hands the result to the back end
   (lowering, register allocation, x86-64 through asmjit). Runs no Python code. */

#include "Jit/compile.h"

#include <time.h>

#include "Jit/codegen/backend.h"
#include "Jit/codegen/x86_64.h"
#include "Jit/hir/builder.h"
#include "Jit/hir/passes.h"
#include "Jit/jit_options.h"

/* "module:qualname", as jit-list files and dumps name functions. */
static void
cc_function_name(PyFunctionObject *func, char *buf, size_t size)
{
    const char *module = "?";
    const char *qualname = "?";
    if (func->func_module != NULL && PyUnicode_Check(func->func_module)) {
        module = PyUnicode_AsUTF8(func->func_module);
    }
    if (func->func_qualname != NULL && PyUnicode_Check(func->func_qualname)) {
        qualname = PyUnicode_AsUTF8(func->func_qualname);
    }
    if (module == NULL || qualname == NULL) {
        PyErr_Clear();   /* a name that does not encode: dumps say so */
        module = module ? module : "?";
        qualname = qualname ? qualname : "?";
    }
    snprintf(buf, size, "%s:%s", module, qualname);
}

static double
cc_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

CiJitCode *
ci_jit_compile(PyFunctionObject *func, const char **why)
{
    double start = cc_now();
    const CiJitOptions *opts = ci_jit_options();
    FILE *log = ci_jit_log();
    char name[512];
    cc_function_name(func, name, sizeof(name));

    JitArena *arena = jit_arena_new();
    int bad_opcode = 0;
    HirFunc *hir = hir_build(arena, func, name, why, &bad_opcode);
    if (hir == NULL) {
        if (opts->dump_hir || opts->dump_hir_passes) {
            fprintf(log, "JIT: %s not compiled: %s", name, *why);
            if (bad_opcode != 0) {
                fprintf(log, " (opcode %d)", bad_opcode);
            }
            fprintf(log, "\n");
        }
        jit_arena_free(arena);
        return NULL;
    }
    HirPassOptions pass_opts = {opts->dump_hir_passes ? log : NULL, false};
#ifdef Py_DEBUG
    pass_opts.verify = true;
#endif
    char err[512];
    if (!hir_run_passes(hir, NULL, &pass_opts, err, sizeof(err))) {
        fprintf(log, "JIT: %s: %s\n", name, err);
        *why = "HIR failed verification";
        jit_arena_free(arena);
        return NULL;
    }
    if (opts->dump_hir && !opts->dump_hir_passes) {
        fprintf(log, "--- HIR of %s ---\n", name);
        hir_func_print(log, hir);
    }
    CiJitCode *code = calloc(1, sizeof(CiJitCode));
    if (code == NULL) {
        *why = "out of memory";
        jit_arena_free(arena);
        return NULL;
    }
    CiBackendOptions backend_opts = {opts->dump_lir ? log : NULL, opts->dump_asm ? log : NULL,
                                     pass_opts.verify};
    if (ci_backend_compile(hir, &backend_opts, code, why) < 0) {
        free(code);
        jit_arena_free(arena);
        return NULL;
    }
    jit_arena_free(arena);
    code->compile_seconds = cc_now() - start;
    return code;
}

void
ci_jit_code_free(CiJitCode *code)
{
    if (code == NULL) {
        return;
    }
    ci_codegen_release(code->memory);
    free(code->caches);
    free(code->deopts);
    free(code);
}
