/* Refcount insertion: adds every Incref, Decref and XDecref, and tells each deopt exit how
   to hand references to the frame. Runs after all optimisation; nothing before it writes
   refcount operations. Design notes: CinderDoc/jit_hir.rst.

   The model. Every value of an object type is a reference of one of these kinds, read off
   the opcode table:
     owned      the instruction produced a new reference (the default);
     borrowed   HF_BORROW: from a constant or True/False (valid forever), or LoadLocal<i>
                (valid while frame local i is not overwritten);
     alias      HF_ALIAS: input 0 itself with a refined type; all that follows is about the
                alias's root, the first non-alias value down the chain.
   Compiled code holds exactly one reference to each owned root while it is live, and none
   once it is dead. So:

   1. Liveness of roots is computed over the CFG. A use is an input or a value in a frame
      state (the exit stores it). A phi's input is used at the end of its predecessor.
   2. A LoadLocal<i> value live across a StoreLocal<i> would dangle: it gets an Incref right
      after its definition and becomes owned.
   3. Walking each block backwards: where an owned root dies, a Decref follows its last use
      (XDecref if it may be NULL); an owned root that dies on the edge into a block is
      released at the block's start; an unused owned result is released at once. Where an
      instruction steals an input (the `steals` column, phis, Return), the reference is
      handed over if this is the root's last use, else an Incref precedes the instruction.
      Borrowed values are always Incref'ed before being stolen.
   4. Each deopt exit learns which references compiled code holds at that point: for a
      guard, every owned root live into the instruction; for an error, the owned roots that
      survive it plus its inputs that it did not consume. Each stack slot then gives a held
      reference, stores a new one (borrowed, or already given), or stores NULL (the failed
      instruction consumed it); held references left over are released.

   Requirement: no critical edges into blocks with phis, and every successor of a
   CondBranch has a single predecessor (the builder guarantees both). */

#include "Jit/hir/passes.h"

#include <stdlib.h>
#include <string.h>

typedef enum { RC_NONE, RC_OWNED, RC_FOREVER, RC_LOCAL } RcKind;

typedef struct {
    HirFunc *func;
    int nvalues;            /* instruction ids */
    int *slot;              /* id -> bitset index of its root, or -1 if not counted */
    HirInstr **root_of;     /* bitset index -> root instruction */
    RcKind *kind;           /* bitset index -> kind */
    int nroots;
    int words;
    uint64_t *live_in;      /* per block (by rpo index), `words` words each */
    uint64_t *live_out;
    uint64_t *owned;        /* the roots of kind RC_OWNED */
    uint64_t *stolen;       /* scratch sets for one instruction, empty between uses */
    uint64_t *seen;
    int *held;              /* scratch for rc_annotate_exit: by root, zero between uses */
    int *held_roots;        /* and the roots it set */
} Rc;

static HirInstr *
rc_root(HirInstr *v)
{
    while (hir_op_has(v->op, HF_ALIAS)) {
        v = v->in[0];
    }
    return v;
}

static RcKind
rc_kind_of(HirInstr *root)
{
    if (!hir_instr_has_output(root) || !hir_type_is_counted(root->type)) {
        return RC_NONE;
    }
    if (hir_op_has(root->op, HF_BORROW)) {
        return root->op == HIR_LoadLocal ? RC_LOCAL : RC_FOREVER;
    }
    return RC_OWNED;
}

/* V's root slot, or -1 when V has no counted root. The increfs and decrefs this pass
   inserts came after the numbering and have none. */
static int
rc_slot(Rc *rc, HirInstr *v)
{
    return v->id < rc->nvalues ? rc->slot[v->id] : -1;
}

static void
bs_set(uint64_t *s, int i)
{
    s[i / 64] |= (uint64_t)1 << (i % 64);
}

static void
bs_clear(uint64_t *s, int i)
{
    s[i / 64] &= ~((uint64_t)1 << (i % 64));
}

static bool
bs_has(const uint64_t *s, int i)
{
    return (s[i / 64] >> (i % 64)) & 1;
}

/* For each owned root R in word W of a set computed as BITS (a uint64_t expression of
   w), in ascending order: the loops stay linear in the number of words, not roots. */
#define RC_FOR_EACH_OWNED(rc, w, bits, r)                                                  \
    for (int w = 0; w < (rc)->words; w++)                                                  \
        for (uint64_t rc_bits_ = (bits) & (rc)->owned[w]; rc_bits_ != 0;                   \
             rc_bits_ &= rc_bits_ - 1)                                                     \
            for (int r = w * 64 + __builtin_ctzll(rc_bits_), rc_once_ = 1; rc_once_;       \
                 rc_once_ = 0)

static void
rc_number_roots(Rc *rc, HirBlock **rpo, int nblocks)
{
    JitArena *a = rc->func->arena;
    rc->nvalues = rc->func->next_instr_id;
    rc->slot = jit_arena_alloc(a, sizeof(int) * (size_t)(rc->nvalues + 1));
    rc->root_of = jit_arena_alloc(a, sizeof(HirInstr *) * (size_t)(rc->nvalues + 1));
    rc->kind = jit_arena_alloc(a, sizeof(RcKind) * (size_t)(rc->nvalues + 1));
    for (int i = 0; i < rc->nvalues; i++) {
        rc->slot[i] = -1;
    }
    for (int b = 0; b < nblocks; b++) {
        for (HirInstr *i = rpo[b]->first; i; i = i->next) {
            HirInstr *root = rc_root(i);
            if (root != i) {
                continue;
            }
            RcKind k = rc_kind_of(i);
            if (k != RC_NONE) {
                rc->slot[i->id] = rc->nroots;
                rc->root_of[rc->nroots] = i;
                rc->kind[rc->nroots] = k;
                rc->nroots++;
            }
        }
    }
    /* Aliases share their root's slot. */
    for (int b = 0; b < nblocks; b++) {
        for (HirInstr *i = rpo[b]->first; i; i = i->next) {
            if (hir_op_has(i->op, HF_ALIAS)) {
                rc->slot[i->id] = rc->slot[rc_root(i)->id];
            }
        }
    }
    rc->words = (rc->nroots + 63) / 64 + 1;
    rc->owned = jit_arena_alloc(a, sizeof(uint64_t) * (size_t)rc->words);
    for (int r = 0; r < rc->nroots; r++) {
        if (rc->kind[r] == RC_OWNED) {
            bs_set(rc->owned, r);
        }
    }
    rc->held = jit_arena_alloc(a, sizeof(int) * (size_t)(rc->nroots + 1));
    rc->held_roots = jit_arena_alloc(a, sizeof(int) * (size_t)(rc->nroots + 1));
}

/* Apply one instruction to `live` going backwards: kill its definition, add its uses. */
static void
rc_step_back(Rc *rc, HirInstr *i, uint64_t *live)
{
    int d = rc_slot(rc, i);
    if (d >= 0 && !hir_op_has(i->op, HF_ALIAS)) {
        bs_clear(live, d);
    }
    if (i->op == HIR_Phi) {
        return;   /* phi inputs are used in the predecessors */
    }
    for (int k = 0; k < i->nin; k++) {
        int s = rc_slot(rc, i->in[k]);
        if (s >= 0) {
            bs_set(live, s);
        }
    }
    if (i->fs) {
        for (int k = 0; k < i->fs->nstack; k++) {
            int s = rc_slot(rc, i->fs->stack[k]);
            if (s >= 0) {
                bs_set(live, s);
            }
        }
    }
}

static int
rc_pred_index(HirBlock *succ, HirBlock *pred)
{
    for (int p = 0; p < succ->npreds; p++) {
        if (succ->preds[p] == pred) {
            return p;
        }
    }
    return -1;
}

/* live_out(b) = union of live_in(succ) and the phi inputs b gives its successors. */
static void
rc_compute_live_out(Rc *rc, HirBlock *b, uint64_t *out)
{
    memset(out, 0, sizeof(uint64_t) * (size_t)rc->words);
    HirBlock *s[2];
    int ns = hir_block_succs(b, s);
    for (int k = 0; k < ns; k++) {
        uint64_t *in = rc->live_in + (size_t)s[k]->rpo_index * (size_t)rc->words;
        for (int w = 0; w < rc->words; w++) {
            out[w] |= in[w];
        }
        int p = rc_pred_index(s[k], b);
        for (HirInstr *phi = s[k]->first; phi && phi->op == HIR_Phi; phi = phi->next) {
            int slot = p >= 0 && p < phi->nin ? rc_slot(rc, phi->in[p]) : -1;
            if (slot >= 0) {
                bs_set(out, slot);
            }
        }
    }
}

static void
rc_liveness(Rc *rc, HirBlock **rpo, int nblocks)
{
    JitArena *a = rc->func->arena;
    size_t bytes = sizeof(uint64_t) * (size_t)rc->words * (size_t)(nblocks + 1);
    rc->live_in = jit_arena_alloc(a, bytes);
    rc->live_out = jit_arena_alloc(a, bytes);
    uint64_t *live = jit_arena_alloc(a, sizeof(uint64_t) * (size_t)rc->words);
    bool changed = true;
    while (changed) {
        changed = false;
        for (int b = nblocks - 1; b >= 0; b--) {
            uint64_t *out = rc->live_out + (size_t)b * (size_t)rc->words;
            uint64_t *in = rc->live_in + (size_t)b * (size_t)rc->words;
            rc_compute_live_out(rc, rpo[b], out);
            memcpy(live, out, sizeof(uint64_t) * (size_t)rc->words);
            for (HirInstr *i = rpo[b]->last; i; i = i->prev) {
                rc_step_back(rc, i, live);
            }
            if (memcmp(live, in, sizeof(uint64_t) * (size_t)rc->words) != 0) {
                memcpy(in, live, sizeof(uint64_t) * (size_t)rc->words);
                changed = true;
            }
        }
    }
}

/* Insert x after i, but never between a two-result instruction and its GetSecondOutput. */
static void
rc_insert_after(HirInstr *i, HirInstr *x)
{
    if (i->next != NULL && i->next->op == HIR_GetSecondOutput) {
        i = i->next;
    }
    hir_instr_insert_after(i, x);
}

/* Step 2: borrowed locals live across a store to their local become owned. */
static void
rc_promote_locals(Rc *rc, HirBlock **rpo, int nblocks)
{
    uint64_t *live = jit_arena_alloc(rc->func->arena, sizeof(uint64_t) * (size_t)rc->words);
    for (int b = 0; b < nblocks; b++) {
        memcpy(live, rc->live_out + (size_t)b * (size_t)rc->words,
               sizeof(uint64_t) * (size_t)rc->words);
        for (HirInstr *i = rpo[b]->last; i; i = i->prev) {
            if (i->id >= rc->nvalues) {
                continue;   /* an Incref inserted below, after a root earlier in b */
            }
            if (hir_op_has(i->op, HF_WLOCAL)) {
                for (int r = 0; r < rc->nroots; r++) {
                    if (rc->kind[r] == RC_LOCAL && bs_has(live, r)
                        && rc->root_of[r]->index == i->index) {
                        rc->kind[r] = RC_OWNED;
                        HirInstr *inc = hir_instr_new(rc->func, HIR_Incref, 1);
                        inc->in[0] = rc->root_of[r];
                        rc_insert_after(rc->root_of[r], inc);
                    }
                }
            }
            rc_step_back(rc, i, live);
        }
    }
}

static HirInstr *
rc_new_decref(Rc *rc, HirInstr *root)
{
    bool maybe_null = hir_type_could_be(root->type, HT_Nullptr);
    HirInstr *d = hir_instr_new(rc->func, maybe_null ? HIR_XDecref : HIR_Decref, 1);
    d->in[0] = root;
    return d;
}

static HirInstr *
rc_new_incref(Rc *rc, HirInstr *v)
{
    HirInstr *inc = hir_instr_new(rc->func, HIR_Incref, 1);
    inc->in[0] = v;
    return inc;
}

static bool
rc_steals(const HirInstr *i, int k)
{
    unsigned mask = hir_op_info[i->op].steals;
    return mask == ~0u || (k < 32 && ((mask >> k) & 1));
}

static int
rc_int_cmp(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* Step 4: the exit of `i`, given the roots live after it. */
static void
rc_annotate_exit(Rc *rc, HirInstr *i, const uint64_t *live_after)
{
    HirFrameState *fs = i->fs;
    JitArena *a = rc->func->arena;
    bool guard = hir_op_has(i->op, HF_DEOPT);
    int *held = rc->held, *roots = rc->held_roots, nheld = 0;
    RC_FOR_EACH_OWNED(rc, w, live_after[w], r) {
        held[r] = 1;
        roots[nheld++] = r;
    }
    /* What the instruction references is still held at its exit, unless it consumed it
       (an error after a steal; a steal of a value still live was preceded by an Incref,
       which live_after accounts for). */
    bool sorted = true;
    for (int k = 0; k < i->nin + fs->nstack; k++) {
        HirInstr *v = k < i->nin ? i->in[k] : fs->stack[k - i->nin];
        int r = rc_slot(rc, v);
        if (r < 0 || rc->kind[r] != RC_OWNED || held[r]) {
            continue;
        }
        bool consumed = false;
        for (int j = 0; j < i->nin && !guard; j++) {
            consumed |= rc_steals(i, j) && rc_slot(rc, i->in[j]) == r;
        }
        if (!consumed) {
            held[r] = 1;
            sorted &= nheld == 0 || roots[nheld - 1] < r;
            roots[nheld++] = r;
        }
    }
    if (!sorted) {
        qsort(roots, (size_t)nheld, sizeof(int), rc_int_cmp);
    }
    /* Its own result does not exist at its exit. */
    int self = rc_slot(rc, i);
    if (self >= 0 && !hir_op_has(i->op, HF_ALIAS)) {
        held[self] = 0;
    }
    fs->slot_kind = jit_arena_alloc(a, sizeof(HirSlotKind) * (size_t)(fs->nstack + 1));
    for (int k = 0; k < fs->nstack; k++) {
        int r = rc_slot(rc, fs->stack[k]);
        if (r < 0) {
            fs->slot_kind[k] = HIR_SLOT_GIVE;   /* not counted: NULL or a C value */
        }
        else if (held[r] > 0) {
            fs->slot_kind[k] = HIR_SLOT_GIVE;
            held[r]--;
        }
        else if (rc->kind[r] == RC_OWNED && !bs_has(live_after, r)) {
            fs->slot_kind[k] = HIR_SLOT_NULL;   /* consumed by the failed instruction */
        }
        else {
            fs->slot_kind[k] = HIR_SLOT_NEWREF;
        }
    }
    fs->release = jit_arena_alloc(a, sizeof(HirInstr *) * (size_t)(nheld + 1));
    for (int k = 0; k < nheld; k++) {
        if (held[roots[k]]) {
            fs->release[fs->nrelease++] = rc->root_of[roots[k]];
        }
        held[roots[k]] = 0;
    }
}

/* Step 3 for one block. */
static void
rc_insert_block(Rc *rc, HirBlock *b, uint64_t *live)
{
    size_t wbytes = sizeof(uint64_t) * (size_t)rc->words;
    memcpy(live, rc->live_out + (size_t)b->rpo_index * (size_t)rc->words, wbytes);

    /* Phi inputs this block gives: hand over the last reference, else a new one. */
    HirBlock *succ[2];
    int ns = hir_block_succs(b, succ);
    for (int k = 0; k < ns; k++) {
        int p = rc_pred_index(succ[k], b);
        const uint64_t *succ_in = rc->live_in + (size_t)succ[k]->rpo_index * (size_t)rc->words;
        uint64_t *given = rc->seen;
        for (HirInstr *phi = succ[k]->first; phi && phi->op == HIR_Phi; phi = phi->next) {
            if (p < 0 || p >= phi->nin || rc_slot(rc, phi) < 0) {
                continue;
            }
            HirInstr *v = phi->in[p];
            int r = rc_slot(rc, v);
            if (r < 0) {
                continue;
            }
            if (rc->kind[r] != RC_OWNED || bs_has(succ_in, r) || bs_has(given, r)) {
                hir_instr_insert_before(b->last, rc_new_incref(rc, v));
            }
            bs_set(given, r);
        }
        memset(given, 0, wbytes);
    }

    for (HirInstr *i = b->last; i && i->op != HIR_Phi;) {
        HirInstr *prev = i->prev;
        if (i->op == HIR_Incref) {
            i = prev;   /* inserted by step 2 */
            continue;
        }
        bool term = hir_op_is_terminator(i->op);
        if (i->fs != NULL) {
            rc_annotate_exit(rc, i, live);
        }
        /* Stolen inputs: hand over on the last use, else a new reference. */
        uint64_t *stolen = rc->stolen, *seen = rc->seen;
        for (int k = 0; k < i->nin; k++) {
            int r = rc_slot(rc, i->in[k]);
            if (r < 0 || !rc_steals(i, k)) {
                continue;
            }
            if (rc->kind[r] != RC_OWNED || bs_has(live, r) || bs_has(stolen, r)) {
                hir_instr_insert_before(i, rc_new_incref(rc, i->in[k]));
            }
            bs_set(stolen, r);
        }
        /* Other uses: release an owned root after its last use. */
        int nuses = i->nin + (i->fs ? i->fs->nstack : 0);
        for (int k = 0; k < nuses; k++) {
            HirInstr *v = k < i->nin ? i->in[k] : i->fs->stack[k - i->nin];
            int r = rc_slot(rc, v);
            if (r < 0 || rc->kind[r] != RC_OWNED || bs_has(live, r) || bs_has(seen, r)
                || bs_has(stolen, r)) {
                continue;
            }
            bs_set(seen, r);
            if (!term) {
                rc_insert_after(i, rc_new_decref(rc, rc->root_of[r]));
            }
        }
        for (int k = 0; k < nuses; k++) {
            HirInstr *v = k < i->nin ? i->in[k] : i->fs->stack[k - i->nin];
            int r = rc_slot(rc, v);
            if (r >= 0) {
                bs_clear(stolen, r);
                bs_clear(seen, r);
            }
        }
        /* An owned result nobody uses. */
        int d = rc_slot(rc, i);
        if (d >= 0 && !hir_op_has(i->op, HF_ALIAS) && rc->kind[d] == RC_OWNED
            && !bs_has(live, d) && !term) {
            rc_insert_after(i, rc_new_decref(rc, i));
        }
        rc_step_back(rc, i, live);
        i = prev;
    }
    /* Unused phis, and owned roots that die on the edge from the single predecessor. */
    HirInstr *after_phis = b->first;
    while (after_phis && after_phis->op == HIR_Phi) {
        HirInstr *next = after_phis->next;
        int d = rc_slot(rc, after_phis);
        if (d >= 0 && !bs_has(live, d)) {
            rc_insert_after(after_phis, rc_new_decref(rc, after_phis));
        }
        after_phis = next;
    }
    if (b->npreds == 1) {
        const uint64_t *pred_out = rc->live_out
                                   + (size_t)b->preds[0]->rpo_index * (size_t)rc->words;
        const uint64_t *in = rc->live_in + (size_t)b->rpo_index * (size_t)rc->words;
        RC_FOR_EACH_OWNED(rc, w, pred_out[w] & ~in[w], r) {
            HirInstr *dec = rc_new_decref(rc, rc->root_of[r]);
            if (b->first) {
                hir_instr_insert_before(b->first, dec);
            }
            else {
                hir_block_append(b, dec);
            }
        }
    }
}

void
hir_refcount_insertion(HirFunc *func)
{
    int nblocks;
    HirBlock **rpo = hir_func_rpo(func, &nblocks);
    Rc rc = {0};
    rc.func = func;
    rc_number_roots(&rc, rpo, nblocks);
    rc_liveness(&rc, rpo, nblocks);
    rc_promote_locals(&rc, rpo, nblocks);
    rc.stolen = jit_arena_alloc(func->arena, sizeof(uint64_t) * (size_t)rc.words);
    rc.seen = jit_arena_alloc(func->arena, sizeof(uint64_t) * (size_t)rc.words);
    uint64_t *live = jit_arena_alloc(func->arena, sizeof(uint64_t) * (size_t)rc.words);
    for (int b = 0; b < nblocks; b++) {
        rc_insert_block(&rc, rpo[b], live);
    }
}
