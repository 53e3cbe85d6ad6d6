/* The compiler's entry point for the runtime: one function's code in, machine code out. */
#ifndef CINDER_JIT_COMPILE_H
#define CINDER_JIT_COMPILE_H

#include "Jit/jit.h"

/* The deopt exits of one compiled function, as data: each exit's stub only pushes its
   index and jumps to the function's deopt entry, which saves the general registers and
   calls ci_jit_deopt_exit (runtime.c) with this table. */
typedef enum { CI_JIT_DEOPT_IN_REG, CI_JIT_DEOPT_IN_SLOT, CI_JIT_DEOPT_IMM } CiJitDeoptWhere;

typedef struct CiJitDeoptValue {
    int64_t where_value; /* register number, offset from rbp, or the immediate */
    int32_t slot;        /* index into frame->localsplus (values; unused for releases) */
    uint8_t where;       /* CiJitDeoptWhere */
    uint8_t owned;       /* the exit takes the reference over; else it makes a new one */
} CiJitDeoptValue;

typedef struct CiJitDeoptExit {
    int32_t bc_offset; /* the code unit frame->prev_instr points to (may be -1) */
    int32_t stacktop;  /* frame->stacktop */
    uint16_t reason;   /* the runtime's deopt counter (CiJitDeoptReason) */
    uint8_t is_error;  /* CI_JIT_DEOPT_ERROR rather than CI_JIT_DEOPT */
    uint32_t first;    /* values[first...]: nvalues stored into the frame, then nrelease
                          references compiled code held that the exit releases */
    uint32_t nvalues, nrelease;
} CiJitDeoptExit;

typedef struct CiJitDeoptTable {
    uint32_t nexits;
    CiJitDeoptExit *exits;
    CiJitDeoptValue *values;
} CiJitDeoptTable;

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
    CiJitDeoptTable *deopts;       /* its deopt exits (one allocation), freed with it */
} CiJitCode;

/* Compile FUNC's code object for FUNC's globals and builtins. Returns NULL, with *why set
   to a static string naming the reason (an unsupported opcode, a too-large function, ...),
   when the function must stay in the interpreter. Never raises; runs no Python code. */
CiJitCode *ci_jit_compile(PyFunctionObject *func, const char **why);

void ci_jit_code_free(CiJitCode *code);

#endif /* CINDER_JIT_COMPILE_H */
