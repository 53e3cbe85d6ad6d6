/* The compiler's entry point for the runtime: one function's code in, machine code out. */
#ifndef CINDER_JIT_COMPILE_H
#define CINDER_JIT_COMPILE_H

#include "Jit/jit.h"

/* What the runtime keeps for one compiled code object. It and the inline caches, like
   the compiler's arenas and the runtime's per-code state, are allocated with the C
   library, not PyMem: tracemalloc and the debug allocators then see the program's own
   allocations, as without the JIT. */
typedef struct CiJitCode {
    CiJitBody body;
    size_t code_size;       /* bytes of machine code */
    double compile_seconds; /* wall time of the whole pipeline */
    void *memory;           /* the executable allocation, released by ci_jit_code_free */
    struct CiJitSiteCache *caches; /* its inline caches (lir_lower), freed with it */
} CiJitCode;

/* Compile FUNC's code object for FUNC's globals and builtins. Returns NULL, with *why set
   to a static string naming the reason (an unsupported opcode, a too-large function, ...),
   when the function must stay in the interpreter. Never raises; runs no Python code. */
CiJitCode *ci_jit_compile(PyFunctionObject *func, const char **why);

void ci_jit_code_free(CiJitCode *code);

#endif /* CINDER_JIT_COMPILE_H */
