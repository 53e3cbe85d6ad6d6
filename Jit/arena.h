/* The compiler's memory: everything one compilation allocates (HIR, LIR, their side
   tables) comes from one arena and goes in one call. */
#ifndef CINDER_JIT_ARENA_H
#define CINDER_JIT_ARENA_H

#include <stddef.h>

typedef struct JitArenaChunk JitArenaChunk;

/* The current chunk's free space is [next, end); [next, zeroed) is already zero, so
   the common allocation is a compare and an add (jit_arena_alloc), and the chunk is
   zeroed in large steps (arena.c) rather than one memset per allocation. */
typedef struct JitArena {
    char *next, *zeroed, *end;
    JitArenaChunk *chunk;
} JitArena;

JitArena *jit_arena_new(void);
void *jit_arena_alloc_slow(JitArena *arena, size_t size);
char *jit_arena_strdup(JitArena *arena, const char *s);
void jit_arena_free(JitArena *arena);

/* SIZE zeroed bytes, 16-byte aligned; aborts on OOM. */
static inline void *
jit_arena_alloc(JitArena *arena, size_t size)
{
    size = size ? (size + 15) & ~(size_t)15 : 16;
    if ((size_t)(arena->zeroed - arena->next) >= size) {
        void *p = arena->next;
        arena->next += size;
        return p;
    }
    return jit_arena_alloc_slow(arena, size);
}

#endif /* CINDER_JIT_ARENA_H */
