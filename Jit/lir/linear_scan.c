/* Linear-scan register allocation on SSA LIR (Wimmer and Franz, "Linear Scan Register
   Allocation on SSA Form", CGO 2010; Wimmer and Moessenboeck, "Optimized Interval
   Splitting in a Linear Scan Register Allocator", VEE 2005). */

#include "Jit/lir/lir.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -- The algorithm, and what the rest of the back end may rely on ----------------------

   Positions. The blocks are laid out in reverse postorder and the instructions numbered
   k = 0, 1, ... in that order. Instruction k owns four positions:
       4k     its gap: parallel moves that must happen before it run here
       4k+1   it reads its inputs
       4k+2   a call clobbers the caller-saved registers
       4k+3   it writes its outputs
   A block covers [4*first, 4*(last+1)). Phis and Args define their value at the start
   of their block, all at once, so the values of one block's phis never share a location.

   Intervals. Every vreg gets an interval: sorted, disjoint half-open ranges (the gaps
   between them are lifetime holes) plus its use positions, built backwards over the
   blocks from iterative liveness sets. SSA makes this simple: a value is defined once,
   so its interval starts at the definition (or at the block start for phis) and the
   phi inputs are live out of the matching predecessor. A call adds a one-position range
   [4k+2, 4k+3) to the interval of call clobbers, which stands for the fixed interval of
   every caller-saved register (they are clobbered at the same positions, and by nothing
   else): a value live across a call cannot stay in such a register, while a call's
   inputs (dead at 4k+2) and outputs (born at 4k+3) can.

   Allocation walks the intervals in order of their start, keeping `active` (covering
   the current position, holding a register) and `inactive` (in a hole) lists:
     - tryFree: free_until[r] is how long r stays free (0 if an active interval has it,
       the first intersection with an inactive or fixed interval otherwise). Take the
       hint register when it is free for the whole interval, else the register free the
       longest. When it is free only for a prefix, split there and requeue the rest.
     - blocked: use_pos[r] is the next use of r's current owners. If every register is
       needed before the interval's own first use, spill it (stack slot) up to just
       before that use; otherwise take the register whose owners' next use is farthest
       away and spill those owners from the current position to their next use.
   A spilled piece is split again before its next use, and the rest requeued, so a value
   that must wait on the stack comes back into a register where it is used.

   Splits only happen at gaps, and never at the gap of the second or later phi or Arg
   of a block (the moves there would run before the block's own entry moves). Every
   piece of an interval (a "child") has one location, a register or the vreg's single
   spill slot. A slot is shared only by vregs whose whole lifetimes are disjoint, so no
   two values live at once ever meet in a slot (see ls_slot_for).

   Resolution then rewrites the function:
     1. every operand gets the location of the child covering its position;
     2. where consecutive children of a vreg meet inside a block and the value is live,
        a ParMove at that gap copies it;
     3. on each edge p -> s, the live-in vregs of s that were split and the phis of s
        are moved from their location at the end of p to their location at the start
        of s: a ParMove before the branch of p (p has one successor), at the top of s
        (s has one predecessor), or else in a new block on the edge, laid out after p.
        Phis then disappear.

   Requirements for the code generator (x86_64.c):
   1. Any operand may be in a spill slot: uses and deopt values are never forced into a
      register (a use only attracts a reload). The generator has r10/r11 and
      xmm14/xmm15 for that.
   2. An output may share a register with an input that dies at the instruction
      (two-address forms must not clobber a later-read input).
   3. A call's arguments may be anywhere; the generator moves them to the ABI
      registers with one parallel move, and the results out of rax/rdx/xmm0/xmm1 with
      another.
   4. All Args of the entry block are one parallel move from the ABI registers. */

#define LS_INF INT_MAX

typedef struct LsRange {
    int from, to;
} LsRange;

typedef struct LsInterval {
    int vreg;
    int cls;
    LsRange *ranges; /* ascending */
    int nranges, rcap;
    int *uses; /* ascending positions */
    int nuses, ucap;
    LirLoc loc;
    int hint;      /* preferred register or -1 */
    int spill_slot; /* parent only: -1 until it spills */
    int vend;       /* parent only: where the vreg's whole lifetime ends */
    struct LsInterval *parent, *next_child;
} LsInterval;

typedef struct LsCtx {
    LirFunc *f;
    LirBlock **order;
    int nblocks;
    LirInstr **linear;
    int ninstrs;
    int *bfrom, *bto;   /* by order index */
    bool *gap_ok;       /* by instruction index */
    LsInterval **vi;    /* parent interval by vreg */
    LsInterval *calls;  /* the call clobbers: a range per call, or NULL */
    int calls_at;       /* ls_intersect_calls's cursor into its ranges */
    int calls_from;     /* and the position it was moved to */
    LsInterval **unhandled; /* sorted by start, descending: pop from the end */
    int nunhandled, ucap;
    LsInterval **active, **inactive;
    int nactive, ninactive, acap;
    uint64_t *live_in; /* nblocks * words */
    int *uses;         /* scratch for ls_used_vregs */
    int *kid_first;    /* by vreg: its first piece in kid_start and kid_loc */
    int *kid_start;    /* every vreg's pieces, by start (resolution) */
    LirLoc *kid_loc;
    int words;
    int nslots;
    int now;           /* the walk's position */
    int *slot_heap;    /* occupied slots, a min-heap by the end of their owner */
    int *slot_end;     /* by slot: end of its current owner's lifetime */
    int *free_slots;   /* slots whose owner is dead */
    int nheap, nfree, slots_cap;
    char *err;
    size_t errlen;
} LsCtx;

static const int ls_gp_order[] = {
    LIR_RAX, LIR_RCX, LIR_RDX, LIR_RSI, LIR_RDI, LIR_R8, LIR_R9,
    LIR_RBX, LIR_R12, LIR_R13, LIR_R14, LIR_R15,
};
static const int ls_gp_caller_saved[] = {
    LIR_RAX, LIR_RCX, LIR_RDX, LIR_RSI, LIR_RDI, LIR_R8, LIR_R9,
};
#define LS_NUM_FP 14 /* xmm0..xmm13; xmm14/15 are scratch */
static const int ls_arg_regs[6] = {LIR_RDI, LIR_RSI, LIR_RDX, LIR_RCX, LIR_R8, LIR_R9};

/* -- Intervals --------------------------------------------------------------------- */

static LsInterval *
ls_interval_new(LsCtx *c, int vreg, int cls)
{
    LsInterval *it = lir_alloc(c->f, sizeof(LsInterval));
    it->vreg = vreg;
    it->cls = cls;
    it->hint = -1;
    it->spill_slot = -1;
    return it;
}

static int
ls_start(const LsInterval *it)
{
    return it->ranges[0].from;
}

static int
ls_end(const LsInterval *it)
{
    return it->ranges[it->nranges - 1].to;
}

static void *
ls_grow(LsCtx *c, void *arr, int *cap, int need, size_t elem)
{
    if (need <= *cap) {
        return arr;
    }
    int ncap = *cap ? *cap * 2 : 4;
    while (ncap < need) {
        ncap *= 2;
    }
    void *n = lir_alloc(c->f, elem * (size_t)ncap);
    if (arr) {
        memcpy(n, arr, elem * (size_t)*cap);
    }
    *cap = ncap;
    return n;
}

/* Adds [from, to) while building backwards: ranges arrive in descending order and are
   kept descending until ls_finish_interval reverses them. */
static void
ls_add_range(LsCtx *c, LsInterval *it, int from, int to)
{
    if (it->nranges > 0) {
        LsRange *last = &it->ranges[it->nranges - 1];
        if (to >= last->from && from <= last->to) {
            last->from = from < last->from ? from : last->from;
            last->to = to > last->to ? to : last->to;
            return;
        }
    }
    it->ranges = ls_grow(c, it->ranges, &it->rcap, it->nranges + 1, sizeof(LsRange));
    it->ranges[it->nranges].from = from;
    it->ranges[it->nranges].to = to;
    it->nranges++;
}

static void
ls_add_use(LsCtx *c, LsInterval *it, int pos)
{
    it->uses = ls_grow(c, it->uses, &it->ucap, it->nuses + 1, sizeof(int));
    it->uses[it->nuses++] = pos;
}

static void
ls_finish_interval(LsInterval *it)
{
    for (int a = 0, b = it->nranges - 1; a < b; a++, b--) {
        LsRange t = it->ranges[a];
        it->ranges[a] = it->ranges[b];
        it->ranges[b] = t;
    }
    for (int a = 0, b = it->nuses - 1; a < b; a++, b--) {
        int t = it->uses[a];
        it->uses[a] = it->uses[b];
        it->uses[b] = t;
    }
}

static bool
ls_covers(const LsInterval *it, int pos)
{
    for (int k = 0; k < it->nranges; k++) {
        if (pos < it->ranges[k].from) {
            return false;
        }
        if (pos < it->ranges[k].to) {
            return true;
        }
    }
    return false;
}

/* The first of IT's ranges that ends after POS (binary search: the fixed intervals of
   the call-clobbered registers have a range per call). */
static int
ls_first_range_after(const LsInterval *it, int pos)
{
    int lo = 0, hi = it->nranges;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (it->ranges[mid].to <= pos) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    return lo;
}

/* First position covered by both A's ranges from I on and B's from J on, or LS_INF. */
static int
ls_intersect_from(const LsInterval *a, int i, const LsInterval *b, int j)
{
    while (i < a->nranges && j < b->nranges) {
        const LsRange *ra = &a->ranges[i], *rb = &b->ranges[j];
        if (ra->to <= rb->from) {
            i++;
        }
        else if (rb->to <= ra->from) {
            j++;
        }
        else {
            return ra->from > rb->from ? ra->from : rb->from;
        }
    }
    return LS_INF;
}

/* First position covered by both, or LS_INF. */
static int
ls_intersect(const LsInterval *a, const LsInterval *b)
{
    if (a->nranges == 0 || b->nranges == 0) {
        return LS_INF;
    }
    int start = a->ranges[0].from > b->ranges[0].from ? a->ranges[0].from : b->ranges[0].from;
    return ls_intersect_from(a, ls_first_range_after(a, start), b,
                             ls_first_range_after(b, start));
}

/* The first call that clobbers the caller-saved registers while CUR is live (an
   intersection with the call clobbers), or LS_INF. Intervals are allocated in order of
   their start, so a cursor that moves forward finds the first range that matters. */
static int
ls_intersect_calls(LsCtx *c, const LsInterval *cur)
{
    const LsInterval *f = c->calls;
    if (f == NULL || cur->nranges == 0) {
        return LS_INF;
    }
    int s = ls_start(cur), j = c->calls_at;
    if (s < c->calls_from) {
        j = ls_first_range_after(f, s);
    }
    else {
        while (j < f->nranges && f->ranges[j].to <= s) {
            j++;
        }
    }
    c->calls_at = j;
    c->calls_from = s;
    return ls_intersect_from(cur, 0, f, j);
}

static int
ls_next_use(const LsInterval *it, int pos)
{
    for (int k = 0; k < it->nuses; k++) {
        if (it->uses[k] >= pos) {
            return it->uses[k];
        }
    }
    return LS_INF;
}

/* The last gap at or before POS where moves may be placed. */
static int
ls_gap_before(LsCtx *c, int pos)
{
    int k = pos / 4;
    if (k >= c->ninstrs) {
        k = c->ninstrs - 1;
    }
    while (k > 0 && !c->gap_ok[k]) {
        k--;
    }
    return 4 * k;
}

/* Splits IT at gap POS (start < POS < end) and returns the new child, which holds
   everything from POS on. */
static LsInterval *
ls_split(LsCtx *c, LsInterval *it, int pos)
{
    LsInterval *child = ls_interval_new(c, it->vreg, it->cls);
    LsInterval *parent = it->parent ? it->parent : it;
    child->parent = parent;
    child->hint = it->hint;
    int k = 0;
    while (k < it->nranges && it->ranges[k].to <= pos) {
        k++;
    }
    int keep = k;
    if (k < it->nranges && it->ranges[k].from < pos) {
        ls_add_range(c, child, pos, it->ranges[k].to);
        it->ranges[k].to = pos;
        keep = k + 1;
        k++;
    }
    for (; k < it->nranges; k++) {
        ls_add_range(c, child, it->ranges[k].from, it->ranges[k].to);
    }
    it->nranges = keep;
    int u = 0;
    while (u < it->nuses && it->uses[u] < pos) {
        u++;
    }
    for (int j = u; j < it->nuses; j++) {
        ls_add_use(c, child, it->uses[j]);
    }
    it->nuses = u;
    child->next_child = it->next_child;
    it->next_child = child;
    return child;
}

/* -- Queues ------------------------------------------------------------------------- */

static void
ls_unhandled_push(LsCtx *c, LsInterval *it)
{
    c->unhandled = ls_grow(c, c->unhandled, &c->ucap, c->nunhandled + 1,
                           sizeof(LsInterval *));
    /* Descending by start: find the first entry starting before IT, insert there. */
    int s = ls_start(it), lo = 0, hi = c->nunhandled;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (ls_start(c->unhandled[mid]) < s) {
            hi = mid;
        }
        else {
            lo = mid + 1;
        }
    }
    memmove(&c->unhandled[lo + 1], &c->unhandled[lo],
            sizeof(LsInterval *) * (size_t)(c->nunhandled - lo));
    c->unhandled[lo] = it;
    c->nunhandled++;
}

static void
ls_list_remove(LsInterval **list, int *n, int k)
{
    list[k] = list[--*n];
}

/* Spill slots are shared by vregs whose lifetimes do not overlap. A slot is taken by
   its vreg's first spilled piece and kept until the vreg's whole lifetime ends. Every
   piece spilled from now on starts at or after ls_gap_before(now), so a slot whose owner
   died by then is free for good. */
static void
ls_heap_swap(LsCtx *c, int a, int b)
{
    int t = c->slot_heap[a];
    c->slot_heap[a] = c->slot_heap[b];
    c->slot_heap[b] = t;
}

static int
ls_heap_end(LsCtx *c, int k)
{
    return c->slot_end[c->slot_heap[k]];
}

static void
ls_heap_push(LsCtx *c, int slot)
{
    int k = c->nheap++;
    c->slot_heap[k] = slot;
    while (k > 0 && ls_heap_end(c, (k - 1) / 2) > ls_heap_end(c, k)) {
        ls_heap_swap(c, k, (k - 1) / 2);
        k = (k - 1) / 2;
    }
}

static int
ls_heap_pop(LsCtx *c)
{
    int top = c->slot_heap[0];
    c->slot_heap[0] = c->slot_heap[--c->nheap];
    for (int k = 0;;) {
        int l = 2 * k + 1, r = l + 1, m = k;
        if (l < c->nheap && ls_heap_end(c, l) < ls_heap_end(c, m)) {
            m = l;
        }
        if (r < c->nheap && ls_heap_end(c, r) < ls_heap_end(c, m)) {
            m = r;
        }
        if (m == k) {
            break;
        }
        ls_heap_swap(c, k, m);
        k = m;
    }
    return top;
}

static int
ls_slot_for(LsCtx *c, LsInterval *it)
{
    LsInterval *p = it->parent ? it->parent : it;
    if (p->spill_slot >= 0) {
        return p->spill_slot;
    }
    int limit = ls_gap_before(c, c->now);
    while (c->nheap > 0 && ls_heap_end(c, 0) <= limit) {
        c->free_slots[c->nfree++] = ls_heap_pop(c);
    }
    int slot;
    if (c->nfree > 0) {
        slot = c->free_slots[--c->nfree];
    }
    else {
        slot = c->nslots++;
        if (slot >= c->slots_cap) {
            int cap = c->slots_cap ? 2 * c->slots_cap : 64;
            int *heap = lir_alloc(c->f, sizeof(int) * (size_t)cap);
            int *end = lir_alloc(c->f, sizeof(int) * (size_t)cap);
            int *fr = lir_alloc(c->f, sizeof(int) * (size_t)cap);
            if (c->slots_cap) {
                memcpy(heap, c->slot_heap, sizeof(int) * (size_t)c->slots_cap);
                memcpy(end, c->slot_end, sizeof(int) * (size_t)c->slots_cap);
                memcpy(fr, c->free_slots, sizeof(int) * (size_t)c->slots_cap);
            }
            c->slot_heap = heap;
            c->slot_end = end;
            c->free_slots = fr;
            c->slots_cap = cap;
        }
    }
    c->slot_end[slot] = p->vend;
    ls_heap_push(c, slot);
    p->spill_slot = slot;
    return slot;
}

/* IT (a piece now living in a spill slot, or about to) goes back to a register before
   its next use at or after MIN that leaves room for a move: split there, requeue. */
static void
ls_spill_and_requeue_rest(LsCtx *c, LsInterval *it, int min)
{
    it->loc = lir_loc_stack(ls_slot_for(c, it));
    for (int k = 0; k < it->nuses; k++) {
        int g = ls_gap_before(c, it->uses[k]);
        if (g > ls_start(it) && g >= min && g < ls_end(it)) {
            ls_unhandled_push(c, ls_split(c, it, g));
            return;
        }
    }
}

/* -- Allocation --------------------------------------------------------------------- */

/* Whether a call clobbers physical register R. */
static bool
ls_caller_saved(int r)
{
    static uint64_t mask;
    if (mask == 0) {
        for (int k = 0; k < LS_NUM_FP; k++) {
            mask |= 1ull << (LIR_XMM0 + k);
        }
        for (size_t j = 0; j < sizeof ls_gp_caller_saved / sizeof(int); j++) {
            mask |= 1ull << ls_gp_caller_saved[j];
        }
    }
    return (mask >> r) & 1;
}

static int
ls_regs(int cls, const int **order)
{
    static const int fp_order[LS_NUM_FP] = {16, 17, 18, 19, 20, 21, 22,
                                            23, 24, 25, 26, 27, 28, 29};
    *order = cls == LIR_FP ? fp_order : ls_gp_order;
    return cls == LIR_FP ? LS_NUM_FP : (int)(sizeof ls_gp_order / sizeof(int));
}

static bool
ls_try_free(LsCtx *c, LsInterval *cur)
{
    int free_until[LIR_NUM_REGS];
    const int *order;
    int nregs = ls_regs(cur->cls, &order);
    int clobbered = ls_intersect_calls(c, cur);
    for (int k = 0; k < nregs; k++) {
        int r = order[k];
        free_until[r] = ls_caller_saved(r) ? clobbered : LS_INF;
    }
    for (int k = 0; k < c->nactive; k++) {
        if (c->active[k]->cls == cur->cls) {
            free_until[c->active[k]->loc.index] = 0;
        }
    }
    for (int k = 0; k < c->ninactive; k++) {
        LsInterval *it = c->inactive[k];
        if (it->cls == cur->cls) {
            int p = ls_intersect(it, cur);
            if (p < free_until[it->loc.index]) {
                free_until[it->loc.index] = p;
            }
        }
    }
    int end = ls_end(cur), best = order[0];
    if (cur->hint >= 0 && free_until[cur->hint] >= end) {
        best = cur->hint;
    }
    else {
        for (int k = 1; k < nregs; k++) {
            if (free_until[order[k]] > free_until[best]) {
                best = order[k];
            }
        }
    }
    if (free_until[best] >= end) {
        cur->loc = lir_loc_reg(best);
        return true;
    }
    int split = ls_gap_before(c, free_until[best]);
    if (split <= ls_start(cur)) {
        return false;
    }
    cur->loc = lir_loc_reg(best);
    ls_unhandled_push(c, ls_split(c, cur, split));
    return true;
}

/* Evicts IT (holding the register cur wants) from POS on. */
static void
ls_evict(LsCtx *c, LsInterval *it, int pos, int now)
{
    int g = ls_gap_before(c, pos);
    if (g <= ls_start(it)) {
        ls_spill_and_requeue_rest(c, it, now);
        return;
    }
    LsInterval *rest = ls_split(c, it, g);
    ls_spill_and_requeue_rest(c, rest, now);
}

static void
ls_alloc_blocked(LsCtx *c, LsInterval *cur)
{
    int use_pos[LIR_NUM_REGS], block_pos[LIR_NUM_REGS];
    const int *order;
    int nregs = ls_regs(cur->cls, &order);
    int start = ls_start(cur);
    int clobbered = ls_intersect_calls(c, cur);
    for (int k = 0; k < nregs; k++) {
        int r = order[k];
        block_pos[r] = ls_caller_saved(r) ? clobbered : LS_INF;
        use_pos[r] = block_pos[r];
    }
    for (int k = 0; k < c->nactive; k++) {
        LsInterval *it = c->active[k];
        if (it->cls == cur->cls) {
            int u = ls_next_use(it, start);
            if (u < use_pos[it->loc.index]) {
                use_pos[it->loc.index] = u;
            }
        }
    }
    for (int k = 0; k < c->ninactive; k++) {
        LsInterval *it = c->inactive[k];
        if (it->cls == cur->cls && ls_intersect(it, cur) != LS_INF) {
            int u = ls_next_use(it, start);
            if (u < use_pos[it->loc.index]) {
                use_pos[it->loc.index] = u;
            }
        }
    }
    int best = order[0];
    for (int k = 1; k < nregs; k++) {
        if (use_pos[order[k]] > use_pos[best]) {
            best = order[k];
        }
    }
    int first_use = ls_next_use(cur, start);
    int must_split = block_pos[best] == LS_INF ? LS_INF
                                               : ls_gap_before(c, block_pos[best]);
    if (use_pos[best] <= first_use || must_split <= start) {
        /* Everyone needs their register sooner than cur: cur waits on the stack. */
        ls_spill_and_requeue_rest(c, cur, start);
        return;
    }
    cur->loc = lir_loc_reg(best);
    if (block_pos[best] < ls_end(cur)) {
        ls_unhandled_push(c, ls_split(c, cur, must_split));
    }
    for (int k = 0; k < c->nactive; k++) {
        LsInterval *it = c->active[k];
        if (it->cls == cur->cls && it->loc.index == best) {
            ls_list_remove(c->active, &c->nactive, k);
            ls_evict(c, it, start, start);
            break;
        }
    }
    for (int k = 0; k < c->ninactive; k++) {
        LsInterval *it = c->inactive[k];
        int p;
        if (it->cls == cur->cls && it->loc.index == best &&
            (p = ls_intersect(it, cur)) != LS_INF) {
            ls_list_remove(c->inactive, &c->ninactive, k);
            k--;
            ls_evict(c, it, p, start);
            if (it->loc.kind == LIR_LOC_REG) {
                c->inactive[c->ninactive++] = it; /* its head keeps the register */
            }
        }
    }
}

static void
ls_walk(LsCtx *c)
{
    /* A vreg's pieces cover disjoint spans, so at most one of them is active or
       inactive at any position: the lists never hold more than nvregs intervals. */
    c->acap = c->f->nvregs + 16;
    c->active = lir_alloc(c->f, sizeof(LsInterval *) * c->acap);
    c->inactive = lir_alloc(c->f, sizeof(LsInterval *) * c->acap);
    while (c->nunhandled > 0) {
        LsInterval *cur = c->unhandled[--c->nunhandled];
        int pos = ls_start(cur);
        c->now = pos;
        for (int k = 0; k < c->nactive; k++) {
            LsInterval *it = c->active[k];
            if (ls_end(it) <= pos) {
                ls_list_remove(c->active, &c->nactive, k--);
            }
            else if (!ls_covers(it, pos)) {
                ls_list_remove(c->active, &c->nactive, k--);
                c->inactive[c->ninactive++] = it;
            }
        }
        for (int k = 0; k < c->ninactive; k++) {
            LsInterval *it = c->inactive[k];
            if (ls_end(it) <= pos) {
                ls_list_remove(c->inactive, &c->ninactive, k--);
            }
            else if (ls_covers(it, pos)) {
                ls_list_remove(c->inactive, &c->ninactive, k--);
                c->active[c->nactive++] = it;
            }
        }
        if (cur->loc.kind == LIR_LOC_STACK) {
            continue; /* already decided by ls_spill_and_requeue_rest */
        }
        if (!ls_try_free(c, cur)) {
            ls_alloc_blocked(c, cur);
        }
        if (cur->loc.kind == LIR_LOC_REG) {
            c->active[c->nactive++] = cur;
            c->f->used_regs |= 1u << cur->loc.index;
        }
    }
}

/* -- Building: order, liveness, intervals ------------------------------ */

static void
ls_set_bit(uint64_t *set, int v)
{
    set[v / 64] |= 1ull << (v % 64);
}

/* for each V set in the bit set SET of WORDS words, in increasing order */
#define LS_FOR_EACH_BIT(set, words, v)                                                 \
    for (int ls_w_ = 0; ls_w_ < (words); ls_w_++)                                      \
        for (uint64_t ls_b_ = (set)[ls_w_];                                            \
             ls_b_ != 0 && ((v) = ls_w_ * 64 + __builtin_ctzll(ls_b_), true);          \
             ls_b_ &= ls_b_ - 1)

/* The vregs instruction I reads (memory bases and indexes and deopt values included),
   into OUT (room for 2 * lir_instr_nuses(i)); returns how many. */
static int
ls_used_vregs(LirInstr *i, int *out)
{
    int n = 0, nu = lir_instr_nuses(i);
    for (int u = 0; u < nu; u++) {
        const LirOperand *o = lir_instr_use_at(i, u);
        if ((o->kind == LIR_OPND_VREG || o->kind == LIR_OPND_MEM) && o->vreg >= 0) {
            out[n++] = o->vreg;
        }
        if (o->kind == LIR_OPND_MEM && o->index >= 0) {
            out[n++] = o->index;
        }
    }
    return n;
}

/* live_in[b] = uses before definition in b, plus (live_out[b] - defs in b), where
   live_out[b] is the union of the successors' live_in and their phi inputs from b. The
   first two sets (gen and kill) are computed once per block; only the union iterates. */
static void
ls_liveness(LsCtx *c)
{
    int w = c->words = (c->f->nvregs + 63) / 64 + 1;
    c->live_in = lir_alloc(c->f, sizeof(uint64_t) * w * c->nblocks);
    uint64_t *gen = lir_alloc(c->f, sizeof(uint64_t) * w * c->nblocks);
    uint64_t *kill = lir_alloc(c->f, sizeof(uint64_t) * w * c->nblocks);
    for (int k = 0; k < c->nblocks; k++) {
        uint64_t *g = &gen[k * w], *d = &kill[k * w];
        for (LirInstr *i = c->order[k]->last; i; i = i->prev) {
            for (int o = 0; o < i->nout; o++) {
                int v = i->out[o].vreg;
                g[v / 64] &= ~(1ull << (v % 64));
                ls_set_bit(d, v);
            }
            if (i->op == LIR_Phi) {
                continue;
            }
            int nv = ls_used_vregs(i, c->uses);
            for (int u = 0; u < nv; u++) {
                ls_set_bit(g, c->uses[u]);
            }
        }
    }
    uint64_t *live = malloc(sizeof(uint64_t) * w);
    for (bool changed = true; changed;) {
        changed = false;
        for (int k = c->nblocks - 1; k >= 0; k--) {
            LirBlock *b = c->order[k];
            memset(live, 0, sizeof(uint64_t) * w);
            int nsucc;
            lir_block_succ(b, 0, &nsucc);
            for (int s = 0; s < nsucc; s++) {
                LirBlock *t = b->last->targets[s];
                for (int j = 0; j < w; j++) {
                    live[j] |= c->live_in[t->order * w + j];
                }
                for (LirInstr *i = t->first; i && i->op == LIR_Phi; i = i->next) {
                    for (int p = 0; p < i->nin; p++) {
                        if (i->targets[p] == b && i->in[p].kind == LIR_OPND_VREG) {
                            ls_set_bit(live, i->in[p].vreg);
                        }
                    }
                }
            }
            uint64_t *in = &c->live_in[k * w];
            const uint64_t *g = &gen[k * w], *d = &kill[k * w];
            for (int j = 0; j < w; j++) {
                uint64_t x = g[j] | (live[j] & ~d[j]);
                if (in[j] != x) {
                    in[j] = x;
                    changed = true;
                }
            }
        }
    }
    free(live);
}

static LsInterval *
ls_vi(LsCtx *c, int v)
{
    if (c->vi[v] == NULL) {
        c->vi[v] = ls_interval_new(c, v, lir_vreg_class(c->f, v));
    }
    return c->vi[v];
}

static void
ls_build_intervals(LsCtx *c)
{
    int w = c->words;
    for (int k = c->nblocks - 1; k >= 0; k--) {
        LirBlock *b = c->order[k];
        int from = c->bfrom[k], to = c->bto[k];
        /* live out = successors' live in + phi inputs from b */
        int nsucc;
        lir_block_succ(b, 0, &nsucc);
        for (int s = 0; s < nsucc; s++) {
            LirBlock *t = b->last->targets[s];
            int v;
            LS_FOR_EACH_BIT(&c->live_in[t->order * w], w, v) {
                ls_add_range(c, ls_vi(c, v), from, to);
            }
            for (LirInstr *i = t->first; i && i->op == LIR_Phi; i = i->next) {
                for (int p = 0; p < i->nin; p++) {
                    if (i->targets[p] == b && i->in[p].kind == LIR_OPND_VREG) {
                        LsInterval *it = ls_vi(c, i->in[p].vreg);
                        ls_add_range(c, it, from, to);
                        ls_add_use(c, it, to - 1);
                    }
                }
            }
        }
        for (LirInstr *i = b->last; i; i = i->prev) {
            int pos = i->pos;
            bool at_start = i->op == LIR_Phi || i->op == LIR_Arg;
            int def = at_start ? from : pos + 3;
            for (int o = 0; o < i->nout; o++) {
                LsInterval *it = ls_vi(c, i->out[o].vreg);
                if (it->nranges > 0 && it->ranges[it->nranges - 1].from <= def &&
                    it->ranges[it->nranges - 1].to > def) {
                    it->ranges[it->nranges - 1].from = def;
                }
                else {
                    int dead_to = def + 1;
                    if (i->op == LIR_Arg) {
                        /* All Args are one parallel move: keep them apart. */
                        LirInstr *last = i;
                        while (last->next && last->next->op == LIR_Arg) {
                            last = last->next;
                        }
                        dead_to = last->pos + 4;
                    }
                    ls_add_range(c, it, def, dead_to);
                }
                ls_add_use(c, it, def);
                if (i->op == LIR_Arg) {
                    bool fp = lir_vreg_class(c->f, i->out[o].vreg) == LIR_FP;
                    int idx = (int)i->in[0].imm;
                    it->hint = fp ? (idx < 8 ? LIR_XMM0 + idx : -1)
                                  : (idx < 6 ? ls_arg_regs[idx] : -1);
                }
                else if (i->op == LIR_Call) {
                    bool fp = lir_vreg_class(c->f, i->out[o].vreg) == LIR_FP;
                    it->hint = fp ? LIR_XMM0 + o : (o ? LIR_RDX : LIR_RAX);
                }
            }
            if (i->op == LIR_Phi) {
                continue;
            }
            int nv = ls_used_vregs(i, c->uses);
            for (int u = 0; u < nv; u++) {
                LsInterval *it = ls_vi(c, c->uses[u]);
                ls_add_range(c, it, from, pos + 2);
                ls_add_use(c, it, pos + 1);
            }
            if (lir_op_has(i->op, LF_CALL)) {
                if (c->calls == NULL) {
                    c->calls = ls_interval_new(c, -1, LIR_GP);
                }
                ls_add_range(c, c->calls, pos + 2, pos + 3);
            }
        }
    }
    if (c->calls) {
        ls_finish_interval(c->calls);
    }
    int last_start = 0;
    for (int v = 0; v < c->f->nvregs; v++) {
        if (c->vi[v] != NULL) {
            ls_finish_interval(c->vi[v]);
            c->vi[v]->vend = ls_end(c->vi[v]);
            if (ls_start(c->vi[v]) > last_start) {
                last_start = ls_start(c->vi[v]);
            }
        }
    }
    /* The intervals by start, descending (the allocator pops from the end), and by vreg
       among equal starts: a counting sort, since starts are positions. first[s] is
       where the intervals starting at s go. */
    int *first = lir_alloc(c->f, sizeof(int) * (size_t)(last_start + 1));
    for (int v = 0; v < c->f->nvregs; v++) {
        if (c->vi[v] != NULL) {
            first[ls_start(c->vi[v])]++;
            c->nunhandled++;
        }
    }
    for (int s = last_start, later = 0; s >= 0; s--) {
        int n = first[s];
        first[s] = later;
        later += n;
    }
    c->unhandled = lir_alloc(c->f, sizeof(LsInterval *) * (size_t)(c->f->nvregs + 1));
    c->ucap = c->f->nvregs + 1;
    for (int v = 0; v < c->f->nvregs; v++) {
        if (c->vi[v] != NULL) {
            c->unhandled[first[ls_start(c->vi[v])]++] = c->vi[v];
        }
    }
}

/* -- Resolution ---------------------------------------------------------------------- */

/* Indexes every vreg's pieces by start, for ls_loc_at. */
static void
ls_index_children(LsCtx *c)
{
    int n = c->f->nvregs;
    c->kid_first = lir_alloc(c->f, sizeof(int) * (size_t)(n + 1));
    int total = 0;
    for (int v = 0; v < n; v++) {
        c->kid_first[v] = total;
        for (LsInterval *it = c->vi[v]; it != NULL; it = it->next_child) {
            total++;
        }
    }
    c->kid_first[n] = total;
    c->kid_start = lir_alloc(c->f, sizeof(int) * (size_t)(total + 1));
    c->kid_loc = lir_alloc(c->f, sizeof(LirLoc) * (size_t)(total + 1));
    for (int v = 0; v < n; v++) {
        int k = c->kid_first[v];
        for (LsInterval *it = c->vi[v]; it != NULL; it = it->next_child, k++) {
            c->kid_start[k] = ls_start(it);
            c->kid_loc[k] = it->loc;
        }
    }
}

/* The location of V at POS: that of its last piece starting at or before POS. */
static LirLoc
ls_loc_at(LsCtx *c, int v, int pos)
{
    int lo = c->kid_first[v], hi = c->kid_first[v + 1] - 1;
    int best = lo;
    if (lo == hi) {
        return c->kid_loc[lo];   /* most vregs are never split */
    }
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (c->kid_start[mid] <= pos) {
            best = mid;
            lo = mid + 1;
        }
        else {
            hi = mid - 1;
        }
    }
    return c->kid_loc[best];
}

typedef struct LsMoves {
    LirOperand *dst, *src;
    int n, cap;
} LsMoves;

static void
ls_moves_add(LsCtx *c, LsMoves *m, int dv, LirLoc dst, int sv, LirLoc src)
{
    if (lir_loc_eq(dst, src)) {
        return;
    }
    int cap = m->cap;
    m->dst = ls_grow(c, m->dst, &cap, m->n + 1, sizeof(LirOperand));
    m->src = ls_grow(c, m->src, &m->cap, m->n + 1, sizeof(LirOperand));
    m->dst[m->n] = lir_vreg(dv);
    m->dst[m->n].loc = dst;
    m->src[m->n] = lir_vreg(sv);
    m->src[m->n].loc = src;
    m->n++;
}

static void
ls_insert_moves(LsCtx *c, LsMoves *m, LirInstr *before, LirBlock *at_end)
{
    if (m->n == 0) {
        return;
    }
    LirInstr *pm = lir_instr_new(c->f, LIR_ParMove, m->n, m->n, 0);
    memcpy(pm->out, m->dst, sizeof(LirOperand) * m->n);
    memcpy(pm->in, m->src, sizeof(LirOperand) * m->n);
    if (before != NULL) {
        lir_instr_insert_before(before, pm);
    }
    else {
        lir_block_append(at_end, pm);
    }
    m->n = 0;
}

/* Puts the blocks made for critical edges (MIDS: pairs of the edge's source and the new
   block, by source order) right after their source, and renumbers the layout. */
static void
ls_place_edge_blocks(LsCtx *c, LirBlock **mids, int nmids)
{
    LirFunc *f = c->f;
    if (nmids == 0) {
        return;
    }
    LirBlock **blocks = lir_alloc(f, sizeof(LirBlock *) * (size_t)f->nblocks);
    int n = 0, m = 0;
    for (int k = 0; k < c->nblocks; k++) {
        blocks[n++] = c->order[k];
        while (m < nmids && mids[m] == c->order[k]) {
            blocks[n++] = mids[m + 1];
            m += 2;
        }
    }
    for (int k = 0; k < n; k++) {
        blocks[k]->order = k;
    }
    memcpy(f->blocks, blocks, sizeof(LirBlock *) * (size_t)n);
    f->nblocks = n;
    lir_func_compute_preds(f);
}

static void
ls_resolve(LsCtx *c)
{
    LirFunc *f = c->f;
    ls_index_children(c);
    /* 1. Operand locations. */
    for (int k = 0; k < c->ninstrs; k++) {
        LirInstr *i = c->linear[k];
        int bfrom = c->bfrom[i->block->order];
        bool at_start = i->op == LIR_Phi || i->op == LIR_Arg;
        for (int o = 0; o < i->nout; o++) {
            i->out[o].loc = ls_loc_at(c, i->out[o].vreg, at_start ? bfrom : i->pos + 3);
        }
        if (i->op == LIR_Phi) {
            continue;
        }
        int nu = lir_instr_nuses(i);
        for (int u = 0; u < nu; u++) {
            LirOperand *op = lir_instr_use_at(i, u);
            if (op->kind == LIR_OPND_VREG || (op->kind == LIR_OPND_MEM && op->vreg >= 0)) {
                op->loc = ls_loc_at(c, op->vreg, i->pos + 1);
            }
            if (op->kind == LIR_OPND_MEM && op->index >= 0) {
                op->index_loc = ls_loc_at(c, op->index, i->pos + 1);
            }
        }
    }
    /* 2. Moves between the pieces of split intervals, inside blocks. */
    bool *block_start = lir_alloc(f, sizeof(bool) * (c->ninstrs + 1));
    for (int b = 0; b < c->nblocks; b++) {
        block_start[c->bfrom[b] / 4] = true;
    }
    LsMoves *at = lir_alloc(f, sizeof(LsMoves) * (c->ninstrs + 1));
    for (int v = 0; v < f->nvregs; v++) {
        for (LsInterval *it = c->vi[v]; it && it->next_child; it = it->next_child) {
            LsInterval *ch = it->next_child;
            int gap = ls_start(ch);
            if (gap % 4 == 0 && ls_end(it) == gap && !block_start[gap / 4]) {
                ls_moves_add(c, &at[gap / 4], v, ch->loc, v, it->loc);
            }
        }
    }
    for (int k = 0; k < c->ninstrs; k++) {
        ls_insert_moves(c, &at[k], c->linear[k], NULL);
    }
    LsMoves m = {0};
    /* 3. Edges: live-in values and phis. Only a vreg that was split can be in different
       places at the two ends of an edge. */
    uint64_t *split = lir_alloc(f, sizeof(uint64_t) * c->words);
    for (int v = 0; v < f->nvregs; v++) {
        if (c->vi[v] != NULL && c->vi[v]->next_child != NULL) {
            ls_set_bit(split, v);
        }
    }
    LirBlock **mids = lir_alloc(f, sizeof(LirBlock *) * (size_t)(2 * c->nblocks + 1));
    int nmids = 0;
    for (int k = 0; k < c->nblocks; k++) {
        LirBlock *p = c->order[k];
        int nsucc;
        lir_block_succ(p, 0, &nsucc);
        for (int s = 0; s < nsucc; s++) {
            LirBlock *t = p->last->targets[s];
            int pend = c->bto[k] - 1, tstart = c->bfrom[t->order];
            const uint64_t *live = &c->live_in[t->order * c->words];
            for (int w = 0; w < c->words; w++) {
                for (uint64_t bits = live[w] & split[w]; bits != 0; bits &= bits - 1) {
                    int v = w * 64 + __builtin_ctzll(bits);
                    ls_moves_add(c, &m, v, ls_loc_at(c, v, tstart), v, ls_loc_at(c, v, pend));
                }
            }
            for (LirInstr *i = t->first; i && i->op == LIR_Phi; i = i->next) {
                for (int j = 0; j < i->nin; j++) {
                    if (i->targets[j] != p) {
                        continue;
                    }
                    int v = i->out[0].vreg;
                    LirOperand *in = &i->in[j];
                    if (in->kind == LIR_OPND_VREG) {
                        in->loc = ls_loc_at(c, in->vreg, pend);
                        ls_moves_add(c, &m, v, i->out[0].loc, in->vreg, in->loc);
                    }
                }
            }
            if (m.n == 0) {
                continue;
            }
            if (nsucc == 1) {
                ls_insert_moves(c, &m, p->last, NULL);
            }
            else if (t->npreds == 1) {
                LirInstr *first = t->first;
                while (first && first->op == LIR_Phi) {
                    first = first->next;
                }
                ls_insert_moves(c, &m, first, t);
            }
            else {
                /* A critical edge: the moves get a block of their own, laid out after P. */
                LirBlock *mid = lir_block_new(f);
                mid->cold = p->cold || t->cold;
                ls_insert_moves(c, &m, NULL, mid);
                lir_branch(f, mid, t);
                p->last->targets[s] = mid;
                mids[nmids++] = p;
                mids[nmids++] = mid;
            }
        }
    }
    ls_place_edge_blocks(c, mids, nmids);
    for (int k = 0; k < c->nblocks; k++) {
        LirBlock *b = c->order[k];
        while (b->first && b->first->op == LIR_Phi) {
            lir_instr_remove(b->first);
        }
    }
}

/* -- Driver --------------------------------------------------------------------------- */

int
lir_regalloc(LirFunc *f, char *err, size_t errlen)
{
    LsCtx c = {0};
    c.f = f;
    c.err = err;
    c.errlen = errlen;
    err[0] = '\0';
    if (f->allocated) {
        snprintf(err, errlen, "already allocated");
        return -1;
    }
    lir_func_compute_preds(f);
    c.order = lir_alloc(f, sizeof(LirBlock *) * f->nblocks);
    c.nblocks = lir_func_rpo(f, c.order);
    /* Unreachable blocks are dropped: nothing can branch to them. */
    memcpy(f->blocks, c.order, sizeof(LirBlock *) * c.nblocks);
    f->nblocks = c.nblocks;
    c.bfrom = lir_alloc(f, sizeof(int) * c.nblocks);
    c.bto = lir_alloc(f, sizeof(int) * c.nblocks);
    for (int k = 0; k < c.nblocks; k++) {
        for (LirInstr *i = c.order[k]->first; i; i = i->next) {
            c.ninstrs++;
        }
    }
    c.linear = lir_alloc(f, sizeof(LirInstr *) * (c.ninstrs + 1));
    c.gap_ok = lir_alloc(f, sizeof(bool) * (c.ninstrs + 1));
    int n = 0, max_uses = 0;
    for (int k = 0; k < c.nblocks; k++) {
        for (LirInstr *i = c.order[k]->first; i; i = i->next) {
            int nu = lir_instr_nuses(i);
            max_uses = nu > max_uses ? nu : max_uses;
        }
    }
    c.uses = lir_alloc(f, sizeof(int) * (2 * max_uses + 1));
    for (int k = 0; k < c.nblocks; k++) {
        c.bfrom[k] = 4 * n;
        for (LirInstr *i = c.order[k]->first; i; i = i->next) {
            bool prologue = (i->op == LIR_Phi || i->op == LIR_Arg) && i->prev &&
                            i->prev->op == i->op;
            c.gap_ok[n] = !prologue;
            i->pos = 4 * n;
            c.linear[n++] = i;
        }
        c.bto[k] = 4 * n;
    }
    c.vi = lir_alloc(f, sizeof(LsInterval *) * (f->nvregs + 1));
    ls_liveness(&c);
    ls_build_intervals(&c);
    ls_walk(&c);
    ls_resolve(&c);
    f->nspill_slots = c.nslots;
    f->allocated = true;
    return 0;
}
