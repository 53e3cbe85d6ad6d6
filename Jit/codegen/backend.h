/* The whole back end in one call: HIR in, executable code out (backend.c). */
#ifndef CINDER_JIT_CODEGEN_BACKEND_H
#define CINDER_JIT_CODEGEN_BACKEND_H

#include <stdbool.h>
#include <stdio.h>

#include "Jit/compile.h"
#include "Jit/hir/hir.h"

typedef struct CiBackendOptions {
    FILE *dump_lir; /* when set: LIR after lowering and after allocation (-X jit-dump-lir) */
    FILE *dump_asm; /* when set: the annotated assembly listing (-X jit-dump-asm) */
    bool verify;    /* run lir_verify on the lowered LIR (debug builds, tests) */
} CiBackendOptions;

/* Lowers HIR (after refcount insertion), allocates registers and assembles, filling
   CODE->body, code_size and memory (free with ci_codegen_release). Returns 0, or -1 with
   *WHY set to a static string (the function then stays in the interpreter). OPTS may be
   NULL. Runs no Python code. */
int ci_backend_compile(HirFunc *hir, const CiBackendOptions *opts, CiJitCode *code,
                       const char **why);

#endif /* CINDER_JIT_CODEGEN_BACKEND_H */
