/* The compiler's memory: everything one compilation allocates (HIR, LIR, their side
   tables) comes from one arena and goes in one call. */
#ifndef CINDER_JIT_ARENA_H
#define CINDER_JIT_ARENA_H

#include <stddef.h>

typedef struct JitArena JitArena;

JitArena *jit_arena_new(void);
void *jit_arena_alloc(JitArena *arena, size_t size);   /* zeroed; aborts on OOM */
char *jit_arena_strdup(JitArena *arena, const char *s);
void jit_arena_free(JitArena *arena);

#endif /* CINDER_JIT_ARENA_H */
