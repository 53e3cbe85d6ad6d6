/* CFG cleanup: removes blocks that only jump elsewhere and merges a block into its only
   predecessor when that predecessor jumps straight to it. Runs after refcount insertion,
   which needs the edge blocks the builder makes and may have put code in them. */

#include "Jit/hir/passes.h"

static bool
cfg_has_phis(const HirBlock *b)
{
    return b->first != NULL && b->first->op == HIR_Phi;
}

/* Redirect the edges into `from` (a block holding only `Branch<to>`) to `to`. */
static bool
cfg_bypass(HirFunc *func, HirBlock *from, HirBlock *to)
{
    if (from == func->entry || from == to || cfg_has_phis(to)) {
        return false;
    }
    for (int p = 0; p < from->npreds; p++) {
        HirInstr *t = from->preds[p]->last;
        for (int k = 0; k < 2; k++) {
            if (t->target[k] == from) {
                t->target[k] = to;
            }
        }
    }
    return from->npreds > 0;
}

/* Each sweep makes every change whose blocks no earlier change of the sweep touched, so
   the predecessor lists it reads are still exact; hir_func_rpo recomputes them between
   sweeps. (One change a sweep made large functions quadratic.) */
void
hir_clean_cfg(HirFunc *func)
{
    bool changed = true;
    while (changed) {
        changed = false;
        int n;
        hir_func_rpo(func, &n);
        char *touched = jit_arena_alloc(func->arena, (size_t)func->next_block_id + 1);
        for (HirBlock *b = func->blocks; b; b = b->next_in_func) {
            HirInstr *t = b->last;
            if (b->first == t && t->op == HIR_Branch && !touched[b->id]
                && !touched[t->target[0]->id] && cfg_bypass(func, b, t->target[0])) {
                touched[b->id] = touched[t->target[0]->id] = 1;
                changed = true;
            }
        }
        for (HirBlock *b = func->blocks; b; b = b->next_in_func) {
            HirInstr *t = b->last;
            if (t->op != HIR_Branch || touched[b->id]) {
                continue;
            }
            HirBlock *succ = t->target[0];
            if (succ == b || succ == func->entry || succ->npreds != 1 || cfg_has_phis(succ)
                || touched[succ->id]) {
                continue;
            }
            /* Merge succ into b. Its successors' phis now come from b. */
            HirBlock *next[2];
            int nnext = hir_block_succs(succ, next);
            for (int k = 0; k < nnext; k++) {
                for (int p = 0; p < next[k]->npreds; p++) {
                    if (next[k]->preds[p] == succ) {
                        next[k]->preds[p] = b;
                    }
                }
                touched[next[k]->id] = 1;
            }
            hir_instr_remove(t);
            for (HirInstr *i = succ->first; i;) {
                HirInstr *next = i->next;
                hir_instr_remove(i);
                hir_block_append(b, i);
                i = next;
            }
            HirInstr *dead = hir_instr_new(func, HIR_Branch, 0);
            dead->target[0] = succ;   /* succ is now empty and unreachable */
            hir_block_append(succ, dead);
            touched[b->id] = touched[succ->id] = 1;
            changed = true;
        }
    }
}
