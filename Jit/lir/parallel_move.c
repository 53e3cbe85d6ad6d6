/* The parallel-move resolver: turns a set of simultaneous copies between registers and
   spill slots into a sequence of plain copies and register exchanges. */

#include "Jit/lir/lir.h"

/* -- How a parallel move is sequentialised ---------------------------------------------

   The allocator leaves behind copies that must happen "at the same time": the phi moves
   on a control-flow edge, the moves that join the pieces of a split interval, the
   arguments of a call. Each destination is written once, but a source may feed several
   destinations (fan-out), and a destination may be another move's source. Read as a
   graph with an edge src -> dst, every node has at most one incoming edge, so every
   connected piece is a tree, or a single cycle with trees hanging off it.

   The loop below repeats two steps until nothing is pending:

   1. Emit every move whose destination no pending move still reads. Doing so never
      destroys a value anyone needs, and it can free other destinations, so this step
      runs to a fixed point. A tree disappears entirely this way, leaves first.

   2. If nothing could be emitted, every pending destination is still read by another
      pending move, so every remaining move lies on a cycle (the trees hanging off the
      cycles cannot be pending any more: their leaves would have been emitted). Break
      one cycle at one move M (dst d, src s):
        - both general-purpose registers: `xchg d, s`. M is done; d now holds what s
          held and s holds what d held, so pending moves reading d read s instead and
          those reading s read d.
        - otherwise (xmm registers, spill slots): copy d to SCRATCH and let every pending
          move that reads d read SCRATCH. d is then free and step 1 makes progress.
      SCRATCH is needed for one cycle at a time: the cycle it broke has become a tree,
      and step 2 only runs when no tree is left.

   Requirements:
   1. Destinations are distinct, and SCRATCH is not mentioned by any move.
   2. The steps only copy: they never set flags (no `xor r, r`), because the allocator
      may place them between a compare and the branch that reads its flags.
   3. A stack-to-stack COPY is left to the code generator, which has a second scratch
      register of its own for it; this file never needs more than SCRATCH. */

int
lir_parallel_move(const LirLoc *dst, const LirLoc *src, int n, int scratch,
                  LirMoveStep *steps)
{
    enum { PM_MAX = 512 };
    LirLoc pd[PM_MAX], ps[PM_MAX];
    int npending = 0, nsteps = 0;
    for (int k = 0; k < n && npending < PM_MAX; k++) {
        if (!lir_loc_eq(dst[k], src[k])) {
            pd[npending] = dst[k];
            ps[npending] = src[k];
            npending++;
        }
    }
    while (npending > 0) {
        bool progress = false;
        for (int k = 0; k < npending;) {
            bool read = false;
            for (int j = 0; j < npending && !read; j++) {
                read = j != k && lir_loc_eq(ps[j], pd[k]);
            }
            if (read) {
                k++;
                continue;
            }
            steps[nsteps].kind = LIR_MOVE_COPY;
            steps[nsteps].dst = pd[k];
            steps[nsteps].src = ps[k];
            nsteps++;
            pd[k] = pd[npending - 1];
            ps[k] = ps[npending - 1];
            npending--;
            progress = true;
        }
        if (progress || npending == 0) {
            continue;
        }
        LirLoc d = pd[0], s = ps[0];
        if (d.kind == LIR_LOC_REG && s.kind == LIR_LOC_REG && d.index < LIR_XMM0 &&
            s.index < LIR_XMM0) {
            steps[nsteps].kind = LIR_MOVE_SWAP;
            steps[nsteps].dst = d;
            steps[nsteps].src = s;
            nsteps++;
            pd[0] = pd[npending - 1];
            ps[0] = ps[npending - 1];
            npending--;
            for (int j = 0; j < npending; j++) {
                if (lir_loc_eq(ps[j], d)) {
                    ps[j] = s;
                }
                else if (lir_loc_eq(ps[j], s)) {
                    ps[j] = d;
                }
                if (lir_loc_eq(ps[j], pd[j])) {
                    /* the exchange already put this value in place */
                    pd[j] = pd[npending - 1];
                    ps[j] = ps[npending - 1];
                    npending--;
                    j--;
                }
            }
        }
        else {
            LirLoc sc = lir_loc_reg(scratch);
            steps[nsteps].kind = LIR_MOVE_COPY;
            steps[nsteps].dst = sc;
            steps[nsteps].src = d;
            nsteps++;
            for (int j = 0; j < npending; j++) {
                if (lir_loc_eq(ps[j], d)) {
                    ps[j] = sc;
                }
            }
        }
    }
    return nsteps;
}
