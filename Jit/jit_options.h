/* The JIT's options (one table, Jit/jit_options.def) and the accessor the
   compiler reads them through. Parsed once at startup by Ci_JitInit
   (Jit/runtime.c). */
#ifndef CINDER_JIT_OPTIONS_H
#define CINDER_JIT_OPTIONS_H

#include "Python.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CI_JIT_OPTION_TYPE_FLAG int
#define CI_JIT_OPTION_TYPE_COUNT unsigned long
#define CI_JIT_OPTION_TYPE_PATH char *

/* One field per row of Jit/jit_options.def; all zero / NULL when not given. */
typedef struct CiJitOptions {
#define CI_JIT_OPTION(KIND, XNAME, ENVVAR, FIELD, ARG, HELP) \
    CI_JIT_OPTION_TYPE_##KIND FIELD;
#include "Jit/jit_options.def"
#undef CI_JIT_OPTION
} CiJitOptions;

/* The options in force: what -X and the environment said at startup (all
   zero before Ci_JitInit and after Ci_JitFini). Never NULL. */
const CiJitOptions *ci_jit_options(void);

/* Where dumps and JIT messages go: the -X jit-log-file, or stderr. Never
   NULL. */
FILE *ci_jit_log(void);

/* Fill OPTS from XOPTIONS (PyConfig.xoptions: "name" or "name=value" items;
   those not starting with "jit" are ignored) and, when USE_ENV, from the
   environment; -X wins. jit-list-file and jit-auto imply jit. Returns 0, or
   -1 with a message naming the option in ERR (OPTS is then cleared). */
int ci_jit_options_parse(CiJitOptions *opts, const PyWideStringList *xoptions,
                         int use_env, char *err, size_t errsize);

/* Free what ci_jit_options_parse allocated and zero OPTS. */
void ci_jit_options_clear(CiJitOptions *opts);

/* Print every option, its environment variable and its help (-X jit-help). */
void ci_jit_options_print_help(FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* CINDER_JIT_OPTIONS_H */
