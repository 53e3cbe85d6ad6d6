/* The parallel-move resolver: turns a set of simultaneous copies between registers and
   spill slots into a sequence of plain copies and register exchanges. */

#include "Jit/lir/lir.h"

#include <stdlib.h>

/* -- How a parallel move is sequentialised ---------------------------------------------

   The allocator leaves behind copies that must happen "at the same time": the phi moves
   on a control-flow edge, the moves that join the pieces of a split interval, the
   arguments of a call. Each destination is written once, but a source may feed several
   destinations (fan-out), and a destination may be another move's source. Read as a
   graph with an edge src -> dst, every location has at most one incoming edge, so every
   connected piece is a tree, or a single cycle with trees hanging off it.

   1. Emit every move whose destination no pending move still reads. Doing so never
      destroys a value anyone needs; it lowers the reader count of its source, and when
      that reaches zero the move writing the source becomes ready too. A worklist makes
      this linear. A tree disappears entirely this way, leaves first, and so do the trees
      hanging off a cycle.

   2. What is left are disjoint simple cycles l0 <- l1 <- ... <- lk-1 <- l0 (each
      location takes the value of the next). A cycle of general-purpose registers becomes
      k - 1 exchanges, `xchg l0, l1; xchg l1, l2; ...`: each puts one value in place and
      carries l0's old value along to the end. Any other cycle goes through SCRATCH:
      `SCRATCH <- l0; l0 <- l1; ...; lk-1 <- SCRATCH`.

   Requirements:
   1. Destinations are distinct, and SCRATCH is not mentioned by any move.
   2. The steps only copy or exchange: they never set flags (no `xor r, r`), because the
      allocator may place them between a compare and the branch that reads its flags.
   3. A stack-to-stack COPY is left to the code generator, which has a second scratch
      register of its own for it; this file never needs more than SCRATCH. */

static int
pm_key(LirLoc l)
{
    return l.kind == LIR_LOC_REG ? l.index : LIR_NUM_REGS + l.index;
}

static bool
pm_is_gp_reg(LirLoc l)
{
    return l.kind == LIR_LOC_REG && l.index < LIR_XMM0;
}

int
lir_parallel_move(const LirLoc *dst, const LirLoc *src, int n, int scratch,
                  LirMoveStep *steps)
{
    int nkeys = LIR_NUM_REGS;
    for (int k = 0; k < n; k++) {
        int a = pm_key(dst[k]) + 1, b = pm_key(src[k]) + 1;
        nkeys = a > nkeys ? a : nkeys;
        nkeys = b > nkeys ? b : nkeys;
    }
    /* the common small case (a call's arguments, an edge's few values) on the stack */
    enum { PM_SMALL = 64 };
    int small_readers[PM_SMALL], small_writer[PM_SMALL], small_work[PM_SMALL];
    bool small_done[PM_SMALL];
    bool small = nkeys <= PM_SMALL && n < PM_SMALL;
    int *readers = small ? small_readers : malloc(sizeof(int) * (size_t)nkeys);
    int *writer = small ? small_writer : malloc(sizeof(int) * (size_t)nkeys);
    int *work = small ? small_work : malloc(sizeof(int) * (size_t)(n + 1));
    bool *done = small ? small_done : malloc(sizeof(bool) * (size_t)(n + 1));
    if (readers == NULL || writer == NULL || work == NULL || done == NULL) {
        abort();
    }
    for (int k = 0; k < nkeys; k++) {
        readers[k] = 0;
        writer[k] = -1;
    }
    for (int k = 0; k < n; k++) {
        done[k] = false;
    }
    for (int k = 0; k < n; k++) {
        if (lir_loc_eq(dst[k], src[k])) {
            done[k] = true;
            continue;
        }
        readers[pm_key(src[k])]++;
        writer[pm_key(dst[k])] = k;
    }
    /* 1. Trees, leaves first. */
    int nwork = 0, nsteps = 0;
    for (int k = 0; k < n; k++) {
        if (!done[k] && readers[pm_key(dst[k])] == 0) {
            work[nwork++] = k;
        }
    }
    while (nwork > 0) {
        int k = work[--nwork];
        steps[nsteps++] = (LirMoveStep){LIR_MOVE_COPY, dst[k], src[k]};
        done[k] = true;
        int s = pm_key(src[k]);
        if (--readers[s] == 0 && writer[s] >= 0 && !done[writer[s]]) {
            work[nwork++] = writer[s];
        }
    }
    /* 2. Cycles. */
    for (int k = 0; k < n; k++) {
        if (done[k]) {
            continue;
        }
        bool all_gp = true;
        int len = 0;
        for (int m = k; len == 0 || m != k; m = writer[pm_key(src[m])], len++) {
            all_gp &= pm_is_gp_reg(dst[m]);
        }
        if (all_gp) {
            for (int m = k, j = 0; j < len - 1; m = writer[pm_key(src[m])], j++) {
                steps[nsteps++] = (LirMoveStep){LIR_MOVE_SWAP, dst[m], src[m]};
                done[m] = true;
            }
        }
        else {
            LirLoc sc = lir_loc_reg(scratch);
            steps[nsteps++] = (LirMoveStep){LIR_MOVE_COPY, sc, dst[k]};
            int m = k;
            for (int j = 0; j < len - 1; m = writer[pm_key(src[m])], j++) {
                steps[nsteps++] = (LirMoveStep){LIR_MOVE_COPY, dst[m], src[m]};
                done[m] = true;
            }
            steps[nsteps++] = (LirMoveStep){LIR_MOVE_COPY, dst[m], sc};
        }
        for (int m = k, j = 0; j < len; m = writer[pm_key(src[m])], j++) {
            done[m] = true;
        }
    }
    if (!small) {
        free(readers);
        free(writer);
        free(work);
        free(done);
    }
    return nsteps;
}
