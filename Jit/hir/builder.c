/* The HIR builder: CPython 3.11 bytecode to HIR, by abstract interpretation of the value
   stack over the bytecode's control-flow graph.

   How it works:
   1. Scan the (quickened) bytecode: split it into basic blocks at jump targets and after
      jumps, and number the blocks in reverse post-order. Only code reachable by normal
      control flow is built: exception handlers are reached through the exception table,
      and compiled code leaves for the interpreter whenever an exception is raised, so the
      interpreter runs every handler.
   2. Walk the blocks in that order, keeping the value stack as SSA values. Every
      instruction that can leave compiled code gets a frame state: its bytecode offset and
      the stack before it.
   3. SSA for the stack follows Braun et al. ("Simple and Efficient Construction of SSA
      Form", 2013): a block whose predecessors are not all built yet (a loop header) gets a
      phi per stack slot, completed once every predecessor is built; trivial phis are then
      removed. Locals need no phis: compiled code writes them through to the frame, so a
      merge point whose predecessors disagree, or are not all known, reads the local back
      from the frame (LoadLocal). A local read in a block with known predecessors that all
      agree uses that value directly.

   The builder never runs Python code and never raises: an unsupported construct makes it
   return NULL with a reason. */

#include "Jit/hir/builder.h"

#include <string.h>

#include "pycore_code.h"
#include "pycore_dict.h"
#include "pycore_opcode.h"
#include "cinder/eager_await.h"

/* -- Bytecode scanning ------------------------------------------------------------------ */

typedef struct {
    int op;       /* base opcode (specialisations undone) */
    int spec_op;  /* the opcode as the specialising interpreter left it */
    const _Py_CODEUNIT *cache;  /* its inline cache */
    int oparg;    /* with EXTENDED_ARG folded in */
    int offset;   /* code units from the start, of the opcode itself */
    int next;     /* offset of the next instruction (after its caches) */
} BcInstr;

/* Decode the instruction at *pos and advance past it and its caches. */
static BcInstr
bc_decode(const _Py_CODEUNIT *code, int *pos)
{
    BcInstr bi;
    int oparg = 0;
    int op;
    int start = *pos;
    int spec_op;
    for (;;) {
        _Py_CODEUNIT word = code[*pos];
        spec_op = _Py_OPCODE(word);
        op = _PyOpcode_Deopt[spec_op];
        oparg = (oparg << 8) | _Py_OPARG(word);
        (*pos)++;
        if (op != EXTENDED_ARG) {
            break;
        }
    }
    bi.op = op;
    bi.spec_op = spec_op;
    bi.cache = code + *pos;
    bi.oparg = oparg;
    bi.offset = *pos - 1;
    bi.next = *pos + _PyOpcode_Caches[op];
    (void)start;
    *pos = bi.next;
    return bi;
}

/* The jump target of a jumping instruction, or -1. */
static int
bc_jump_target(BcInstr bi)
{
    switch (bi.op) {
    case JUMP_FORWARD:
    case POP_JUMP_FORWARD_IF_FALSE:
    case POP_JUMP_FORWARD_IF_TRUE:
    case POP_JUMP_FORWARD_IF_NONE:
    case POP_JUMP_FORWARD_IF_NOT_NONE:
    case JUMP_IF_FALSE_OR_POP:
    case JUMP_IF_TRUE_OR_POP:
    case FOR_ITER:
    case SEND:
        return bi.next + bi.oparg;
    case JUMP_BACKWARD:
    case JUMP_BACKWARD_NO_INTERRUPT:
    case POP_JUMP_BACKWARD_IF_FALSE:
    case POP_JUMP_BACKWARD_IF_TRUE:
    case POP_JUMP_BACKWARD_IF_NONE:
    case POP_JUMP_BACKWARD_IF_NOT_NONE:
        return bi.next - bi.oparg;
    default:
        return -1;
    }
}

static bool
bc_is_unconditional(int op)
{
    return op == JUMP_FORWARD || op == JUMP_BACKWARD || op == JUMP_BACKWARD_NO_INTERRUPT
           || op == RETURN_VALUE || op == RAISE_VARARGS || op == RERAISE;
}

/* -- Builder state ---------------------------------------------------------------------- */

/* One bytecode basic block. */
typedef struct BcBlock {
    int start, end;          /* [start, end) in code units */
    int npreds;              /* incoming edges in the bytecode CFG */
    int nbuilt_preds;        /* how many of them have been built */
    int rpo;                 /* -1 when unreachable */
    HirBlock *hir;           /* the HIR block its code starts in */
    int depth;               /* stack depth at entry; -1 until known */
    HirInstr **phis;         /* stack slots at entry: phis of a multi-pred block */
    bool built;
} BcBlock;

/* Per-HIR-block state: the current definition of each local, and the stack handed to the
   successor when the block ends with a Branch into a bytecode block. */
typedef struct {
    HirInstr **defs;
    HirBlock *pred;          /* the single predecessor, for blocks that have one */
    bool multi;              /* a merge point */
    int expected_preds;      /* edges into it in the bytecode CFG */
    const uint64_t *bound;   /* locals surely bound at its start, for merge points */
    int nbuilt_preds;
    HirBlock **built_preds;  /* the predecessors built so far */
    bool loop_header;        /* some predecessor was not built before it (a back edge) */
    int exit_depth;
    HirInstr **exit_stack;
} BlockState;

typedef struct {
    HirFunc *func;
    PyCodeObject *code;
    const _Py_CODEUNIT *bc;
    int ncode;               /* code units */
    int nlocals;             /* co_nlocalsplus */
    int start;               /* offset of the first instruction after RESUME */
    int resume_offset;
    BcBlock *blocks;
    int nblocks;
    int *block_at;           /* code unit -> block index, or -1 */
    HirBlock *cur;
    HirInstr **stack;
    int depth;
    int max_depth;
    int bound_words;         /* uint64_t words per set of locals */
    uint64_t *bound_in;      /* per bytecode block: the locals surely bound at its start */
    PyObject *kwnames;       /* from KW_NAMES, for the next CALL */
    /* A generator's or coroutine's resume points: the RESUME after each YIELD_VALUE,
       where the frame's next RESUME_JIT enters, and the entry block taking the frame's
       stack there (filled when the YIELD_VALUE is built). */
    int nresumes;
    int *resume_offsets;
    HirBlock **resume_entries;
    /* By code unit: for the LOAD_CONST None of an awaited call (CALL; GET_AWAITABLE 0;
       LOAD_CONST None; SEND in a coroutine), the SEND's jump target, where the call's
       result goes when the callee, run eagerly, returned at once; else -1. */
    int *await_done;
    const char *why;
    int bad_opcode;
} Builder;

static BlockState *
bs(HirBlock *b)
{
    return (BlockState *)b->builder;
}

static HirBlock *
bld_new_block(Builder *bd, HirBlock *pred, int npreds)
{
    HirBlock *b = hir_block_new(bd->func);
    BlockState *s = jit_arena_alloc(bd->func->arena, sizeof(BlockState));
    s->defs = jit_arena_alloc(bd->func->arena, sizeof(HirInstr *) * (size_t)(bd->nlocals + 1));
    s->pred = pred;
    s->multi = npreds > 1;
    s->expected_preds = npreds;
    s->built_preds = jit_arena_alloc(bd->func->arena, sizeof(HirBlock *) * (size_t)(npreds + 1));
    b->builder = s;
    return b;
}

/* The type of v as far as it is known while building: inputs first. Phis are not
   complete yet, so they may be anything. */
static HirType
bld_type(HirInstr *v)
{
    if (v->op == HIR_Phi) {
        /* Unknown until inference (which resets phis); instructions built on it must not
           see Bottom, a subtype of everything. */
        v->type = hir_type(HT_Top);
        return v->type;
    }
    if (v->type.bits == 0 && hir_instr_has_output(v)) {
        for (int k = 0; k < v->nin; k++) {
            bld_type(v->in[k]);
        }
        v->type = hir_instr_output_type(v);
    }
    return v->type;
}

static HirInstr *
bld_emit(Builder *bd, HirOp op, int nin)
{
    HirInstr *i = hir_instr_new(bd->func, op, nin);
    hir_block_append(bd->cur, i);
    return i;
}

static HirFrameState *
bld_frame_state(Builder *bd, int bc_offset)
{
    HirFrameState *fs = jit_arena_alloc(bd->func->arena, sizeof(HirFrameState));
    fs->bc_offset = bc_offset;
    fs->nstack = bd->depth;
    fs->stack = jit_arena_alloc(bd->func->arena, sizeof(HirInstr *) * (size_t)(bd->depth + 1));
    memcpy(fs->stack, bd->stack, sizeof(HirInstr *) * (size_t)bd->depth);
    return fs;
}

static void
bld_push(Builder *bd, HirInstr *v)
{
    bd->stack[bd->depth++] = v;
}

static HirInstr *
bld_pop(Builder *bd)
{
    return bd->stack[--bd->depth];
}

static HirInstr *
bld_const(Builder *bd, HirType t)
{
    HirInstr *i = bld_emit(bd, HIR_LoadConst, 0);
    i->param = t;
    return i;
}

static HirInstr *
bld_const_obj(Builder *bd, PyObject *obj)
{
    return bld_const(bd, hir_type_of_object(obj));
}

/* -- Locals ----------------------------------------------------------------------------- */

static HirInstr *
bld_read_local_in(Builder *bd, HirBlock *b, int idx)
{
    BlockState *s = bs(b);
    if (s->defs[idx] != NULL) {
        return s->defs[idx];
    }
    HirInstr *v = NULL;
    if (!s->multi && s->pred != NULL) {
        v = bld_read_local_in(bd, s->pred, idx);
    }
    else if (s->multi && !s->loop_header && s->nbuilt_preds == s->expected_preds) {
        /* Every predecessor was built before this block: if they agree, that value
           dominates it. (Predecessors come earlier in reverse post-order, so the search
           ends; a loop header reads the frame instead.) */
        for (int p = 0; p < s->nbuilt_preds; p++) {
            HirInstr *pv = bld_read_local_in(bd, s->built_preds[p], idx);
            if (p > 0 && pv != v) {
                v = NULL;
                break;
            }
            v = pv;
        }
    }
    if (v == NULL) {
        /* A merge point whose predecessors disagree or are not all known yet: the frame
           holds the truth. */
        v = hir_instr_new(bd->func, HIR_LoadLocal, 0);
        v->index = idx;
        bool bound = s->bound != NULL && ((s->bound[idx / 64] >> (idx % 64)) & 1);
        v->param = hir_type(bound ? HT_Object : HT_OptObject);
        v->type = v->param;
        HirInstr *at = b->first;
        while (at != NULL && at->op == HIR_Phi) {
            at = at->next;
        }
        if (at != NULL) {
            hir_instr_insert_before(at, v);
        }
        else {
            hir_block_append(b, v);
        }
    }
    s->defs[idx] = v;
    return v;
}

/* -- Bytecode CFG ----------------------------------------------------------------------- */

static int
bld_scan(Builder *bd)
{
    int n = bd->ncode;
    char *leader = jit_arena_alloc(bd->func->arena, (size_t)n + 1);
    leader[bd->start] = 1;
    for (int pos = bd->start; pos < n;) {
        BcInstr bi = bc_decode(bd->bc, &pos);
        int t = bc_jump_target(bi);
        if (t >= 0) {
            if (t < bd->start || t >= n) {
                bd->why = "jump outside the compiled region";
                return -1;
            }
            leader[t] = 1;
        }
        if ((t >= 0 || bc_is_unconditional(bi.op) || bi.op == YIELD_VALUE) && bi.next < n) {
            leader[bi.next] = 1;
        }
        if (bi.op == RESUME) {
            int pos = bi.offset;
            /* Every resume point follows a yield; the bytecode CFG keeps the edge from
               the yield, so the resume point is built after it. */
            if (pos < 1 || _PyOpcode_Deopt[_Py_OPCODE(bd->bc[pos - 1])] != YIELD_VALUE) {
                bd->why = "RESUME not after YIELD_VALUE";
                return -1;
            }
            bd->nresumes++;
        }
    }
    bd->resume_offsets = jit_arena_alloc(bd->func->arena,
                                         sizeof(int) * (size_t)(bd->nresumes + 1));
    bd->resume_entries = jit_arena_alloc(bd->func->arena,
                                         sizeof(HirBlock *) * (size_t)(bd->nresumes + 1));
    int r = 0;
    for (int pos = bd->start; pos < n;) {
        BcInstr bi = bc_decode(bd->bc, &pos);
        if (bi.op == RESUME) {
            bd->resume_offsets[r++] = bi.offset;
        }
    }
    bd->block_at = jit_arena_alloc(bd->func->arena, sizeof(int) * ((size_t)n + 1));
    int nb = 0;
    for (int k = 0; k < n; k++) {
        bd->block_at[k] = -1;
        nb += leader[k];
    }
    bd->blocks = jit_arena_alloc(bd->func->arena, sizeof(BcBlock) * (size_t)(nb + 1));
    int cur = -1;
    for (int k = bd->start; k < n; k++) {
        if (leader[k]) {
            cur++;
            bd->blocks[cur].start = k;
            bd->blocks[cur].depth = -1;
            bd->blocks[cur].rpo = -1;
            bd->block_at[k] = cur;
        }
        bd->blocks[cur].end = k + 1;
    }
    bd->nblocks = nb;
    bd->await_done = jit_arena_alloc(bd->func->arena, sizeof(int) * ((size_t)n + 1));
    for (int k = 0; k < n; k++) {
        bd->await_done[k] = -1;
    }
    for (int pos = bd->start; pos < n && (bd->code->co_flags & CO_COROUTINE);) {
        BcInstr bi = bc_decode(bd->bc, &pos);
        if (bi.op != CALL || bi.next + 2 >= n) {
            continue;
        }
        int p = bi.next;
        BcInstr get = bc_decode(bd->bc, &p);
        BcInstr none = bc_decode(bd->bc, &p);
        BcInstr send = bc_decode(bd->bc, &p);
        if (get.op == GET_AWAITABLE && get.oparg == 0 && none.op == LOAD_CONST
            && PyTuple_GET_ITEM(bd->code->co_consts, none.oparg) == Py_None
            && send.op == SEND && !leader[get.offset] && !leader[none.offset]
            && leader[send.offset]) {
            bd->await_done[none.offset] = bc_jump_target(send);
        }
    }
    return 0;
}

/* The exception table's handlers (code units) and the stack depth each starts with. */
static int
bc_read_varint(const unsigned char **p, const unsigned char *end)
{
    if (*p >= end) {
        return -1;
    }
    int b = *(*p)++;
    int v = b & 63;
    while ((b & 64) && *p < end) {
        b = *(*p)++;
        v = (v << 6) | (b & 63);
    }
    return v;
}

/* The stack depth at the RESUME at OFFSET, from the code's stack effects over every path,
   exception handlers included (the interpreter starts each with the table's depth, the
   last instruction's offset if asked, and the exception); -1 if unknown. */
static int
bld_depth_at(Builder *bd, int offset)
{
    int n = bd->ncode;
    int *depth = jit_arena_alloc(bd->func->arena, sizeof(int) * ((size_t)n + 1));
    int *work = jit_arena_alloc(bd->func->arena, sizeof(int) * ((size_t)n + 1));
    int nwork = 0;
    for (int k = 0; k < n; k++) {
        depth[k] = -1;
    }
    depth[bd->start] = 0;
    work[nwork++] = bd->start;
    PyObject *table = bd->code->co_exceptiontable;
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(table);
    const unsigned char *end = p + PyBytes_GET_SIZE(table);
    while (p < end) {
        int start = bc_read_varint(&p, end), length = bc_read_varint(&p, end);
        int target = bc_read_varint(&p, end), dl = bc_read_varint(&p, end);
        (void)start;
        (void)length;
        if (dl < 0 || target < 0 || target >= n) {
            return -1;
        }
        if (depth[target] < 0) {
            depth[target] = (dl >> 1) + (dl & 1) + 1;
            work[nwork++] = target;
        }
    }
    while (nwork > 0) {
        int pos = work[--nwork];
        int d = depth[pos];
        BcInstr bi = bc_decode(bd->bc, &pos);
        int t = bc_jump_target(bi);
        int succ[2] = {-1, -1}, eff[2] = {0, 0};
        if (t >= 0) {
            succ[0] = t;
            eff[0] = PyCompile_OpcodeStackEffectWithJump(bi.op, bi.oparg, 1);
        }
        if (!bc_is_unconditional(bi.op) && bi.next < n) {
            succ[1] = bi.next;
            eff[1] = PyCompile_OpcodeStackEffectWithJump(bi.op, bi.oparg, 0);
        }
        if (eff[0] == PY_INVALID_STACK_EFFECT || eff[1] == PY_INVALID_STACK_EFFECT) {
            return -1;
        }
        for (int k = 0; k < 2; k++) {
            if (succ[k] >= 0 && depth[succ[k]] < 0) {
                depth[succ[k]] = d + eff[k];
                work[nwork++] = succ[k];
            }
        }
    }
    return depth[offset];
}

/* Successor blocks of bytecode block i (0..3): the fall-through and jump target, and for
   a block ending an awaited call, where the eager call's result goes. */
static int
bld_bc_succs(Builder *bd, int i, int out[3])
{
    BcBlock *b = &bd->blocks[i];
    BcInstr last = {0, 0, 0, 0};
    for (int pos = b->start; pos < b->end;) {
        last = bc_decode(bd->bc, &pos);
    }
    int n = 0;
    int t = bc_jump_target(last);
    if (!bc_is_unconditional(last.op) && last.next < bd->ncode) {
        out[n++] = bd->block_at[last.next];
    }
    if (t >= 0) {
        out[n++] = bd->block_at[t];
    }
    if (bd->await_done[last.offset] >= 0) {
        out[n++] = bd->block_at[bd->await_done[last.offset]];
    }
    return n;
}

static void
bld_rpo_visit(Builder *bd, int i, char *seen, int *order, int *count)
{
    seen[i] = 1;
    int s[3];
    int ns = bld_bc_succs(bd, i, s);
    for (int k = ns - 1; k >= 0; k--) {
        bd->blocks[s[k]].npreds++;
        if (!seen[s[k]]) {
            bld_rpo_visit(bd, s[k], seen, order, count);
        }
    }
    order[(*count)++] = i;
}

/* Which locals are surely bound (not NULL) at the start of each block: a forward
   must-analysis over the bytecode CFG. STORE_FAST binds, DELETE_FAST unbinds; at entry
   the arguments and cells are bound, at the extra ROOTS nothing is. Lets merge points
   read a local without the interpreter's unbound check. */
static void
bld_bound_locals(Builder *bd, const int *post, int count, const uint64_t *entry,
                 const int *roots, int nroots)
{
    int w = bd->bound_words;
    size_t bytes = sizeof(uint64_t) * (size_t)w;
    bd->bound_in = jit_arena_alloc(bd->func->arena, bytes * (size_t)(bd->nblocks + 1));
    memset(bd->bound_in, 0xff, bytes * (size_t)bd->nblocks);
    memcpy(bd->bound_in, entry, bytes);
    for (int r = 0; r < nroots; r++) {
        /* Resume points only the interpreter's exception handling reaches: nothing is
           known there. */
        memset(bd->bound_in + (size_t)roots[r] * (size_t)w, 0, bytes);
    }
    uint64_t *cur = jit_arena_alloc(bd->func->arena, bytes);
    bool changed = true;
    while (changed) {
        changed = false;
        for (int k = count - 1; k >= 0; k--) {
            int b = post[k];
            memcpy(cur, bd->bound_in + (size_t)b * (size_t)w, bytes);
            for (int pos = bd->blocks[b].start; pos < bd->blocks[b].end;) {
                BcInstr bi = bc_decode(bd->bc, &pos);
                if (bi.op == STORE_FAST) {
                    cur[bi.oparg / 64] |= (uint64_t)1 << (bi.oparg % 64);
                }
                else if (bi.op == DELETE_FAST) {
                    cur[bi.oparg / 64] &= ~((uint64_t)1 << (bi.oparg % 64));
                }
            }
            int succ[3];
            int ns = bld_bc_succs(bd, b, succ);
            for (int j = 0; j < ns; j++) {
                uint64_t *in = bd->bound_in + (size_t)succ[j] * (size_t)w;
                for (int x = 0; x < w; x++) {
                    uint64_t v = in[x] & cur[x];
                    if (v != in[x]) {
                        in[x] = v;
                        changed = true;
                    }
                }
            }
        }
    }
}

/* -- Edges ------------------------------------------------------------------------------ */

/* End the current HIR block with a jump to bytecode block `target`, handing it the current
   stack. */
static int
bld_jump_to(Builder *bd, int target)
{
    BcBlock *t = &bd->blocks[target];
    if (t->depth < 0) {
        t->depth = bd->depth;
    }
    else if (t->depth != bd->depth) {
        bd->why = "inconsistent stack depth at a merge point";
        return -1;
    }
    BlockState *s = bs(bd->cur);
    s->exit_depth = bd->depth;
    s->exit_stack = jit_arena_alloc(bd->func->arena,
                                    sizeof(HirInstr *) * (size_t)(bd->depth + 1));
    memcpy(s->exit_stack, bd->stack, sizeof(HirInstr *) * (size_t)bd->depth);
    HirInstr *br = bld_emit(bd, HIR_Branch, 0);
    br->target[0] = t->hir;
    BlockState *ts = bs(t->hir);
    ts->built_preds[ts->nbuilt_preds++] = bd->cur;
    if (t->npreds == 1) {
        ts->pred = bd->cur;
    }
    return 0;
}

/* End the current block with a two-way branch on `cond`; each side gets its own edge block
   so that it can hand its successor its own stack. Returns the two edge blocks. */
static void
bld_cond_branch(Builder *bd, HirInstr *cond, HirBlock **on_true, HirBlock **on_false)
{
    HirBlock *from = bd->cur;
    *on_true = bld_new_block(bd, from, 1);
    *on_false = bld_new_block(bd, from, 1);
    HirInstr *br = bld_emit(bd, HIR_CondBranch, 1);
    br->in[0] = cond;
    br->target[0] = *on_true;
    br->target[1] = *on_false;
}

/* -- Profiles: the specialising interpreter's inline caches ------------------------------ */

static uint32_t
bld_u32(const _Py_CODEUNIT *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 16);
}

/* Copy what the inline cache of `bi` says into i->cache. */
static void
bld_read_cache(Builder *bd, BcInstr bi, HirInstr *i)
{
    const _Py_CODEUNIT *c = bi.cache;
    switch (bi.spec_op) {
    case LOAD_ATTR_INSTANCE_VALUE:
    case STORE_ATTR_INSTANCE_VALUE:
    case LOAD_ATTR_SLOT:
    case STORE_ATTR_SLOT:
    case LOAD_ATTR_MODULE: {
        const _PyAttrCache *ac = (const _PyAttrCache *)c;
        i->cache.kind = bi.spec_op == LOAD_ATTR_MODULE ? HIR_CACHE_MODULE
                        : bi.spec_op == LOAD_ATTR_SLOT || bi.spec_op == STORE_ATTR_SLOT
                            ? HIR_CACHE_SLOT
                            : HIR_CACHE_INSTANCE_VALUE;
        i->cache.version = bld_u32(ac->version);
        i->cache.index = ac->index;
        break;
    }
    case LOAD_METHOD_WITH_VALUES:
    case LOAD_METHOD_NO_DICT: {
        const _PyLoadMethodCache *mc = (const _PyLoadMethodCache *)c;
        i->cache.kind = bi.spec_op == LOAD_METHOD_WITH_VALUES ? HIR_CACHE_METHOD_VALUES
                                                              : HIR_CACHE_METHOD_NO_DICT;
        i->cache.version = bld_u32(mc->type_version);
        i->cache.version2 = bld_u32(mc->keys_version);
        uintptr_t descr = 0;
        memcpy(&descr, mc->descr, sizeof(descr));
        i->cache.descr = (PyObject *)descr;
        break;
    }
    case LOAD_GLOBAL_MODULE:
    case LOAD_GLOBAL_BUILTIN: {
        const _PyLoadGlobalCache *gc = (const _PyLoadGlobalCache *)c;
        i->cache.kind = bi.spec_op == LOAD_GLOBAL_MODULE ? HIR_CACHE_GLOBAL_MODULE
                                                         : HIR_CACHE_GLOBAL_BUILTIN;
        i->cache.version = bld_u32(gc->module_keys_version);
        i->cache.index = gc->index;
        /* Only what still holds now: the entry's address is taken from today's keys, and
           the interpreter keeps just 16 bits of the builtins' keys version. */
        PyObject *globals = bd->func->globals, *builtins = bd->func->builtins;
        if (!PyDict_CheckExact(globals) || !PyDict_CheckExact(builtins)
            || ((PyDictObject *)globals)->ma_keys->dk_version != i->cache.version) {
            i->cache.kind = HIR_CACHE_NONE;
            break;
        }
        PyDictKeysObject *keys = ((PyDictObject *)globals)->ma_keys;
        if (i->cache.kind == HIR_CACHE_GLOBAL_BUILTIN) {
            keys = ((PyDictObject *)builtins)->ma_keys;
            i->cache.version2 = keys->dk_version;
            if ((uint16_t)keys->dk_version != gc->builtin_keys_version) {
                i->cache.kind = HIR_CACHE_NONE;
                break;
            }
        }
        if (keys->dk_kind != DICT_KEYS_UNICODE || i->cache.index >= (uint32_t)keys->dk_nentries) {
            i->cache.kind = HIR_CACHE_NONE;
            break;
        }
        i->cache.value = &DK_UNICODE_ENTRIES(keys)[i->cache.index].me_value;
        break;
    }
    default:
        break;
    }
}

/* -- Instructions ----------------------------------------------------------------------- */

static HirInstr *
bld_emit_fs(Builder *bd, HirOp op, int nin, int bc_offset)
{
    HirFrameState *fs = bld_frame_state(bd, bc_offset);
    HirInstr *i = bld_emit(bd, op, nin);
    i->fs = fs;
    return i;
}

/* The interpreter's eval-breaker poll after instruction AT, with the frame state at
   RESUME (the next instruction, or a backward jump's target): a pending signal, pending
   call, GIL drop request or async exception is handled there, and an exception it raises
   is raised at AT, as in the interpreter. When sys.settrace or sys.setprofile came on
   (a debugger's set_trace()), the interpreter takes over at RESUME and traces the rest
   of the frame. */
static void
bld_poll(Builder *bd, int at, int resume)
{
    bld_emit_fs(bd, HIR_CheckEvalBreaker, 0, resume)->index = at;
}

/* After a call, as the interpreter does after calling C code. */
static void
bld_after_call(Builder *bd, BcInstr bi)
{
    bld_poll(bd, bi.offset, bi.next);
}

/* Truth test of v as a C value (0/1), with the interpreter's fast paths for bools. */
static HirInstr *
bld_truth(Builder *bd, HirInstr *v, int bc_offset)
{
    HirInstr *t;
    if (hir_type_is_subtype(bld_type(v), hir_type(HT_Bool))) {
        HirInstr *true_obj = bld_const_obj(bd, Py_True);
        t = bld_emit(bd, HIR_PtrEq, 2);
        t->in[0] = v;
        t->in[1] = true_obj;
        return t;
    }
    /* The value is still on the stack in the frame state: the interpreter pops it. */
    bld_push(bd, v);
    t = bld_emit_fs(bd, HIR_IsTruthy, 1, bc_offset);
    bld_pop(bd);
    t->in[0] = v;
    return t;
}

static int
bld_pop_jump(Builder *bd, BcInstr bi, int target, int fallthrough)
{
    HirInstr *v = bld_pop(bd);
    HirInstr *cond, *c;
    bool jump_if_true;
    switch (bi.op) {
    case POP_JUMP_FORWARD_IF_NONE:
    case POP_JUMP_BACKWARD_IF_NONE:
    case POP_JUMP_FORWARD_IF_NOT_NONE:
    case POP_JUMP_BACKWARD_IF_NOT_NONE:
        c = bld_const_obj(bd, Py_None);
        cond = bld_emit(bd, HIR_PtrEq, 2);
        cond->in[0] = v;
        cond->in[1] = c;
        jump_if_true = bi.op == POP_JUMP_FORWARD_IF_NONE
                       || bi.op == POP_JUMP_BACKWARD_IF_NONE;
        break;
    default:
        cond = bld_truth(bd, v, bi.offset);
        jump_if_true = bi.op == POP_JUMP_FORWARD_IF_TRUE
                       || bi.op == POP_JUMP_BACKWARD_IF_TRUE;
        break;
    }
    HirBlock *t, *f;
    bld_cond_branch(bd, cond, &t, &f);
    bd->cur = jump_if_true ? t : f;
    if (bi.op == POP_JUMP_BACKWARD_IF_FALSE || bi.op == POP_JUMP_BACKWARD_IF_TRUE
        || bi.op == POP_JUMP_BACKWARD_IF_NONE || bi.op == POP_JUMP_BACKWARD_IF_NOT_NONE) {
        /* A taken backward jump polls the eval breaker, as in the interpreter. */
        bld_poll(bd, bi.offset, bd->blocks[target].start);
    }
    if (bld_jump_to(bd, target) < 0) {
        return -1;
    }
    bd->cur = jump_if_true ? f : t;
    return bld_jump_to(bd, fallthrough);
}

/* CALL as OP (Call or CallAwaited): pops the callable (or method and self) and the
   arguments, and takes the keyword names of the KW_NAMES before it. */
static HirInstr *
bld_call(Builder *bd, HirOp op, BcInstr bi)
{
    int n = bi.oparg + 2;
    HirInstr *c = bld_emit_fs(bd, op, n, bi.offset);
    for (int k = n - 1; k >= 0; k--) {
        c->in[k] = bld_pop(bd);
    }
    c->index = bi.oparg;
    c->name = bd->kwnames;
    bd->kwnames = NULL;
    return c;
}

/* An awaited call (CALL; GET_AWAITABLE 0; LOAD_CONST None; SEND ... YIELD_VALUE) goes
   through Ci_PyObject_CallAwaited, which runs a coroutine function eagerly, as the
   interpreter does. Three ways on: the callee returned (its result goes to the SEND's
   target), it suspended (the wait handle's coroutine and the value it yielded go to the
   YIELD_VALUE, as if SEND had run), or the result is an awaitable to await as usual (the
   GET_AWAITABLE that follows). */
static int
bld_awaited_call(Builder *bd, BcInstr bi)
{
    int send = bi.next + 2;   /* after GET_AWAITABLE and LOAD_CONST, which have no caches */
    HirInstr *c = bld_call(bd, HIR_CallAwaited, bi);
    HirInstr *status = bld_emit(bd, HIR_GetSecondOutput, 1);
    status->in[0] = c;
    status->param = hir_type(HT_CInt64);
    HirInstr *done_status = bld_const(bd, hir_type_of_int(HT_CInt64, CI_AWAIT_DONE));
    HirInstr *is_done = bld_emit(bd, HIR_PtrEq, 2);
    is_done->in[0] = status;
    is_done->in[1] = done_status;
    HirBlock *done, *not_done, *suspended, *lazy;
    bld_cond_branch(bd, is_done, &done, &not_done);

    bd->cur = done;
    bld_push(bd, c);
    int target = bd->block_at[bd->await_done[bi.next + 1]];
    bld_poll(bd, bi.offset, bd->blocks[target].start);
    if (bld_jump_to(bd, target) < 0) {
        return -1;
    }
    bld_pop(bd);

    bd->cur = not_done;
    HirInstr *suspended_status = bld_const(bd, hir_type_of_int(HT_CInt64,
                                                               CI_AWAIT_SUSPENDED));
    HirInstr *is_suspended = bld_emit(bd, HIR_PtrEq, 2);
    is_suspended->in[0] = status;
    is_suspended->in[1] = suspended_status;
    bld_cond_branch(bd, is_suspended, &suspended, &lazy);

    bd->cur = suspended;
    HirInstr *coro = bld_emit(bd, HIR_UnpackWaitHandle, 1);
    coro->in[0] = c;
    HirInstr *yielded = bld_emit(bd, HIR_GetSecondOutput, 1);
    yielded->in[0] = coro;
    yielded->param = hir_type(HT_Object);
    bld_push(bd, coro);
    bld_push(bd, yielded);
    bld_emit_fs(bd, HIR_Yield, 0, send + 1);
    bld_pop(bd);
    bld_pop(bd);

    bd->cur = lazy;
    bld_push(bd, c);
    bld_poll(bd, bi.offset, bi.next);
    return 0;
}

static bool
bld_is_root(const int *roots, int nroots, int b)
{
    for (int r = 0; r < nroots; r++) {
        if (roots[r] == b) {
            return true;
        }
    }
    return false;
}

/* YIELD_VALUE: the interpreter's YIELD_VALUE suspends the frame, with the value on top of
   its stack. The resume point after it is entered from the function's entry block, with
   the stack (the sent value on top) taken back from the frame. */
static int
bld_yield(Builder *bd, BcInstr bi, bool *ended)
{
    int r = 0;
    while (r < bd->nresumes && bd->resume_offsets[r] != bi.next) {
        r++;
    }
    if (r == bd->nresumes) {
        bd->why = "YIELD_VALUE without a resume point";
        return -1;
    }
    bld_emit_fs(bd, HIR_Yield, 0, bi.offset);
    *ended = true;
    if (bd->resume_entries[r]->first != NULL) {
        /* Entered already: a root built from the code's stack depths. */
        return 0;
    }
    bd->cur = bd->resume_entries[r];
    for (int k = 0; k < bd->depth; k++) {
        HirType t = k == bd->depth - 1 ? hir_type(HT_Object) : bld_type(bd->stack[k]);
        HirInstr *v;
        if (hir_type_is_subtype(t, hir_type(HT_Nullptr))) {
            v = bld_const(bd, t);   /* the NULL below a callable: nothing to take */
        }
        else {
            v = bld_emit(bd, HIR_LoadStack, 0);
            v->index = k;
            v->param = hir_type(hir_type_is_subtype(t, hir_type(HT_Object)) ? HT_Object
                                                                          : HT_OptObject);
            v->type = v->param;
        }
        bd->stack[k] = v;
    }
    return bld_jump_to(bd, bd->block_at[bi.next]);
}

static int
bld_instr(Builder *bd, BcInstr bi, bool *ended)
{
    PyCodeObject *co = bd->code;
    int off = bi.offset;
    HirInstr *v, *a, *b, *c;
    switch (bi.op) {
    case NOP:
        return 0;
    case POP_TOP:
        bld_pop(bd);
        return 0;
    case PUSH_NULL:
        bld_push(bd, bld_const(bd, hir_type(HT_Nullptr)));
        return 0;
    case COPY:
        bld_push(bd, bd->stack[bd->depth - bi.oparg]);
        return 0;
    case ASYNC_GEN_WRAP:
        /* An async generator's yielded value, wrapped for its asend() to tell it from an
           awaited one. */
        c = bld_emit_fs(bd, HIR_AsyncGenWrap, 1, off);
        c->in[0] = bld_pop(bd);
        bld_push(bd, c);
        return 0;
    case GET_AITER:
        c = bld_emit_fs(bd, HIR_GetAIter, 1, off);
        c->in[0] = bld_pop(bd);
        bld_push(bd, c);
        return 0;
    case GET_ANEXT:
        /* The async iterator stays; the awaitable of its next item goes on top. The
           StopAsyncIteration that ends the loop leaves for the interpreter, whose handler
           (END_ASYNC_FOR) goes on. */
        c = bld_emit_fs(bd, HIR_GetANext, 1, off);
        c->in[0] = bd->stack[bd->depth - 1];
        bld_push(bd, c);
        return 0;
    case MATCH_MAPPING:
    case MATCH_SEQUENCE:
        /* The subject stays; a bool from its type's flags goes on top. */
        c = bld_emit(bd, HIR_TypeHasFlag, 1);
        c->in[0] = bd->stack[bd->depth - 1];
        c->index = bi.op == MATCH_MAPPING ? Py_TPFLAGS_MAPPING : Py_TPFLAGS_SEQUENCE;
        v = bld_emit(bd, HIR_BoxBool, 1);
        v->in[0] = c;
        bld_push(bd, v);
        return 0;
    case GET_LEN:
        c = bld_emit_fs(bd, HIR_GetLen, 1, off);
        c->in[0] = bd->stack[bd->depth - 1];
        bld_push(bd, c);
        return 0;
    case MATCH_KEYS:
        /* (subject, keys) stay; the values, or None, go on top. */
        c = bld_emit_fs(bd, HIR_MatchKeys, 2, off);
        c->in[0] = bd->stack[bd->depth - 2];
        c->in[1] = bd->stack[bd->depth - 1];
        bld_push(bd, c);
        return 0;
    case MATCH_CLASS:
        /* (subject, class, keyword names) -> the attributes' tuple, or None */
        c = bld_emit_fs(bd, HIR_MatchClass, 3, off);
        c->in[2] = bld_pop(bd);
        c->in[1] = bld_pop(bd);
        c->in[0] = bld_pop(bd);
        c->index = bi.oparg;
        bld_push(bd, c);
        return 0;
    case POP_EXCEPT:
        /* The end of an except clause that compiled code reaches through a resume point
           in it (a yield or await in the handler). */
        c = bld_emit(bd, HIR_PopExcept, 1);
        c->in[0] = bld_pop(bd);
        return 0;
    case SWAP:
        v = bd->stack[bd->depth - 1];
        bd->stack[bd->depth - 1] = bd->stack[bd->depth - bi.oparg];
        bd->stack[bd->depth - bi.oparg] = v;
        return 0;
    case LOAD_CONST:
        bld_push(bd, bld_const_obj(bd, PyTuple_GET_ITEM(co->co_consts, bi.oparg)));
        return 0;
    case LOAD_FAST:
        v = bld_read_local_in(bd, bd->cur, bi.oparg);
        if (hir_type_could_be(bld_type(v), HT_Nullptr)) {
            c = bld_emit_fs(bd, HIR_CheckLocal, 1, off);
            c->in[0] = v;
            c->index = bi.oparg;
            v = c;
            bs(bd->cur)->defs[bi.oparg] = v;
        }
        bld_push(bd, v);
        return 0;
    case STORE_FAST:
        v = bld_pop(bd);
        c = bld_emit(bd, HIR_StoreLocal, 1);
        c->in[0] = v;
        c->index = bi.oparg;
        /* Later reads borrow from the frame, as LOAD_FAST does, so that the stored value
           does not keep a reference of its own while it lives in the local: reference
           counts and lifetimes stay the interpreter's. */
        a = bld_emit(bd, HIR_LoadLocal, 0);
        a->index = bi.oparg;
        a->param = bld_type(v);
        a->type = a->param;
        bs(bd->cur)->defs[bi.oparg] = a;
        return 0;
    case DELETE_FAST:
        v = bld_read_local_in(bd, bd->cur, bi.oparg);
        if (hir_type_could_be(bld_type(v), HT_Nullptr)) {
            c = bld_emit_fs(bd, HIR_CheckLocal, 1, off);
            c->in[0] = v;
            c->index = bi.oparg;
        }
        v = bld_const(bd, hir_type(HT_Nullptr));
        c = bld_emit(bd, HIR_StoreLocal, 1);
        c->in[0] = v;
        c->index = bi.oparg;
        bs(bd->cur)->defs[bi.oparg] = v;
        return 0;
    case LOAD_CLOSURE:
        bld_push(bd, bld_read_local_in(bd, bd->cur, bi.oparg));
        return 0;
    case LOAD_DEREF:
        a = bld_read_local_in(bd, bd->cur, bi.oparg);
        v = bld_emit_fs(bd, HIR_LoadCellValue, 1, off);
        v->in[0] = a;
        v->index = bi.oparg;
        bld_push(bd, v);
        return 0;
    case STORE_DEREF:
        a = bld_read_local_in(bd, bd->cur, bi.oparg);
        v = bld_pop(bd);
        c = bld_emit(bd, HIR_StoreCellValue, 2);
        c->in[0] = a;
        c->in[1] = v;
        c->index = bi.oparg;
        return 0;
    case LOAD_GLOBAL:
        if (bi.oparg & 1) {
            bld_push(bd, bld_const(bd, hir_type(HT_Nullptr)));
        }
        v = bld_emit_fs(bd, HIR_LoadGlobal, 0, off);
        v->name = PyTuple_GET_ITEM(co->co_names, bi.oparg >> 1);
        bld_read_cache(bd, bi, v);
        bld_push(bd, v);
        return 0;
    case LOAD_ATTR:
        v = bld_emit_fs(bd, HIR_LoadAttr, 1, off);
        v->in[0] = bld_pop(bd);
        v->name = PyTuple_GET_ITEM(co->co_names, bi.oparg);
        bld_read_cache(bd, bi, v);
        bld_push(bd, v);
        return 0;
    case STORE_ATTR:
        c = bld_emit_fs(bd, HIR_StoreAttr, 2, off);
        c->in[0] = bld_pop(bd);   /* owner */
        c->in[1] = bld_pop(bd);   /* value */
        c->name = PyTuple_GET_ITEM(co->co_names, bi.oparg);
        bld_read_cache(bd, bi, c);
        return 0;
    case LOAD_METHOD:
        v = bld_emit_fs(bd, HIR_LoadMethod, 1, off);
        v->in[0] = bld_pop(bd);
        v->name = PyTuple_GET_ITEM(co->co_names, bi.oparg);
        bld_read_cache(bd, bi, v);
        a = bld_emit(bd, HIR_GetSecondOutput, 1);
        a->in[0] = v;
        a->param = hir_type(HT_Object);
        bld_push(bd, v);
        bld_push(bd, a);
        return 0;
    case PRECALL:
        /* The interpreter only unpacks bound methods here; Call handles both shapes. */
        return 0;
    case KW_NAMES:
        bd->kwnames = PyTuple_GET_ITEM(co->co_consts, bi.oparg);
        return 0;
    case CALL:
        if (bi.next + 1 < bd->ncode && bd->await_done[bi.next + 1] >= 0) {
            return bld_awaited_call(bd, bi);
        }
        bld_push(bd, bld_call(bd, HIR_Call, bi));
        bld_after_call(bd, bi);
        return 0;
    case COMPARE_OP: {
        /* A comparison whose result only feeds the next jump's truth test becomes one
           operation with a C result: no bool object in between. */
        int pos = bi.next;
        BcInstr nx = bi.next < bd->ncode ? bc_decode(bd->bc, &pos) : bi;
        bool fused = bi.next < bd->ncode && bd->block_at[bi.next] < 0
                     && (nx.op == POP_JUMP_FORWARD_IF_FALSE || nx.op == POP_JUMP_FORWARD_IF_TRUE
                         || nx.op == POP_JUMP_BACKWARD_IF_FALSE
                         || nx.op == POP_JUMP_BACKWARD_IF_TRUE);
        if (fused) {
            c = bld_emit_fs(bd, HIR_CompareBool, 2, off);
            c->in[1] = bld_pop(bd);
            c->in[0] = bld_pop(bd);
            c->index = bi.oparg;
            v = bld_emit(bd, HIR_BoxBool, 1);
            v->in[0] = c;
            bld_push(bd, v);
            return 0;
        }
    }
        /* fall through */
    case BINARY_OP:
        c = bld_emit_fs(bd, bi.op == BINARY_OP ? HIR_BinaryOp : HIR_Compare, 2, off);
        c->in[1] = bld_pop(bd);
        c->in[0] = bld_pop(bd);
        c->index = bi.oparg;
        bld_push(bd, c);
        return 0;
    case IS_OP:
        b = bld_pop(bd);
        a = bld_pop(bd);
        c = bld_emit(bd, HIR_PtrEq, 2);
        c->in[0] = a;
        c->in[1] = b;
        v = bld_emit(bd, HIR_BoxBool, 1);
        v->in[0] = c;
        v->index = bi.oparg;
        bld_push(bd, v);
        return 0;
    case CONTAINS_OP:
        c = bld_emit_fs(bd, HIR_ContainsOp, 2, off);
        c->in[1] = bld_pop(bd);   /* container */
        c->in[0] = bld_pop(bd);   /* item */
        v = bld_emit(bd, HIR_BoxBool, 1);
        v->in[0] = c;
        v->index = bi.oparg;
        bld_push(bd, v);
        return 0;
    case UNARY_NEGATIVE:
    case UNARY_POSITIVE:
    case UNARY_INVERT:
        c = bld_emit_fs(bd, HIR_UnaryOp, 1, off);
        c->in[0] = bld_pop(bd);
        c->index = bi.op;
        bld_push(bd, c);
        return 0;
    case UNARY_NOT:
        c = bld_truth(bd, bld_pop(bd), off);
        v = bld_emit(bd, HIR_BoxBool, 1);
        v->in[0] = c;
        v->index = 1;
        bld_push(bd, v);
        return 0;
    case BINARY_SUBSCR:
        c = bld_emit_fs(bd, HIR_BinarySubscr, 2, off);
        c->in[1] = bld_pop(bd);
        c->in[0] = bld_pop(bd);
        bld_push(bd, c);
        return 0;
    case STORE_SUBSCR:
        c = bld_emit_fs(bd, HIR_StoreSubscr, 3, off);
        c->in[1] = bld_pop(bd);   /* sub */
        c->in[0] = bld_pop(bd);   /* container */
        c->in[2] = bld_pop(bd);   /* value */
        return 0;
    case BUILD_TUPLE:
    case BUILD_LIST:
    case BUILD_SET:
    case BUILD_MAP: {
        int n = bi.op == BUILD_MAP ? 2 * bi.oparg : bi.oparg;
        HirOp op = bi.op == BUILD_TUPLE ? HIR_BuildTuple
                   : bi.op == BUILD_LIST ? HIR_BuildList
                   : bi.op == BUILD_SET ? HIR_BuildSet : HIR_BuildMap;
        c = bld_emit_fs(bd, op, n, off);
        for (int k = n - 1; k >= 0; k--) {
            c->in[k] = bld_pop(bd);
        }
        bld_push(bd, c);
        return 0;
    }
    case LIST_APPEND:
        v = bld_pop(bd);
        c = bld_emit_fs(bd, HIR_ListAppend, 2, off);
        c->in[0] = bd->stack[bd->depth - bi.oparg];
        c->in[1] = v;
        return 0;
    case UNPACK_SEQUENCE:
        c = bld_emit_fs(bd, HIR_UnpackSequence, 1, off);
        c->in[0] = bld_pop(bd);
        c->index = bi.oparg;
        for (int k = bi.oparg - 1; k >= 0; k--) {
            v = bld_emit(bd, HIR_TupleItem, 1);
            v->in[0] = c;
            v->index = k;
            bld_push(bd, v);
        }
        return 0;
    case UNPACK_EX: {
        /* The items and the starred list in a tuple (each frame state still has the
           sequence on the stack, as the interpreter's error path would see it), then
           unpacked as UNPACK_SEQUENCE unpacks a tuple. */
        int n = (bi.oparg & 0xFF) + 1 + (bi.oparg >> 8);
        v = bld_emit_fs(bd, HIR_UnpackEx, 1, off);
        v->in[0] = bd->stack[bd->depth - 1];
        v->index = bi.oparg;
        c = bld_emit_fs(bd, HIR_UnpackSequence, 1, off);
        c->in[0] = v;
        c->index = n;
        bld_pop(bd);
        for (int k = n - 1; k >= 0; k--) {
            v = bld_emit(bd, HIR_TupleItem, 1);
            v->in[0] = c;
            v->index = k;
            bld_push(bd, v);
        }
        return 0;
    }
    case LOAD_BUILD_CLASS:
        bld_push(bd, bld_emit_fs(bd, HIR_LoadBuildClass, 0, off));
        return 0;
    case LIST_EXTEND:
    case SET_ADD:
    case SET_UPDATE:
    case DICT_UPDATE:
        /* Into the display oparg deep, under the operand. */
        v = bld_pop(bd);
        c = bld_emit_fs(bd,
                        bi.op == LIST_EXTEND  ? HIR_ListExtend
                        : bi.op == SET_ADD    ? HIR_SetAdd
                        : bi.op == SET_UPDATE ? HIR_SetUpdate
                                              : HIR_DictUpdate,
                        2, off);
        c->in[0] = bd->stack[bd->depth - bi.oparg];
        c->in[1] = v;
        return 0;
    case DICT_MERGE:
        /* A call's ** argument: errors name the callable, below the positional arguments. */
        v = bld_pop(bd);
        c = bld_emit_fs(bd, HIR_DictMerge, 3, off);
        c->in[0] = bd->stack[bd->depth - bi.oparg - 2];
        c->in[1] = bd->stack[bd->depth - bi.oparg];
        c->in[2] = v;
        return 0;
    case MAP_ADD:
        v = bld_pop(bd);
        a = bld_pop(bd);
        c = bld_emit_fs(bd, HIR_MapAdd, 3, off);
        c->in[0] = bd->stack[bd->depth - bi.oparg];
        c->in[1] = a;
        c->in[2] = v;
        return 0;
    case BUILD_CONST_KEY_MAP: {
        /* The values, then the tuple of keys (a constant). */
        int n = bi.oparg + 1;
        c = bld_emit_fs(bd, HIR_BuildConstKeyMap, n, off);
        for (int k = n - 1; k >= 0; k--) {
            c->in[k] = bld_pop(bd);
        }
        bld_push(bd, c);
        return 0;
    }
    case LIST_TO_TUPLE:
        c = bld_emit_fs(bd, HIR_ListToTuple, 1, off);
        c->in[0] = bld_pop(bd);
        bld_push(bd, c);
        return 0;
    case BUILD_STRING:
    case BUILD_SLICE: {
        c = bld_emit_fs(bd, bi.op == BUILD_STRING ? HIR_BuildString : HIR_BuildSlice,
                        bi.oparg, off);
        for (int k = bi.oparg - 1; k >= 0; k--) {
            c->in[k] = bld_pop(bd);
        }
        bld_push(bd, c);
        return 0;
    }
    case FORMAT_VALUE: {
        int n = (bi.oparg & FVS_MASK) == FVS_HAVE_SPEC ? 2 : 1;
        c = bld_emit_fs(bd, HIR_FormatValue, n, off);
        for (int k = n - 1; k >= 0; k--) {
            c->in[k] = bld_pop(bd);
        }
        c->index = bi.oparg & FVC_MASK;
        bld_push(bd, c);
        return 0;
    }
    case LOAD_ASSERTION_ERROR:
        bld_push(bd, bld_const_obj(bd, PyExc_AssertionError));
        return 0;
    case DELETE_SUBSCR:
        c = bld_emit_fs(bd, HIR_DeleteSubscr, 2, off);
        c->in[1] = bld_pop(bd);
        c->in[0] = bld_pop(bd);
        return 0;
    case IMPORT_NAME:
        /* The fromlist, over the level. */
        c = bld_emit_fs(bd, HIR_ImportName, 2, off);
        c->in[0] = bld_pop(bd);
        c->in[1] = bld_pop(bd);
        c->name = PyTuple_GET_ITEM(co->co_names, bi.oparg);
        bld_push(bd, c);
        return 0;
    case IMPORT_FROM:
        /* The module stays on the stack under the name imported from it. */
        c = bld_emit_fs(bd, HIR_ImportFrom, 1, off);
        c->in[0] = bd->stack[bd->depth - 1];
        c->name = PyTuple_GET_ITEM(co->co_names, bi.oparg);
        bld_push(bd, c);
        return 0;
    case DELETE_GLOBAL:
        c = bld_emit_fs(bd, HIR_DeleteGlobal, 0, off);
        c->name = PyTuple_GET_ITEM(co->co_names, bi.oparg);
        return 0;
    case DELETE_DEREF:
        /* An empty cell leaves for the interpreter, which raises; else it empties. */
        a = bld_read_local_in(bd, bd->cur, bi.oparg);
        v = bld_emit_fs(bd, HIR_LoadCellValue, 1, off);
        v->in[0] = a;
        v->index = bi.oparg;
        b = bld_const(bd, hir_type(HT_Nullptr));
        c = bld_emit(bd, HIR_StoreCellValue, 2);
        c->in[0] = a;
        c->in[1] = b;
        c->index = bi.oparg;
        return 0;
    case DELETE_ATTR:
    case STORE_GLOBAL:
        c = bld_emit_fs(bd, bi.op == DELETE_ATTR ? HIR_DeleteAttr : HIR_StoreGlobal, 1, off);
        c->in[0] = bld_pop(bd);
        c->name = PyTuple_GET_ITEM(co->co_names, bi.oparg);
        return 0;
    case MAKE_FUNCTION: {
        int n = 1 + ((bi.oparg & 8) != 0) + ((bi.oparg & 4) != 0) + ((bi.oparg & 2) != 0)
                + ((bi.oparg & 1) != 0);
        c = bld_emit_fs(bd, HIR_MakeFunction, n, off);
        for (int k = 0; k < n; k++) {
            c->in[k] = bld_pop(bd);   /* the code object, then the extras, as popped */
        }
        c->index = bi.oparg;
        bld_push(bd, c);
        return 0;
    }
    case CALL_FUNCTION_EX: {
        /* The helper converts arguments that are not a tuple and keywords that are not a
           dict, as the interpreter does. */
        int n = (bi.oparg & 1) ? 3 : 2;
        c = bld_emit_fs(bd, HIR_CallEx, n, off);
        for (int k = n - 1; k >= 0; k--) {
            c->in[k] = bd->stack[bd->depth - n + k];
        }
        bd->depth -= n + 1;   /* and the NULL below the callable */
        bld_push(bd, c);
        bld_after_call(bd, bi);
        return 0;
    }
    case BEFORE_WITH:
    case BEFORE_ASYNC_WITH:
        v = bld_emit_fs(bd, bi.op == BEFORE_WITH ? HIR_BeforeWith : HIR_BeforeAsyncWith, 1,
                        off);
        v->in[0] = bld_pop(bd);
        a = bld_emit(bd, HIR_GetSecondOutput, 1);
        a->in[0] = v;
        a->param = hir_type(HT_Object);
        bld_push(bd, v);   /* __exit__, bound */
        bld_push(bd, a);   /* what __enter__ (__aenter__: an awaitable) returned */
        return 0;
    case GET_ITER:
        c = bld_emit_fs(bd, HIR_GetIter, 1, off);
        c->in[0] = bld_pop(bd);
        bld_push(bd, c);
        return 0;
    case RETURN_VALUE:
        c = bld_emit(bd, HIR_Return, 1);
        c->in[0] = bld_pop(bd);
        c->index = off;   /* the frame's last instruction, for a frame object that outlives it */
        *ended = true;
        return 0;
    case YIELD_VALUE:
        return bld_yield(bd, bi, ended);
    case RESUME:
        /* A resume point (bld_scan checked): the interpreter ran it as RESUME_JIT. */
        return 0;
    case GET_AWAITABLE:
        c = bld_emit_fs(bd, HIR_GetAwaitable, 1, off);
        c->in[0] = bld_pop(bd);
        c->index = bi.oparg;
        bld_push(bd, c);
        return 0;
    case GET_YIELD_FROM_ITER:
        c = bld_emit_fs(bd, HIR_GetYieldFromIter, 1, off);
        c->in[0] = bld_pop(bd);
        bld_push(bd, c);
        return 0;
    case RAISE_VARARGS:
    case RERAISE:
        /* Raising is the interpreter's job: leave for it at this instruction, with the
           exception (and cause, or the last instruction a re-raise restores) on the
           stack. */
        bld_emit_fs(bd, HIR_Deopt, 0, off);
        *ended = true;
        return 0;
    default:
        break;
    }
    /* Control flow. */
    int target = bc_jump_target(bi);
    int tblock = target >= 0 ? bd->block_at[target] : -1;
    int fblock = bi.next < bd->ncode ? bd->block_at[bi.next] : -1;
    *ended = true;
    switch (bi.op) {
    case JUMP_FORWARD:
    case JUMP_BACKWARD_NO_INTERRUPT:
        return bld_jump_to(bd, tblock);
    case JUMP_BACKWARD:
        bld_poll(bd, off, bd->blocks[tblock].start);
        return bld_jump_to(bd, tblock);
    case SEND: {
        /* (receiver, value) -> (receiver, yielded) for the YIELD_VALUE that follows, or
           the receiver's return value at the jump target. */
        c = bld_emit_fs(bd, HIR_Send, 2, off);
        c->in[1] = bld_pop(bd);
        c->in[0] = bd->stack[bd->depth - 1];
        a = bld_emit(bd, HIR_GetSecondOutput, 1);
        a->in[0] = c;
        a->param = hir_type(HT_CInt64);
        HirBlock *yielded, *returned;
        bld_cond_branch(bd, a, &yielded, &returned);
        bd->cur = returned;
        bld_pop(bd);
        bld_push(bd, c);
        if (bld_jump_to(bd, tblock) < 0) {
            return -1;
        }
        bld_pop(bd);
        bld_push(bd, c->in[0]);
        bd->cur = yielded;
        bld_push(bd, c);
        return bld_jump_to(bd, fblock);
    }
    case POP_JUMP_FORWARD_IF_FALSE:
    case POP_JUMP_FORWARD_IF_TRUE:
    case POP_JUMP_FORWARD_IF_NONE:
    case POP_JUMP_FORWARD_IF_NOT_NONE:
    case POP_JUMP_BACKWARD_IF_FALSE:
    case POP_JUMP_BACKWARD_IF_TRUE:
    case POP_JUMP_BACKWARD_IF_NONE:
    case POP_JUMP_BACKWARD_IF_NOT_NONE:
        return bld_pop_jump(bd, bi, tblock, fblock);
    case JUMP_IF_FALSE_OR_POP:
    case JUMP_IF_TRUE_OR_POP: {
        v = bd->stack[bd->depth - 1];
        bld_pop(bd);
        HirInstr *t = bld_truth(bd, v, off);
        bld_push(bd, v);
        HirBlock *on_t, *on_f;
        bld_cond_branch(bd, t, &on_t, &on_f);
        bool jump_if_true = bi.op == JUMP_IF_TRUE_OR_POP;
        bd->cur = jump_if_true ? on_t : on_f;
        if (bld_jump_to(bd, tblock) < 0) {
            return -1;
        }
        bd->cur = jump_if_true ? on_f : on_t;
        bld_pop(bd);
        int r = bld_jump_to(bd, fblock);
        bld_push(bd, v);
        return r;
    }
    case FOR_ITER: {
        HirInstr *it = bd->stack[bd->depth - 1];
        HirInstr *next = bld_emit(bd, HIR_ForIterNext, 1);
        next->in[0] = it;
        HirBlock *body, *done;
        bld_cond_branch(bd, next, &body, &done);
        bd->cur = done;
        bld_emit_fs(bd, HIR_CheckError, 0, off);
        bld_pop(bd);
        if (bld_jump_to(bd, tblock) < 0) {
            return -1;
        }
        bld_push(bd, it);
        bd->cur = body;
        HirInstr *item = bld_emit(bd, HIR_RefineType, 1);
        item->in[0] = next;
        item->param = hir_type(HT_Object);
        bld_push(bd, item);
        int r = bld_jump_to(bd, fblock);
        bld_pop(bd);
        return r;
    }
    default:
        break;
    }
    *ended = false;
    bd->why = "unsupported opcode";
    bd->bad_opcode = bi.op;
    return -1;
}

/* -- Driver ----------------------------------------------------------------------------- */

static const char *
bld_refuse_code(PyCodeObject *co)
{
    if (!(co->co_flags & CO_OPTIMIZED)) {
        return "module or class body";
    }
    /* Guards resume the interpreter at their instruction; with more than 256 locals a
       LOAD_FAST may carry an EXTENDED_ARG prefix that resuming would skip. */
    if (co->co_nlocalsplus > 255) {
        return "more than 255 locals";
    }
    if (Py_SIZE(co) > 20000) {
        return "function too large";
    }
    return NULL;
}

/* Fill the phis of merge blocks from their predecessors' exit stacks, then drop the
   trivial ones (all inputs the same value, or the phi itself). */
static void
bld_complete_phis(Builder *bd)
{
    hir_func_compute_preds(bd->func);
    for (int i = 0; i < bd->nblocks; i++) {
        BcBlock *b = &bd->blocks[i];
        if (!b->built || b->phis == NULL) {
            continue;
        }
        HirBlock *h = b->hir;
        for (int k = 0; k < b->depth; k++) {
            HirInstr *phi = b->phis[k];
            phi->nin = h->npreds;
            phi->in = jit_arena_alloc(bd->func->arena,
                                      sizeof(HirInstr *) * (size_t)(h->npreds + 1));
            for (int p = 0; p < h->npreds; p++) {
                phi->in[p] = bs(h->preds[p])->exit_stack[k];
            }
        }
    }
    bool changed = true;
    while (changed) {
        changed = false;
        for (HirBlock *h = bd->func->blocks; h; h = h->next_in_func) {
            for (HirInstr *phi = h->first; phi && phi->op == HIR_Phi;) {
                HirInstr *next = phi->next;
                HirInstr *same = NULL;
                bool trivial = true;
                for (int p = 0; p < phi->nin; p++) {
                    HirInstr *in = phi->in[p];
                    if (in == phi || in == same) {
                        continue;
                    }
                    if (same != NULL) {
                        trivial = false;
                        break;
                    }
                    same = in;
                }
                if (trivial && same != NULL) {
                    hir_func_replace_uses(bd->func, phi, same);
                    for (HirBlock *x = bd->func->blocks; x; x = x->next_in_func) {
                        BlockState *s = bs(x);
                        for (int k = 0; s && k < s->exit_depth; k++) {
                            if (s->exit_stack[k] == phi) {
                                s->exit_stack[k] = same;
                            }
                        }
                    }
                    hir_instr_remove(phi);
                    changed = true;
                }
                phi = next;
            }
        }
    }
}

HirFunc *
hir_build(JitArena *arena, PyFunctionObject *pyfunc, const char *name, const char **why,
          int *bad_opcode)
{
    PyCodeObject *co = (PyCodeObject *)pyfunc->func_code;
    *why = bld_refuse_code(co);
    if (*why != NULL) {
        return NULL;
    }
    Builder bd = {0};
    bd.func = hir_func_new(arena, name);
    bd.func->code = co;
    bd.func->globals = pyfunc->func_globals;
    bd.func->builtins = pyfunc->func_builtins;
    bd.func->nlocalsplus = co->co_nlocalsplus;
    bd.code = co;
    bd.bc = _PyCode_CODE(co);
    bd.ncode = (int)Py_SIZE(co);
    bd.nlocals = co->co_nlocalsplus;
    bd.max_depth = co->co_stacksize + 1;
    bd.stack = jit_arena_alloc(arena, sizeof(HirInstr *) * (size_t)(bd.max_depth + 1));

    /* The prologue (MAKE_CELL, COPY_FREE_VARS; in a generator or coroutine
       RETURN_GENERATOR, POP_TOP) runs in the interpreter before RESUME. */
    bd.resume_offset = -1;
    for (int pos = 0; pos < bd.ncode;) {
        BcInstr bi = bc_decode(bd.bc, &pos);
        if (bi.op == RESUME) {
            bd.resume_offset = bi.offset;
            bd.start = bi.next;
            break;
        }
        if (bi.op != MAKE_CELL && bi.op != COPY_FREE_VARS && bi.op != NOP
            && bi.op != RETURN_GENERATOR && bi.op != POP_TOP) {
            break;
        }
    }
    if (bd.resume_offset < 0) {
        *why = "no RESUME in the prologue";
        return NULL;
    }
    if (bld_scan(&bd) < 0) {
        *why = bd.why;
        return NULL;
    }
    char *seen = jit_arena_alloc(arena, (size_t)bd.nblocks + 1);
    int *post = jit_arena_alloc(arena, sizeof(int) * (size_t)(bd.nblocks + 1));
    int count = 0;
    bld_rpo_visit(&bd, 0, seen, post, &count);
    bd.blocks[0].npreds++;   /* the entry edge */
    /* Resume points whose yield only exception handling reaches are entered from the
       entry block alone, built after everything normal control flow reaches. */
    int *roots = jit_arena_alloc(arena, sizeof(int) * (size_t)(bd.nresumes + 1));
    int *root_depth = jit_arena_alloc(arena, sizeof(int) * (size_t)(bd.nresumes + 1));
    int nroots = 0;
    for (int r = 0; r < bd.nresumes; r++) {
        int b = bd.block_at[bd.resume_offsets[r]];
        if (seen[b]) {
            continue;
        }
        root_depth[r] = bld_depth_at(&bd, bd.resume_offsets[r]);
        if (root_depth[r] < 1 || root_depth[r] > co->co_stacksize) {
            *why = "a resume point with an unknown stack";
            return NULL;
        }
        int *more = jit_arena_alloc(arena, sizeof(int) * (size_t)(bd.nblocks + 1));
        int nmore = 0;
        bld_rpo_visit(&bd, b, seen, more, &nmore);
        bd.blocks[b].npreds++;   /* from the entry block */
        memmove(post + nmore, post, sizeof(int) * (size_t)count);
        memcpy(post, more, sizeof(int) * (size_t)nmore);
        count += nmore;
        roots[nroots++] = b;
    }
    int nargs = co->co_argcount + co->co_kwonlyargcount
                + ((co->co_flags & CO_VARARGS) != 0) + ((co->co_flags & CO_VARKEYWORDS) != 0);
    bd.bound_words = bd.nlocals / 64 + 1;
    uint64_t *entry_bound = jit_arena_alloc(arena, sizeof(uint64_t) * (size_t)bd.bound_words);
    for (int i = 0; i < bd.nlocals; i++) {
        _PyLocals_Kind kind = _PyLocals_GetKind(co->co_localspluskinds, i);
        if (i < nargs || (kind & (CO_FAST_CELL | CO_FAST_FREE))) {
            entry_bound[i / 64] |= (uint64_t)1 << (i % 64);
        }
    }
    bld_bound_locals(&bd, post, count, entry_bound, roots, nroots);

    /* The entry block defines the locals. (RESUME_JIT polls the eval breaker before it
       enters compiled code, as RESUME does.) */
    HirBlock *entry = bld_new_block(&bd, NULL, 0);
    bd.cur = entry;
    for (int i = 0; i < bd.nlocals; i++) {
        _PyLocals_Kind kind = _PyLocals_GetKind(co->co_localspluskinds, i);
        HirInstr *v;
        if (i < nargs || (kind & (CO_FAST_CELL | CO_FAST_FREE))) {
            v = bld_emit(&bd, HIR_LoadLocal, 0);
            v->index = i;
            int first_star = co->co_argcount + co->co_kwonlyargcount;
            bool varargs = (co->co_flags & CO_VARARGS) && i == first_star;
            bool varkw = (co->co_flags & CO_VARKEYWORDS)
                         && i == first_star + ((co->co_flags & CO_VARARGS) != 0);
            v->param = hir_type((kind & (CO_FAST_CELL | CO_FAST_FREE)) ? HT_Cell
                                : varargs ? HT_TupleExact
                                : varkw ? HT_DictExact : HT_Object);
        }
        else {
            v = bld_const(&bd, hir_type(HT_Nullptr));
        }
        v->type = hir_instr_output_type(v);
        bs(entry)->defs[i] = v;
    }
    for (int k = count - 1; k >= 0; k--) {
        BcBlock *b = &bd.blocks[post[k]];
        b->rpo = count - 1 - k;
        b->hir = bld_new_block(&bd, NULL, b->npreds);
        bs(b->hir)->bound = bd.bound_in + (size_t)post[k] * (size_t)bd.bound_words;
    }
    /* A generator or coroutine enters at the start or at one of its resume points,
       which the frame's prev_instr (the RESUME that ran RESUME_JIT) tells apart. */
    for (int r = 0; r < bd.nresumes; r++) {
        HirInstr *is = bld_emit(&bd, HIR_IsResumePoint, 0);
        is->index = bd.resume_offsets[r];
        HirBlock *other = bld_new_block(&bd, bd.cur, 1);
        HirBlock *resume = bld_new_block(&bd, NULL, 0);
        int bc_block = bd.block_at[bd.resume_offsets[r]];
        bs(resume)->bound = bd.bound_in + (size_t)bc_block * (size_t)bd.bound_words;
        bd.resume_entries[r] = resume;
        HirInstr *br = bld_emit(&bd, HIR_CondBranch, 1);
        br->in[0] = is;
        br->target[0] = resume;
        br->target[1] = other;
        bd.cur = other;
    }
    HirBlock *entry_chain_end = bd.cur;
    for (int r = 0; r < bd.nresumes; r++) {
        int b = bd.block_at[bd.resume_offsets[r]];
        if (bd.blocks[b].rpo >= 0 && bd.resume_entries[r]->first == NULL
            && bld_is_root(roots, nroots, b)) {
            bd.cur = bd.resume_entries[r];
            bd.depth = 0;
            for (int k = 0; k < root_depth[r]; k++) {
                HirInstr *v = bld_emit(&bd, HIR_LoadStack, 0);
                v->index = k;
                v->param = hir_type(k == root_depth[r] - 1 ? HT_Object : HT_OptObject);
                v->type = v->param;
                bld_push(&bd, v);
            }
            if (bld_jump_to(&bd, b) < 0) {
                *why = bd.why;
                return NULL;
            }
        }
    }
    bd.cur = entry_chain_end;
    bd.blocks[0].depth = 0;
    bd.depth = 0;
    if (bld_jump_to(&bd, 0) < 0) {
        *why = bd.why;
        return NULL;
    }

    for (int k = count - 1; k >= 0; k--) {
        int bi_index = post[k];
        BcBlock *b = &bd.blocks[bi_index];
        bd.cur = b->hir;
        if (b->depth < 0) {
            *why = "block reached with an unknown stack";
            return NULL;
        }
        /* The entry stack: a phi per slot at merge points, else the predecessor's. */
        bd.depth = b->depth;
        BlockState *s = bs(b->hir);
        s->loop_header = s->nbuilt_preds < s->expected_preds;
        if (b->npreds > 1) {
            b->phis = jit_arena_alloc(arena, sizeof(HirInstr *) * (size_t)(b->depth + 1));
            for (int d = 0; d < b->depth; d++) {
                HirInstr *phi = bld_emit(&bd, HIR_Phi, 0);
                b->phis[d] = phi;
                bd.stack[d] = phi;
            }
        }
        else {
            memcpy(bd.stack, bs(s->pred)->exit_stack, sizeof(HirInstr *) * (size_t)b->depth);
        }
        bool ended = false;
        for (int pos = b->start; pos < b->end && !ended;) {
            BcInstr bi = bc_decode(bd.bc, &pos);
            if (bld_instr(&bd, bi, &ended) < 0) {
                *why = bd.why;
                if (bad_opcode != NULL) {
                    *bad_opcode = bd.bad_opcode;
                }
                return NULL;
            }
            if (bd.depth > bd.max_depth) {
                *why = "stack overflow in the builder";
                return NULL;
            }
        }
        if (!ended) {
            int next = bd.block_at[b->end];
            if (b->end >= bd.ncode || next < 0) {
                *why = "falls off the end of the code";
                return NULL;
            }
            if (bld_jump_to(&bd, next) < 0) {
                *why = bd.why;
                return NULL;
            }
        }
        b->built = true;
    }
    for (int r = 0; r < bd.nresumes; r++) {
        if (bd.resume_entries[r]->first == NULL) {
            *why = "a resume point not built";
            return NULL;
        }
    }
    bld_complete_phis(&bd);
    int n;
    hir_func_rpo(bd.func, &n);
    hir_func_infer_types(bd.func);
    for (HirBlock *h = bd.func->blocks; h; h = h->next_in_func) {
        h->builder = NULL;
    }
    return bd.func;
}
