/* Parsing the JIT's options from -X and the environment, and -X jit-help:
   everything here is driven by the table in Jit/jit_options.def. */

#include "Jit/jit_options.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_FLAG, OPT_COUNT, OPT_PATH };

typedef struct {
    int kind;
    const char *xname;
    const char *envvar;
    size_t offset;
    const char *arg;
    const char *help;
} OptRow;

static const OptRow opt_rows[] = {
#define CI_JIT_OPTION(KIND, XNAME, ENVVAR, FIELD, ARG, HELP) \
    {OPT_##KIND, XNAME, ENVVAR, offsetof(CiJitOptions, FIELD), ARG, HELP},
#include "Jit/jit_options.def"
#undef CI_JIT_OPTION
};

#define OPT_NROWS (sizeof(opt_rows) / sizeof(opt_rows[0]))

static void
opt_error(char *err, size_t errsize, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsize, fmt, ap);
    va_end(ap);
}

static const OptRow *
opt_find(const char *name, size_t len)
{
    for (size_t i = 0; i < OPT_NROWS; i++) {
        if (strlen(opt_rows[i].xname) == len
            && strncmp(opt_rows[i].xname, name, len) == 0) {
            return &opt_rows[i];
        }
    }
    return NULL;
}

/* Store VALUE (NULL: none given) into the field of ROW. WHERE names the
   setting in an error message ("-X jit-auto" or "PYTHONJITAUTO"). */
static int
opt_set(CiJitOptions *opts, const OptRow *row, const char *value,
        const char *where, char *err, size_t errsize)
{
    char *field = (char *)opts + row->offset;
    switch (row->kind) {
    case OPT_FLAG:
        if (value == NULL || strcmp(value, "1") == 0) {
            *(int *)field = 1;
        }
        else if (strcmp(value, "0") == 0) {
            *(int *)field = 0;
        }
        else {
            opt_error(err, errsize, "%s=%s: invalid value, expected 0 or 1",
                      where, value);
            return -1;
        }
        return 0;
    case OPT_COUNT: {
        char *end = NULL;
        unsigned long n = 0;
        errno = 0;
        if (value != NULL && value[0] >= '0' && value[0] <= '9') {
            n = strtoul(value, &end, 10);
        }
        if (value == NULL || end == NULL || *end != '\0' || errno != 0
            || n == 0) {
            opt_error(err, errsize,
                      "%s%s%s: invalid value, expected a positive integer "
                      "(%s=%s)", where, value ? "=" : "", value ? value : "",
                      where, row->arg);
            return -1;
        }
        *(unsigned long *)field = n;
        return 0;
    }
    case OPT_PATH: {
        if (value == NULL || value[0] == '\0') {
            opt_error(err, errsize, "%s needs a value (%s=%s)", where, where,
                      row->arg);
            return -1;
        }
        char *copy = PyMem_RawMalloc(strlen(value) + 1);
        if (copy == NULL) {
            opt_error(err, errsize, "%s: out of memory", where);
            return -1;
        }
        strcpy(copy, value);
        PyMem_RawFree(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    }
    Py_UNREACHABLE();
}

static int
opt_parse_env(CiJitOptions *opts, char *err, size_t errsize)
{
    for (size_t i = 0; i < OPT_NROWS; i++) {
        const OptRow *row = &opt_rows[i];
        const char *value = row->envvar ? getenv(row->envvar) : NULL;
        if (value == NULL || value[0] == '\0') {
            continue;
        }
        if (opt_set(opts, row, value, row->envvar, err, errsize) < 0) {
            return -1;
        }
    }
    return 0;
}

/* One -X item, ITEM being "name" or "name=value" in the locale encoding. */
static int
opt_parse_xoption(CiJitOptions *opts, const char *item, char *err,
                  size_t errsize)
{
    const char *eq = strchr(item, '=');
    size_t len = eq ? (size_t)(eq - item) : strlen(item);
    int ours = (len == 3 && strncmp(item, "jit", 3) == 0)
               || strncmp(item, "jit-", 4) == 0;
    if (!ours) {
        return 0;
    }
    const OptRow *row = opt_find(item, len);
    if (row == NULL) {
        opt_error(err, errsize,
                  "unknown JIT option -X %.*s (-X jit-help lists them)",
                  (int)len, item);
        return -1;
    }
    char where[64];
    snprintf(where, sizeof(where), "-X %s", row->xname);
    return opt_set(opts, row, eq ? eq + 1 : NULL, where, err, errsize);
}

int
ci_jit_options_parse(CiJitOptions *opts, const PyWideStringList *xoptions,
                     int use_env, char *err, size_t errsize)
{
    memset(opts, 0, sizeof(*opts));
    if (use_env && opt_parse_env(opts, err, errsize) < 0) {
        goto error;
    }
    for (Py_ssize_t i = 0; xoptions != NULL && i < xoptions->length; i++) {
        char *item = Py_EncodeLocale(xoptions->items[i], NULL);
        if (item == NULL) {
            opt_error(err, errsize, "a -X option cannot be encoded");
            goto error;
        }
        int r = opt_parse_xoption(opts, item, err, errsize);
        PyMem_Free(item);
        if (r < 0) {
            goto error;
        }
    }
    if (opts->list_file != NULL || opts->auto_threshold != 0) {
        opts->enabled = 1;
    }
    return 0;

error:
    ci_jit_options_clear(opts);
    return -1;
}

void
ci_jit_options_clear(CiJitOptions *opts)
{
    for (size_t i = 0; i < OPT_NROWS; i++) {
        if (opt_rows[i].kind == OPT_PATH) {
            PyMem_RawFree(*(char **)((char *)opts + opt_rows[i].offset));
        }
    }
    memset(opts, 0, sizeof(*opts));
}

void
ci_jit_options_print_help(FILE *out)
{
    fprintf(out, "JIT options: -X option or environment variable (-X takes\n"
                 "precedence; -E ignores the environment).\n");
    for (size_t i = 0; i < OPT_NROWS; i++) {
        const OptRow *row = &opt_rows[i];
        const char *arg = row->kind == OPT_FLAG ? "1" : row->arg;
        char xopt[64];
        snprintf(xopt, sizeof(xopt), "-X %s%s%s", row->xname,
                 row->kind == OPT_FLAG ? "" : "=", row->arg);
        if (row->envvar != NULL) {
            fprintf(out, "  %-28s %s=%s\n", xopt, row->envvar, arg);
        }
        else {
            fprintf(out, "  %s\n", xopt);
        }
        fprintf(out, "      %s\n", row->help);
    }
}
