/* The perf map of compiled functions (-X jit-perfmap): Jit/perf_map.c. */

#ifndef CINDER_JIT_PERF_MAP_H
#define CINDER_JIT_PERF_MAP_H

#include <stdbool.h>
#include <stddef.h>

/* Names the SIZE bytes of machine code at START "py::NAME" in /tmp/perf-PID.map, which it
   creates on first use (a failure is reported once on the JIT's log). */
void ci_jit_perf_map_add(const void *start, size_t size, const char *name);

void ci_jit_perf_map_close(void);

#endif /* CINDER_JIT_PERF_MAP_H */
