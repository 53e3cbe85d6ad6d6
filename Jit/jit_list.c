/* The JIT list: parsing list files into a sorted array of "module:qualname"
   strings, and lookups by binary search. */

#include "Jit/jit_list.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct CiJitList {
    char **entries;
    Py_ssize_t size;
    Py_ssize_t capacity;
    int sorted;
};

CiJitList *
ci_jit_list_new(void)
{
    CiJitList *list = PyMem_RawCalloc(1, sizeof(CiJitList));
    if (list != NULL) {
        list->sorted = 1;
    }
    return list;
}

void
ci_jit_list_free(CiJitList *list)
{
    if (list == NULL) {
        return;
    }
    for (Py_ssize_t i = 0; i < list->size; i++) {
        PyMem_RawFree(list->entries[i]);
    }
    PyMem_RawFree(list->entries);
    PyMem_RawFree(list);
}

Py_ssize_t
ci_jit_list_size(const CiJitList *list)
{
    return list->size;
}

/* --- Parsing ------------------------------------------------------------- */

static int
jl_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'
           || c == '\v';
}

/* A byte of an identifier: ASCII letters, digits and '_', and any non-ASCII
   byte (the UTF-8 of a non-ASCII identifier). */
static int
jl_is_ident(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

/* Whether S[0..LEN) is a dotted name: non-empty parts separated by single
   dots, each an identifier not starting with a digit or, when ANGLED, also
   "<identifier>" as in "f.<locals>.g" or "<lambda>". */
static int
jl_is_dotted(const char *s, size_t len, int angled)
{
    size_t i = 0;
    if (len == 0) {
        return 0;
    }
    while (i < len) {
        int open = angled && s[i] == '<';
        if (open) {
            i++;
        }
        size_t start = i;
        if (i < len && s[i] >= '0' && s[i] <= '9') {
            return 0;
        }
        while (i < len && jl_is_ident((unsigned char)s[i])) {
            i++;
        }
        if (i == start) {
            return 0;
        }
        if (open) {
            if (i == len || s[i] != '>') {
                return 0;
            }
            i++;
        }
        if (i < len) {
            if (s[i] != '.' || i + 1 == len) {
                return 0;
            }
            i++;
        }
    }
    return 1;
}

static int
jl_append(CiJitList *list, const char *s, size_t len)
{
    if (list->size == list->capacity) {
        Py_ssize_t cap = list->capacity ? list->capacity * 2 : 16;
        char **entries = PyMem_RawRealloc(list->entries, cap * sizeof(char *));
        if (entries == NULL) {
            return -1;
        }
        list->entries = entries;
        list->capacity = cap;
    }
    char *copy = PyMem_RawMalloc(len + 1);
    if (copy == NULL) {
        return -1;
    }
    memcpy(copy, s, len);
    copy[len] = '\0';
    list->entries[list->size++] = copy;
    list->sorted = 0;
    return 0;
}

int
ci_jit_list_add_line(CiJitList *list, const char *line, const char *filename,
                     int lineno, char *err, size_t errsize)
{
    const char *start = line;
    const char *end = strchr(line, '#');
    if (end == NULL) {
        end = line + strlen(line);
    }
    while (start < end && jl_is_space(*start)) {
        start++;
    }
    while (end > start && jl_is_space(end[-1])) {
        end--;
    }
    if (start == end) {
        return 0;
    }
    const char *colon = memchr(start, ':', end - start);
    if (colon == NULL
        || !jl_is_dotted(start, colon - start, 0)
        || !jl_is_dotted(colon + 1, end - colon - 1, 1)) {
        snprintf(err, errsize,
                 "%s:%d: malformed JIT-list entry '%.*s': expected "
                 "'module:qualname', e.g. 'pkg.mod:func' or "
                 "'pkg.mod:Class.method'",
                 filename, lineno, (int)(end - start), start);
        return -1;
    }
    if (jl_append(list, start, end - start) < 0) {
        snprintf(err, errsize, "%s:%d: out of memory", filename, lineno);
        return -1;
    }
    return 0;
}

CiJitList *
ci_jit_list_load(const char *path, char *err, size_t errsize)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errsize, "cannot read JIT list file %s: %s", path,
                 strerror(errno));
        return NULL;
    }
    CiJitList *list = ci_jit_list_new();
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    if (list == NULL) {
        snprintf(err, errsize, "%s: out of memory", path);
        goto error;
    }
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        if (ci_jit_list_add_line(list, line, path, lineno, err, errsize) < 0) {
            goto error;
        }
    }
    if (ferror(f)) {
        snprintf(err, errsize, "cannot read JIT list file %s: %s", path,
                 strerror(errno));
        goto error;
    }
    free(line);
    fclose(f);
    return list;

error:
    free(line);
    fclose(f);
    ci_jit_list_free(list);
    return NULL;
}

/* --- Lookup -------------------------------------------------------------- */

static int
jl_compare_entries(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Compare "MODULE:QUALNAME" with ENTRY, as strcmp would. */
static int
jl_compare_key(const char *module, const char *qualname, const char *entry)
{
    size_t mlen = strlen(module);
    int c = strncmp(module, entry, mlen);
    if (c != 0) {
        return c;
    }
    entry += mlen;
    if (*entry != ':') {
        return (unsigned char)':' - (unsigned char)*entry;
    }
    return strcmp(qualname, entry + 1);
}

int
ci_jit_list_contains(CiJitList *list, const char *module, const char *qualname)
{
    if (!list->sorted) {
        qsort(list->entries, list->size, sizeof(char *), jl_compare_entries);
        list->sorted = 1;
    }
    Py_ssize_t lo = 0;
    Py_ssize_t hi = list->size;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        int c = jl_compare_key(module, qualname, list->entries[mid]);
        if (c == 0) {
            return 1;
        }
        if (c < 0) {
            hi = mid;
        }
        else {
            lo = mid + 1;
        }
    }
    return 0;
}
