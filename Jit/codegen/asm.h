/* The assembler, seen from C: a thin shim over asmjit's x86::Assembler (asm.cpp), so
   that the only C++ in the JIT stays behind these plain functions. */
#ifndef CINDER_JIT_CODEGEN_ASM_H
#define CINDER_JIT_CODEGEN_ASM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The instruction forms the code generator uses, spelled as asmjit (and Intel) do.
   ORDER CIASM: asm.cpp maps each to its asmjit instruction id. Conditional jumps and
   setcc take their condition separately (ci_asm_jcc, ci_asm_setcc). */
#define CI_ASM_INSTS(X)                                                                 \
    X(mov, Mov) X(movzx, Movzx) X(movsx, Movsx) X(movsxd, Movsxd) X(lea, Lea)          \
    X(xchg, Xchg) X(push, Push) X(pop, Pop) X(add, Add) X(sub, Sub) X(imul, Imul)       \
    X(and, And) X(or, Or) X(xor, Xor) X(shl, Shl) X(sar, Sar) X(shr, Shr) X(neg, Neg)   \
    X(not, Not) X(cmp, Cmp) X(test, Test) X(jmp, Jmp) X(call, Call) X(ret, Ret)         \
    X(leave, Leave) X(movq, Movq) X(movsd, Movsd) X(movaps, Movaps) X(addsd, Addsd)     \
    X(subsd, Subsd) X(mulsd, Mulsd) X(divsd, Divsd) X(ucomisd, Ucomisd)                \
    X(cvtsi2sd, Cvtsi2sd) X(cvttsd2si, Cvttsd2si)

typedef enum CiAsmInst {
#define X(name, id) CI_ASM_##name,
    CI_ASM_INSTS(X)
#undef X
    CI_ASM_NUM_INSTS
} CiAsmInst;

typedef enum CiAsmOpKind {
    CI_AOP_NONE,
    CI_AOP_REG,   /* reg: 0..15 general-purpose, 16..31 xmm; size picks the GP width */
    CI_AOP_MEM,   /* size bytes at [base + index*scale + disp]; base/index -1 if absent */
    CI_AOP_IMM,
    CI_AOP_LABEL, /* imm holds the label id */
} CiAsmOpKind;

typedef struct CiAsmOperand {
    uint8_t kind;
    uint8_t size; /* 1, 2, 4 or 8 bytes (REG on GP, MEM) */
    int8_t reg;   /* REG: the register; MEM: the base */
    int8_t index;
    uint8_t scale;
    int32_t disp;
    int64_t imm;
} CiAsmOperand;

/* x86 condition codes (the low nibble of jcc/setcc). */
enum {
    CI_CC_O = 0x0, CI_CC_NO = 0x1, CI_CC_B = 0x2, CI_CC_AE = 0x3, CI_CC_E = 0x4,
    CI_CC_NE = 0x5, CI_CC_BE = 0x6, CI_CC_A = 0x7, CI_CC_S = 0x8, CI_CC_NS = 0x9,
    CI_CC_P = 0xA, CI_CC_NP = 0xB, CI_CC_L = 0xC, CI_CC_GE = 0xD, CI_CC_LE = 0xE,
    CI_CC_G = 0xF
};

typedef struct CiAsm CiAsm;

/* A new assembler; with LOG, it keeps a text listing (ci_asm_listing). */
CiAsm *ci_asm_new(int log);
void ci_asm_free(CiAsm *a);

int ci_asm_new_label(CiAsm *a);
void ci_asm_bind(CiAsm *a, int label);
void ci_asm_align(CiAsm *a, int bytes);
void ci_asm_comment(CiAsm *a, const char *text);

/* Emits INST with up to three operands (kind NONE ends the list early). */
void ci_asm_emit(CiAsm *a, CiAsmInst inst, const CiAsmOperand *o0, const CiAsmOperand *o1,
                 const CiAsmOperand *o2);
void ci_asm_jcc(CiAsm *a, int cc, int label);
void ci_asm_setcc(CiAsm *a, int cc, int reg8);

/* The first error asmjit reported, as text, or NULL. */
const char *ci_asm_error(CiAsm *a);
/* The listing so far (when logging), NUL-terminated, owned by A. */
const char *ci_asm_listing(CiAsm *a);

/* Copies the code into executable memory. Returns its entry, or NULL (see
   ci_asm_error); *SIZE gets the code size. Release the memory with ci_asm_release. */
void *ci_asm_finalize(CiAsm *a, size_t *size);
void ci_asm_release(void *code);

static inline CiAsmOperand
ci_asm_reg(int reg, int size)
{
    CiAsmOperand o = {CI_AOP_REG, (uint8_t)size, (int8_t)reg, -1, 1, 0, 0};
    return o;
}

static inline CiAsmOperand
ci_asm_mem(int base, int index, int scale, int32_t disp, int size)
{
    CiAsmOperand o = {CI_AOP_MEM, (uint8_t)size, (int8_t)base, (int8_t)index,
                      (uint8_t)scale, disp, 0};
    return o;
}

static inline CiAsmOperand
ci_asm_imm(int64_t v)
{
    CiAsmOperand o = {CI_AOP_IMM, 8, -1, -1, 1, 0, v};
    return o;
}

static inline CiAsmOperand
ci_asm_label(int label)
{
    CiAsmOperand o = {CI_AOP_LABEL, 8, -1, -1, 1, 0, label};
    return o;
}

#ifdef __cplusplus
}
#endif

#endif /* CINDER_JIT_CODEGEN_ASM_H */
