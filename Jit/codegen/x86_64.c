/* The x86-64 code generator: turns allocated LIR into machine code through the asmjit
   shim (asm.h): frame, every LIR instruction, calls, out-of-line deopt exits. */

#include "Python.h"
#include "pycore_dict.h"
#include "pycore_frame.h"
#include "pycore_moduleobject.h"

#include "Jit/codegen/x86_64.h"
#include "Jit/codegen/asm.h"
#include "Jit/runtime.h"
#include "Jit/rt/helpers.h"
#include "cinder/jit_hooks.h"
#include "pycore_interp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -- Frame layout --------------------------------------------------------------------

       [rbp + 8]                return address
       [rbp]                    caller's rbp
       [rbp - 8]                the body's second argument (the _PyInterpreterFrame)
       [rbp - 16]               its first argument (the PyThreadState)
       [rbp - 24 - 8*s]         spill slot s
       below the slots          the callee-saved registers the allocator used
       rsp                      16-byte aligned, fixed for the whole body (no pushes),
                                so every call site is aligned.

   Deopt exits reload the frame pointer from [rbp - 8], so they work whatever the
   allocator did with the argument registers. The allocator's contract (linear_scan.c)
   lets any operand sit in a spill slot; r10/r11 and xmm14/xmm15 are the generator's
   own scratch registers for that, r11 also breaking parallel-move cycles. */

#define CG_FRAME_SLOT (-8)
#define CG_TSTATE_SLOT (-16)
#define CG_R11 LIR_SCRATCH0
#define CG_R10 LIR_SCRATCH1
#define CG_X15 LIR_FSCRATCH0

static const int cg_callee_saved[] = {LIR_RBX, LIR_R12, LIR_R13, LIR_R14, LIR_R15};
static const int cg_int_args[6] = {LIR_RDI, LIR_RSI, LIR_RDX, LIR_RCX, LIR_R8, LIR_R9};

typedef struct CgCtx {
    LirFunc *f;
    CiAsm *a;
    int *labels;    /* by block order */
    int epilogue;
    int nsaved;
    int saved[5];
    int frame_size;
    LirInstr **stubs; /* instructions with a deopt exit, and their labels */
    int *stub_labels;
    int nstubs, stubs_cap;
    struct CgTail *tails; /* out-of-line parts of instructions, emitted after the body */
    int ntails, tails_cap;
    bool listing;   /* the assembly listing is asked for: comment it */
    const char *why;
} CgCtx;

/* -- Operands -------------------------------------------------------------------------- */

static int32_t
cg_slot_disp(int slot)
{
    return -24 - 8 * slot;
}

static bool
cg_is_xmm(int reg)
{
    return reg >= LIR_XMM0;
}

static CiAsmOperand
cg_loc(LirLoc loc, int size)
{
    if (loc.kind == LIR_LOC_REG) {
        return ci_asm_reg(loc.index, size);
    }
    return ci_asm_mem(LIR_RBP, -1, 1, cg_slot_disp(loc.index), size);
}

static void
cg_emit2(CgCtx *c, CiAsmInst inst, CiAsmOperand a, CiAsmOperand b)
{
    ci_asm_emit(c->a, inst, &a, &b, NULL);
}

static void
cg_emit1(CgCtx *c, CiAsmInst inst, CiAsmOperand a)
{
    ci_asm_emit(c->a, inst, &a, NULL, NULL);
}

static bool
cg_fits32(int64_t v)
{
    return v == (int32_t)v;
}

/* A call to the C function at address FN: `call [rip+entry]` through the code's table of
   addresses (asmjit's .addrtab, one entry per distinct function), or `call rel32` where
   the function is within reach of the code; six bytes either way, where
   `mov rax, imm64; call rax` takes twelve. */
static void
cg_call_abs(CgCtx *c, int64_t fn)
{
    cg_emit1(c, CI_ASM_call, ci_asm_imm(fn));
}

/* Copies between any two locations, whatever their classes. */
static void
cg_copy(CgCtx *c, LirLoc dst, LirLoc src)
{
    if (lir_loc_eq(dst, src)) {
        return;
    }
    bool dreg = dst.kind == LIR_LOC_REG, sreg = src.kind == LIR_LOC_REG;
    if (dreg && sreg) {
        bool dx = cg_is_xmm(dst.index), sx = cg_is_xmm(src.index);
        cg_emit2(c, dx && sx ? CI_ASM_movaps : (dx || sx) ? CI_ASM_movq : CI_ASM_mov,
                 cg_loc(dst, 8), cg_loc(src, 8));
    }
    else if (dreg) {
        cg_emit2(c, cg_is_xmm(dst.index) ? CI_ASM_movsd : CI_ASM_mov, cg_loc(dst, 8),
                 cg_loc(src, 8));
    }
    else if (sreg) {
        cg_emit2(c, cg_is_xmm(src.index) ? CI_ASM_movsd : CI_ASM_mov, cg_loc(dst, 8),
                 cg_loc(src, 8));
    }
    else {
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R10, 8), cg_loc(src, 8));
        cg_emit2(c, CI_ASM_mov, cg_loc(dst, 8), ci_asm_reg(CG_R10, 8));
    }
}

/* Loads integer constant V into REG. */
static void
cg_load_imm(CgCtx *c, int reg, int64_t v)
{
    if (v == 0) {
        cg_emit2(c, CI_ASM_xor, ci_asm_reg(reg, 4), ci_asm_reg(reg, 4));
    }
    else {
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(reg, 8), ci_asm_imm(v));
    }
}

/* The value of GP operand O in a register: its own, or SCRATCH. */
static int
cg_gp_in(CgCtx *c, const LirOperand *o, int scratch)
{
    if (o->kind == LIR_OPND_IMM) {
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(scratch, 8), ci_asm_imm(o->imm));
        return scratch;
    }
    if (o->loc.kind == LIR_LOC_REG) {
        return o->loc.index;
    }
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(scratch, 8), cg_loc(o->loc, 8));
    return scratch;
}

/* O as the source operand of an ALU instruction: a register, a spill slot or an
   imm32; a wider immediate goes through SCRATCH. */
static CiAsmOperand
cg_gp_src(CgCtx *c, const LirOperand *o, int scratch)
{
    if (o->kind == LIR_OPND_IMM) {
        if (cg_fits32(o->imm)) {
            return ci_asm_imm(o->imm);
        }
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(scratch, 8), ci_asm_imm(o->imm));
        return ci_asm_reg(scratch, 8);
    }
    return cg_loc(o->loc, 8);
}

/* Memory operand M. Spilled base/index are loaded into r10/r11; with KEEP_R11 the
   address is folded into r10 alone so that r11 stays free for the value. */
static CiAsmOperand
cg_mem(CgCtx *c, const LirOperand *m, int size, bool keep_r11)
{
    int base = -1, index = -1;
    if (m->vreg >= 0) {
        base = m->loc.kind == LIR_LOC_REG ? m->loc.index : CG_R10;
        if (base == CG_R10) {
            cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R10, 8), cg_loc(m->loc, 8));
        }
    }
    if (m->index >= 0) {
        index = m->index_loc.kind == LIR_LOC_REG ? m->index_loc.index : CG_R11;
        if (index == CG_R11) {
            cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 8), cg_loc(m->index_loc, 8));
            if (keep_r11) {
                cg_emit2(c, CI_ASM_lea, ci_asm_reg(CG_R10, 8),
                         ci_asm_mem(base, CG_R11, m->scale, (int32_t)m->imm, 8));
                return ci_asm_mem(CG_R10, -1, 1, 0, size);
            }
        }
    }
    return ci_asm_mem(base, index, m->scale, (int32_t)m->imm, size);
}

/* The register an output should be computed in: its own, or SCRATCH. */
static int
cg_out_reg(const LirOperand *out, int scratch)
{
    return out->loc.kind == LIR_LOC_REG ? out->loc.index : scratch;
}

static void
cg_out_store(CgCtx *c, const LirOperand *out, int reg)
{
    cg_copy(c, out->loc, lir_loc_reg(reg));
}

static bool
cg_in_reg(const LirOperand *o, int reg)
{
    return o->kind == LIR_OPND_VREG && o->loc.kind == LIR_LOC_REG && o->loc.index == reg;
}

/* -- Parallel moves ---------------------------------------------------------------------- */

static void
cg_parallel(CgCtx *c, const LirLoc *dst, const LirLoc *src, int n)
{
    if (n == 0) {
        return;
    }
    if (n == 1) {
        if (!lir_loc_eq(dst[0], src[0])) {
            cg_copy(c, dst[0], src[0]);
        }
        return;
    }
    LirMoveStep small[48];
    LirMoveStep *steps = 3 * n + 1 <= 48 ? small : malloc(sizeof(LirMoveStep) * (3 * n + 1));
    int ns = lir_parallel_move(dst, src, n, CG_R11, steps);
    for (int k = 0; k < ns; k++) {
        if (steps[k].kind == LIR_MOVE_SWAP) {
            cg_emit2(c, CI_ASM_xchg, cg_loc(steps[k].dst, 8), cg_loc(steps[k].src, 8));
        }
        else {
            cg_copy(c, steps[k].dst, steps[k].src);
        }
    }
    if (steps != small) {
        free(steps);
    }
}

/* -- Conditions -------------------------------------------------------------------------- */

static const int cg_x86_cc[LIR_NUM_CC] = {
    CI_CC_E, CI_CC_NE, CI_CC_L, CI_CC_GE, CI_CC_LE, CI_CC_G,
    CI_CC_B, CI_CC_AE, CI_CC_BE, CI_CC_A,
};

/* cmp/test A, B (A a GP vreg). */
static void
cg_compare(CgCtx *c, bool test, const LirOperand *a, const LirOperand *b)
{
    CiAsmOperand x = cg_loc(a->loc, 8);
    CiAsmOperand y;
    if (b->kind == LIR_OPND_IMM && cg_fits32(b->imm)) {
        y = ci_asm_imm(b->imm);
    }
    else if (b->kind == LIR_OPND_IMM) {
        cg_load_imm(c, CG_R10, b->imm);
        y = ci_asm_reg(CG_R10, 8);
    }
    else {
        y = cg_loc(b->loc, 8);
    }
    if (!test && x.kind == CI_AOP_REG && y.kind == CI_AOP_IMM && y.imm == 0) {
        test = true; /* same flags, shorter */
        y = x;
    }
    if (x.kind == CI_AOP_MEM && y.kind == CI_AOP_MEM) {
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 8), x);
        x = ci_asm_reg(CG_R11, 8);
    }
    if (test && y.kind == CI_AOP_MEM) {
        CiAsmOperand t = x; /* test is symmetric; asmjit wants the memory first */
        x = y;
        y = t;
    }
    cg_emit2(c, test ? CI_ASM_test : CI_ASM_cmp, x, y);
}

/* ucomisd for an ordered comparison CC of A and B. Returns the x86 condition and sets
   *PARITY: 0, or 1 (also needs PF=0: EQ), or 2 (or PF=1: NE). */
static int
cg_fcompare(CgCtx *c, LirCond cc, const LirOperand *a, const LirOperand *b, int *parity)
{
    const LirOperand *x = a, *y = b;
    int xcc;
    *parity = 0;
    switch (cc) {
    case LIR_CC_EQ:
        xcc = CI_CC_E;
        *parity = 1;
        break;
    case LIR_CC_NE:
        xcc = CI_CC_NE;
        *parity = 2;
        break;
    case LIR_CC_LT:
        x = b, y = a;
        xcc = CI_CC_A;
        break;
    case LIR_CC_LE:
        x = b, y = a;
        xcc = CI_CC_AE;
        break;
    case LIR_CC_GT:
        xcc = CI_CC_A;
        break;
    case LIR_CC_GE:
        xcc = CI_CC_AE;
        break;
    default:
        xcc = cg_x86_cc[cc];
    }
    int xr = x->loc.kind == LIR_LOC_REG ? x->loc.index : CG_X15;
    if (xr == CG_X15) {
        cg_emit2(c, CI_ASM_movsd, ci_asm_reg(CG_X15, 8), cg_loc(x->loc, 8));
    }
    cg_emit2(c, CI_ASM_ucomisd, ci_asm_reg(xr, 8), cg_loc(y->loc, 8));
    return xcc;
}

/* -- Instructions ---------------------------------------------------------------------- */

static void
cg_alu(CgCtx *c, LirInstr *i)
{
    static const CiAsmInst insts[] = {
        CI_ASM_add, CI_ASM_sub, CI_ASM_imul, CI_ASM_and, CI_ASM_or,
        CI_ASM_xor, CI_ASM_shl, CI_ASM_sar, CI_ASM_shr,
    };
    _Static_assert(LIR_Shr - LIR_Add == 8, "ORDER LIR: the ALU rows are contiguous");
    CiAsmInst inst = insts[i->op - LIR_Add];
    const LirOperand *a = &i->in[0], *b = &i->in[1];
    LirOperand *out = &i->out[0];
    bool shift = i->op >= LIR_Shl;
    if (shift && b->kind != LIR_OPND_IMM) {
        /* The count must be in cl: borrow rcx, keeping its value in r10. */
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 8), cg_gp_src(c, a, CG_R11));
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R10, 8), ci_asm_reg(LIR_RCX, 8));
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(LIR_RCX, 8), cg_loc(b->loc, 8));
        cg_emit2(c, inst, ci_asm_reg(CG_R11, 8), ci_asm_reg(LIR_RCX, 1));
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(LIR_RCX, 8), ci_asm_reg(CG_R10, 8));
        cg_out_store(c, out, CG_R11);
        return;
    }
    if (lir_op_has(i->op, LF_COMM) && out->loc.kind == LIR_LOC_REG &&
        cg_in_reg(b, out->loc.index)) {
        const LirOperand *t = a;
        a = b;
        b = t;
    }
    int d = cg_out_reg(out, CG_R11);
    if (cg_in_reg(b, d) && !cg_in_reg(a, d)) {
        d = CG_R11; /* writing d first would clobber b */
    }
    if (!cg_in_reg(a, d)) {
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(d, 8), cg_gp_src(c, a, d));
    }
    if (shift) {
        cg_emit2(c, inst, ci_asm_reg(d, 8), ci_asm_imm(b->imm & 63));
    }
    else if (i->op == LIR_Imul && b->kind == LIR_OPND_IMM && cg_fits32(b->imm)) {
        CiAsmOperand r = ci_asm_reg(d, 8), k = ci_asm_imm(b->imm);
        ci_asm_emit(c->a, CI_ASM_imul, &r, &r, &k);
    }
    else {
        cg_emit2(c, inst, ci_asm_reg(d, 8), cg_gp_src(c, b, CG_R10));
    }
    cg_out_store(c, out, d);
}

static void
cg_fp_alu(CgCtx *c, LirInstr *i)
{
    static const CiAsmInst insts[] = {CI_ASM_addsd, CI_ASM_subsd, CI_ASM_mulsd,
                                      CI_ASM_divsd};
    _Static_assert(LIR_DivF - LIR_AddF == 3, "ORDER LIR: the double rows are contiguous");
    const LirOperand *a = &i->in[0], *b = &i->in[1];
    LirOperand *out = &i->out[0];
    if (lir_op_has(i->op, LF_COMM) && out->loc.kind == LIR_LOC_REG &&
        cg_in_reg(b, out->loc.index)) {
        const LirOperand *t = a;
        a = b;
        b = t;
    }
    int d = cg_out_reg(out, CG_X15);
    if (cg_in_reg(b, d) && !cg_in_reg(a, d)) {
        d = CG_X15;
    }
    if (!cg_in_reg(a, d)) {
        cg_copy(c, lir_loc_reg(d), a->loc);
    }
    cg_emit2(c, insts[i->op - LIR_AddF], ci_asm_reg(d, 8), cg_loc(b->loc, 8));
    cg_out_store(c, out, d);
}

static void
cg_move(CgCtx *c, LirInstr *i)
{
    const LirOperand *src = &i->in[0];
    LirLoc dst = i->out[0].loc;
    if (src->kind == LIR_OPND_VREG) {
        cg_copy(c, dst, src->loc);
        return;
    }
    if (src->kind == LIR_OPND_IMM && dst.kind == LIR_LOC_REG) {
        cg_load_imm(c, dst.index, src->imm);
    }
    else if (src->kind == LIR_OPND_IMM && cg_fits32(src->imm)) {
        cg_emit2(c, CI_ASM_mov, cg_loc(dst, 8), ci_asm_imm(src->imm));
    }
    else {
        cg_load_imm(c, CG_R11, src->imm); /* a double's bits, or a wide integer */
        cg_copy(c, dst, lir_loc_reg(CG_R11));
    }
}

static void
cg_load(CgCtx *c, LirInstr *i)
{
    LirOperand *out = &i->out[0];
    if (i->op == LIR_LoadF) {
        int d = cg_out_reg(out, CG_X15);
        cg_emit2(c, CI_ASM_movsd, ci_asm_reg(d, 8), cg_mem(c, &i->in[0], 8, false));
        cg_out_store(c, out, d);
        return;
    }
    int d = cg_out_reg(out, CG_R11);
    switch (i->op) {
    case LIR_Load8:
    case LIR_Load16:
        cg_emit2(c, CI_ASM_movzx, ci_asm_reg(d, 4),
                 cg_mem(c, &i->in[0], i->op == LIR_Load8 ? 1 : 2, false));
        break;
    case LIR_Load8s:
    case LIR_Load16s:
        cg_emit2(c, CI_ASM_movsx, ci_asm_reg(d, 8),
                 cg_mem(c, &i->in[0], i->op == LIR_Load8s ? 1 : 2, false));
        break;
    case LIR_Load32:
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(d, 4), cg_mem(c, &i->in[0], 4, false));
        break;
    case LIR_Load32s:
        cg_emit2(c, CI_ASM_movsxd, ci_asm_reg(d, 8), cg_mem(c, &i->in[0], 4, false));
        break;
    case LIR_Lea:
        cg_emit2(c, CI_ASM_lea, ci_asm_reg(d, 8), cg_mem(c, &i->in[0], 8, false));
        break;
    default:
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(d, 8), cg_mem(c, &i->in[0], 8, false));
    }
    cg_out_store(c, out, d);
}

static void
cg_store(CgCtx *c, LirInstr *i)
{
    const LirOperand *v = &i->in[1];
    if (i->op == LIR_StoreF) {
        int r = v->loc.kind == LIR_LOC_REG ? v->loc.index : CG_X15;
        if (r == CG_X15) {
            cg_emit2(c, CI_ASM_movsd, ci_asm_reg(CG_X15, 8), cg_loc(v->loc, 8));
        }
        cg_emit2(c, CI_ASM_movsd, cg_mem(c, &i->in[0], 8, false), ci_asm_reg(r, 8));
        return;
    }
    int size = i->op == LIR_Store8 ? 1 : i->op == LIR_Store16 ? 2 : i->op == LIR_Store32 ? 4
                                                                                        : 8;
    CiAsmOperand val;
    bool small_imm = v->kind == LIR_OPND_IMM
                     && (cg_fits32(v->imm) || (size == 4 && (uint64_t)v->imm <= UINT32_MAX));
    bool in_reg = v->kind == LIR_OPND_VREG && v->loc.kind == LIR_LOC_REG;
    CiAsmOperand mem = cg_mem(c, &i->in[0], size, !small_imm && !in_reg);
    if (small_imm) {
        int64_t k = size == 8 ? v->imm : size == 4 ? (int32_t)v->imm
                                       : size == 2 ? (int16_t)v->imm : (int8_t)v->imm;
        val = ci_asm_imm(k);
    }
    else {
        val = ci_asm_reg(cg_gp_in(c, v, CG_R11), size);
    }
    cg_emit2(c, CI_ASM_mov, mem, val);
}

static void
cg_extend(CgCtx *c, LirInstr *i)
{
    LirOperand *out = &i->out[0];
    int d = cg_out_reg(out, CG_R11);
    int s = cg_gp_in(c, &i->in[0], CG_R11);
    switch (i->op) {
    case LIR_Sext8:
        cg_emit2(c, CI_ASM_movsx, ci_asm_reg(d, 8), ci_asm_reg(s, 1));
        break;
    case LIR_Sext16:
        cg_emit2(c, CI_ASM_movsx, ci_asm_reg(d, 8), ci_asm_reg(s, 2));
        break;
    case LIR_Sext32:
        cg_emit2(c, CI_ASM_movsxd, ci_asm_reg(d, 8), ci_asm_reg(s, 4));
        break;
    case LIR_Zext8:
        cg_emit2(c, CI_ASM_movzx, ci_asm_reg(d, 4), ci_asm_reg(s, 1));
        break;
    case LIR_Zext16:
        cg_emit2(c, CI_ASM_movzx, ci_asm_reg(d, 4), ci_asm_reg(s, 2));
        break;
    default:
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(d, 4), ci_asm_reg(s, 4));
    }
    cg_out_store(c, out, d);
}

static void
cg_unary(CgCtx *c, LirInstr *i)
{
    LirOperand *out = &i->out[0];
    int d = cg_out_reg(out, CG_R11);
    if (!cg_in_reg(&i->in[0], d)) {
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(d, 8), cg_gp_src(c, &i->in[0], d));
    }
    cg_emit1(c, i->op == LIR_Neg ? CI_ASM_neg : CI_ASM_not, ci_asm_reg(d, 8));
    cg_out_store(c, out, d);
}

static void
cg_convert(CgCtx *c, LirInstr *i)
{
    LirOperand *out = &i->out[0];
    if (i->op == LIR_IntToF) {
        int d = cg_out_reg(out, CG_X15);
        CiAsmOperand s = i->in[0].kind == LIR_OPND_IMM ? ci_asm_reg(cg_gp_in(c, &i->in[0],
                                                                            CG_R11), 8)
                                                       : cg_loc(i->in[0].loc, 8);
        cg_emit2(c, CI_ASM_cvtsi2sd, ci_asm_reg(d, 8), s);
        cg_out_store(c, out, d);
    }
    else {
        int d = cg_out_reg(out, CG_R11);
        cg_emit2(c, CI_ASM_cvttsd2si, ci_asm_reg(d, 8), cg_loc(i->in[0].loc, 8));
        cg_out_store(c, out, d);
    }
}

/* setcc into the output, zero-extended; PARITY as cg_fcompare returns it. */
static void
cg_setcc(CgCtx *c, LirOperand *out, int xcc, int parity)
{
    ci_asm_setcc(c->a, xcc, CG_R11);
    if (parity) {
        ci_asm_setcc(c->a, parity == 1 ? CI_CC_NP : CI_CC_P, CG_R10);
        cg_emit2(c, parity == 1 ? CI_ASM_and : CI_ASM_or, ci_asm_reg(CG_R11, 1),
                 ci_asm_reg(CG_R10, 1));
    }
    int d = cg_out_reg(out, CG_R11);
    cg_emit2(c, CI_ASM_movzx, ci_asm_reg(d, 4), ci_asm_reg(CG_R11, 1));
    cg_out_store(c, out, d);
}

static void
cg_call(CgCtx *c, LirInstr *i)
{
    LirLoc dst[16], src[16];
    int n = 0, ngp = 0, nfp = 0;
    const LirOperand *callee = &i->in[0];
    if (callee->kind == LIR_OPND_VREG) {
        dst[n] = lir_loc_reg(LIR_RAX);
        src[n++] = callee->loc;
    }
    for (int k = 1; k < i->nin; k++) {
        const LirOperand *o = &i->in[k];
        bool fp = o->kind == LIR_OPND_FIMM ||
                  (o->kind == LIR_OPND_VREG && lir_vreg_class(c->f, o->vreg) == LIR_FP);
        int reg = fp ? LIR_XMM0 + nfp++ : cg_int_args[ngp++];
        if (o->kind == LIR_OPND_VREG) {
            dst[n] = lir_loc_reg(reg);
            src[n++] = o->loc;
        }
    }
    cg_parallel(c, dst, src, n);
    ngp = nfp = 0;
    for (int k = 1; k < i->nin; k++) {
        const LirOperand *o = &i->in[k];
        bool fp = o->kind == LIR_OPND_FIMM ||
                  (o->kind == LIR_OPND_VREG && lir_vreg_class(c->f, o->vreg) == LIR_FP);
        int reg = fp ? LIR_XMM0 + nfp++ : cg_int_args[ngp++];
        if (o->kind == LIR_OPND_IMM) {
            cg_load_imm(c, reg, o->imm);
        }
        else if (o->kind == LIR_OPND_FIMM) {
            cg_load_imm(c, CG_R11, o->imm);
            cg_copy(c, lir_loc_reg(reg), lir_loc_reg(CG_R11));
        }
    }
    if (callee->kind == LIR_OPND_IMM) {
        cg_call_abs(c, callee->imm);
    }
    else {
        cg_emit1(c, CI_ASM_call, ci_asm_reg(LIR_RAX, 8));
    }
    n = 0;
    for (int k = 0; k < i->nout; k++) {
        bool fp = lir_vreg_class(c->f, i->out[k].vreg) == LIR_FP;
        dst[n] = i->out[k].loc;
        src[n++] = lir_loc_reg(fp ? LIR_XMM0 + k : (k ? LIR_RDX : LIR_RAX));
    }
    cg_parallel(c, dst, src, n);
}

/* All the Args at the top of the entry block, as one parallel move. */
static LirInstr *
cg_args(CgCtx *c, LirInstr *i)
{
    LirLoc dst[32], src[32];
    int n = 0;
    LirInstr *last = i;
    for (; i != NULL && i->op == LIR_Arg; last = i, i = i->next) {
        bool fp = lir_vreg_class(c->f, i->out[0].vreg) == LIR_FP;
        int64_t idx = i->in[0].imm;
        if (idx < 0 || idx >= (fp ? 8 : 6) || n == 32) {
            c->why = "argument passed on the stack";
            return last;
        }
        dst[n] = i->out[0].loc;
        src[n++] = lir_loc_reg(fp ? LIR_XMM0 + (int)idx : cg_int_args[idx]);
    }
    cg_parallel(c, dst, src, n);
    return last;
}

static void
cg_parmove(CgCtx *c, LirInstr *i)
{
    LirLoc small[32];
    LirLoc *dst = 2 * i->nout <= 32 ? small : malloc(sizeof(LirLoc) * i->nout * 2);
    LirLoc *src = dst + i->nout;
    for (int k = 0; k < i->nout; k++) {
        dst[k] = i->out[k].loc;
        src[k] = i->in[k].loc;
    }
    cg_parallel(c, dst, src, i->nout);
    if (dst != small) {
        free(dst);
    }
}

static int
cg_stub_label(CgCtx *c, LirInstr *i)
{
    if (c->nstubs == c->stubs_cap) {
        c->stubs_cap = c->stubs_cap ? c->stubs_cap * 2 : 16;
        c->stubs = realloc(c->stubs, sizeof(LirInstr *) * c->stubs_cap);
        c->stub_labels = realloc(c->stub_labels, sizeof(int) * c->stubs_cap);
    }
    int label = ci_asm_new_label(c->a);
    c->stubs[c->nstubs] = i;
    c->stub_labels[c->nstubs++] = label;
    return label;
}

/* -- Out-of-line tails -------------------------------------------------------------------

   An instruction's rarely taken part (a decref's _Py_Dealloc call, a cached lookup's
   other cache kinds and helper call, the eval-breaker handler) goes after the body, out
   of the hot path: OTHER and SLOW are entered from the inline code, which they rejoin at
   BACK or DONE. Such instructions count as calls for the allocator, so a tail may
   clobber any caller-saved register. */

typedef enum { CG_TAIL_DEALLOC, CG_TAIL_HELPER } CgTailKind;

typedef struct CgTail {
    CgTailKind kind;
    LirInstr *i;
    int reg;                /* DEALLOC: the object; lookups: the register holding obj */
    int other, slow, back, done;
    LirInstr *check;        /* HELPER: the instruction's error check, after the call */
} CgTail;

/* The DeoptCmp right after I that tests I's error result (NULL from a lookup, a
   negative number from a store or the eval-breaker poll), or NULL. Only I's helper can
   fail, so the test belongs after the helper call, out of line: the inline path, which
   cannot fail, skips it. The value's location is the same there (no move comes between
   I and the DeoptCmp), so the test and its deopt exit are exactly the DeoptCmp's. */
static LirInstr *
cg_error_check(LirInstr *i)
{
    LirInstr *n = i->next;
    if (n == NULL || n->op != LIR_DeoptCmp || n->in[0].kind != LIR_OPND_VREG
        || n->in[1].kind != LIR_OPND_IMM || n->in[1].imm != 0) {
        return NULL;
    }
    switch (i->op) {
    case LIR_LoadGlobalCached:
    case LIR_LoadAttrCached:
        return n->cc == LIR_CC_EQ && n->in[0].vreg == i->out[0].vreg ? n : NULL;
    case LIR_LoadMethodCached:
        return n->cc == LIR_CC_EQ && n->in[0].vreg == i->out[1].vreg ? n : NULL;
    case LIR_StoreAttrCached:
    case LIR_PollEvalBreaker:
    case LIR_IsTrue:
        return n->cc == LIR_CC_LT && n->in[0].vreg == i->out[0].vreg ? n : NULL;
    default:
        return NULL;
    }
}

static CgTail *
cg_new_tail(CgCtx *c, CgTailKind kind, LirInstr *i)
{
    if (c->ntails == c->tails_cap) {
        c->tails_cap = c->tails_cap ? c->tails_cap * 2 : 16;
        c->tails = realloc(c->tails, sizeof(CgTail) * c->tails_cap);
    }
    CgTail *t = &c->tails[c->ntails++];
    t->kind = kind;
    t->i = i;
    t->reg = -1;
    t->other = ci_asm_new_label(c->a);
    t->slow = ci_asm_new_label(c->a);
    t->back = ci_asm_new_label(c->a);
    t->done = ci_asm_new_label(c->a);
    t->check = kind == CG_TAIL_HELPER ? cg_error_check(i) : NULL;
    return t;
}

/* Debug builds (Py_REF_DEBUG) count every reference in _Py_RefTotal, which
   sys.gettotalrefcount() reads, as Py_INCREF and Py_DECREF do (references to immortal
   objects too, as stock CPython counts them): OP (add or sub) 1 there,
   through a register other than REG, saved around it. Nothing in release builds. */
static void
cg_ref_total(CgCtx *c, int op, int reg)
{
#ifdef Py_REF_DEBUG
    int tmp = reg == LIR_RAX ? LIR_RCX : LIR_RAX;
    cg_emit1(c, CI_ASM_push, ci_asm_reg(tmp, 8));
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(tmp, 8), ci_asm_imm((int64_t)(intptr_t)&_Py_RefTotal));
    cg_emit2(c, op, ci_asm_mem(tmp, -1, 1, 0, 8), ci_asm_imm(1));
    cg_emit1(c, CI_ASM_pop, ci_asm_reg(tmp, 8));
#else
    (void)c, (void)op, (void)reg;
#endif
}

/* Py_INCREF of the object in REG. With immortal instances (Py_IMMORTAL_INSTANCES), an
   object whose 32-bit count has its sign bit set is immortal and must not be written
   (that is what keeps a pre-fork heap's pages shared). */
static void
cg_incref_reg(CgCtx *c, int reg)
{
    cg_ref_total(c, CI_ASM_add, reg);
#ifdef Py_IMMORTAL_INSTANCES
    int skip = ci_asm_new_label(c->a);
    cg_emit2(c, CI_ASM_cmp, ci_asm_mem(reg, -1, 1, offsetof(PyObject, ob_refcnt), 4),
             ci_asm_imm(0));
    ci_asm_jcc(c->a, CI_CC_L, skip);
#endif
    cg_emit2(c, CI_ASM_add, ci_asm_mem(reg, -1, 1, offsetof(PyObject, ob_refcnt), 8),
             ci_asm_imm(1));
#ifdef Py_IMMORTAL_INSTANCES
    ci_asm_bind(c->a, skip);
#endif
}

/* Py_DECREF (Py_XDECREF with MAYBE_NULL) of the object in REG, the _Py_Dealloc call in a
   tail: [test r, r; je skip;] cmp dword [r], 0; jl skip; sub qword [r], 1; je dealloc */
static void
cg_decref_reg(CgCtx *c, LirInstr *i, int reg, bool maybe_null)
{
    CgTail *t = cg_new_tail(c, CG_TAIL_DEALLOC, i);
    t->reg = reg;
    if (maybe_null) {
        cg_emit2(c, CI_ASM_test, ci_asm_reg(reg, 8), ci_asm_reg(reg, 8));
        ci_asm_jcc(c->a, CI_CC_E, t->done);
    }
    cg_ref_total(c, CI_ASM_sub, reg);
#ifdef Py_IMMORTAL_INSTANCES
    cg_emit2(c, CI_ASM_cmp, ci_asm_mem(reg, -1, 1, offsetof(PyObject, ob_refcnt), 4),
             ci_asm_imm(0));
    ci_asm_jcc(c->a, CI_CC_L, t->done);
#endif
    cg_emit2(c, CI_ASM_sub, ci_asm_mem(reg, -1, 1, offsetof(PyObject, ob_refcnt), 8),
             ci_asm_imm(1));
    ci_asm_jcc(c->a, CI_CC_E, t->slow);
    ci_asm_bind(c->a, t->done);
}

static void
cg_refcount(CgCtx *c, LirInstr *i)
{
    int r = cg_gp_in(c, &i->in[0], CG_R11);
    if (i->op == LIR_Incref) {
        cg_incref_reg(c, r);
    }
    else {
        cg_decref_reg(c, i, r, i->op == LIR_XDecref);
    }
}

/* The 0 that the inline path of PollEvalBreaker or StoreAttrCached gives, where
   something reads it: not when its only reader, the DeoptCmp of its error result, went
   to the tail (cg_error_check; lowering makes the result for that test alone). */
static void
cg_zero_unchecked(CgCtx *c, const CgTail *t)
{
    const LirOperand *out = &t->i->out[0];
    if (t->check != NULL) {
        return;
    }
    if (out->loc.kind == LIR_LOC_REG) {
        cg_emit2(c, CI_ASM_xor, ci_asm_reg(out->loc.index, 4), ci_asm_reg(out->loc.index, 4));
    }
    else {
        cg_emit2(c, CI_ASM_mov, cg_loc(out->loc, 8), ci_asm_imm(0));
    }
}

/* The eval-breaker poll: the interpreter's own test of interp->ceval.eval_breaker. */
static void
cg_poll_eval_breaker(CgCtx *c, LirInstr *i)
{
    CgTail *t = cg_new_tail(c, CG_TAIL_HELPER, i);
    int tstate = cg_gp_in(c, &i->in[0], CG_R11);
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 8),
             ci_asm_mem(tstate, -1, 1, offsetof(PyThreadState, interp), 8));
    cg_emit2(c, CI_ASM_cmp,
             ci_asm_mem(CG_R11, -1, 1, offsetof(PyInterpreterState, ceval.eval_breaker), 4),
             ci_asm_imm(0));
    ci_asm_jcc(c->a, CI_CC_NE, t->slow);
    cg_zero_unchecked(c, t);
    ci_asm_bind(c->a, t->done);
}

/* IsTrue: the answers of PyObject_IsTrue that need no call, inline (True; False and
   None; an exact int, true unless zero, as long_bool says), then the call in the tail:

       cmp O, True; je one      cmp O, False; je zero      cmp O, None; je zero
       cmp O->ob_type, &PyLong_Type; jne slow
       out = O->ob_size != 0; jmp done
     one: out = 1; jmp done
     zero: out = 0
     done:                                                                          */
static void
cg_is_true(CgCtx *c, LirInstr *i)
{
    CgTail *t = cg_new_tail(c, CG_TAIL_HELPER, i);
    int o = cg_gp_in(c, &i->in[0], CG_R11);
    int one = ci_asm_new_label(c->a), zero = ci_asm_new_label(c->a);
    /* r10 walks from one static object to the next (they are all in one image, so a
       lea from the last reaches the next, where a 64-bit immediate takes 10 bytes) */
    const void *const objects[4] = {Py_True, Py_False, Py_None, &PyLong_Type};
    for (int k = 0; k < 4; k++) {
        int64_t step = (int64_t)((intptr_t)objects[k] - (intptr_t)objects[k - (k > 0)]);
        if (k > 0 && cg_fits32(step)) {
            cg_emit2(c, CI_ASM_lea, ci_asm_reg(CG_R10, 8),
                     ci_asm_mem(CG_R10, -1, 1, (int32_t)step, 8));
        }
        else {
            cg_load_imm(c, CG_R10, (int64_t)(intptr_t)objects[k]);
        }
        if (k < 3) {
            cg_emit2(c, CI_ASM_cmp, ci_asm_reg(o, 8), ci_asm_reg(CG_R10, 8));
            ci_asm_jcc(c->a, CI_CC_E, k == 0 ? one : zero);
        }
    }
    cg_emit2(c, CI_ASM_cmp, ci_asm_mem(o, -1, 1, offsetof(PyObject, ob_type), 8),
             ci_asm_reg(CG_R10, 8));
    ci_asm_jcc(c->a, CI_CC_NE, t->slow);
    cg_emit2(c, CI_ASM_cmp, ci_asm_mem(o, -1, 1, offsetof(PyVarObject, ob_size), 8),
             ci_asm_imm(0));
    cg_setcc(c, &i->out[0], CI_CC_NE, 0);
    cg_emit1(c, CI_ASM_jmp, ci_asm_label(t->done));
    LirLoc out = i->out[0].loc;
    bool reg = out.kind == LIR_LOC_REG;
    ci_asm_bind(c->a, one);
    cg_emit2(c, CI_ASM_mov, cg_loc(out, reg ? 4 : 8), ci_asm_imm(1));
    cg_emit1(c, CI_ASM_jmp, ci_asm_label(t->done));
    ci_asm_bind(c->a, zero);
    if (reg) {
        cg_emit2(c, CI_ASM_xor, cg_loc(out, 4), cg_loc(out, 4));
    }
    else {
        cg_emit2(c, CI_ASM_mov, cg_loc(out, 8), ci_asm_imm(0));
    }
    ci_asm_bind(c->a, t->done);
}

/* -- Cached lookups ----------------------------------------------------------------------

   LoadGlobalCached, LoadAttrCached, LoadMethodCached and StoreAttrCached read way 0 of
   the site's CiJitSiteCache inline, with r10 holding the cache and r11 the value found
   (for StoreAttr: the address stored to). A LoadGlobal has one kind inline, the one
   known when it was compiled (where the name was then); the attribute lookups have
   both of theirs, since an object's type is only known at run time:

       LoadGlobalCached (frame in F)             LoadAttrCached (object in O)
       r10 = cache                               r10 = cache; r11 = O->ob_type
       F's globals' keys version == version?     r11->tp_version_tag == way0.version?
       kind == GLOBAL_MODULE?                    r11 = way0.index
       (or: kind == GLOBAL_BUILTIN? F's          kind == SLOT? else goto other
        builtins' keys version == version2?)      r11 = [O + r11]; goto found
       r11 = *way0.value; NULL? slow            other:
       Py_INCREF(r11); out = r11                  kind == INSTANCE_VALUE?
     done:                                        r11 = values(O)[r11]
                                                found: NULL? slow
                                                back: Py_INCREF(r11); out = r11
                                                done:

       LoadMethodCached                          StoreAttrCached (value in V)
       type version as LoadAttr                  type version and index as LoadAttr
       kind == METHOD_NO_DICT? goto back         kind == SLOT? else goto other
     other:                                       r11 = O + r11; goto back
       kind == METHOD_VALUES? no instance       other:
       dict, type's shared keys unchanged?        kind == INSTANCE_VALUE?
     back:                                        r11 = &values(O)[r11], already set?
       r11 = way0.descr; Py_INCREF(r11, O)      back:
       (out0, out1) = (r11, O)                    Py_INCREF(V); swap V into [r11]; out = 0
     done:                                        Py_XDECREF(the old value)
                                                done:

   Every failed test ("?") goes to SLOW, out of line after the body: it calls the
   helper (which tries the other ways, refills and does the generic lookup), puts its
   result in the outputs, tests it for an error when the instruction's DeoptCmp moved
   there (cg_error_check), and jumps to done. Both attribute kinds are inline because
   both are common (instances of classes with and without __slots__): a second kind out
   of line cost every such lookup two jumps and a cache line of its own. */

#define CG_WAY0(field) ((int32_t)offsetof(CiJitSiteCache, way[0].field))

/* r11 = the keys version of the dict at FIELD (f_globals or f_builtins) of the frame
   operand FRAME (read from the frame's own slot when FRAME is not in a register). */
static void
cg_frame_dict_version(CgCtx *c, const LirOperand *frame, int32_t field)
{
    int base = CG_R11;
    if (frame->loc.kind == LIR_LOC_REG) {
        base = frame->loc.index;
    }
    else {
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 8),
                 ci_asm_mem(LIR_RBP, -1, 1, CG_FRAME_SLOT, 8));
    }
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 8), ci_asm_mem(base, -1, 1, field, 8));
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 8),
             ci_asm_mem(CG_R11, -1, 1, offsetof(PyDictObject, ma_keys), 8));
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 4),
             ci_asm_mem(CG_R11, -1, 1, offsetof(PyDictKeysObject, dk_version), 4));
}

/* Jumps to LABEL when way 0's kind compares CC (E or NE) with KIND. */
static void
cg_way0_kind_jump(CgCtx *c, int kind, int cc, int label)
{
    cg_emit2(c, CI_ASM_cmp, ci_asm_mem(CG_R10, -1, 1, CG_WAY0(kind), 4), ci_asm_imm(kind));
    ci_asm_jcc(c->a, cc, label);
}

/* Goes to SLOW unless r11d equals the 32-bit cache field at [r10 + VERSION_FIELD]. */
static void
cg_way0_check(CgCtx *c, const CgTail *t, int32_t version_field)
{
    cg_emit2(c, CI_ASM_cmp, ci_asm_reg(CG_R11, 4), ci_asm_mem(CG_R10, -1, 1, version_field, 4));
    ci_asm_jcc(c->a, CI_CC_NE, t->slow);
}

/* Goes to SLOW when the 64-bit value at M (r11 when M is NULL) is NULL. */
static void
cg_slow_if_null(CgCtx *c, const CgTail *t, const CiAsmOperand *m)
{
    if (m != NULL) {
        cg_emit2(c, CI_ASM_cmp, *m, ci_asm_imm(0));
    }
    else {
        cg_emit2(c, CI_ASM_test, ci_asm_reg(CG_R11, 8), ci_asm_reg(CG_R11, 8));
    }
    ci_asm_jcc(c->a, CI_CC_E, t->slow);
}

/* r10 = cache (the instruction's last input); r11 = the type version of the object in
   T->reg, compared with way 0's. */
static void
cg_type_way0(CgCtx *c, const CgTail *t)
{
    cg_load_imm(c, CG_R10, t->i->in[t->i->nin - 1].imm);
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 8),
             ci_asm_mem(t->reg, -1, 1, offsetof(PyObject, ob_type), 8));
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 4),
             ci_asm_mem(CG_R11, -1, 1, offsetof(PyTypeObject, tp_version_tag), 4));
    cg_way0_check(c, t, CG_WAY0(version));
}

/* The object operand OBJ in a register for the inline path: its own, or else that of an
   output (which holds nothing live here: OBJ is the only input that can be in a
   register); -1 when there is none, and the helper does the whole lookup. */
static int
cg_obj_reg(CgCtx *c, const LirOperand *obj, const LirInstr *i)
{
    if (obj->loc.kind == LIR_LOC_REG) {
        return obj->loc.index;
    }
    for (int k = 0; k < i->nout; k++) {
        if (i->out[k].loc.kind == LIR_LOC_REG) {
            cg_copy(c, i->out[k].loc, obj->loc);
            return i->out[k].loc.index;
        }
    }
    return -1;
}

/* A lookup whose object has no register: straight to the helper. */
static void
cg_helper_only(CgCtx *c, CgTail *t)
{
    cg_emit1(c, CI_ASM_jmp, ci_asm_label(t->slow));
    ci_asm_bind(c->a, t->done);
}

/* OTHER: way 0's second kind, inline after the first kind's path; it falls through to
   back with r11 set. */
static void
cg_other(CgCtx *c, const CgTail *t)
{
    LirInstr *i = t->i;
    ci_asm_bind(c->a, t->other);
    int second = i->op == LIR_LoadMethodCached ? HIR_CACHE_METHOD_VALUES
                                               : HIR_CACHE_INSTANCE_VALUE;
    cg_way0_kind_jump(c, second, CI_CC_NE, t->slow);
    if (i->op == LIR_LoadMethodCached) {
        /* no materialised instance dict, and the type's shared keys still lack the name */
        CiAsmOperand dict = ci_asm_mem(t->reg, -1, 1, -3 * (int32_t)sizeof(PyObject *), 8);
        cg_emit2(c, CI_ASM_cmp, dict, ci_asm_imm(0));
        ci_asm_jcc(c->a, CI_CC_NE, t->slow);
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 8),
                 ci_asm_mem(t->reg, -1, 1, offsetof(PyObject, ob_type), 8));
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 8),
                 ci_asm_mem(CG_R11, -1, 1, offsetof(PyHeapTypeObject, ht_cached_keys), 8));
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 4),
                 ci_asm_mem(CG_R11, -1, 1, offsetof(PyDictKeysObject, dk_version), 4));
        cg_way0_check(c, t, CG_WAY0(version2));
    }
    else {
        /* an instance value: values[index] (r11 holds way 0's index) of the array
           before the object (for a store, one already set: a new one must also extend
           the insertion order) */
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R10, 8),
                 ci_asm_mem(t->reg, -1, 1, -4 * (int32_t)sizeof(PyObject *), 8));
        cg_emit2(c, CI_ASM_test, ci_asm_reg(CG_R10, 8), ci_asm_reg(CG_R10, 8));
        ci_asm_jcc(c->a, CI_CC_E, t->slow);
        CiAsmOperand slot = ci_asm_mem(CG_R10, CG_R11, 8, offsetof(PyDictValues, values), 8);
        if (i->op == LIR_StoreAttrCached) {
            cg_emit2(c, CI_ASM_lea, ci_asm_reg(CG_R11, 8), slot);
            CiAsmOperand old = ci_asm_mem(CG_R11, -1, 1, 0, 8);
            cg_slow_if_null(c, t, &old);
        }
        else {
            cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 8), slot);
        }
    }
}

/* Only the kind the site's cache was seeded with (lowering looks the name up when the
   interpreter had not specialised the instruction) is inline: a name that moves between
   the globals and the builtins then goes through the helper, which still hits way 0. */
static void
cg_load_global_cached(CgCtx *c, LirInstr *i)
{
    CgTail *t = cg_new_tail(c, CG_TAIL_HELPER, i);
    const CiJitSiteCache *cache = (const CiJitSiteCache *)(intptr_t)i->in[2].imm;
    int kind = cache->way[0].kind == HIR_CACHE_GLOBAL_BUILTIN ? HIR_CACHE_GLOBAL_BUILTIN
                                                              : HIR_CACHE_GLOBAL_MODULE;
    cg_load_imm(c, CG_R10, i->in[2].imm);
    cg_frame_dict_version(c, &i->in[0], (int32_t)offsetof(_PyInterpreterFrame, f_globals));
    cg_way0_check(c, t, CG_WAY0(version));
    cg_way0_kind_jump(c, kind, CI_CC_NE, t->slow);
    if (kind == HIR_CACHE_GLOBAL_BUILTIN) {
        cg_frame_dict_version(c, &i->in[0],
                              (int32_t)offsetof(_PyInterpreterFrame, f_builtins));
        cg_way0_check(c, t, CG_WAY0(version2));
    }
    /* the value, in the output's register when it has one (the helper sets it anew) */
    int r = i->out[0].loc.kind == LIR_LOC_REG ? i->out[0].loc.index : CG_R11;
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(r, 8), ci_asm_mem(CG_R10, -1, 1, CG_WAY0(value), 8));
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(r, 8), ci_asm_mem(r, -1, 1, 0, 8));
    cg_emit2(c, CI_ASM_test, ci_asm_reg(r, 8), ci_asm_reg(r, 8));
    ci_asm_jcc(c->a, CI_CC_E, t->slow);
    cg_incref_reg(c, r);
    cg_out_store(c, &i->out[0], r);
    ci_asm_bind(c->a, t->done);
}

static void
cg_load_attr_cached(CgCtx *c, LirInstr *i)
{
    CgTail *t = cg_new_tail(c, CG_TAIL_HELPER, i);
    if ((t->reg = cg_obj_reg(c, &i->in[0], i)) < 0) {
        cg_helper_only(c, t);
        return;
    }
    cg_type_way0(c, t);
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 4), ci_asm_mem(CG_R10, -1, 1, CG_WAY0(index), 4));
    cg_way0_kind_jump(c, HIR_CACHE_SLOT, CI_CC_NE, t->other);
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 8), ci_asm_mem(t->reg, CG_R11, 1, 0, 8));
    int found = ci_asm_new_label(c->a);
    cg_emit1(c, CI_ASM_jmp, ci_asm_label(found));
    cg_other(c, t);
    ci_asm_bind(c->a, found);
    cg_slow_if_null(c, t, NULL);
    ci_asm_bind(c->a, t->back);
    cg_incref_reg(c, CG_R11);
    cg_out_store(c, &i->out[0], CG_R11);
    ci_asm_bind(c->a, t->done);
}

/* (out0, out1) = (SRC0, SRC1), registers other than r11 (the parallel move's scratch). */
static void
cg_store_pair(CgCtx *c, const LirInstr *i, int src0, int src1)
{
    LirLoc dst[2] = {i->out[0].loc, i->out[1].loc};
    LirLoc src[2] = {lir_loc_reg(src0), lir_loc_reg(src1)};
    cg_parallel(c, dst, src, 2);
}

static void
cg_load_method_cached(CgCtx *c, LirInstr *i)
{
    CgTail *t = cg_new_tail(c, CG_TAIL_HELPER, i);
    if ((t->reg = cg_obj_reg(c, &i->in[0], i)) < 0) {
        cg_helper_only(c, t);
        return;
    }
    cg_type_way0(c, t);
    cg_way0_kind_jump(c, HIR_CACHE_METHOD_NO_DICT, CI_CC_E, t->back);
    cg_other(c, t);
    ci_asm_bind(c->a, t->back);
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R10, 8), ci_asm_mem(CG_R10, -1, 1, CG_WAY0(descr), 8));
    cg_incref_reg(c, CG_R10);
    cg_incref_reg(c, t->reg);
    cg_store_pair(c, i, CG_R10, t->reg);
    ci_asm_bind(c->a, t->done);
}

static void
cg_store_attr_cached(CgCtx *c, LirInstr *i)
{
    CgTail *t = cg_new_tail(c, CG_TAIL_HELPER, i);
    const LirOperand *value = &i->in[1];
    if (i->in[0].loc.kind != LIR_LOC_REG || value->loc.kind != LIR_LOC_REG) {
        cg_helper_only(c, t);
        return;
    }
    t->reg = i->in[0].loc.index;
    int v = value->loc.index;
    cg_type_way0(c, t);
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 4), ci_asm_mem(CG_R10, -1, 1, CG_WAY0(index), 4));
    cg_way0_kind_jump(c, HIR_CACHE_SLOT, CI_CC_NE, t->other);
    cg_emit2(c, CI_ASM_lea, ci_asm_reg(CG_R11, 8), ci_asm_mem(t->reg, CG_R11, 1, 0, 8));
    cg_emit1(c, CI_ASM_jmp, ci_asm_label(t->back));
    cg_other(c, t);
    ci_asm_bind(c->a, t->back);
    cg_incref_reg(c, v);
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R10, 8), ci_asm_mem(CG_R11, -1, 1, 0, 8));
    cg_emit2(c, CI_ASM_mov, ci_asm_mem(CG_R11, -1, 1, 0, 8), ci_asm_reg(v, 8));
    cg_decref_reg(c, i, CG_R10, true);
    cg_zero_unchecked(c, t);
    ci_asm_bind(c->a, t->done);
}

/* Before the helper call of LoadAttrCached or LoadMethodCached whose cache was seeded
   with a module's attribute (lowering: a global that is a module when compiled): the
   attribute (way 0 of kind MODULE, which the inline path leaves out, as it tests the
   object's type version first), read from the module dict's entry way 0 names while
   that dict's keys version holds, as the interpreter's LOAD_ATTR_MODULE and
   LOAD_METHOD_MODULE do (for LoadMethod, the pair (NULL, attribute)); else on to the
   helper, at CALL. */
static void
cg_module_attr(CgCtx *c, const CgTail *t, int call)
{
    int o = t->reg;
    cg_load_imm(c, CG_R10, t->i->in[2].imm);
    cg_way0_kind_jump(c, HIR_CACHE_MODULE, CI_CC_NE, call);
    cg_load_imm(c, CG_R11, (int64_t)(intptr_t)&PyModule_Type);
    cg_emit2(c, CI_ASM_cmp, ci_asm_mem(o, -1, 1, offsetof(PyObject, ob_type), 8),
             ci_asm_reg(CG_R11, 8));
    ci_asm_jcc(c->a, CI_CC_NE, call);
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 8),
             ci_asm_mem(o, -1, 1, offsetof(PyModuleObject, md_dict), 8));
    cg_emit2(c, CI_ASM_test, ci_asm_reg(CG_R11, 8), ci_asm_reg(CG_R11, 8));
    ci_asm_jcc(c->a, CI_CC_E, call);
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 8),
             ci_asm_mem(CG_R11, -1, 1, offsetof(PyDictObject, ma_keys), 8));
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 4),
             ci_asm_mem(CG_R11, -1, 1, offsetof(PyDictKeysObject, dk_version), 4));
    cg_emit2(c, CI_ASM_cmp, ci_asm_reg(CG_R11, 4), ci_asm_mem(CG_R10, -1, 1, CG_WAY0(version), 4));
    ci_asm_jcc(c->a, CI_CC_NE, call);
    /* the entry's value slot (NULL in a way seeded from the interpreter's cache), then
       the value */
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 8), ci_asm_mem(CG_R10, -1, 1, CG_WAY0(value), 8));
    cg_emit2(c, CI_ASM_test, ci_asm_reg(CG_R11, 8), ci_asm_reg(CG_R11, 8));
    ci_asm_jcc(c->a, CI_CC_E, call);
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 8), ci_asm_mem(CG_R11, -1, 1, 0, 8));
    cg_emit2(c, CI_ASM_test, ci_asm_reg(CG_R11, 8), ci_asm_reg(CG_R11, 8));
    ci_asm_jcc(c->a, CI_CC_E, call);
    cg_incref_reg(c, CG_R11);
    const LirInstr *i = t->i;
    if (i->op == LIR_LoadMethodCached) {
        cg_out_store(c, &i->out[1], CG_R11);
        cg_emit2(c, CI_ASM_mov, cg_loc(i->out[0].loc, 8), ci_asm_imm(0));
    }
    else {
        cg_out_store(c, &i->out[0], CG_R11);
    }
    cg_emit1(c, CI_ASM_jmp, ci_asm_label(t->done));
    ci_asm_bind(c->a, call);
}

/* SLOW: the instruction's helper, its result in the outputs, then back to done. */
static void
cg_tail_helper(CgCtx *c, const CgTail *t)
{
    LirInstr *i = t->i;
    ci_asm_bind(c->a, t->slow);
    const CiJitSiteCache *cache = (const CiJitSiteCache *)(intptr_t)i->in[i->nin - 1].imm;
    if ((i->op == LIR_LoadAttrCached || i->op == LIR_LoadMethodCached) && t->reg >= 0
        && cache->way[0].kind == HIR_CACHE_MODULE) {
        cg_module_attr(c, t, ci_asm_new_label(c->a));
    }
    void *fn;
    switch (i->op) {
    case LIR_PollEvalBreaker:
        if (i->in[1].imm != 0) {
            cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 8),
                     ci_asm_mem(LIR_RBP, -1, 1, CG_FRAME_SLOT, 8));
            cg_load_imm(c, CG_R10, i->in[1].imm);
            cg_emit2(c, CI_ASM_mov,
                     ci_asm_mem(CG_R11, -1, 1, offsetof(_PyInterpreterFrame, prev_instr), 8),
                     ci_asm_reg(CG_R10, 8));
        }
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(LIR_RDI, 8),
                 ci_asm_mem(LIR_RBP, -1, 1, CG_TSTATE_SLOT, 8));
        fn = (void *)_PyEval_HandlePending;
        break;
    case LIR_IsTrue:
        cg_copy(c, lir_loc_reg(LIR_RDI), i->in[0].loc);
        fn = (void *)PyObject_IsTrue;
        break;
    case LIR_LoadGlobalCached:
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(LIR_RDI, 8),
                 ci_asm_mem(LIR_RBP, -1, 1, CG_FRAME_SLOT, 8));
        cg_load_imm(c, LIR_RSI, i->in[1].imm);
        cg_load_imm(c, LIR_RDX, i->in[2].imm);
        fn = (void *)Ci_JitRt_LoadGlobal;
        break;
    case LIR_StoreAttrCached: {
        LirLoc dst[2] = {lir_loc_reg(LIR_RDI), lir_loc_reg(LIR_RDX)};
        LirLoc src[2] = {i->in[0].loc, i->in[1].loc};
        cg_parallel(c, dst, src, 2);
        cg_load_imm(c, LIR_RSI, i->in[2].imm);
        cg_load_imm(c, LIR_RCX, i->in[3].imm);
        fn = (void *)Ci_JitRt_StoreAttr;
        break;
    }
    default: /* LoadAttrCached, LoadMethodCached */
        cg_copy(c, lir_loc_reg(LIR_RDI), i->in[0].loc);
        cg_load_imm(c, LIR_RSI, i->in[1].imm);
        cg_load_imm(c, LIR_RDX, i->in[2].imm);
        fn = i->op == LIR_LoadAttrCached ? (void *)Ci_JitRt_LoadAttr
                                         : (void *)Ci_JitRt_LoadMethod;
        break;
    }
    cg_call_abs(c, (int64_t)(intptr_t)fn);
    if (i->op == LIR_LoadMethodCached) {
        cg_store_pair(c, i, LIR_RAX, LIR_RDX);
    }
    else {
        if (i->op == LIR_PollEvalBreaker || i->op == LIR_StoreAttrCached
            || i->op == LIR_IsTrue) {
            cg_emit2(c, CI_ASM_movsxd, ci_asm_reg(LIR_RAX, 8), ci_asm_reg(LIR_RAX, 4));
        }
        cg_out_store(c, &i->out[0], LIR_RAX);
    }
    if (t->check != NULL) {
        LirInstr *chk = t->check;
        cg_compare(c, false, &chk->in[0], &chk->in[1]);
        ci_asm_jcc(c->a, cg_x86_cc[chk->cc], cg_stub_label(c, chk));
    }
    cg_emit1(c, CI_ASM_jmp, ci_asm_label(t->done));
}

/* The out-of-line part T of an instruction, after the body. */
static void
cg_tail(CgCtx *c, const CgTail *t)
{
    if (t->kind == CG_TAIL_DEALLOC) {
        ci_asm_bind(c->a, t->slow);
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(LIR_RDI, 8), ci_asm_reg(t->reg, 8));
        cg_call_abs(c, (int64_t)(intptr_t)&_Py_Dealloc);
        cg_emit1(c, CI_ASM_jmp, ci_asm_label(t->done));
        return;
    }
    cg_tail_helper(c, t);
}

/* -- Layout ------------------------------------------------------------------------------

   Blocks go out in the allocator's order, except that a block holding nothing but a jump
   is not emitted at all (branches to it go where it jumps), and cold blocks (slow paths)
   follow all the hot ones. */

/* Where a branch to B really goes: past blocks that only jump. */
static LirBlock *
cg_forward(LirBlock *b)
{
    for (int hops = 0; hops < 64 && b->first != NULL && b->first == b->last
                       && b->first->op == LIR_Branch;
         hops++) {
        b = b->first->targets[0];
    }
    return b;
}

/* The blocks to emit, in order, into OUT (room for f->nblocks); returns their count. */
static int
cg_layout(LirFunc *f, LirBlock **out)
{
    int n = 0;
    out[n++] = f->blocks[0]; /* the entry follows the prologue */
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 1; k < f->nblocks; k++) {
            LirBlock *b = f->blocks[k];
            if (b->cold == (pass == 1) && cg_forward(b) == b) {
                out[n++] = b;
            }
        }
    }
    return n;
}

static int
cg_label(CgCtx *c, LirBlock *b)
{
    return c->labels[cg_forward(b)->order];
}

/* Jumps to T_TRUE when XCC holds (with PARITY as cg_fcompare), else to T_FALSE, falling
   through to the block laid out next when possible. */
static void
cg_branch(CgCtx *c, int xcc, int parity, LirBlock *t_true, LirBlock *t_false,
          LirBlock *next)
{
    t_true = cg_forward(t_true);
    t_false = cg_forward(t_false);
    int lt = cg_label(c, t_true), lf = cg_label(c, t_false);
    if (parity == 1) {
        ci_asm_jcc(c->a, CI_CC_P, lf);
    }
    else if (parity == 2) {
        ci_asm_jcc(c->a, CI_CC_P, lt);
    }
    if (t_true == next && parity == 0) {
        ci_asm_jcc(c->a, xcc ^ 1, lf);
        return;
    }
    ci_asm_jcc(c->a, xcc, lt);
    if (t_false != next) {
        cg_emit1(c, CI_ASM_jmp, ci_asm_label(lf));
    }
}

static void
cg_instr(CgCtx *c, LirInstr *i, LirBlock *next)
{
    int parity = 0, xcc;
    switch (i->op) {
    case LIR_Arg:
    case LIR_Phi:
        break;
    case LIR_Move:
        cg_move(c, i);
        break;
    case LIR_Load8: case LIR_Load16: case LIR_Load32: case LIR_Load64:
    case LIR_Load8s: case LIR_Load16s: case LIR_Load32s: case LIR_LoadF: case LIR_Lea:
        cg_load(c, i);
        break;
    case LIR_Store8: case LIR_Store16: case LIR_Store32: case LIR_Store64: case LIR_StoreF:
        cg_store(c, i);
        break;
    case LIR_Sext8: case LIR_Sext16: case LIR_Sext32:
    case LIR_Zext8: case LIR_Zext16: case LIR_Zext32:
        cg_extend(c, i);
        break;
    case LIR_Add: case LIR_Sub: case LIR_Imul: case LIR_And: case LIR_Or: case LIR_Xor:
    case LIR_Shl: case LIR_Sar: case LIR_Shr:
        cg_alu(c, i);
        break;
    case LIR_Neg: case LIR_Not:
        cg_unary(c, i);
        break;
    case LIR_Incref:
    case LIR_Decref:
    case LIR_XDecref:
        cg_refcount(c, i);
        break;
    case LIR_AddF: case LIR_SubF: case LIR_MulF: case LIR_DivF:
        cg_fp_alu(c, i);
        break;
    case LIR_IntToF: case LIR_FToInt:
        cg_convert(c, i);
        break;
    case LIR_CmpSet:
    case LIR_TestSet:
        cg_compare(c, i->op == LIR_TestSet, &i->in[0], &i->in[1]);
        cg_setcc(c, &i->out[0], cg_x86_cc[i->cc], 0);
        break;
    case LIR_CmpSetF:
        xcc = cg_fcompare(c, (LirCond)i->cc, &i->in[0], &i->in[1], &parity);
        cg_setcc(c, &i->out[0], xcc, parity);
        break;
    case LIR_Call:
        cg_call(c, i);
        break;
    case LIR_LoadGlobalCached:
        cg_load_global_cached(c, i);
        break;
    case LIR_LoadAttrCached:
        cg_load_attr_cached(c, i);
        break;
    case LIR_LoadMethodCached:
        cg_load_method_cached(c, i);
        break;
    case LIR_StoreAttrCached:
        cg_store_attr_cached(c, i);
        break;
    case LIR_PollEvalBreaker:
        cg_poll_eval_breaker(c, i);
        break;
    case LIR_IsTrue:
        cg_is_true(c, i);
        break;
    case LIR_DeoptCmp:
    case LIR_DeoptTest:
        if (i->prev != NULL && cg_error_check(i->prev) == i) {
            break; /* in the tail of the instruction before (its helper tail) */
        }
        cg_compare(c, i->op == LIR_DeoptTest, &i->in[0], &i->in[1]);
        ci_asm_jcc(c->a, cg_x86_cc[i->cc], cg_stub_label(c, i));
        break;
    case LIR_ParMove:
        cg_parmove(c, i);
        break;
    case LIR_Branch:
        if (cg_forward(i->targets[0]) != next) {
            cg_emit1(c, CI_ASM_jmp, ci_asm_label(cg_label(c, i->targets[0])));
        }
        break;
    case LIR_BranchCmp:
    case LIR_BranchTest:
        cg_compare(c, i->op == LIR_BranchTest, &i->in[0], &i->in[1]);
        cg_branch(c, cg_x86_cc[i->cc], 0, i->targets[0], i->targets[1], next);
        break;
    case LIR_BranchCmpF:
        xcc = cg_fcompare(c, (LirCond)i->cc, &i->in[0], &i->in[1], &parity);
        cg_branch(c, xcc, parity, i->targets[0], i->targets[1], next);
        break;
    case LIR_Return: {
        const LirOperand *v = &i->in[0];
        if (v->kind == LIR_OPND_FIMM ||
            (v->kind == LIR_OPND_VREG && lir_vreg_class(c->f, v->vreg) == LIR_FP)) {
            if (v->kind == LIR_OPND_FIMM) {
                cg_load_imm(c, CG_R11, v->imm);
                cg_copy(c, lir_loc_reg(LIR_XMM0), lir_loc_reg(CG_R11));
            }
            else {
                cg_copy(c, lir_loc_reg(LIR_XMM0), v->loc);
            }
        }
        else if (v->kind == LIR_OPND_IMM) {
            cg_load_imm(c, LIR_RAX, v->imm);
        }
        else {
            cg_copy(c, lir_loc_reg(LIR_RAX), v->loc);
        }
        if (next != NULL) {
            cg_emit1(c, CI_ASM_jmp, ci_asm_label(c->epilogue));
        }
        break;
    }
    case LIR_Deopt:
        cg_emit1(c, CI_ASM_jmp, ci_asm_label(cg_stub_label(c, i)));
        break;
    default:
        c->why = "LIR instruction the code generator does not know";
    }
}

/* -- Deopt exits ------------------------------------------------------------------------

   Deopt exits are data: the stub of exit k, out of line, is

       push k; jmp deopt_entry

   and the function's one deopt entry saves the general registers and hands them, with
   rbp and the interpreter frame (which the prologue left at [rbp - 8]), to
   ci_jit_deopt_exit (runtime.c):

       push r15 ... push rax               regs[r] = register r at the exit
       rdi = the function's CiJitDeoptTable; esi = k (pushed by the stub)
       rdx = rsp; rcx = rbp; r8 = [rbp - 8]
       call ci_jit_deopt_exit              writes the frame, releases, counts
       add rsp, 8 * 18; jmp epilogue       rax = CI_JIT_DEOPT or CI_JIT_DEOPT_ERROR

   The table says where each value of the exit is (a register, a spill slot or an
   immediate) and whether compiled code owned it. Exits were a third of all machine
   code when each stub stored its values itself; now a stub is 4 to 10 bytes. The body
   keeps rsp 16-byte aligned, so after the stub's push and the entry's 16 the entry
   realigns with one more slot before the call; the common epilogue restores the
   callee-saved registers from their save slots as a normal return does. */

/* Which of the runtime's deopt counters an exit increments. */
static int
cg_stub_counter(const LirDeopt *d)
{
    if (d->kind == LIR_DEOPT_ERROR) {
        return CI_JIT_DEOPT_RAISE;
    }
    if (strcmp(d->reason, "UnboundLocal") == 0 || strcmp(d->reason, "UnboundCell") == 0) {
        return CI_JIT_DEOPT_UNBOUND_LOCAL;
    }
    if (strcmp(d->reason, "Tracing") == 0) {
        return CI_JIT_DEOPT_TRACING;
    }
    if (strcmp(d->reason, "Yield") == 0) {
        return CI_JIT_DEOPT_YIELD;
    }
    return CI_JIT_DEOPT_GUARD;
}

/* Where the deopt exit finds operand O: a register, a spill slot or an immediate. */
static void
cg_deopt_value(CiJitDeoptValue *out, const LirOperand *o, int32_t slot, bool owned)
{
    out->slot = slot;
    out->owned = owned;
    if (o->kind == LIR_OPND_IMM) {
        out->where = CI_JIT_DEOPT_IMM;
        out->where_value = o->imm;
        /* NULL, or an address below 2 GiB: never a reference to count (only static,
           immortal objects live there) */
        out->owned |= slot >= 0 && cg_fits32(o->imm);
    }
    else if (o->loc.kind == LIR_LOC_REG) {
        out->where = CI_JIT_DEOPT_IN_REG;
        out->where_value = o->loc.index;
    }
    else {
        out->where = CI_JIT_DEOPT_IN_SLOT;
        out->where_value = cg_slot_disp(o->loc.index);
    }
}

/* The table of the function's exits (c->stubs, in order), or NULL without memory. */
static CiJitDeoptTable *
cg_deopt_table(CgCtx *c)
{
    size_t nvalues = 0;
    for (int k = 0; k < c->nstubs; k++) {
        nvalues += (size_t)c->stubs[k]->deopt->nvalues + (size_t)c->stubs[k]->deopt->nrelease;
    }
    CiJitDeoptTable *t = malloc(sizeof(CiJitDeoptTable) +
                                sizeof(CiJitDeoptExit) * (size_t)c->nstubs +
                                sizeof(CiJitDeoptValue) * nvalues);
    if (t == NULL) {
        return NULL;
    }
    t->nexits = (uint32_t)c->nstubs;
    t->exits = (CiJitDeoptExit *)(t + 1);
    t->values = (CiJitDeoptValue *)(t->exits + c->nstubs);
    uint32_t next = 0;
    for (int k = 0; k < c->nstubs; k++) {
        const LirDeopt *d = c->stubs[k]->deopt;
        t->exits[k] = (CiJitDeoptExit){d->bc_offset, d->stacktop, (uint16_t)cg_stub_counter(d),
                                       d->kind == LIR_DEOPT_ERROR, next, (uint32_t)d->nvalues,
                                       (uint32_t)d->nrelease};
        for (int j = 0; j < d->nvalues; j++) {
            cg_deopt_value(&t->values[next++], &d->values[j].value, d->values[j].slot,
                           d->values[j].owned);
        }
        for (int j = 0; j < d->nrelease; j++) {
            cg_deopt_value(&t->values[next++], &d->release[j], -1, true);
        }
    }
    return t;
}

/* A yield's exit (a generator suspending at YIELD_VALUE, on every resumption of a
   loop over it) with nothing to release, inline: the frame's value stack, stacktop,
   prev_instr and the counter, without the deopt entry's register save and call. */
static bool
cg_yield_exit(CgCtx *c, const LirDeopt *d)
{
    if (cg_stub_counter(d) != CI_JIT_DEOPT_YIELD || d->nrelease != 0) {
        return false;
    }
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R11, 8),
             ci_asm_mem(LIR_RBP, -1, 1, CG_FRAME_SLOT, 8));
    for (int k = 0; k < d->nvalues; k++) {
        const LirDeoptValue *v = &d->values[k];
        CiAsmOperand dst = ci_asm_mem(CG_R11, -1, 1,
                                      (int32_t)(offsetof(_PyInterpreterFrame, localsplus) +
                                                sizeof(PyObject *) * (size_t)v->slot), 8);
        if (v->value.kind == LIR_OPND_IMM && cg_fits32(v->value.imm)) {
            cg_emit2(c, CI_ASM_mov, dst, ci_asm_imm(v->value.imm));
            continue;
        }
        int r = cg_gp_in(c, &v->value, CG_R10);
        if (!v->owned) {
            int skip = ci_asm_new_label(c->a);
            cg_emit2(c, CI_ASM_test, ci_asm_reg(r, 8), ci_asm_reg(r, 8));
            ci_asm_jcc(c->a, CI_CC_E, skip);
            cg_incref_reg(c, r);
            ci_asm_bind(c->a, skip);
        }
        cg_emit2(c, CI_ASM_mov, dst, ci_asm_reg(r, 8));
    }
    cg_emit2(c, CI_ASM_mov,
             ci_asm_mem(CG_R11, -1, 1, offsetof(_PyInterpreterFrame, stacktop), 4),
             ci_asm_imm(d->stacktop));
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R10, 8),
             ci_asm_mem(CG_R11, -1, 1, offsetof(_PyInterpreterFrame, f_code), 8));
    cg_emit2(c, CI_ASM_lea, ci_asm_reg(CG_R10, 8),
             ci_asm_mem(CG_R10, -1, 1,
                        (int32_t)(offsetof(PyCodeObject, co_code_adaptive) +
                                  sizeof(_Py_CODEUNIT) * (size_t)d->bc_offset), 8));
    cg_emit2(c, CI_ASM_mov,
             ci_asm_mem(CG_R11, -1, 1, offsetof(_PyInterpreterFrame, prev_instr), 8),
             ci_asm_reg(CG_R10, 8));
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(CG_R10, 8),
             ci_asm_imm((int64_t)(intptr_t)ci_jit_deopt_counter(CI_JIT_DEOPT_YIELD)));
    cg_emit2(c, CI_ASM_add, ci_asm_mem(CG_R10, -1, 1, 0, 8), ci_asm_imm(1));
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(LIR_RAX, 4),
             ci_asm_imm((int64_t)(intptr_t)CI_JIT_DEOPT));
    cg_emit1(c, CI_ASM_jmp, ci_asm_label(c->epilogue));
    return true;
}

/* Stub K, bound at its label: the exit's index to the deopt entry, or a yield's exit.
   Whether it jumps to the entry. */
static bool
cg_stub(CgCtx *c, int k, int entry)
{
    const LirDeopt *d = c->stubs[k]->deopt;
    ci_asm_bind(c->a, c->stub_labels[k]);
    if (c->listing) {
        char note[160];
        snprintf(note, sizeof note, "deopt exit %d: %s \"%s\" bc_offset=%d stacktop=%d", k,
                 d->kind == LIR_DEOPT_ERROR ? "error" : "guard", d->reason, d->bc_offset,
                 d->stacktop);
        ci_asm_comment(c->a, note);
    }
    if (cg_yield_exit(c, d)) {
        return false;
    }
    cg_emit1(c, CI_ASM_push, ci_asm_imm(k));
    cg_emit1(c, CI_ASM_jmp, ci_asm_label(entry));
    return true;
}

static void
cg_deopt_entry(CgCtx *c, int entry, const CiJitDeoptTable *table)
{
    ci_asm_bind(c->a, entry);
    if (c->listing) {
        ci_asm_comment(c->a, "deopt entry");
    }
    for (int r = 15; r >= 0; r--) {
        cg_emit1(c, CI_ASM_push, ci_asm_reg(r, 8));
    }
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(LIR_RDI, 8), ci_asm_imm((int64_t)(intptr_t)table));
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(LIR_RSI, 4), ci_asm_mem(LIR_RSP, -1, 1, 16 * 8, 4));
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(LIR_RDX, 8), ci_asm_reg(LIR_RSP, 8));
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(LIR_RCX, 8), ci_asm_reg(LIR_RBP, 8));
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(LIR_R8, 8), ci_asm_mem(LIR_RBP, -1, 1, CG_FRAME_SLOT, 8));
    cg_emit2(c, CI_ASM_sub, ci_asm_reg(LIR_RSP, 8), ci_asm_imm(8));
    cg_call_abs(c, (int64_t)(intptr_t)&ci_jit_deopt_exit);
    cg_emit2(c, CI_ASM_add, ci_asm_reg(LIR_RSP, 8), ci_asm_imm(18 * 8));
    cg_emit1(c, CI_ASM_jmp, ci_asm_label(c->epilogue));
}

/* -- Driver ------------------------------------------------------------------------------ */

static void
cg_prologue(CgCtx *c)
{
    LirFunc *f = c->f;
    for (size_t k = 0; k < sizeof cg_callee_saved / sizeof(int); k++) {
        if (f->used_regs & (1u << cg_callee_saved[k])) {
            c->saved[c->nsaved++] = cg_callee_saved[k];
        }
    }
    int bytes = 16 + 8 * (f->nspill_slots + c->nsaved);
    c->frame_size = (bytes + 15) & ~15;
    if (c->listing) {
        ci_asm_comment(c->a, "prologue");
    }
    cg_emit1(c, CI_ASM_push, ci_asm_reg(LIR_RBP, 8));
    cg_emit2(c, CI_ASM_mov, ci_asm_reg(LIR_RBP, 8), ci_asm_reg(LIR_RSP, 8));
    cg_emit2(c, CI_ASM_sub, ci_asm_reg(LIR_RSP, 8), ci_asm_imm(c->frame_size));
    cg_emit2(c, CI_ASM_mov, ci_asm_mem(LIR_RBP, -1, 1, CG_FRAME_SLOT, 8),
             ci_asm_reg(LIR_RSI, 8));
    cg_emit2(c, CI_ASM_mov, ci_asm_mem(LIR_RBP, -1, 1, CG_TSTATE_SLOT, 8),
             ci_asm_reg(LIR_RDI, 8));
    for (int k = 0; k < c->nsaved; k++) {
        cg_emit2(c, CI_ASM_mov,
                 ci_asm_mem(LIR_RBP, -1, 1, cg_slot_disp(f->nspill_slots + k), 8),
                 ci_asm_reg(c->saved[k], 8));
    }
}

static void
cg_epilogue(CgCtx *c)
{
    ci_asm_bind(c->a, c->epilogue);
    if (c->listing) {
        ci_asm_comment(c->a, "epilogue");
    }
    for (int k = 0; k < c->nsaved; k++) {
        cg_emit2(c, CI_ASM_mov, ci_asm_reg(c->saved[k], 8),
                 ci_asm_mem(LIR_RBP, -1, 1, cg_slot_disp(c->f->nspill_slots + k), 8));
    }
    ci_asm_emit(c->a, CI_ASM_leave, NULL, NULL, NULL);
    ci_asm_emit(c->a, CI_ASM_ret, NULL, NULL, NULL);
}

int
ci_codegen_x86_64(LirFunc *f, CiJitCode *code, char **dump, const char **why)
{
    if (!f->allocated) {
        *why = "LIR is not allocated";
        return -1;
    }
    CgCtx c = {0};
    c.f = f;
    c.listing = dump != NULL;
    c.a = ci_asm_new(c.listing);
    if (c.a == NULL) {
        *why = "out of memory";
        return -1;
    }
    c.labels = malloc(sizeof(int) * (f->nblocks + 1));
    for (int k = 0; k < f->nblocks; k++) {
        f->blocks[k]->order = k;
        c.labels[k] = ci_asm_new_label(c.a);
    }
    c.epilogue = ci_asm_new_label(c.a);
    cg_prologue(&c);
    LirBlock **layout = malloc(sizeof(LirBlock *) * (f->nblocks + 1));
    int nlayout = cg_layout(f, layout);
    for (int k = 0; k < nlayout && c.why == NULL; k++) {
        LirBlock *b = layout[k];
        LirBlock *next = k + 1 < nlayout ? layout[k + 1] : NULL;
        ci_asm_bind(c.a, c.labels[b->order]);
        for (LirInstr *i = b->first; i != NULL && c.why == NULL; i = i->next) {
            if (c.listing) {
                char *text = lir_instr_print(f, i);
                char *note = malloc(strlen(text) + 64 +
                                    (i->origin_label ? strlen(i->origin_label) : 0));
                sprintf(note, "bb%d: %s%s%s", b->id, text, i->origin_label ? "  # " : "",
                        i->origin_label ? i->origin_label : "");
                ci_asm_comment(c.a, note);
                free(note);
                free(text);
            }
            if (i->op == LIR_Arg) {
                i = cg_args(&c, i);
                continue;
            }
            cg_instr(&c, i, next);
        }
    }
    cg_epilogue(&c);
    for (int k = 0; k < c.ntails && c.why == NULL; k++) {
        cg_tail(&c, &c.tails[k]);
    }
    CiJitDeoptTable *deopts = NULL;
    if (c.why == NULL && c.nstubs > 0) {
        deopts = cg_deopt_table(&c);
        if (deopts == NULL) {
            c.why = "out of memory";
        }
        else {
            int entry = ci_asm_new_label(c.a);
            bool used = false;
            for (int k = 0; k < c.nstubs; k++) {
                used |= cg_stub(&c, k, entry);
            }
            if (used) {
                cg_deopt_entry(&c, entry, deopts);
            }
        }
    }
    void *fn = NULL;
    size_t size = 0;
    if (c.why == NULL) {
        fn = ci_asm_finalize(c.a, &size);
        if (fn == NULL) {
            c.why = "assembler error";
        }
    }
    if (dump != NULL) {
        const char *listing = ci_asm_listing(c.a);
        const char *err = ci_asm_error(c.a);
        size_t n = strlen(listing) + (err ? strlen(err) : 0) + 32;
        *dump = malloc(n);
        snprintf(*dump, n, "%s%s%s", listing, err ? "error: " : "", err ? err : "");
    }
    ci_asm_free(c.a);
    free(c.labels);
    free(layout);
    free(c.stubs);
    free(c.stub_labels);
    free(c.tails);
    if (c.why != NULL) {
        free(deopts);
        *why = c.why;
        return -1;
    }
    code->deopts = deopts;
    code->body = (CiJitBody)fn;
    code->code_size = size;
    code->memory = fn;
    return 0;
}

void
ci_codegen_release(void *memory)
{
    ci_asm_release(memory);
}
