// The asmjit shim behind asm.h: plain functions over one x86::Assembler per compilation.
// Executable memory comes from one process-wide asmjit::JitRuntime, the allocator every
// compiled function's code lives in until ci_asm_release.

#include "Jit/codegen/asm.h"

#include <asmjit/x86.h>

#include <string.h>

#include <new>
#include <string>
#include <vector>

using namespace asmjit;

namespace {

const InstId kInstIds[CI_ASM_NUM_INSTS] = {
#define X(name, id) x86::Inst::kId##id,
    CI_ASM_INSTS(X)
#undef X
};

class ShimErrors : public ErrorHandler {
  public:
    Error first = kErrorOk;
    char message[256] = "";
    void handleError(Error err, const char *msg, BaseEmitter *) override {
        if (first == kErrorOk) {
            first = err;
            snprintf(message, sizeof message, "%s", msg);
        }
    }
};

JitRuntime &
shim_runtime()
{
    static JitRuntime rt;
    return rt;
}

}  // namespace

struct CiAsm {
    CodeHolder code;
    StringLogger logger;
    ShimErrors errors;
    x86::Assembler *as = nullptr;
    std::vector<Label> labels;
};

static Operand
shim_operand(const CiAsmOperand *o, CiAsm *a)
{
    switch (o->kind) {
    case CI_AOP_REG:
        if (o->reg >= 16) {
            return x86::xmm(o->reg - 16);
        }
        switch (o->size) {
        case 1:
            return x86::gpb(o->reg);
        case 2:
            return x86::gpw(o->reg);
        case 4:
            return x86::gpd(o->reg);
        default:
            return x86::gpq(o->reg);
        }
    case CI_AOP_MEM: {
        x86::Mem m;
        if (o->reg >= 0 && o->index >= 0) {
            m = x86::ptr(x86::gpq(o->reg), x86::gpq(o->index), __builtin_ctz(o->scale),
                         o->disp);
        }
        else if (o->reg >= 0) {
            m = x86::ptr(x86::gpq(o->reg), o->disp);
        }
        else if (o->index >= 0) {
            m = x86::ptr(uint64_t(0), x86::gpq(o->index), __builtin_ctz(o->scale));
            m.setOffset(o->disp);
        }
        else {
            m = x86::ptr(uint64_t(int64_t(o->disp)));
        }
        m.setSize(o->size);
        return m;
    }
    case CI_AOP_IMM:
        return Imm(o->imm);
    case CI_AOP_LABEL:
        return a->labels[size_t(o->imm)];
    default:
        return Operand();
    }
}

/* -- The C API -------------------------------------------------------------------------- */

extern "C" {

CiAsm *
ci_asm_new(int log)
{
    CiAsm *a = new (std::nothrow) CiAsm();
    if (a == nullptr) {
        return nullptr;
    }
    a->code.init(shim_runtime().environment());
    a->code.setErrorHandler(&a->errors);
    if (log) {
        a->code.setLogger(&a->logger);
    }
    a->as = new (std::nothrow) x86::Assembler(&a->code);
    if (a->as == nullptr) {
        delete a;
        return nullptr;
    }
    return a;
}

void
ci_asm_free(CiAsm *a)
{
    if (a != nullptr) {
        delete a->as;
        delete a;
    }
}

int
ci_asm_new_label(CiAsm *a)
{
    a->labels.push_back(a->as->newLabel());
    return int(a->labels.size() - 1);
}

void
ci_asm_bind(CiAsm *a, int label)
{
    a->as->bind(a->labels[size_t(label)]);
}

void
ci_asm_align(CiAsm *a, int bytes)
{
    a->as->align(AlignMode::kCode, uint32_t(bytes));
}

void
ci_asm_comment(CiAsm *a, const char *text)
{
    std::string line = std::string("; ") + text;
    a->as->comment(line.c_str());
}

void
ci_asm_emit(CiAsm *a, CiAsmInst inst, const CiAsmOperand *o0, const CiAsmOperand *o1,
            const CiAsmOperand *o2)
{
    InstId id = kInstIds[inst];
    if (o0 == nullptr || o0->kind == CI_AOP_NONE) {
        a->as->emit(id);
    }
    else if (o1 == nullptr || o1->kind == CI_AOP_NONE) {
        a->as->emit(id, shim_operand(o0, a));
    }
    else if (o2 == nullptr || o2->kind == CI_AOP_NONE) {
        a->as->emit(id, shim_operand(o0, a), shim_operand(o1, a));
    }
    else {
        a->as->emit(id, shim_operand(o0, a), shim_operand(o1, a), shim_operand(o2, a));
    }
}

void
ci_asm_jcc(CiAsm *a, int cc, int label)
{
    a->as->emit(x86::Inst::jccFromCond(x86::CondCode(cc)), a->labels[size_t(label)]);
}

void
ci_asm_setcc(CiAsm *a, int cc, int reg8)
{
    a->as->emit(x86::Inst::setccFromCond(x86::CondCode(cc)), x86::gpb(reg8));
}

const char *
ci_asm_error(CiAsm *a)
{
    return a->errors.first == kErrorOk ? nullptr : a->errors.message;
}

const char *
ci_asm_listing(CiAsm *a)
{
    return a->logger.data();
}

void *
ci_asm_finalize(CiAsm *a, size_t *size)
{
    if (a->errors.first != kErrorOk) {
        return nullptr;
    }
    void *fn = nullptr;
    Error err = shim_runtime().add(&fn, &a->code);
    if (err != kErrorOk) {
        if (a->errors.first == kErrorOk) {
            a->errors.first = err;
            snprintf(a->errors.message, sizeof a->errors.message, "%s",
                     DebugUtils::errorAsString(err));
        }
        return nullptr;
    }
    if (size != nullptr) {
        *size = a->code.codeSize();
    }
    return fn;
}

void
ci_asm_release(void *code)
{
    if (code != nullptr) {
        shim_runtime().release(code);
    }
}

}  // extern "C"
