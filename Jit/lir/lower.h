/* Lowering HIR to LIR (lower.c): the bridge between the two IRs. */
#ifndef CINDER_JIT_LIR_LOWER_H
#define CINDER_JIT_LIR_LOWER_H

#include "Jit/hir/hir.h"
#include "Jit/lir/lir.h"

/* Lowers HIR (after refcount insertion: every deopt exit's slot kinds are known) into a
   new LirFunc whose body is a CiJitBody: Arg 0 is the PyThreadState, Arg 1 the
   _PyInterpreterFrame. Every LIR instruction's origin is its HirInstr and, with LABELS
   (for dumps), its origin label a printable summary of it. Returns NULL, with *why set to a static string, when
   an instruction cannot be lowered yet; free the result with lir_func_free. Runs no
   Python code.
   CACHES has room for lir_lower_ncaches(hir) inline caches, zeroed: one per lookup
   (LoadAttr, StoreAttr, LoadMethod, LoadGlobal), which lowering seeds from the HIR and
   the compiled code reads and refills, so it must live as long as the code. */
struct CiJitSiteCache; /* Jit/rt/helpers.h */
LirFunc *lir_lower(HirFunc *hir, struct CiJitSiteCache *caches, bool labels,
                   const char **why);
int lir_lower_ncaches(HirFunc *hir);

#endif /* CINDER_JIT_LIR_LOWER_H */
