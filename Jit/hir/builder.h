/* Building HIR from a function's bytecode (builder.c). */
#ifndef CINDER_JIT_HIR_BUILDER_H
#define CINDER_JIT_HIR_BUILDER_H

#include "Jit/hir/hir.h"

/* Build the HIR of PYFUNC's code in ARENA, naming it NAME in dumps. Returns NULL when the
   function must stay in the interpreter, with *why set to a static string and, for an
   unsupported opcode, *bad_opcode (if not NULL) to it. Never raises, never runs Python. */
HirFunc *hir_build(JitArena *arena, PyFunctionObject *pyfunc, const char *name,
                   const char **why, int *bad_opcode);

#endif /* CINDER_JIT_HIR_BUILDER_H */
