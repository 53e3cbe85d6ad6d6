/* The x86-64 code generator: allocated LIR in, executable machine code out. */
#ifndef CINDER_JIT_CODEGEN_X86_64_H
#define CINDER_JIT_CODEGEN_X86_64_H

#include "Jit/compile.h"
#include "Jit/lir/lir.h"

/* Assembles F, which lir_regalloc has allocated, into executable memory: fills
   CODE->body, CODE->code_size and CODE->memory (release it with ci_codegen_release).
   With DUMP, *DUMP gets a malloc'd assembly listing in which every LIR instruction,
   with its origin label, precedes its machine code. Returns 0, or -1 with *WHY set to a
   static string. Runs no Python code. */
int ci_codegen_x86_64(LirFunc *f, CiJitCode *code, char **dump, const char **why);

/* Frees the executable memory of CiJitCode.memory. */
void ci_codegen_release(void *memory);

#endif /* CINDER_JIT_CODEGEN_X86_64_H */
