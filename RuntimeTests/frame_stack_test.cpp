// Tests of the frame stack's chunk reuse (patches/0013, Python/pystate.c): a
// chunk popped off the thread's data stack is kept for the next push instead of
// being unmapped, up to 64 chunks.

#include <gtest/gtest.h>

#include <vector>

#include "Python.h"
#include "pycore_frame.h"

namespace {

// Frames of this many words: a 16 KiB chunk holds about twenty.
constexpr size_t kFrameWords = 100;

// Pushes frames until one starts a new chunk; returns every frame pushed (the
// last one is at the start of the new chunk).
std::vector<_PyInterpreterFrame *>
push_until_new_chunk(PyThreadState *tstate)
{
    std::vector<_PyInterpreterFrame *> frames;
    _PyStackChunk *chunk = tstate->datastack_chunk;
    do {
        _PyInterpreterFrame *f = _PyThreadState_BumpFramePointer(tstate, kFrameWords);
        EXPECT_NE(f, nullptr);
        if (f == nullptr) {
            break;
        }
        frames.push_back(f);
    } while (tstate->datastack_chunk == chunk);
    return frames;
}

void
pop_all(PyThreadState *tstate, std::vector<_PyInterpreterFrame *> &frames)
{
    while (!frames.empty()) {
        _PyThreadState_PopFrame(tstate, frames.back());
        frames.pop_back();
    }
}

size_t
spare_chain_length(_PyStackChunk *chunk)
{
    size_t n = 0;
    for (_PyStackChunk *c = chunk->spare; c != nullptr; c = c->spare) {
        n++;
    }
    return n;
}

TEST(FrameStackTest, PoppedChunkIsReusedByTheNextPush)
{
    PyThreadState *tstate = PyThreadState_Get();
    _PyStackChunk *base = tstate->datastack_chunk;
    std::vector<_PyInterpreterFrame *> frames = push_until_new_chunk(tstate);
    ASSERT_FALSE(frames.empty());
    _PyStackChunk *second = tstate->datastack_chunk;
    ASSERT_EQ(second->previous, base);
    _PyInterpreterFrame *first_in_second = frames.back();
    EXPECT_EQ((PyObject **)first_in_second, &second->data[0]);

    // Crossing back and forth: the same chunk, the same address, every time.
    for (int k = 0; k < 5; k++) {
        _PyThreadState_PopFrame(tstate, frames.back());
        frames.pop_back();
        EXPECT_EQ(tstate->datastack_chunk, base);
        EXPECT_EQ(base->spare, second);
        _PyInterpreterFrame *f = _PyThreadState_BumpFramePointer(tstate, kFrameWords);
        ASSERT_NE(f, nullptr);
        frames.push_back(f);
        EXPECT_EQ(f, first_in_second);
        EXPECT_EQ(tstate->datastack_chunk, second);
        EXPECT_EQ(base->spare, nullptr);
    }
    pop_all(tstate, frames);
    EXPECT_EQ(tstate->datastack_chunk, base);
}

TEST(FrameStackTest, SparesAreCappedAt64Chunks)
{
    PyThreadState *tstate = PyThreadState_Get();
    _PyStackChunk *base = tstate->datastack_chunk;
    std::vector<_PyInterpreterFrame *> frames;
    for (int k = 0; k < 70; k++) {
        std::vector<_PyInterpreterFrame *> more = push_until_new_chunk(tstate);
        frames.insert(frames.end(), more.begin(), more.end());
    }
    pop_all(tstate, frames);
    ASSERT_EQ(tstate->datastack_chunk, base);
    EXPECT_EQ(spare_chain_length(base), 64u);

    // Going as deep again reuses the 64 spares, then maps new chunks.
    for (int k = 0; k < 70; k++) {
        std::vector<_PyInterpreterFrame *> more = push_until_new_chunk(tstate);
        frames.insert(frames.end(), more.begin(), more.end());
    }
    EXPECT_EQ(tstate->datastack_chunk->spare, nullptr);
    pop_all(tstate, frames);
    EXPECT_EQ(spare_chain_length(base), 64u);
}

TEST(FrameStackTest, SpareTooSmallForALargeFrameIsReplaced)
{
    PyThreadState *tstate = PyThreadState_Get();
    _PyStackChunk *base = tstate->datastack_chunk;
    std::vector<_PyInterpreterFrame *> frames = push_until_new_chunk(tstate);
    _PyThreadState_PopFrame(tstate, frames.back());
    frames.pop_back();
    _PyStackChunk *spare = base->spare;
    ASSERT_NE(spare, nullptr);
    // A frame larger than the spare chunk gets a chunk of its own size.
    size_t words = spare->size / sizeof(PyObject *) * 2;
    _PyInterpreterFrame *big = _PyThreadState_BumpFramePointer(tstate, words);
    ASSERT_NE(big, nullptr);
    frames.push_back(big);
    EXPECT_GE(tstate->datastack_chunk->size, words * sizeof(PyObject *));
    EXPECT_EQ(base->spare, nullptr);
    pop_all(tstate, frames);
    EXPECT_EQ(tstate->datastack_chunk, base);
    EXPECT_EQ(spare_chain_length(base), 1u);
}

}  // namespace
