/* The HIR pipeline: the passes in order, and the one runner that dumps, times and verifies
   each of them.

     build (builder.c) -> simplify -> dead code elimination -> refcount insertion
       -> clean cfg -> lowering to LIR

   simplify                 folds what the types decide: constant comparisons and truth
                            tests, branches on constants, guards and checks whose input
                            already has the type; recomputes types to a fixed point.
   dead_code_elimination    removes pure instructions whose results are unused, and blocks
                            no longer reachable.
   refcount_insertion       adds every Incref/Decref and tells deopt exits what they own.
                            Runs after every optimisation: they work on refcount-free HIR.
   clean_cfg                removes blocks that only jump and merges straight-line chains;
                            after refcount insertion, which relies on the builder's edge
                            blocks. */

#include "Jit/hir/passes.h"

#include <string.h>
#include <time.h>

typedef struct {
    const char *name;
    void (*run)(HirFunc *func);
} HirPass;

static const HirPass hir_passes[] = {
    {"simplify", hir_simplify},
    {"dead_code_elimination", hir_dead_code_elimination},
    {"refcount_insertion", hir_refcount_insertion},
    {"clean_cfg", hir_clean_cfg},
};

static const HirPass *
pass_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(hir_passes) / sizeof(hir_passes[0]); i++) {
        if (strlen(hir_passes[i].name) == len && strncmp(hir_passes[i].name, name, len) == 0) {
            return &hir_passes[i];
        }
    }
    return NULL;
}

static bool
pass_run_one(HirFunc *func, const HirPass *pass, const HirPassOptions *opts, char *err,
             size_t errsize)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pass->run(func);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (opts != NULL && opts->dump != NULL) {
        double us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
        fprintf(opts->dump, "--- HIR after %s (%.0f us) ---\n", pass->name, us);
        hir_func_print(opts->dump, func);
    }
    if (opts != NULL && opts->verify) {
        char msg[256];
        if (!hir_func_verify(func, msg, sizeof(msg))) {
            snprintf(err, errsize, "HIR invalid after %s: %s", pass->name, msg);
            return false;
        }
    }
    return true;
}

bool
hir_run_passes(HirFunc *func, const char *names, const HirPassOptions *opts, char *err,
               size_t errsize)
{
    if (opts != NULL && opts->dump != NULL) {
        fprintf(opts->dump, "--- HIR built ---\n");
        hir_func_print(opts->dump, func);
    }
    if (names == NULL) {
        for (size_t i = 0; i < sizeof(hir_passes) / sizeof(hir_passes[0]); i++) {
            if (!pass_run_one(func, &hir_passes[i], opts, err, errsize)) {
                return false;
            }
        }
        return true;
    }
    const char *p = names;
    while (*p) {
        size_t len = strcspn(p, ", ");
        if (len > 0) {
            const HirPass *pass = pass_find(p, len);
            if (pass == NULL) {
                snprintf(err, errsize, "unknown HIR pass '%.*s'", (int)len, p);
                return false;
            }
            if (!pass_run_one(func, pass, opts, err, errsize)) {
                return false;
            }
        }
        p += len;
        p += strspn(p, ", ");
    }
    return true;
}
