/* The HIR verifier: checks the invariants every pass must keep. Blocks end in exactly one
   terminator; operand counts match the opcode table; every input is defined in the
   function and dominates its use (SSA), a phi's input dominating the matching
   predecessor's end; phis lead their block with one input per predecessor; instructions
   that may deopt or raise carry a frame state; GetSecondOutput follows the two-result
   instruction it reads;
   branches on objects test pointers, so only C values and possibly-NULL objects may be
   branched on. */

#include "Jit/hir/hir.h"

#include <stdarg.h>
#include <string.h>

typedef struct {
    char *err;
    size_t errsize;
    int *idom;          /* rpo index -> rpo index of the immediate dominator */
    HirBlock **rpo;
    int n;
    int *pos;           /* instr id -> position in its block, for same-block order */
    HirBlock **def_block;
} Vf;

static bool
vf_fail(Vf *vf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vf->err, vf->errsize, fmt, ap);
    va_end(ap);
    return false;
}

/* Cooper, Harvey and Kennedy, "A Simple, Fast Dominance Algorithm". */
static void
vf_dominators(Vf *vf)
{
    for (int i = 0; i < vf->n; i++) {
        vf->idom[i] = -1;
    }
    vf->idom[0] = 0;
    bool changed = true;
    while (changed) {
        changed = false;
        for (int i = 1; i < vf->n; i++) {
            HirBlock *b = vf->rpo[i];
            int new_idom = -1;
            for (int p = 0; p < b->npreds; p++) {
                int q = b->preds[p]->rpo_index;
                if (vf->idom[q] < 0) {
                    continue;
                }
                if (new_idom < 0) {
                    new_idom = q;
                    continue;
                }
                int x = q, y = new_idom;
                while (x != y) {
                    while (x > y) {
                        x = vf->idom[x];
                    }
                    while (y > x) {
                        y = vf->idom[y];
                    }
                }
                new_idom = x;
            }
            if (new_idom != vf->idom[i]) {
                vf->idom[i] = new_idom;
                changed = true;
            }
        }
    }
}

static bool
vf_dominates(Vf *vf, HirBlock *a, HirBlock *b)
{
    int x = b->rpo_index;
    for (;;) {
        if (x == a->rpo_index) {
            return true;
        }
        if (x == 0 || vf->idom[x] < 0) {
            return false;
        }
        x = vf->idom[x];
    }
}

/* Is def available at the use in block `at`, before position `pos` (-1: at its end)? */
static bool
vf_available(Vf *vf, HirInstr *def, HirBlock *at, int pos)
{
    HirBlock *db = vf->def_block[def->id];
    if (db == NULL) {
        return false;
    }
    if (db == at) {
        return pos < 0 || vf->pos[def->id] < pos;
    }
    return vf_dominates(vf, db, at);
}

bool
hir_func_verify(const HirFunc *cfunc, char *err, size_t errsize)
{
    HirFunc *func = (HirFunc *)cfunc;
    Vf vf = {err, errsize, NULL, NULL, 0, NULL, NULL};
    vf.rpo = hir_func_rpo(func, &vf.n);
    JitArena *a = func->arena;
    vf.idom = jit_arena_alloc(a, sizeof(int) * (size_t)(vf.n + 1));
    vf.pos = jit_arena_alloc(a, sizeof(int) * (size_t)(func->next_instr_id + 1));
    vf.def_block = jit_arena_alloc(a, sizeof(HirBlock *) * (size_t)(func->next_instr_id + 1));
    vf_dominators(&vf);
    for (int b = 0; b < vf.n; b++) {
        int pos = 0;
        for (HirInstr *i = vf.rpo[b]->first; i; i = i->next) {
            if (vf.def_block[i->id] != NULL) {
                return vf_fail(&vf, "v%d appears twice", i->id);
            }
            vf.def_block[i->id] = vf.rpo[b];
            vf.pos[i->id] = pos++;
        }
    }
    for (int b = 0; b < vf.n; b++) {
        HirBlock *blk = vf.rpo[b];
        if (blk->last == NULL || !hir_op_is_terminator(blk->last->op)) {
            return vf_fail(&vf, "bb%d does not end in a terminator", blk->id);
        }
        bool phis_done = false;
        for (HirInstr *i = blk->first; i; i = i->next) {
            const HirOpInfo *info = &hir_op_info[i->op];
            const char *name = info->name;
            if (hir_op_is_terminator(i->op) && i != blk->last) {
                return vf_fail(&vf, "v%d: %s in the middle of bb%d", i->id, name, blk->id);
            }
            if (info->nin != HIR_VAR && i->nin != info->nin) {
                return vf_fail(&vf, "v%d: %s takes %d inputs, has %d", i->id, name, info->nin,
                               i->nin);
            }
            if ((info->flags & (HF_DEOPT | HF_RAISE)) && i->fs == NULL) {
                return vf_fail(&vf, "v%d: %s needs a frame state", i->id, name);
            }
            if (i->op == HIR_Phi) {
                if (phis_done) {
                    return vf_fail(&vf, "v%d: Phi after other instructions", i->id);
                }
                if (i->nin != blk->npreds) {
                    return vf_fail(&vf, "v%d: Phi has %d inputs for %d predecessors", i->id,
                                   i->nin, blk->npreds);
                }
                for (int k = 0; k < i->nin; k++) {
                    if (!vf_available(&vf, i->in[k], blk->preds[k], -1)) {
                        return vf_fail(&vf, "v%d: input v%d does not reach bb%d", i->id,
                                       i->in[k]->id, blk->preds[k]->id);
                    }
                }
                continue;
            }
            phis_done = true;
            for (int k = 0; k < i->nin; k++) {
                if (!vf_available(&vf, i->in[k], blk, vf.pos[i->id])) {
                    return vf_fail(&vf, "v%d: input v%d does not dominate its use", i->id,
                                   i->in[k]->id);
                }
                if (!hir_instr_has_output(i->in[k])) {
                    return vf_fail(&vf, "v%d: input v%d has no result", i->id, i->in[k]->id);
                }
            }
            for (int k = 0; i->fs && k < i->fs->nstack; k++) {
                if (!vf_available(&vf, i->fs->stack[k], blk, vf.pos[i->id])) {
                    return vf_fail(&vf, "v%d: frame state value v%d does not dominate it",
                                   i->id, i->fs->stack[k]->id);
                }
            }
            if (i->op == HIR_GetSecondOutput
                && (i->prev != i->in[0] || !hir_op_has(i->in[0]->op, HF_PAIR))) {
                return vf_fail(&vf, "v%d: GetSecondOutput must follow its two-result "
                               "instruction", i->id);
            }
            if (i->op == HIR_CondBranch) {
                HirTypeBits t = i->in[0]->type.bits;
                if ((t & HT_Object) && !(t & HT_Nullptr)) {
                    return vf_fail(&vf, "v%d: CondBranch on an object that is never NULL",
                                   i->id);
                }
            }
            if ((i->op == HIR_Branch || i->op == HIR_CondBranch) && i->target[0] == NULL) {
                return vf_fail(&vf, "v%d: branch without a target", i->id);
            }
        }
    }
    return true;
}
