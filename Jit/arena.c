/* The compiler's arena (arena.h): 64 KiB chunks, bump allocation, zeroed ahead of the
   bump pointer 4 KiB at a time. Freed chunks of the standard size go to a small free
   list for the next compilation, which then finds its memory mapped and in cache instead
   of faulting fresh pages in; the compiler runs under the GIL, so the list needs no
   lock. */

#include "Jit/arena.h"

#include "Python.h"

#include <stdlib.h>
#include <string.h>

typedef struct JitArenaChunk {
    struct JitArenaChunk *prev;
    size_t size;
    _Alignas(16) char data[];
} ArenaChunk;

enum { ARENA_CHUNK = 64 * 1024, ARENA_KEEP = 16, ARENA_ZERO_STEP = 4096 };

static ArenaChunk *free_chunks;
static int nfree_chunks;

JitArena *
jit_arena_new(void)
{
    JitArena *arena = calloc(1, sizeof(JitArena));
    if (arena == NULL) {
        Py_FatalError("JIT: out of memory");
    }
    return arena;
}

static ArenaChunk *
arena_chunk_new(size_t size)
{
    ArenaChunk *c;
    if (size <= ARENA_CHUNK && free_chunks != NULL) {
        c = free_chunks;
        free_chunks = c->prev;
        nfree_chunks--;
        return c;
    }
    size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
    c = malloc(sizeof(ArenaChunk) + cap);
    if (c == NULL) {
        Py_FatalError("JIT: out of memory");
    }
    c->size = cap;
    return c;
}

void *
jit_arena_alloc_slow(JitArena *arena, size_t size)
{
    if ((size_t)(arena->end - arena->next) < size) {
        ArenaChunk *c = arena_chunk_new(size);
        c->prev = arena->chunk;
        arena->chunk = c;
        arena->next = arena->zeroed = c->data;
        arena->end = c->data + c->size;
    }
    size_t step = (size_t)(arena->next + size - arena->zeroed);
    if (step < ARENA_ZERO_STEP) {
        step = ARENA_ZERO_STEP;
    }
    if (step > (size_t)(arena->end - arena->zeroed)) {
        step = (size_t)(arena->end - arena->zeroed);
    }
    memset(arena->zeroed, 0, step);
    arena->zeroed += step;
    void *p = arena->next;
    arena->next += size;
    return p;
}

char *
jit_arena_strdup(JitArena *arena, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = jit_arena_alloc(arena, n);
    memcpy(p, s, n);
    return p;
}

void
jit_arena_free(JitArena *arena)
{
    if (arena == NULL) {
        return;
    }
    ArenaChunk *c = arena->chunk;
    while (c != NULL) {
        ArenaChunk *prev = c->prev;
        if (c->size == ARENA_CHUNK && nfree_chunks < ARENA_KEEP) {
            c->prev = free_chunks;
            free_chunks = c;
            nfree_chunks++;
        }
        else {
            free(c);
        }
        c = prev;
    }
    free(arena);
}
