/* Dead code elimination: removes pure instructions whose results nobody uses (an input or
   a frame state), to a fixed point, and blocks that are no longer reachable. */

#include "Jit/hir/passes.h"

void
hir_dead_code_elimination(HirFunc *func)
{
    int nblocks;
    hir_func_rpo(func, &nblocks);
    int *uses = jit_arena_alloc(func->arena, sizeof(int) * (size_t)(func->next_instr_id + 1));
    for (HirBlock *b = func->blocks; b; b = b->next_in_func) {
        for (HirInstr *i = b->first; i; i = i->next) {
            for (int k = 0; k < i->nin; k++) {
                uses[i->in[k]->id]++;
            }
            for (int k = 0; i->fs && k < i->fs->nstack; k++) {
                uses[i->fs->stack[k]->id]++;
            }
        }
    }
    bool changed = true;
    while (changed) {
        changed = false;
        for (HirBlock *b = func->blocks; b; b = b->next_in_func) {
            for (HirInstr *i = b->last; i;) {
                HirInstr *prev = i->prev;
                if (hir_op_has(i->op, HF_PURE) && uses[i->id] == 0) {
                    for (int k = 0; k < i->nin; k++) {
                        uses[i->in[k]->id]--;
                    }
                    hir_instr_remove(i);
                    changed = true;
                }
                i = prev;
            }
        }
    }
}
