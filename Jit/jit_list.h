/* The JIT list (-X jit-list-file): the functions the JIT may compile, one
   "module:qualname" a line, matched against a function's module and
   co_qualname. */
#ifndef CINDER_JIT_LIST_H
#define CINDER_JIT_LIST_H

#include "Python.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct CiJitList CiJitList;

CiJitList *ci_jit_list_new(void);
void ci_jit_list_free(CiJitList *list);

/* Add one line of a list file. Blank lines and '#' comments (whole-line or
   trailing) are skipped. Returns 0, or -1 with "FILENAME:LINENO: ..." in
   ERR for a malformed line or when out of memory. */
int ci_jit_list_add_line(CiJitList *list, const char *line,
                         const char *filename, int lineno, char *err,
                         size_t errsize);

/* Read a whole file. Returns a new list, or NULL with a message naming the
   file (and the line, for a malformed one) in ERR. */
CiJitList *ci_jit_list_load(const char *path, char *err, size_t errsize);

/* Whether MODULE:QUALNAME is listed. */
int ci_jit_list_contains(CiJitList *list, const char *module,
                         const char *qualname);

Py_ssize_t ci_jit_list_size(const CiJitList *list);

#ifdef __cplusplus
}
#endif

#endif /* CINDER_JIT_LIST_H */
