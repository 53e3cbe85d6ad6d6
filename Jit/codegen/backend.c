/* The back end's pipeline: lower.c, verify.c, linear_scan.c, x86_64.c in order, with the
   dumps the runtime's options ask for. */

#include "Jit/codegen/backend.h"

#include "Jit/codegen/x86_64.h"
#include "Jit/lir/lower.h"
#include "Jit/rt/helpers.h"

#include <stdlib.h>

static void
be_dump(FILE *out, const char *stage, LirFunc *f)
{
    char *text = lir_func_print(f);
    fprintf(out, "--- LIR %s: %s ---\n%s", stage, f->name, text);
    free(text);
}

int
ci_backend_compile(HirFunc *hir, const CiBackendOptions *opts, CiJitCode *code,
                   const char **why)
{
    static const CiBackendOptions defaults = {NULL, NULL, false};
    if (opts == NULL) {
        opts = &defaults;
    }
    CiJitSiteCache *caches = calloc((size_t)lir_lower_ncaches(hir) + 1,
                                             sizeof(CiJitSiteCache));
    if (caches == NULL) {
        *why = "out of memory";
        return -1;
    }
    LirFunc *f = lir_lower(hir, caches, opts->dump_lir != NULL || opts->dump_asm != NULL,
                           why);
    if (f == NULL) {
        free(caches);
        return -1;
    }
    char err[256];
    int rc = -1;
    if (opts->dump_lir != NULL) {
        be_dump(opts->dump_lir, "after lowering", f);
    }
    if (opts->verify && lir_verify(f, err, sizeof err) != 0) {
        if (opts->dump_lir != NULL) {
            fprintf(opts->dump_lir, "LIR verifier: %s\n", err);
        }
        *why = "lowered LIR does not verify";
    }
    else if (lir_regalloc(f, err, sizeof err) != 0) {
        *why = "register allocation failed";
    }
    else {
        if (opts->dump_lir != NULL) {
            be_dump(opts->dump_lir, "after register allocation", f);
        }
        char *listing = NULL;
        rc = ci_codegen_x86_64(f, code, opts->dump_asm != NULL ? &listing : NULL, why);
        if (listing != NULL) {
            fprintf(opts->dump_asm, "--- Assembly: %s ---\n%s\n", f->name, listing);
            free(listing);
        }
    }
    lir_func_free(f);
    if (rc == 0) {
        code->caches = caches;
    }
    else {
        free(caches);
    }
    return rc;
}
