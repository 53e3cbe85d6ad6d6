/* Immortal instances: making a process's heap immortal before it forks
   (Python/immortal.c). The encoding itself is in CPython's Include/object.h
   (patches/0003). */

#ifndef CINDER_IMMORTAL_H
#define CINDER_IMMORTAL_H

#include "Python.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Was the interpreter built with immortal instances (the default)? */
#ifdef Py_IMMORTAL_INSTANCES
#  define CI_IMMORTAL_INSTANCES 1
#else
#  define CI_IMMORTAL_INSTANCES 0
#endif

/* Collect garbage, move every GC-tracked object into the permanent
   generation (as gc.freeze() does), then make every object reachable from
   the GC-tracked objects, the interned strings, the static types and the
   running frames immortal, pre-computing the caches (str and bytes hashes,
   type version tags) that reading them would otherwise fill in later.
   Returns how many objects were made immortal (0 in a build without
   immortal instances, where only the collection and the freeze happen), or
   -1 with an exception set. Needs the GIL; runs no Python code once the
   freeze is done. */
Py_ssize_t Ci_ImmortalizeHeap(void);

/* Is `op` immortal? Always 0 without immortal instances. */
static inline int
Ci_IsImmortal(PyObject *op)
{
    return _Py_IsImmortal(op);
}

/* The interned-strings dict, or NULL (Objects/unicodeobject.c, patches/0005). */
PyObject *_PyUnicode_GetInternedDict(void);

#ifdef __cplusplus
}
#endif

#endif /* CINDER_IMMORTAL_H */
