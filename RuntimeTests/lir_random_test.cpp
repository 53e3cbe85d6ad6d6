// Differential tests of the register allocator and code generator: random LIR programs
// (straight-line code, diamonds with phis, loops, nesting, calls, high pressure) run
// both through a small LIR interpreter and as machine code, which must agree.

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

extern "C" {
#include "Jit/codegen/x86_64.h"
#include "Jit/lir/lir.h"

int64_t lirtest_add3(int64_t a, int64_t b, int64_t c);
int64_t lirtest_mix(int64_t a, int64_t b, int64_t c);
}

namespace {

void *
rt_resolve(const char *name, void *)
{
    if (std::string(name) == "lirtest_add3") {
        return (void *)lirtest_add3;
    }
    if (std::string(name) == "lirtest_mix") {
        return (void *)lirtest_mix;
    }
    return nullptr;
}

// -- The generator --------------------------------------------------------------------

class ProgramGen {
  public:
    ProgramGen(uint64_t seed, int pressure, bool with_fp)
        : rng_(seed), pressure_(pressure), with_fp_(with_fp) {}

    std::string generate()
    {
        start_block(new_block());
        for (int k = 0; k < 4; k++) {
            int v = fresh();
            emit(vr(v) + " = Arg " + std::to_string(k));
            scope_.push_back(v);
        }
        region(0, 6 + pressure_);
        // Fold many values into the result, so that they all stay live to the end.
        std::string acc = vr(pick());
        for (int k = 0; k < 3 + pressure_; k++) {
            int v = fresh();
            emit(vr(v) + " = Xor " + acc + ", " + vr(pick()));
            acc = vr(v);
        }
        for (size_t k = 0; k < fscope_.size() && k < 6; k++) {
            int v = fresh(), w = fresh();
            emit(vr(v) + " = FToInt " + fvr(fscope_[fscope_.size() - 1 - k]));
            emit(vr(w) + " = Xor " + acc + ", " + vr(v));
            acc = vr(w);
        }
        emit("Return " + acc);
        return "func random {\n" + text_ + "}\n";
    }

  private:
    int rand(int n) { return int(rng_() % uint64_t(n)); }
    int fresh() { return next_vreg_++; }
    int new_block() { return next_block_++; }
    std::string vr(int v) { return "%" + std::to_string(v); }
    std::string bb(int b) { return "bb" + std::to_string(b); }
    void emit(const std::string &line) { text_ += "  " + line + "\n"; }
    void start_block(int b)
    {
        text_ += bb(b) + ":\n";
        cur_ = b;
    }
    int pick()
    {
        // Prefer old values: they make long intervals and so pressure.
        if (rand(3) == 0) {
            return scope_[rand(int(scope_.size()) < 4 ? int(scope_.size()) : 4)];
        }
        return scope_[rand(int(scope_.size()))];
    }
    std::string operand()
    {
        if (rand(4) == 0) {
            static const int64_t imms[] = {0, 1, -1, 7, 63, 255, -4096, 1LL << 40,
                                           INT64_MIN};
            return std::to_string(imms[rand(9)]);
        }
        return vr(pick());
    }
    std::string cc()
    {
        static const char *ccs[] = {"eq", "ne", "lt", "ge", "le", "gt", "b", "ae", "be", "a"};
        return ccs[rand(10)];
    }

    std::string fvr(int v) { return "%f" + std::to_string(v); }

    // Double values: converted from (bounded) integers, combined, compared, converted
    // back. They make a second register class compete, and spill across every call.
    bool fp_instr()
    {
        static const char *fbin[] = {"AddF", "SubF", "MulF", "DivF"};
        int v = fresh();
        int kind = rand(10);
        if (fscope_.empty() || kind < 3) {
            int t = fresh();
            emit(vr(t) + " = And " + vr(pick()) + ", 65535");
            emit(fvr(v) + " = IntToF " + vr(t));
            fscope_.push_back(v);
        }
        else if (kind < 7) {
            emit(fvr(v) + " = " + fbin[rand(4)] + " " + fvr(fpick()) + ", " + fvr(fpick()));
            fscope_.push_back(v);
        }
        else if (kind < 9) {
            emit(vr(v) + " = CmpSetF " + cc_fp() + " " + fvr(fpick()) + ", " + fvr(fpick()));
            scope_.push_back(v);
        }
        else {
            emit(vr(v) + " = FToInt " + fvr(fpick()));
            scope_.push_back(v);
        }
        return true;
    }
    int fpick() { return fscope_[rand(int(fscope_.size()))]; }
    std::string cc_fp()
    {
        static const char *ccs[] = {"eq", "ne", "lt", "ge", "le", "gt"};
        return ccs[rand(6)];
    }

    void instr()
    {
        static const char *bin[] = {"Add", "Sub", "Imul", "And", "Or", "Xor", "Shl", "Sar",
                                    "Shr"};
        if (with_fp_ && rand(4) == 0) {
            fp_instr();
            return;
        }
        int v = fresh();
        int kind = rand(20);
        if (kind < 12) {
            emit(vr(v) + " = " + bin[rand(9)] + " " + vr(pick()) + ", " + operand());
        }
        else if (kind < 14) {
            emit(vr(v) + " = " + (rand(2) ? "Neg " : "Not ") + vr(pick()));
        }
        else if (kind < 16) {
            emit(vr(v) + " = CmpSet " + cc() + " " + vr(pick()) + ", " + operand());
        }
        else if (kind < 17) {
            emit(vr(v) + " = Move " + operand());
        }
        else if (kind < 18) {
            emit(vr(v) + " = TestSet " + (rand(2) ? "eq " : "ne ") + vr(pick()) + ", " +
                 operand());
        }
        else {
            emit(vr(v) + " = Call @" + (rand(2) ? "lirtest_mix" : "lirtest_add3") + ", " +
                 operand() + ", " + operand() + ", " + operand());
        }
        scope_.push_back(v);
    }

    void region(int depth, int n)
    {
        for (int k = 0; k < n; k++) {
            int what = rand(10);
            if (what == 0 && depth < 3) {
                diamond(depth);
            }
            else if (what == 1 && depth < 2) {
                loop(depth);
            }
            else {
                instr();
            }
        }
    }

    void diamond(int depth)
    {
        int t = new_block(), e = new_block(), join = new_block();
        emit("BranchCmp " + cc() + " " + vr(pick()) + ", " + operand() + ", " + bb(t) + ", " +
             bb(e));
        std::vector<int> saved = scope_, fsaved = fscope_;
        start_block(t);
        region(depth + 1, 1 + rand(4));
        int t_end = cur_, x = pick(), x2 = pick();
        emit("Branch " + bb(join));
        scope_ = saved;
        fscope_ = fsaved;
        start_block(e);
        region(depth + 1, rand(4));
        int e_end = cur_, y = pick(), y2 = pick();
        emit("Branch " + bb(join));
        scope_ = saved;
        fscope_ = fsaved;
        start_block(join);
        int p = fresh(), q = fresh();
        emit(vr(p) + " = Phi (" + bb(t_end) + ", " + vr(x) + "), (" + bb(e_end) + ", " +
             vr(y) + ")");
        emit(vr(q) + " = Phi (" + bb(t_end) + ", " + vr(x2) + "), (" + bb(e_end) + ", " +
             vr(y2) + ")");
        scope_.push_back(p);
        scope_.push_back(q);
    }

    void loop(int depth)
    {
        int header = new_block(), body = new_block(), exit = new_block();
        int i0 = fresh(), a0 = pick();
        emit(vr(i0) + " = Move 0");
        emit("Branch " + bb(header));
        int pre = cur_;
        int i = fresh(), acc = fresh(), inext = fresh(), anext = fresh();
        std::string latch = "LATCH" + std::to_string(header) + "#";
        start_block(header);
        emit(vr(i) + " = Phi (" + bb(pre) + ", " + vr(i0) + "), (" + latch + ", " +
             vr(inext) + ")");
        emit(vr(acc) + " = Phi (" + bb(pre) + ", " + vr(a0) + "), (" + latch + ", " +
             vr(anext) + ")");
        emit("BranchCmp lt " + vr(i) + ", " + std::to_string(1 + rand(4)) + ", " + bb(body) +
             ", " + bb(exit));
        std::vector<int> saved = scope_, fsaved = fscope_;
        scope_.push_back(i);
        scope_.push_back(acc);
        start_block(body);
        region(depth + 1, 1 + rand(5));
        emit(vr(anext) + " = Add " + vr(acc) + ", " + vr(pick()));
        emit(vr(inext) + " = Add " + vr(i) + ", 1");
        emit("Branch " + bb(header));
        for (size_t at; (at = text_.find(latch)) != std::string::npos;) {
            text_.replace(at, latch.size(), bb(cur_));
        }
        scope_ = saved;
        fscope_ = fsaved;
        scope_.push_back(i);
        scope_.push_back(acc);
        start_block(exit);
    }

    std::mt19937_64 rng_;
    int pressure_;
    bool with_fp_;
    std::string text_;
    std::vector<int> scope_, fscope_;
    int next_vreg_ = 0, next_block_ = 0, cur_ = 0;
};

// -- The interpreter ----------------------------------------------------------------------

// The signed integer conditions, and the ordered double ones of CmpSetF (false when
// either side is NaN, except `ne`).
template <typename T>
bool
rt_ordered(LirCond cc, T a, T b)
{
    switch (cc) {
    case LIR_CC_EQ: return a == b;
    case LIR_CC_NE: return a != b;
    case LIR_CC_LT: return a < b;
    case LIR_CC_GE: return a >= b;
    case LIR_CC_LE: return a <= b;
    case LIR_CC_GT: return a > b;
    default: return false;
    }
}

bool
rt_cond(LirCond cc, int64_t a, int64_t b)
{
    uint64_t ua = uint64_t(a), ub = uint64_t(b);
    switch (cc) {
    case LIR_CC_B: return ua < ub;
    case LIR_CC_AE: return ua >= ub;
    case LIR_CC_BE: return ua <= ub;
    case LIR_CC_A: return ua > ub;
    default: return rt_ordered(cc, a, b);
    }
}

// What cvttsd2si gives: truncation, or INT64_MIN for NaN and out-of-range values.
int64_t
rt_cvttsd2si(double d)
{
    if (!(d > -9223372036854775808.0 - 1024.0 && d < 9223372036854775808.0)) {
        return INT64_MIN;
    }
    return int64_t(d);
}

double
rt_fp_op(LirOp op, int64_t x, double a, double b)
{
    switch (op) {
    case LIR_IntToF: return double(x);
    case LIR_AddF: return a + b;
    case LIR_SubF: return a - b;
    case LIR_MulF: return a * b;
    default: return a / b;
    }
}

int64_t
rt_interpret(LirFunc *f, const int64_t *args)
{
    std::vector<int64_t> val(size_t(f->nvregs), 0);
    std::vector<double> fval(size_t(f->nvregs), 0.0);
    auto fin = [&](const LirOperand &o) { return fval[size_t(o.vreg)]; };
    auto in = [&](const LirOperand &o) {
        return o.kind == LIR_OPND_VREG ? val[size_t(o.vreg)] : o.imm;
    };
    LirBlock *b = f->blocks[0], *prev = nullptr;
    for (int steps = 0; steps < 1000000; steps++) {
        std::vector<std::pair<int, int64_t>> phis;
        LirInstr *i = b->first;
        for (; i != nullptr && i->op == LIR_Phi; i = i->next) {
            for (int k = 0; k < i->nin; k++) {
                if (i->targets[k] == prev) {
                    phis.push_back({i->out[0].vreg, in(i->in[k])});
                }
            }
        }
        for (auto &p : phis) {
            val[size_t(p.first)] = p.second;
        }
        for (; i != nullptr; i = i->next) {
            uint64_t x = i->nin > 0 ? uint64_t(in(i->in[0])) : 0;
            uint64_t y = i->nin > 1 ? uint64_t(in(i->in[1])) : 0;
            int64_t r = 0;
            switch (i->op) {
            case LIR_Arg: r = args[i->in[0].imm]; break;
            case LIR_Move: r = int64_t(x); break;
            case LIR_Add: r = int64_t(x + y); break;
            case LIR_Sub: r = int64_t(x - y); break;
            case LIR_Imul: r = int64_t(x * y); break;
            case LIR_And: r = int64_t(x & y); break;
            case LIR_Or: r = int64_t(x | y); break;
            case LIR_Xor: r = int64_t(x ^ y); break;
            case LIR_Shl: r = int64_t(x << (y & 63)); break;
            case LIR_Sar: r = int64_t(x) >> (y & 63); break;
            case LIR_Shr: r = int64_t(x >> (y & 63)); break;
            case LIR_Neg: r = int64_t(0 - x); break;
            case LIR_Not: r = int64_t(~x); break;
            case LIR_CmpSet: r = rt_cond(LirCond(i->cc), int64_t(x), int64_t(y)); break;
            case LIR_TestSet: r = rt_cond(LirCond(i->cc), int64_t(x & y), 0); break;
            case LIR_Call: {
                auto fn = reinterpret_cast<int64_t (*)(int64_t, int64_t, int64_t)>(x);
                r = fn(in(i->in[1]), in(i->in[2]), in(i->in[3]));
                break;
            }
            case LIR_Branch:
                prev = b;
                b = i->targets[0];
                break;
            case LIR_BranchCmp:
                prev = b;
                b = i->targets[rt_cond(LirCond(i->cc), int64_t(x), int64_t(y)) ? 0 : 1];
                break;
            case LIR_IntToF:
            case LIR_AddF:
            case LIR_SubF:
            case LIR_MulF:
            case LIR_DivF:
                fval[size_t(i->out[0].vreg)] = rt_fp_op(i->op, int64_t(x), fin(i->in[0]),
                                                        i->nin > 1 ? fin(i->in[1]) : 0.0);
                continue;
            case LIR_FToInt: r = rt_cvttsd2si(fin(i->in[0])); break;
            case LIR_CmpSetF: r = rt_ordered(LirCond(i->cc), fin(i->in[0]), fin(i->in[1])); break;
            case LIR_Return: return int64_t(x);
            default: ADD_FAILURE() << "interpreter lacks " << lir_op_info[i->op].name;
                return 0;
            }
            if (i->nout > 0) {
                val[size_t(i->out[0].vreg)] = r;
            }
        }
    }
    ADD_FAILURE() << "program did not terminate";
    return 0;
}

void
run_random_programs(int count, int pressure, uint64_t seed0, bool with_fp = false)
{
    for (int n = 0; n < count; n++) {
        uint64_t seed = seed0 + uint64_t(n);
        std::string text = ProgramGen(seed, pressure, with_fp).generate();
        char err[512];
        LirFunc *ref = lir_parse(text.c_str(), rt_resolve, nullptr, err, sizeof err);
        ASSERT_NE(ref, nullptr) << err << "\n" << text;
        ASSERT_EQ(lir_verify(ref, err, sizeof err), 0) << err << "\n" << text;
        LirFunc *f = lir_parse(text.c_str(), rt_resolve, nullptr, err, sizeof err);
        ASSERT_EQ(lir_regalloc(f, err, sizeof err), 0) << err;
        char *printed = lir_func_print(f);
        std::string allocated = printed;
        free(printed);
        CiJitCode code = {};
        const char *why = nullptr;
        ASSERT_EQ(ci_codegen_x86_64(f, &code, nullptr, &why), 0) << why << "\n" << allocated;
        auto fn = reinterpret_cast<int64_t (*)(int64_t, int64_t, int64_t, int64_t)>(code.body);
        std::mt19937_64 rng(seed * 7919);
        for (int k = 0; k < 3; k++) {
            int64_t args[4];
            for (int64_t &a : args) {
                a = int64_t(rng()) >> (rng() % 64);
            }
            int64_t want = rt_interpret(ref, args);
            int64_t got = fn(args[0], args[1], args[2], args[3]);
            ASSERT_EQ(got, want) << "seed " << seed << "\n"
                                 << text << "\nallocated:\n"
                                 << allocated;
        }
        ci_codegen_release(code.memory);
        lir_func_free(f);
        lir_func_free(ref);
    }
}

}  // namespace

TEST(LirRandom, SmallPrograms) { run_random_programs(400, 0, 1000); }

TEST(LirRandom, HighPressurePrograms) { run_random_programs(300, 12, 50000); }

TEST(LirRandom, VeryHighPressurePrograms) { run_random_programs(100, 40, 90000); }

TEST(LirRandom, ProgramsWithDoubles) { run_random_programs(300, 6, 120000, true); }

TEST(LirRandom, HighPressureProgramsWithDoubles)
{
    run_random_programs(100, 30, 150000, true);
}
