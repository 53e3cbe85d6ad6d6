/* The HIR optimisation pipeline (passes.c) and the passes it runs, one per file. */
#ifndef CINDER_JIT_HIR_PASSES_H
#define CINDER_JIT_HIR_PASSES_H

#include "Jit/hir/hir.h"

/* Options of one pipeline run. */
typedef struct {
    FILE *dump;          /* when not NULL, HIR before the first and after each pass */
    bool verify;         /* run the verifier after each pass */
} HirPassOptions;

/* Run the named passes (a comma-separated list, or NULL for the standard pipeline) on
   func. Returns false, with a message naming the pass in err, when the verifier rejects
   the result of a pass or a name is unknown. */
bool hir_run_passes(HirFunc *func, const char *names, const HirPassOptions *opts,
                    char *err, size_t errsize);

/* simplify.c */
void hir_simplify(HirFunc *func);
/* dead_code_elimination.c */
void hir_dead_code_elimination(HirFunc *func);
/* refcount_insertion.c */
void hir_refcount_insertion(HirFunc *func);
/* clean_cfg.c */
void hir_clean_cfg(HirFunc *func);

#endif /* CINDER_JIT_HIR_PASSES_H */
