// End-to-end tests of the back end: LIR (parsed from text or built through the C API)
// is verified, allocated, assembled and then called natively.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>

#include "Python.h"

#include "pycore_dict.h"

extern "C" {
#include "Jit/codegen/x86_64.h"
#include "Jit/lir/lir.h"
#include "Jit/rt/helpers.h"
}
#include "Jit/runtime.h"

// C functions the compiled code calls. Each one first trashes every caller-saved
// register, so that a value wrongly left in one across a call shows up.
#define TRASH_CALLER_SAVED()                                                              \
    asm volatile("mov $0x5151, %%rax\n mov $0x5252, %%rcx\n mov $0x5353, %%rdx\n"         \
                 "mov $0x5454, %%r8\n mov $0x5555, %%r9\n mov $0x5656, %%r10\n"           \
                 "mov $0x5757, %%r11\n pxor %%xmm2, %%xmm2\n pxor %%xmm3, %%xmm3\n"       \
                 "pcmpeqd %%xmm8, %%xmm8\n pcmpeqd %%xmm13, %%xmm13\n"                     \
                 :                                                                          \
                 :                                                                          \
                 : "rax", "rcx", "rdx", "r8", "r9", "r10", "r11", "xmm2", "xmm3", "xmm8",   \
                   "xmm13")

extern "C" {

int64_t
lirtest_add3(int64_t a, int64_t b, int64_t c)
{
    TRASH_CALLER_SAVED();
    return a + b + c;
}

int64_t
lirtest_mix(int64_t a, int64_t b, int64_t c)
{
    TRASH_CALLER_SAVED();
    return (int64_t)((uint64_t)a * 3u + ((uint64_t)b ^ (uint64_t)c));
}

int64_t
lirtest_six(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f)
{
    TRASH_CALLER_SAVED();
    return a - 2 * b + 3 * c - 4 * d + 5 * e - 6 * f;
}

double
lirtest_fmix(double a, int64_t n, double b)
{
    TRASH_CALLER_SAVED();
    return a * (double)n + b;
}

struct LirTestPair {
    int64_t first;
    int64_t second;
};

LirTestPair
lirtest_pair(int64_t x)
{
    TRASH_CALLER_SAVED();
    return {x + 1, x * 2};
}

}  // extern "C"

namespace {

void *
resolve(const char *name, void *)
{
    static const std::map<std::string, void *> symbols = {
        {"lirtest_add3", (void *)lirtest_add3}, {"lirtest_mix", (void *)lirtest_mix},
        {"lirtest_six", (void *)lirtest_six},   {"lirtest_fmix", (void *)lirtest_fmix},
        {"lirtest_pair", (void *)lirtest_pair},
    };
    auto it = symbols.find(name);
    return it == symbols.end() ? nullptr : it->second;
}

std::string
take(char *s)
{
    std::string r = s ? s : "";
    free(s);
    return r;
}

// One function through the whole back end.
class Compiled {
  public:
    explicit Compiled(const std::string &text) { build(text); }
    ~Compiled()
    {
        if (code_.memory != nullptr) {
            ci_codegen_release(code_.memory);
        }
        free(code_.deopts);
    }
    bool ok() const { return code_.body != nullptr; }
    template <typename Fn>
    Fn fn() const
    {
        return reinterpret_cast<Fn>(code_.body);
    }
    const std::string &error() const { return error_; }
    const std::string &listing() const { return listing_; }
    const std::string &allocated() const { return allocated_; }

  private:
    void build(const std::string &text)
    {
        char err[512];
        LirFunc *f = lir_parse(text.c_str(), resolve, nullptr, err, sizeof err);
        if (f == nullptr) {
            error_ = std::string("parse: ") + err;
            return;
        }
        if (lir_verify(f, err, sizeof err) != 0) {
            error_ = std::string("verify: ") + err;
        }
        else if (lir_regalloc(f, err, sizeof err) != 0) {
            error_ = std::string("regalloc: ") + err;
        }
        else {
            allocated_ = take(lir_func_print(f));
            char *dump = nullptr;
            const char *why = nullptr;
            if (ci_codegen_x86_64(f, &code_, &dump, &why) != 0) {
                error_ = std::string("codegen: ") + why;
            }
            listing_ = take(dump);
        }
        lir_func_free(f);
    }

    CiJitCode code_ = {};
    std::string error_, listing_, allocated_;
};

#define ASSERT_COMPILED(c) ASSERT_TRUE((c).ok()) << (c).error() << "\n" << (c).allocated()

using Fn2 = int64_t (*)(int64_t, int64_t);

}  // namespace

// -- Arithmetic ------------------------------------------------------------------------

TEST(LirCodegen, IntegerArithmetic)
{
    // Sub with an immediate first operand is not a shape: the verifier refuses it.
    Compiled c("func bad {\nbb0:\n  %0 = Arg 0\n  %1 = Sub 1, %0\n  Return %1\n}\n");
    EXPECT_FALSE(c.ok());
    EXPECT_NE(c.error().find("inputs do not match"), std::string::npos) << c.error();

    Compiled d(R"(
func arith {
bb0:
  %0 = Arg 0
  %1 = Arg 1
  %2 = Add %0, %1
  %3 = Imul %2, 3
  %4 = Xor %0, %1
  %5 = Sub %3, %4
  %6 = Shl %5, 2
  %7 = And %6, -4097
  %8 = Or %7, %1
  %9 = Neg %8
  %10 = Not %9
  %11 = Imul %10, %0
  %12 = Sar %11, 1
  %14 = Move 1000000000000
  %13 = Sub %14, %12
  %15 = Shr %13, 3
  %16 = Add %15, 81985529216486895
  Return %16
}
)");
    ASSERT_COMPILED(d);
    auto fn = d.fn<Fn2>();
    for (int64_t a : {0LL, 1LL, -7LL, 123456789LL, -99999999999LL}) {
        for (int64_t b : {0LL, 5LL, -3LL, 1LL << 40}) {
            uint64_t v = (uint64_t)a + (uint64_t)b;
            v *= 3;
            v -= (uint64_t)(a ^ b);
            v <<= 2;
            v &= (uint64_t)-4097;
            v |= (uint64_t)b;
            v = -v;
            v = ~v;
            v *= (uint64_t)a;
            v = (uint64_t)((int64_t)v >> 1);
            v = 1000000000000ULL - v;
            v >>= 3;
            v += 81985529216486895ULL;
            EXPECT_EQ(fn(a, b), (int64_t)v) << a << " " << b;
        }
    }
}

TEST(LirCodegen, VariableShiftsAroundRcx)
{
    // The count must go through cl; values living in rcx must survive that.
    Compiled c(R"(
func shifts {
bb0:
  %0 = Arg 0
  %1 = Arg 1
  %2 = Shl %0, %1
  %3 = Sar %0, %1
  %4 = Shr %0, %1
  %5 = Shl %1, %1
  %6 = Xor %2, %3
  %7 = Xor %6, %4
  %8 = Add %7, %5
  %9 = Add %8, %1
  Return %9
}
)");
    ASSERT_COMPILED(c);
    auto fn = c.fn<Fn2>();
    for (int64_t a : {(int64_t)1, (int64_t)-1, (int64_t)0x123456789LL, INT64_MIN}) {
        for (int64_t n : {0LL, 1LL, 13LL, 63LL}) {
            uint64_t v = ((uint64_t)a << n) ^ (uint64_t)(a >> n) ^ ((uint64_t)a >> n);
            v += (uint64_t)n << n;
            v += (uint64_t)n;
            EXPECT_EQ(fn(a, n), (int64_t)v) << a << " " << n;
        }
    }
}

TEST(LirCodegen, ComparesAndExtensions)
{
    Compiled c(R"(
func cmp {
bb0:
  %0 = Arg 0
  %1 = Arg 1
  %2 = CmpSet lt %0, %1
  %3 = CmpSet b %0, %1
  %4 = Shl %3, 1
  %5 = Or %2, %4
  %6 = TestSet ne %0, 256
  %7 = Shl %6, 2
  %8 = Or %5, %7
  %9 = Sext8 %0
  %10 = Zext16 %0
  %11 = Sext32 %1
  %12 = Add %9, %10
  %13 = Add %12, %11
  %14 = Shl %13, 3
  %15 = Or %14, %8
  Return %15
}
)");
    ASSERT_COMPILED(c);
    auto fn = c.fn<Fn2>();
    for (int64_t a : {0LL, -1LL, 300LL, 0x1ff80LL}) {
        for (int64_t b : {0LL, 7LL, -5LL, 0x180000000LL}) {
            int64_t flags = (a < b) | (((uint64_t)a < (uint64_t)b) << 1) |
                            (((a & 256) != 0) << 2);
            int64_t ext = (int64_t)(int8_t)a + (int64_t)(uint16_t)a + (int64_t)(int32_t)b;
            EXPECT_EQ(fn(a, b), (int64_t)(((uint64_t)ext << 3) | (uint64_t)flags));
        }
    }
}

// -- Memory ------------------------------------------------------------------------------

TEST(LirCodegen, LoadsAndStoresOfEveryWidth)
{
    Compiled c(R"(
func mem {
bb0:
  %0 = Arg 0
  %1 = Arg 1
  %2 = Load8 [%0 + 1]
  %3 = Load8s [%0 + 1]
  %4 = Load16 [%0 + %1*2]
  %5 = Load16s [%0 + %1*2]
  %6 = Load32 [%0 + 8]
  %7 = Load32s [%0 + 8]
  %8 = Load64 [%0 + %1*8 + 8]
  Store64 [%0 + 16], %2
  Store64 [%0 + 24], %3
  Store32 [%0 + 32], %4
  Store16 [%0 + 36], %5
  Store8 [%0 + 38], 127
  Store64 [%0 + 40], %6
  Store64 [%0 + 48], %7
  Store64 [%0 + 56], %8
  Store64 [%0 + %1*8 + 56], -2
  Store32 [%0 + 96], 4294967280
  Store32 [%0 + 104], -3
  %9 = Lea [%0 + %1*4 + 3]
  %10 = Sub %9, %0
  Return %10
}
)");
    ASSERT_COMPILED(c);
    alignas(8) unsigned char buf[128];
    memset(buf, 0, sizeof buf);
    buf[1] = 0xf0;
    buf[2] = 0x34;
    buf[3] = 0x92;
    uint32_t w = 0xfffffff0u;
    memcpy(buf + 8, &w, 4);
    int64_t q = 0x1122334455667788LL;
    memcpy(buf + 16, &q, 8);
    int64_t r = c.fn<Fn2>()((int64_t)buf, 1);
    EXPECT_EQ(r, 7);
    int64_t got[8];
    memcpy(got, buf + 16, sizeof got);
    EXPECT_EQ(got[0], 0xf0);
    EXPECT_EQ(got[1], -16);
    uint32_t w32;
    memcpy(&w32, buf + 32, 4);
    EXPECT_EQ(w32, 0x9234u);
    int16_t s16;
    memcpy(&s16, buf + 36, 2);
    EXPECT_EQ(s16, (int16_t)0x9234);
    EXPECT_EQ(buf[38], 127);
    EXPECT_EQ(got[3], 0xfffffff0LL);
    EXPECT_EQ(got[4], -16);
    EXPECT_EQ(got[5], 0x1122334455667788LL);
    EXPECT_EQ(got[6], -2);
    // A 32-bit store of an immediate, unsigned or signed, leaves the next 4 bytes alone.
    int64_t halves[2];
    memcpy(halves, buf + 96, sizeof halves);
    EXPECT_EQ(halves[0], 0x00000000fffffff0LL);
    EXPECT_EQ(halves[1], 0x00000000fffffffdLL);
}

// -- Control flow ------------------------------------------------------------------------

TEST(LirCodegen, LoopSum)
{
    Compiled c(R"(
func sum {
bb0:
  %0 = Arg 0
  %1 = Arg 1
  %9 = Move 0
  Branch bb1
bb1:
  %2 = Phi (bb0, %0), (bb2, %4)
  %3 = Phi (bb0, %9), (bb2, %5)
  BranchCmp lt %2, %1, bb2, bb3
bb2:
  %4 = Add %2, 1
  %5 = Add %3, %2
  Branch bb1
bb3:
  Return %3
}
)");
    ASSERT_COMPILED(c);
    auto fn = c.fn<Fn2>();
    EXPECT_EQ(fn(0, 10), 45);
    EXPECT_EQ(fn(5, 5), 0);
    EXPECT_EQ(fn(-3, 1000), 499500 - 6);
}

TEST(LirCodegen, PhiSwapInLoop)
{
    // Fibonacci: the phis exchange their values on the back edge (a parallel-move cycle).
    Compiled c(R"(
func fib {
bb0:
  %0 = Arg 0
  %1 = Move 0
  %2 = Move 1
  %3 = Move 0
  Branch bb1
bb1:
  %4 = Phi (bb0, %1), (bb2, %5)
  %5 = Phi (bb0, %2), (bb2, %7)
  %6 = Phi (bb0, %3), (bb2, %8)
  BranchCmp lt %6, %0, bb2, bb3
bb2:
  %7 = Add %4, %5
  %8 = Add %6, 1
  Branch bb1
bb3:
  Return %4
}
)");
    ASSERT_COMPILED(c);
    int64_t a = 0, b = 1;
    for (int n = 0; n < 50; n++) {
        EXPECT_EQ(c.fn<Fn2>()(n, 0), a) << n;
        int64_t t = a + b;
        a = b;
        b = t;
    }
}

TEST(LirCodegen, NestedLoopsAndDiamond)
{
    // sum over i < n, j < i of (i*j odd ? i : j)
    Compiled c(R"(
func nested {
bb0:
  %0 = Arg 0
  %1 = Move 0
  Branch bb1
bb1:
  %2 = Phi (bb0, %1), (bb7, %20)
  %3 = Phi (bb0, %1), (bb7, %21)
  BranchCmp lt %2, %0, bb2, bb8
bb2:
  Branch bb3
bb3:
  %10 = Phi (bb2, %1), (bb6, %14)
  %11 = Phi (bb2, %3), (bb6, %15)
  BranchCmp lt %10, %2, bb4, bb7
bb4:
  %12 = Imul %2, %10
  BranchTest ne %12, 1, bb5, bb9
bb5:
  Branch bb6
bb9:
  Branch bb6
bb6:
  %13 = Phi (bb5, %2), (bb9, %10)
  %14 = Add %10, 1
  %15 = Add %11, %13
  Branch bb3
bb7:
  %20 = Add %2, 1
  %21 = Move %11
  Branch bb1
bb8:
  Return %3
}
)");
    ASSERT_COMPILED(c);
    for (int64_t n : {0, 1, 5, 30}) {
        int64_t s = 0;
        for (int64_t i = 0; i < n; i++) {
            for (int64_t j = 0; j < i; j++) {
                s += (i * j) & 1 ? i : j;
            }
        }
        EXPECT_EQ(c.fn<Fn2>()(n, 0), s) << n;
    }
}

// -- Calls -------------------------------------------------------------------------------

TEST(LirCodegen, CallsKeepValuesAcrossThem)
{
    Compiled c(R"(
func calls {
bb0:
  %0 = Arg 0
  %1 = Arg 1
  %2 = Add %0, 1
  %3 = Add %1, 2
  %4 = Call @lirtest_add3, %0, %1, 100
  %5 = Call @lirtest_mix, %4, %2, %3
  %6 = Call @lirtest_six, %1, %0, %2, %3, %4, %5
  %7 = Add %6, %0
  %8 = Add %7, %1
  %9 = Add %8, %2
  %10 = Add %9, %3
  Return %10
}
)");
    ASSERT_COMPILED(c);
    for (int64_t a : {0LL, 3LL, -11LL}) {
        for (int64_t b : {1LL, 1LL << 33}) {
            int64_t v2 = a + 1, v3 = b + 2;
            int64_t v4 = a + b + 100;
            int64_t v5 = (int64_t)((uint64_t)v4 * 3u + ((uint64_t)v2 ^ (uint64_t)v3));
            int64_t v6 = b - 2 * a + 3 * v2 - 4 * v3 + 5 * v4 - 6 * v5;
            EXPECT_EQ(c.fn<Fn2>()(a, b), v6 + a + b + v2 + v3);
        }
    }
}

TEST(LirCodegen, ArgumentsInEachOthersRegisters)
{
    // The arguments of the call are a rotation of the function's own: a cycle through
    // the ABI registers.
    Compiled c(R"(
func rotate {
bb0:
  %0 = Arg 0
  %1 = Arg 1
  %2 = Arg 2
  %3 = Arg 3
  %4 = Arg 4
  %5 = Arg 5
  %6 = Call @lirtest_six, %5, %0, %1, %2, %3, %4
  Return %6
}
)");
    ASSERT_COMPILED(c);
    auto fn = c.fn<int64_t (*)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t)>();
    EXPECT_EQ(fn(1, 2, 3, 4, 5, 6), lirtest_six(6, 1, 2, 3, 4, 5));
    EXPECT_EQ(fn(-9, 8, 0, 70, 1, 2), lirtest_six(2, -9, 8, 0, 70, 1));
}

TEST(LirCodegen, CallReturningTwoRegisters)
{
    Compiled c(R"(
func pair {
bb0:
  %0 = Arg 0
  %1, %2 = Call @lirtest_pair, %0
  %3 = Imul %1, 1000
  %4 = Add %3, %2
  Return %4
}
)");
    ASSERT_COMPILED(c);
    EXPECT_EQ(c.fn<Fn2>()(5, 0), 6 * 1000 + 10);
}

TEST(LirCodegen, IndirectCall)
{
    Compiled c(R"(
func indirect {
bb0:
  %0 = Arg 0
  %1 = Arg 1
  %2 = Call %0, %1, %1, %1
  Return %2
}
)");
    ASSERT_COMPILED(c);
    EXPECT_EQ(c.fn<Fn2>()((int64_t)lirtest_add3, 7), 21);
}

// -- Doubles -----------------------------------------------------------------------------

TEST(LirCodegen, DoubleArithmetic)
{
    Compiled c(R"(
func fp {
bb0:
  %f0 = Arg 0
  %f1 = Arg 1
  %2 = Arg 0
  %f3 = MulF %f0, %f1
  %f4 = Move 1.5
  %f5 = AddF %f3, %f4
  %f6 = SubF %f5, %f0
  %f7 = DivF %f6, %f1
  %f8 = IntToF %2
  %f9 = AddF %f7, %f8
  %f10 = Call @lirtest_fmix, %f9, %2, %f0
  %f11 = AddF %f10, %f1
  %12 = CmpSetF gt %f11, %f0
  %f13 = IntToF %12
  %f14 = AddF %f11, %f13
  Return %f14
}
)");
    ASSERT_COMPILED(c);
    auto fn = c.fn<double (*)(double, double, int64_t)>();
    for (double x : {0.5, -3.25, 100.0}) {
        for (double y : {2.0, -0.125}) {
            for (int64_t n : {0LL, 3LL, -8LL}) {
                double v = (x * y + 1.5 - x) / y + (double)n;
                v = v * (double)n + x + y;
                v += v > x ? 1.0 : 0.0;
                EXPECT_DOUBLE_EQ(fn(x, y, n), v) << x << " " << y << " " << n;
            }
        }
    }
}

TEST(LirCodegen, DoubleComparisonsWithNaN)
{
    const char *ccs[] = {"eq", "ne", "lt", "ge", "le", "gt"};
    for (int k = 0; k < 6; k++) {
        std::string text = std::string("func fcmp {\nbb0:\n  %f0 = Arg 0\n  %f1 = Arg 1\n") +
                           "  %2 = CmpSetF " + ccs[k] + " %f0, %f1\n" +
                           "  BranchCmpF " + ccs[k] + " %f0, %f1, bb1, bb2\nbb1:\n" +
                           "  %3 = Add %2, 10\n  Return %3\nbb2:\n  Return %2\n}\n";
        Compiled c(text);
        ASSERT_COMPILED(c);
        auto fn = c.fn<int64_t (*)(double, double)>();
        double nan = std::nan("");
        double vals[] = {1.0, 2.0, nan};
        for (double a : vals) {
            for (double b : vals) {
                bool want[] = {a == b, a != b, a < b, a >= b, a <= b, a > b};
                EXPECT_EQ(fn(a, b), want[k] ? 11 : 0) << ccs[k] << " " << a << " " << b;
            }
        }
    }
}

// -- Register pressure -------------------------------------------------------------------

TEST(LirCodegen, ManyLiveValuesSpill)
{
    // 40 GP values and 20 doubles all live at once, across a call, then folded in
    // reverse order: far more than the registers.
    std::string t = "func pressure {\nbb0:\n  %0 = Arg 0\n  %1 = Arg 1\n";
    int v = 2;
    for (int k = 0; k < 40; k++, v++) {
        t += "  %" + std::to_string(v) + " = Imul %0, " + std::to_string(k + 1) + "\n";
        t += "  %" + std::to_string(v + 100) + " = Add %" + std::to_string(v) + ", %1\n";
    }
    for (int k = 0; k < 20; k++) {
        t += "  %f" + std::to_string(200 + k) + " = IntToF %" + std::to_string(102 + k) +
             "\n";
    }
    t += "  %300 = Call @lirtest_add3, %0, %1, %102\n";
    t += "  %f301 = Move 0.0\n";
    std::string acc = "%300", facc = "%f301";
    for (int k = 39; k >= 0; k--) {
        std::string n = "%" + std::to_string(400 + k);
        t += "  " + n + " = Add " + acc + ", %" + std::to_string(102 + k) + "\n";
        acc = n;
    }
    for (int k = 19; k >= 0; k--) {
        std::string n = "%f" + std::to_string(500 + k);
        t += "  " + n + " = AddF " + facc + ", %f" + std::to_string(200 + k) + "\n";
        facc = n;
    }
    t += "  %600 = FToInt " + facc + "\n  %601 = Add " + acc + ", %600\n  Return %601\n}\n";
    Compiled c(t);
    ASSERT_COMPILED(c);
    for (int64_t a : {1LL, -3LL, 1000LL}) {
        for (int64_t b : {0LL, 7LL}) {
            int64_t want = a + b + (a * 1 + b);
            int64_t fsum = 0;
            for (int k = 0; k < 40; k++) {
                want += a * (k + 1) + b;
            }
            for (int k = 0; k < 20; k++) {
                fsum += a * (k + 1) + b;
            }
            EXPECT_EQ(c.fn<Fn2>()(a, b), want + fsum);
        }
    }
}

TEST(LirCodegen, SpilledValuesAsAddressesAndShiftCounts)
{
    // Every operand kind with its vregs in spill slots: force it with 16 values live
    // across a call (only 5 callee-saved registers).
    std::string t = "func spilled {\nbb0:\n  %0 = Arg 0\n  %1 = Arg 1\n";
    for (int k = 0; k < 16; k++) {
        t += "  %" + std::to_string(10 + k) + " = Add %1, " + std::to_string(k) + "\n";
    }
    t += "  %2 = Call @lirtest_add3, 0, 0, 0\n";
    t += "  %3 = Load64 [%0 + %10*8]\n";          // base and index maybe spilled
    t += "  Store64 [%0 + %11*8 + 8], %12\n";     // all three maybe spilled
    t += "  %4 = Shl %13, %14\n";
    t += "  %5 = Sub %15, %16\n";
    t += "  %6 = CmpSet lt %17, %18\n";
    t += "  %7 = Add %3, %4\n  %8 = Add %7, %5\n  %9 = Add %8, %6\n";
    std::string acc = "%9";
    for (int k = 19; k < 26; k++) {
        std::string n = "%" + std::to_string(100 + k);
        t += "  " + n + " = Add " + acc + ", %" + std::to_string(k) + "\n";
        acc = n;
    }
    t += "  Return " + acc + "\n}\n";
    Compiled c(t);
    ASSERT_COMPILED(c);
    int64_t buf[32] = {0};
    for (int k = 0; k < 32; k++) {
        buf[k] = 1000 + k;
    }
    int64_t b = 1;
    int64_t r = c.fn<Fn2>()((int64_t)buf, b);
    int64_t want = buf[b + 0] + ((b + 3) << (b + 4)) + ((b + 5) - (b + 6)) + 1;
    for (int k = 19; k < 26; k++) {
        want += b + (k - 10);
    }
    EXPECT_EQ(r, want) << c.allocated();
    EXPECT_EQ(buf[b + 1 + 1], b + 2);
}

// -- Deoptimisation ------------------------------------------------------------------------

namespace {

struct FakeFrame {
    alignas(16) unsigned char bytes[sizeof(_PyInterpreterFrame) + 32 * sizeof(PyObject *)];
    _PyInterpreterFrame *frame() { return reinterpret_cast<_PyInterpreterFrame *>(bytes); }
    // All zero but the code object, as a deopt exit needs it (for prev_instr).
    _PyInterpreterFrame *reset(PyObject *code)
    {
        memset(bytes, 0, sizeof bytes);
        frame()->f_code = reinterpret_cast<PyCodeObject *>(code);
        return frame();
    }
};

}  // namespace

TEST(LirCodegen, DeoptExitWritesTheFrame)
{
    PyObject *code = Py_CompileString("a = 1\nb = a + 2\n", "<deopt>", Py_file_input);
    ASSERT_NE(code, nullptr);
    PyObject *kept = PyLong_FromLong(123456);
    PyObject *given = PyLong_FromLong(654321);
    ASSERT_NE(kept, nullptr);
    ASSERT_NE(given, nullptr);
    int off_locals = int(offsetof(_PyInterpreterFrame, localsplus));
    // localsplus[0] holds a "local"; when it is NULL the guard fails and the exit
    // stores three stack values: kept (borrowed: the exit increfs it), given (owned),
    // and a constant.
    std::string text = "func deopt {\nbb0:\n  %0 = Arg 0\n  %1 = Arg 1\n"
                       "  %2 = Load64 [%1 + " + std::to_string(off_locals) + "]\n"
                       "  %3 = Move " + std::to_string((int64_t)kept) + "\n"
                       "  %4 = Move " + std::to_string((int64_t)given) + "\n"
                       "  DeoptTest eq %2, %2 deopt(guard, 7, 4, \"LocalIsNull\") "
                       "[%3@1, %4@2 owned, 77@3]\n"
                       "  Return %2\n}\n";
    Compiled c(text);
    ASSERT_COMPILED(c);
    EXPECT_NE(c.listing().find("deopt exit 0: guard \"LocalIsNull\""), std::string::npos)
        << c.listing();

    FakeFrame ff;
    _PyInterpreterFrame *frame = ff.reset(code);
    auto body = c.fn<CiJitBody>();
    Py_ssize_t kept_refs = Py_REFCNT(kept), given_refs = Py_REFCNT(given);

    PyObject *r = body(PyThreadState_Get(), frame);
    EXPECT_EQ(r, CI_JIT_DEOPT);
    EXPECT_EQ(frame->localsplus[1], kept);
    EXPECT_EQ(frame->localsplus[2], given);
    EXPECT_EQ(frame->localsplus[3], (PyObject *)77);
    EXPECT_EQ(frame->stacktop, 4);
    EXPECT_EQ(frame->prev_instr, _PyCode_CODE((PyCodeObject *)code) + 7);
    EXPECT_EQ(Py_REFCNT(kept), kept_refs + 1);
    EXPECT_EQ(Py_REFCNT(given), given_refs);

    // With the local set, the guard holds and the body returns it.
    ff.reset(code);
    frame->localsplus[0] = given;
    EXPECT_EQ(body(PyThreadState_Get(), frame), given);
    EXPECT_EQ(frame->stacktop, 0);

    Py_DECREF(kept); // the reference the exit added
    Py_DECREF(kept);
    Py_DECREF(given);

    // A guard before the first instruction leaves prev_instr one before it.
    Compiled first("func first {\nbb0:\n  %0 = Arg 0\n  %1 = Arg 1\n"
                   "  Deopt deopt(guard, -1, 0, \"Entry\") []\n}\n");
    ASSERT_COMPILED(first);
    ff.reset(code);
    EXPECT_EQ(first.fn<CiJitBody>()(PyThreadState_Get(), frame), CI_JIT_DEOPT);
    EXPECT_EQ(frame->prev_instr, _PyCode_CODE((PyCodeObject *)code) - 1);
    Py_DECREF(code);
}

TEST(LirCodegen, ErrorDeoptAfterACall)
{
    PyObject *code = Py_CompileString("x = 1\n", "<deopt>", Py_file_input);
    ASSERT_NE(code, nullptr);
    // A helper "fails" (returns 0): leave with CI_JIT_DEOPT_ERROR at the raising
    // instruction, with a value that was live across the call on the stack.
    std::string off_code = std::to_string(offsetof(_PyInterpreterFrame, f_code));
    Compiled c("func err {\nbb0:\n  %0 = Arg 0\n  %1 = Arg 1\n"
               "  %2 = Load64 [%1 + " + off_code + "]\n"
               "  %3 = Call @lirtest_add3, -1, 1, 0\n"
               "  DeoptCmp eq %3, 0 deopt(error, 2, 1, \"Raise\") [%2@0 owned]\n"
               "  Return %3\n}\n");
    ASSERT_COMPILED(c);
    FakeFrame ff;
    _PyInterpreterFrame *frame = ff.reset(code);
    PyObject *r = c.fn<CiJitBody>()(PyThreadState_Get(), frame);
    EXPECT_EQ(r, CI_JIT_DEOPT_ERROR);
    EXPECT_EQ(frame->localsplus[0], (PyObject *)frame->f_code);
    EXPECT_EQ(frame->stacktop, 1);
    EXPECT_EQ(frame->prev_instr, _PyCode_CODE((PyCodeObject *)code) + 2);
    Py_DECREF(code);
}

TEST(LirCodegen, DeoptExitReleasesAndRefcountOps)
{
    // Incref/Decref/XDecref are the inline incref/decref; the exit stores one value and
    // releases two others (one of them NULL), calling _Py_Dealloc for the last reference.
    PyObject *code = Py_CompileString("x = 1\n", "<deopt>", Py_file_input);
    ASSERT_NE(code, nullptr);
    PyObject *stored = PyLong_FromLong(31337);
    PyObject *kept = PyUnicode_FromString("kept alive by the test");
    PyObject *dying = PyUnicode_FromString("freed by the exit");
    int64_t s = (int64_t)stored, k = (int64_t)kept, d = (int64_t)dying;
    std::string text = "func rel {\nbb0:\n  %0 = Arg 0\n  %1 = Arg 1\n"
                       "  %2 = Move " + std::to_string(s) + "\n"
                       "  %3 = Move " + std::to_string(k) + "\n"
                       "  %4 = Move " + std::to_string(d) + "\n"
                       "  %5 = Move 0\n"
                       "  Incref %3\n"
                       "  Decref %3\n"
                       "  XDecref %5\n"
                       "  Deopt deopt(guard, 0, 1, \"Release\") [%2@0 owned]"
                       " release %3, %4, %5\n}\n";
    Compiled c(text);
    ASSERT_COMPILED(c);
    Py_INCREF(kept); // the exit releases one reference
    Py_ssize_t kept_refs = Py_REFCNT(kept);
    FakeFrame ff;
    _PyInterpreterFrame *frame = ff.reset(code);
    EXPECT_EQ(c.fn<CiJitBody>()(PyThreadState_Get(), frame), CI_JIT_DEOPT);
    EXPECT_EQ(frame->localsplus[0], stored);
    EXPECT_EQ(Py_REFCNT(kept), kept_refs - 1);
    // `dying` had one reference, which the exit released: it is gone (no crash, and the
    // allocator may hand its memory out again).
    Py_DECREF(stored);
    Py_DECREF(kept);
    Py_DECREF(code);
}

TEST(LirCodegen, DeoptExitReadsRegistersAndSpillSlots)
{
    // Twenty values live at once: some stay in registers, the rest are spilled; the exit
    // (through the table and the deopt entry) finds each where the allocator put it.
    PyObject *code = Py_CompileString("x = 1\n", "<deopt>", Py_file_input);
    ASSERT_NE(code, nullptr);
    std::string text = "func spill {\nbb0:\n  %0 = Arg 0\n  %1 = Arg 1\n";
    std::string values;
    for (int k = 0; k < 20; k++) {
        text += "  %" + std::to_string(k + 2) + " = Move " + std::to_string(1000 + 8 * k) + "\n";
        values += (k ? ", %" : "%") + std::to_string(k + 2) + "@" + std::to_string(k) + " owned";
    }
    text += "  Deopt deopt(guard, 0, 20, \"Spilled\") [" + values + "]\n}\n";
    Compiled c(text);
    ASSERT_COMPILED(c);
    EXPECT_NE(c.allocated().find(":s"), std::string::npos) << c.allocated();
    FakeFrame ff;
    _PyInterpreterFrame *frame = ff.reset(code);
    EXPECT_EQ(c.fn<CiJitBody>()(PyThreadState_Get(), frame), CI_JIT_DEOPT);
    for (int k = 0; k < 20; k++) {
        EXPECT_EQ(frame->localsplus[k], (PyObject *)(intptr_t)(1000 + 8 * k)) << k;
    }
    EXPECT_EQ(frame->stacktop, 20);
    Py_DECREF(code);
}

TEST(LirCodegen, YieldExitIsInline)
{
    // A generator's yield leaves through its own inline exit, not the deopt entry: the
    // value stack (a new reference for a borrowed value), stacktop, prev_instr and the
    // "yield" counter.
    PyObject *code = Py_CompileString("x = 1\ny = 2\n", "<yield>", Py_file_input);
    ASSERT_NE(code, nullptr);
    PyObject *value = PyLong_FromLong(424242);
    std::string text = "func gen {\nbb0:\n  %0 = Arg 0\n  %1 = Arg 1\n"
                       "  %2 = Move " + std::to_string((int64_t)value) + "\n"
                       "  Deopt deopt(guard, 3, 2, \"Yield\") [%2@1, 0@0]\n}\n";
    Compiled c(text);
    ASSERT_COMPILED(c);
    EXPECT_EQ(c.listing().find("deopt entry"), std::string::npos) << c.listing();
    FakeFrame ff;
    _PyInterpreterFrame *frame = ff.reset(code);
    unsigned long long yields = *ci_jit_deopt_counter(CI_JIT_DEOPT_YIELD);
    Py_ssize_t refs = Py_REFCNT(value);
    EXPECT_EQ(c.fn<CiJitBody>()(PyThreadState_Get(), frame), CI_JIT_DEOPT);
    EXPECT_EQ(frame->localsplus[1], value);
    EXPECT_EQ(frame->localsplus[0], nullptr);
    EXPECT_EQ(frame->stacktop, 2);
    EXPECT_EQ(frame->prev_instr, _PyCode_CODE((PyCodeObject *)code) + 3);
    EXPECT_EQ(Py_REFCNT(value), refs + 1);
    EXPECT_EQ(*ci_jit_deopt_counter(CI_JIT_DEOPT_YIELD), yields + 1);
    Py_DECREF(value);
    Py_DECREF(value);
    Py_DECREF(code);
}

// -- The C builder API -------------------------------------------------------------------

TEST(LirCodegen, BuiltThroughTheCApi)
{
    LirFunc *f = lir_func_new("built");
    LirBlock *entry = lir_block_new(f);
    LirBlock *loop = lir_block_new(f);
    LirBlock *body = lir_block_new(f);
    LirBlock *done = lir_block_new(f);
    int n = lir_def(f, entry, LIR_Arg, LIR_GP, 1, lir_imm(0));
    int one = lir_def(f, entry, LIR_Move, LIR_GP, 1, lir_imm(1));
    lir_branch(f, entry, loop);
    int i, acc;
    LirInstr *pi = lir_phi(f, loop, LIR_GP, 2, &i);
    LirInstr *pa = lir_phi(f, loop, LIR_GP, 2, &acc);
    lir_cond_branch(f, loop, LIR_BranchCmp, LIR_CC_LE, lir_vreg(i), lir_vreg(n), body, done);
    LirOperand args[3] = {lir_vreg(acc), lir_vreg(i), lir_imm(0)};
    int prod;
    LirInstr *call = lir_call(f, body, (void *)lirtest_mix, "lirtest_mix", LIR_GP, -1, 3,
                              args, &prod, nullptr);
    call->origin_label = "v7 = CallStatic lirtest_mix";
    int next = lir_def(f, body, LIR_Add, LIR_GP, 2, lir_vreg(i), lir_imm(1));
    lir_branch(f, body, loop);
    lir_use(f, done, LIR_Return, 1, lir_vreg(acc));
    pi->in[0] = lir_vreg(one);
    pi->targets[0] = entry;
    pi->in[1] = lir_vreg(next);
    pi->targets[1] = body;
    pa->in[0] = lir_vreg(one);
    pa->targets[0] = entry;
    pa->in[1] = lir_vreg(prod);
    pa->targets[1] = body;

    char err[256];
    ASSERT_EQ(lir_verify(f, err, sizeof err), 0) << err;
    std::string printed = take(lir_func_print(f));
    EXPECT_NE(printed.find("Call @lirtest_mix, %3, %2, 0  # v7 = CallStatic lirtest_mix"),
              std::string::npos)
        << printed;
    ASSERT_EQ(lir_regalloc(f, err, sizeof err), 0) << err;
    CiJitCode code = {};
    const char *why = nullptr;
    char *dump = nullptr;
    ASSERT_EQ(ci_codegen_x86_64(f, &code, &dump, &why), 0) << why;
    std::string listing = take(dump);
    EXPECT_NE(listing.find("# v7 = CallStatic lirtest_mix"), std::string::npos) << listing;
    auto fn = reinterpret_cast<int64_t (*)(int64_t)>(code.body);
    int64_t want = 1;
    for (int64_t k = 1; k <= 6; k++) {
        want = lirtest_mix(want, k, 0);
    }
    EXPECT_EQ(fn(6), want);
    EXPECT_GT(code.code_size, 0u);
    ci_codegen_release(code.memory);
    free(code.deopts);
    lir_func_free(f);
}

// -- Cached lookups ------------------------------------------------------------------------

namespace {

// A compiled `return <op> <operands>`; %2 is the frame's localsplus[0] and %3 its
// localsplus[1]; a LoadMethodCached returns its second result when SECOND.
std::string
lookup_text(const char *op, const std::string &operands, bool second = false)
{
    int base = int(offsetof(_PyInterpreterFrame, localsplus));
    std::string outs = strcmp(op, "LoadMethodCached") == 0 ? "%4, %5" : "%4";
    return "func lookup {\nbb0:\n  %0 = Arg 0\n  %1 = Arg 1\n"
           "  %2 = Load64 [%1 + " + std::to_string(base) + "]\n"
           "  %3 = Load64 [%1 + " + std::to_string(base + 8) + "]\n"
           "  " + outs + " = " + op + " " + operands + "\n"
           "  Return " + (second ? "%5" : "%4") + "\n}\n";
}

std::string
imm(const void *p)
{
    return std::to_string((int64_t)(intptr_t)p);
}

PyObject *
run_in_frame(const Compiled &c, PyObject *globals, PyObject *builtins, PyObject *local0,
             PyObject *local1 = nullptr)
{
    FakeFrame ff;
    memset(ff.bytes, 0, sizeof ff.bytes);
    _PyInterpreterFrame *frame = ff.frame();
    frame->f_globals = globals;
    frame->f_builtins = builtins;
    frame->localsplus[0] = local0;
    frame->localsplus[1] = local1;
    return c.fn<CiJitBody>()(PyThreadState_Get(), frame);
}

uint32_t
keys_version(PyObject *dict)
{
    return _PyDictKeys_GetVersionForCurrentState(((PyDictObject *)dict)->ma_keys);
}

std::string
utf8(PyObject *o)
{
    std::string v = o ? PyUnicode_AsUTF8(o) : "<NULL>";
    Py_XDECREF(o);
    return v;
}

}  // namespace

// Way 0 is read inline, for the kind the cache held when the code was compiled: the
// helper (which counts its calls in the cache) only runs for an empty way, a stale
// version, an empty entry, a way of the other kind or an error, and then refills way 0.
TEST(LirCodegen, LoadGlobalCachedInlineAndThroughTheHelper)
{
    PyObject *globals = Py_BuildValue("{s:i,s:i}", "g", 1001, "other", 1002);
    PyObject *builtins = Py_BuildValue("{s:i}", "b", 1003);
    ASSERT_NE(globals, nullptr);
    ASSERT_NE(builtins, nullptr);
    PyObject *g = PyUnicode_InternFromString("g"), *b = PyUnicode_InternFromString("b");
    PyObject *other = PyDict_GetItemString(globals, "other");
    PyObject *bval = PyDict_GetItemString(builtins, "b");
    auto text = [](PyObject *name, CiJitSiteCache *cache) {
        return lookup_text("LoadGlobalCached", "%1, " + imm(name) + ", " + imm(cache));
    };
    CiJitSiteCache cache = {};
    Compiled c(text(g, &cache));  // an empty way: module globals inline
    ASSERT_COMPILED(c);
    auto load = [&](const Compiled &code, PyObject *bt) {
        PyObject *r = run_in_frame(code, globals, bt, nullptr);
        long v = r ? PyLong_AsLong(r) : -1;
        Py_XDECREF(r);
        return v;
    };

    EXPECT_EQ(load(c, builtins), 1001);  // the helper fills the way
    EXPECT_EQ(cache.way[0].kind, HIR_CACHE_GLOBAL_MODULE);
    EXPECT_EQ(cache.calls, 1u);
    EXPECT_EQ(load(c, builtins), 1001);
    EXPECT_EQ(cache.calls, 1u);

    // a module way naming "other"'s entry: read inline, with its reference
    PyObject *slot = other;
    cache.way[0].value = &slot;
    Py_ssize_t refs = Py_REFCNT(other);
    PyObject *r = run_in_frame(c, globals, builtins, nullptr);
    EXPECT_EQ(r, other);
    EXPECT_EQ(Py_REFCNT(other), refs + 1);
    Py_DECREF(r);
    EXPECT_EQ(cache.calls, 1u);

    // a stale globals version and an empty entry go to the helper too
    for (int k = 0; k < 2; k++) {
        slot = k == 0 ? other : nullptr;
        cache.way[0].kind = HIR_CACHE_GLOBAL_MODULE;
        cache.way[0].version = keys_version(globals) + (k == 0);
        cache.way[0].value = &slot;
        cache.misses = 0;
        EXPECT_EQ(load(c, builtins), 1001);
        EXPECT_EQ(cache.calls, 2u + k);
    }

    // code compiled for a builtins way: both keys versions must hold
    CiJitSiteCache cache_b = {};
    Ci_JitRt_SeedGlobalCache(&cache_b.way[0], globals, builtins, b);
    EXPECT_EQ(cache_b.way[0].kind, HIR_CACHE_GLOBAL_BUILTIN);
    Compiled cb(text(b, &cache_b));
    ASSERT_COMPILED(cb);
    EXPECT_EQ(load(cb, builtins), 1003);
    EXPECT_EQ(cache_b.calls, 0u);
    slot = other;
    cache_b.way[0].value = &slot;
    EXPECT_EQ(load(cb, builtins), 1002);  // inline: the entry the way names
    EXPECT_EQ(cache_b.calls, 0u);
    cache_b.way[0].version2 += 1;
    EXPECT_EQ(load(cb, builtins), 1003);  // the helper refills
    EXPECT_EQ(cache_b.calls, 1u);

    // a module way (the one above, for "g") in code compiled for a builtins way: the
    // helper hits it
    EXPECT_EQ(load(c, builtins), 1001);
    HirCache module_way = cache.way[0];
    cache_b.way[0] = module_way;
    EXPECT_EQ(load(cb, builtins), 1001);
    EXPECT_EQ(cache_b.calls, 2u);
    EXPECT_EQ(load(cb, builtins), 1001);
    EXPECT_EQ(cache_b.calls, 3u);

    // the helper's NameError comes back as NULL
    CiJitSiteCache cache_m = {};
    Compiled missing(text(b, &cache_m));
    ASSERT_COMPILED(missing);
    r = run_in_frame(missing, globals, builtins, nullptr);
    EXPECT_EQ(r, bval);
    Py_DECREF(r);
    PyObject *empty = PyDict_New();
    EXPECT_EQ(run_in_frame(missing, globals, empty, nullptr), nullptr);
    EXPECT_TRUE(PyErr_ExceptionMatches(PyExc_NameError));
    PyErr_Clear();
    Py_DECREF(empty);
    Py_DECREF(g);
    Py_DECREF(b);
    Py_DECREF(globals);
    Py_DECREF(builtins);
}

namespace {

// Instances with __slots__ and with instance values, and the interned name "a".
struct AttrFixture {
    PyObject *ns, *s, *p, *a;
    AttrFixture()
    {
        ns = PyDict_New();
        PyObject *done = PyRun_String(
            "class Slots:\n"
            "    __slots__ = ('a', 'b')\n"
            "    def m(self): pass\n"
            "class Plain:\n"
            "    def m(self): pass\n"
            "s = Slots(); s.a = 'sa'; s.b = 'sb'\n"
            "p = Plain(); p.a = 'pa'; p.b = 'pb'\n",
            Py_file_input, ns, ns);
        Py_XDECREF(done);
        s = PyDict_GetItemString(ns, "s");
        p = PyDict_GetItemString(ns, "p");
        a = PyUnicode_InternFromString("a");
    }
    ~AttrFixture()
    {
        Py_DECREF(a);
        Py_DECREF(ns);
    }
};

}  // namespace

TEST(LirCodegen, LoadAttrCachedInlineAndThroughTheHelper)
{
    AttrFixture fx;
    ASSERT_NE(fx.p, nullptr);
    CiJitSiteCache cache = {};
    Compiled c(lookup_text("LoadAttrCached", "%2, " + imm(fx.a) + ", " + imm(&cache)));
    ASSERT_COMPILED(c);
    auto attr = [&](PyObject *obj) { return utf8(run_in_frame(c, nullptr, nullptr, obj)); };

    // the helper fills way 0 for each type in turn; then the inline path hits
    for (PyObject *obj : {fx.s, fx.p}) {
        uint32_t calls = cache.calls;
        std::string want = obj == fx.s ? "sa" : "pa";
        EXPECT_EQ(attr(obj), want);
        EXPECT_EQ(cache.calls, calls + 1);
        EXPECT_EQ(attr(obj), want);
        EXPECT_EQ(cache.calls, calls + 1);
    }
    EXPECT_EQ(cache.way[0].kind, HIR_CACHE_INSTANCE_VALUE);
    EXPECT_EQ(cache.way[1].kind, HIR_CACHE_SLOT);

    // ways naming b: read inline
    HirCache value_way = cache.way[0], slot_way = cache.way[1];
    cache.way[0].index += 1;
    EXPECT_EQ(attr(fx.p), "pb");
    cache.way[0] = slot_way;
    cache.way[0].index += sizeof(PyObject *);
    EXPECT_EQ(attr(fx.s), "sb");
    EXPECT_EQ(cache.calls, 2u);

    // a stale version and an object of another type go to the helper
    cache.way[0].version += 1;
    EXPECT_EQ(attr(fx.s), "sa");
    cache.way[0] = value_way;
    EXPECT_EQ(attr(fx.s), "sa");
    EXPECT_EQ(cache.calls, 4u);

    // an unset attribute: the helper's AttributeError comes back as NULL
    PyObject *empty = PyRun_String("Slots()", Py_eval_input, fx.ns, fx.ns);
    ASSERT_NE(empty, nullptr);
    EXPECT_EQ(attr(empty), "<NULL>");
    EXPECT_TRUE(PyErr_ExceptionMatches(PyExc_AttributeError));
    PyErr_Clear();
    Py_DECREF(empty);
}

// A module's attribute, in code compiled for a cache seeded with it (lowering seeds the
// attribute of a global that is a module): way 0 of kind MODULE is read in the
// out-of-line part, before the helper, by LoadAttrCached and LoadMethodCached, while the
// module dict's keys version holds; a way without its value slot (as seeded from the
// interpreter's cache) or a stale version calls the helper. Code compiled for an empty
// cache calls the helper for modules.
TEST(LirCodegen, LoadAttrCachedOfAModule)
{
    PyObject *mod = PyModule_New("m");
    ASSERT_NE(mod, nullptr);
    PyObject *dict = PyModule_GetDict(mod);
    for (const char *key : {"a", "b"}) {
        PyObject *v = PyUnicode_FromFormat("m%s", key);
        PyDict_SetItemString(dict, key, v);
        Py_DECREF(v);
    }
    PyObject *a = PyUnicode_InternFromString("a");
    CiJitSiteCache cache = {};
    Ci_JitRt_SeedModuleAttrCache(&cache.way[0], mod, a);
    EXPECT_EQ(cache.way[0].kind, HIR_CACHE_MODULE);
    EXPECT_NE(cache.way[0].value, nullptr);
    Compiled c(lookup_text("LoadAttrCached", "%2, " + imm(a) + ", " + imm(&cache)));
    ASSERT_COMPILED(c);
    auto attr = [&](PyObject *obj) { return utf8(run_in_frame(c, nullptr, nullptr, obj)); };
    EXPECT_EQ(attr(mod), "ma");
    EXPECT_EQ(cache.calls, 0u);

    // way 0 naming b's entry: read without the helper
    HirCache seeded = cache.way[0];
    PyObject **b_slot = cache.way[0].value + sizeof(PyDictUnicodeEntry) / sizeof(PyObject *);
    ASSERT_EQ(*b_slot, PyDict_GetItemString(dict, "b"));
    cache.way[0].value = b_slot;
    EXPECT_EQ(attr(mod), "mb");
    EXPECT_EQ(cache.calls, 0u);

    // no value slot, a stale version: the helper (which reads the entry by index)
    cache.way[0] = seeded;
    cache.way[0].value = nullptr;
    EXPECT_EQ(attr(mod), "ma");
    EXPECT_EQ(cache.calls, 1u);
    cache.way[0] = seeded;
    cache.way[0].version += 1;
    EXPECT_EQ(attr(mod), "ma");
    EXPECT_EQ(cache.calls, 2u);

    // a new key changes the keys version: the helper again, then without it once
    // refilled
    PyDict_SetItemString(dict, "c", Py_None);
    cache.misses = 0;
    EXPECT_EQ(attr(mod), "ma");
    EXPECT_EQ(cache.calls, 3u);
    EXPECT_EQ(attr(mod), "ma");
    EXPECT_EQ(cache.calls, 3u);

    // code compiled for an empty cache: the helper, every time
    CiJitSiteCache empty = {};
    Compiled e(lookup_text("LoadAttrCached", "%2, " + imm(a) + ", " + imm(&empty)));
    ASSERT_COMPILED(e);
    for (int k = 1; k <= 2; k++) {
        EXPECT_EQ(utf8(run_in_frame(e, nullptr, nullptr, mod)), "ma");
        EXPECT_EQ(empty.calls, (uint32_t)k);
    }

    // LoadMethodCached: (NULL, the attribute), without the helper
    for (bool second : {false, true}) {
        CiJitSiteCache mcache = {};
        Ci_JitRt_SeedModuleAttrCache(&mcache.way[0], mod, a);
        Compiled m(lookup_text("LoadMethodCached", "%2, " + imm(a) + ", " + imm(&mcache),
                               second));
        ASSERT_COMPILED(m);
        PyObject *r = run_in_frame(m, nullptr, nullptr, mod);
        if (second) {
            EXPECT_EQ(utf8(r), "ma");
        }
        else {
            EXPECT_EQ(r, nullptr);
        }
        EXPECT_EQ(mcache.calls, 0u);
    }
    Py_DECREF(a);
    Py_DECREF(mod);
}

TEST(LirCodegen, LoadMethodCachedInlineAndThroughTheHelper)
{
    AttrFixture fx;
    ASSERT_NE(fx.p, nullptr);
    PyObject *m = PyUnicode_InternFromString("m");
    PyObject *plain_m = PyRun_String("Plain.m", Py_eval_input, fx.ns, fx.ns);
    CiJitSiteCache cache = {};
    std::string ops = "%2, " + imm(m) + ", " + imm(&cache);
    Compiled first(lookup_text("LoadMethodCached", ops));
    Compiled second(lookup_text("LoadMethodCached", ops, true));
    ASSERT_COMPILED(first);
    ASSERT_COMPILED(second);

    // Each compiled function returns one result; the test drops the other's reference.
    for (PyObject *obj : {fx.s, fx.p, fx.p}) {  // the helper, then inline for Plain
        PyObject *func = _PyType_Lookup(Py_TYPE(obj), m);
        Py_ssize_t refs = Py_REFCNT(obj), func_refs = Py_REFCNT(func);
        PyObject *self = run_in_frame(second, nullptr, nullptr, obj);
        EXPECT_EQ(self, obj);
        EXPECT_EQ(Py_REFCNT(obj), refs + 1);
        EXPECT_EQ(Py_REFCNT(func), func_refs + 1);
        Py_DECREF(func);
        Py_DECREF(self);
    }
    EXPECT_EQ(cache.calls, 2u);
    EXPECT_EQ(cache.way[0].kind, HIR_CACHE_METHOD_VALUES);
    PyObject *meth = run_in_frame(first, nullptr, nullptr, fx.p);
    EXPECT_EQ(meth, plain_m);
    Py_DECREF(meth);
    Py_DECREF(fx.p);
    EXPECT_EQ(cache.calls, 2u);

    // an instance value named m shadows the method: the helper gives (NULL, attribute)
    ASSERT_EQ(PyObject_SetAttr(fx.p, m, Py_None), 0);
    EXPECT_EQ(run_in_frame(first, nullptr, nullptr, fx.p), nullptr);
    EXPECT_EQ(run_in_frame(second, nullptr, nullptr, fx.p), Py_None);
    EXPECT_EQ(cache.calls, 4u);
    Py_DECREF(plain_m);
    Py_DECREF(m);
}

TEST(LirCodegen, StoreAttrCachedInlineAndThroughTheHelper)
{
    AttrFixture fx;
    ASSERT_NE(fx.p, nullptr);
    CiJitSiteCache cache = {};
    Compiled c(lookup_text("StoreAttrCached", "%2, %3, " + imm(fx.a) + ", " + imm(&cache)));
    ASSERT_COMPILED(c);
    auto get = [&](PyObject *obj, const char *name) {
        return utf8(PyObject_GetAttrString(obj, name));
    };
    int round = 0;
    for (PyObject *obj : {fx.s, fx.s, fx.p, fx.p}) {
        PyObject *v = PyUnicode_FromFormat("v%d", round++);
        Py_ssize_t refs = Py_REFCNT(v);
        EXPECT_EQ(run_in_frame(c, nullptr, nullptr, obj, v), nullptr);  // 0: success
        EXPECT_EQ(get(obj, "a"), utf8(Py_NewRef(v)));
        EXPECT_EQ(Py_REFCNT(v), refs + 1);
        Py_DECREF(v);
    }
    EXPECT_EQ(cache.calls, 2u);  // once for each type

    // a way naming b: stored inline, and b's old value released
    cache.way[0].index += 1;
    PyObject *v = PyUnicode_FromString("new b");
    EXPECT_EQ(run_in_frame(c, nullptr, nullptr, fx.p, v), nullptr);
    EXPECT_EQ(get(fx.p, "b"), "new b");
    EXPECT_EQ(cache.calls, 2u);
    Py_DECREF(v);

    // an unset instance value is the helper's (it extends the insertion order)
    PyObject *fresh = PyRun_String("Plain()", Py_eval_input, fx.ns, fx.ns);
    ASSERT_NE(fresh, nullptr);
    cache.way[0].index -= 1;
    EXPECT_EQ(run_in_frame(c, nullptr, nullptr, fresh, Py_None), nullptr);
    EXPECT_EQ(cache.calls, 3u);
    PyObject *a = PyObject_GetAttrString(fresh, "a");
    EXPECT_EQ(a, Py_None);
    Py_XDECREF(a);
    Py_DECREF(fresh);

    // a read-only target: the helper's error comes back as a negative result
    PyObject *t = PyTuple_New(0);
    PyObject *r = run_in_frame(c, nullptr, nullptr, t, Py_None);
    EXPECT_LT((intptr_t)r, 0);
    EXPECT_TRUE(PyErr_ExceptionMatches(PyExc_AttributeError));
    PyErr_Clear();
    Py_DECREF(t);
}

// The allocator's contract lets the object sit in a spill slot (it does not put it there
// today: a use attracts a reload). The inline path then reads it through the output's
// register; with the output spilled too, the helper does the lookup. Written as allocated
// LIR, straight to the code generator.
// IsTrue answers True, False, None and exact ints inline and calls PyObject_IsTrue for
// anything else, out of line; its -1 with an exception comes back as it is. The object
// in a register, and in a spill slot (read through the generator's scratch register).
TEST(LirCodegen, IsTrueInlineAndThroughTheCall)
{
    std::string slot = std::to_string(offsetof(_PyInterpreterFrame, localsplus));
    Compiled in_reg(lookup_text("IsTrue", "%2"));
    ASSERT_COMPILED(in_reg);
    std::string text = "func spilled {\nbb0:\n  %0:rdi = Arg 0\n  %1:rsi = Arg 1\n"
                       "  %2:rax = Load64 [%1:rsi + " + slot + "]\n  %2:s0 = ParMove %2:rax\n"
                       "  %3:rcx = IsTrue %2:s0\n  Return %3:rcx\n}\n";
    char err[256];
    LirFunc *f = lir_parse(text.c_str(), nullptr, nullptr, err, sizeof err);
    ASSERT_NE(f, nullptr) << err;
    CiJitCode spilled = {};
    const char *why = nullptr;
    ASSERT_EQ(ci_codegen_x86_64(f, &spilled, nullptr, &why), 0) << why;
    lir_func_free(f);
    PyObject *ns = PyDict_New();
    PyObject *done = PyRun_String("class Raises:\n"
                                  "    def __bool__(self): raise ValueError\n"
                                  "class FalseInt(int):\n"
                                  "    def __bool__(self): return False\n"
                                  "values = [True, False, None, 0, 7, -7, 2**100, [], [1], '',\n"
                                  "          FalseInt(5), Raises()]\n",
                                  Py_file_input, ns, ns);
    ASSERT_NE(done, nullptr);
    Py_DECREF(done);
    PyObject *values = PyDict_GetItemString(ns, "values");
    const intptr_t want[] = {1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 0, -1};
    for (int round = 0; round < 2; round++) {
        for (Py_ssize_t k = 0; k < PyList_GET_SIZE(values); k++) {
            PyObject *v = PyList_GET_ITEM(values, k);
            intptr_t got;
            if (round == 0) {
                got = (intptr_t)run_in_frame(in_reg, nullptr, nullptr, v);
            }
            else {
                FakeFrame ff;
                memset(ff.bytes, 0, sizeof ff.bytes);
                ff.frame()->localsplus[0] = v;
                got = (intptr_t)spilled.body(PyThreadState_Get(), ff.frame());
            }
            EXPECT_EQ(got, want[k]) << "round " << round << ", value " << k;
            EXPECT_EQ(PyErr_Occurred() != nullptr, want[k] < 0) << "value " << k;
            PyErr_Clear();
        }
    }
    ci_codegen_release(spilled.memory);
    free(spilled.deopts);
    Py_DECREF(ns);
}

TEST(LirCodegen, LoadAttrCachedOfASpilledObject)
{
    PyObject *ns = PyDict_New();
    PyObject *done = PyRun_String("class Slots:\n"
                                  "    __slots__ = ('a',)\n"
                                  "s = Slots(); s.a = 'sa'\n",
                                  Py_file_input, ns, ns);
    ASSERT_NE(done, nullptr);
    Py_DECREF(done);
    PyObject *s = PyDict_GetItemString(ns, "s");
    PyObject *a = PyUnicode_InternFromString("a");
    for (const char *out : {"rcx", "s1"}) {
        CiJitSiteCache cache = {};
        std::string text =
            "func spilled {\nbb0:\n  %0:rdi = Arg 0\n  %1:rsi = Arg 1\n"
            "  %2:rax = Load64 [%1:rsi + " +
            std::to_string(offsetof(_PyInterpreterFrame, localsplus)) +
            "]\n  %2:s0 = ParMove %2:rax\n  %3:" + out + " = LoadAttrCached %2:s0, " +
            std::to_string((int64_t)a) + ", " + std::to_string((int64_t)&cache) +
            "\n  Return %3:" + out + "\n}\n";
        char err[256];
        LirFunc *f = lir_parse(text.c_str(), nullptr, nullptr, err, sizeof err);
        ASSERT_NE(f, nullptr) << err;
        CiJitCode code = {};
        const char *why = nullptr;
        char *dump = nullptr;
        ASSERT_EQ(ci_codegen_x86_64(f, &code, &dump, &why), 0) << why;
        std::string listing = take(dump);
        // an output register: the object is loaded into it for the inline path
        EXPECT_EQ(listing.find("mov rcx, qword ptr [rbp-24]") != std::string::npos,
                  out[0] == 'r')
            << listing;
        for (int round = 0; round < 2; round++) {
            FakeFrame ff;
            memset(ff.bytes, 0, sizeof ff.bytes);
            ff.frame()->localsplus[0] = s;
            PyObject *r = reinterpret_cast<CiJitBody>(code.body)(PyThreadState_Get(),
                                                                 ff.frame());
            ASSERT_NE(r, nullptr);
            EXPECT_STREQ(PyUnicode_AsUTF8(r), "sa");
            Py_DECREF(r);
            EXPECT_EQ(cache.way[0].kind, HIR_CACHE_SLOT);
        }
        ci_codegen_release(code.memory);
        free(code.deopts);
    free(code.deopts);
        lir_func_free(f);
    }
    Py_DECREF(a);
    Py_DECREF(ns);
}

namespace {

// Allocated LIR straight to the code generator (the allocator does not put a lookup's
// object in a spill slot today, but its contract allows it); runs it on a frame whose
// localsplus[0] and [1] are LOCAL0 and LOCAL1.
PyObject *
run_allocated(const std::string &text, PyObject *local0, PyObject *local1,
              _PyInterpreterFrame **frame_out, FakeFrame *ff)
{
    char err[256];
    LirFunc *f = lir_parse(text.c_str(), nullptr, nullptr, err, sizeof err);
    EXPECT_NE(f, nullptr) << err;
    if (f == nullptr) {
        return nullptr;
    }
    CiJitCode code = {};
    const char *why = nullptr;
    PyObject *r = nullptr;
    EXPECT_EQ(ci_codegen_x86_64(f, &code, nullptr, &why), 0) << why;
    if (code.body != nullptr) {
        memset(ff->bytes, 0, sizeof ff->bytes);
        ff->frame()->localsplus[0] = local0;
        ff->frame()->localsplus[1] = local1;
        *frame_out = ff->frame();
        r = reinterpret_cast<CiJitBody>(code.body)(PyThreadState_Get(), ff->frame());
        ci_codegen_release(code.memory);
        free(code.deopts);
    free(code.deopts);
    }
    lir_func_free(f);
    return r;
}

}  // namespace

// LoadMethodCached and StoreAttrCached with operands and results in spill slots: the
// inline path borrows a result's register for the object, or the helper does it all.
TEST(LirCodegen, LoadMethodAndStoreAttrCachedWithSpilledOperands)
{
    AttrFixture fx;
    ASSERT_NE(fx.p, nullptr);
    PyObject *m = PyUnicode_InternFromString("m");
    PyObject *func = _PyType_Lookup(Py_TYPE(fx.p), m);
    int base = int(offsetof(_PyInterpreterFrame, localsplus));
    std::string local0 = "[%1:rsi + " + std::to_string(base) + "]";
    for (const char *outs : {"%3:rcx, %4:rdx", "%3:s2, %4:rcx", "%3:s2, %4:s3"}) {
        CiJitSiteCache cache = {};
        std::string o0 = std::string(outs).substr(0, std::string(outs).find(',')),
                    o1 = std::string(outs).substr(std::string(outs).find(',') + 2);
        std::string text =
            "func lm {\nbb0:\n  %0:rdi = Arg 0\n  %1:rsi = Arg 1\n"
            "  %2:rax = Load64 " + local0 + "\n"
            "  %2:s0, %1:s1 = ParMove %2:rax, %1:rsi\n"
            "  " + outs + " = LoadMethodCached %2:s0, " + imm(m) + ", " + imm(&cache) + "\n"
            "  %1:rax = ParMove %1:s1\n"
            "  Store64 [%1:rax + " + std::to_string(base + 16) + "], " + o0 + "\n"
            "  Store64 [%1:rax + " + std::to_string(base + 24) + "], " + o1 + "\n"
            "  Return 0\n}\n";
        for (int round = 0; round < 2; round++) {  // the helper, then way 0
            FakeFrame ff;
            _PyInterpreterFrame *frame = nullptr;
            Py_ssize_t refs = Py_REFCNT(fx.p), func_refs = Py_REFCNT(func);
            EXPECT_EQ(run_allocated(text, fx.p, nullptr, &frame, &ff), nullptr) << outs;
            ASSERT_NE(frame, nullptr);
            EXPECT_EQ(frame->localsplus[2], func) << outs;
            EXPECT_EQ(frame->localsplus[3], fx.p) << outs;
            EXPECT_EQ(Py_REFCNT(fx.p), refs + 1);
            EXPECT_EQ(Py_REFCNT(func), func_refs + 1);
            Py_DECREF(fx.p);
            Py_DECREF(func);
        }
        // with a result register the second round took the inline path
        EXPECT_EQ(cache.calls, strstr(outs, ":r") != nullptr ? 1u : 2u) << outs;
    }
    for (const char *value_loc : {"rcx", "s1"}) {
        CiJitSiteCache cache = {};
        std::string text =
            "func st {\nbb0:\n  %0:rdi = Arg 0\n  %1:rsi = Arg 1\n"
            "  %2:rax = Load64 " + local0 + "\n"
            "  %3:rcx = Load64 [%1:rsi + " + std::to_string(base + 8) + "]\n"
            "  %2:s0, %3:" + value_loc + " = ParMove %2:rax, %3:rcx\n"
            "  %4:s2 = StoreAttrCached %2:s0, %3:" + value_loc + ", " + imm(fx.a) + ", " +
            imm(&cache) + "\n"
            "  Return %4:s2\n}\n";
        for (int round = 0; round < 2; round++) {
            PyObject *v = PyUnicode_FromFormat("stored %s %d", value_loc, round);
            FakeFrame ff;
            _PyInterpreterFrame *frame = nullptr;
            EXPECT_EQ(run_allocated(text, fx.p, v, &frame, &ff), nullptr);  // 0
            EXPECT_EQ(utf8(PyObject_GetAttr(fx.p, fx.a)), utf8(Py_NewRef(v)));
            Py_DECREF(v);
        }
        EXPECT_EQ(cache.calls, 2u);  // a spilled object: the helper both times
    }
    Py_DECREF(m);
}

// An instance whose attributes became a real dict (here by reading __dict__): the helper's
// ways find attributes by a hint into the dict and methods by the dict's keys version,
// without a generic lookup (`misses` counts lookups no way answered).
TEST(LirCodegen, CachedLookupsOnAnInstanceDict)
{
    AttrFixture fx;
    ASSERT_NE(fx.p, nullptr);
    PyObject *d = PyRun_String("(lambda d: (d.__dict__, d)[1])(Plain())", Py_eval_input,
                               fx.ns, fx.ns);
    ASSERT_NE(d, nullptr);
    ASSERT_EQ(PyObject_SetAttr(d, fx.a, fx.a), 0);
    PyObject *m = PyUnicode_InternFromString("m");
    CiJitSiteCache attr_cache = {}, meth_cache = {};
    Compiled attr(lookup_text("LoadAttrCached", "%2, " + imm(fx.a) + ", " + imm(&attr_cache)));
    Compiled meth(lookup_text("LoadMethodCached", "%2, " + imm(m) + ", " + imm(&meth_cache),
                              true));
    ASSERT_COMPILED(attr);
    ASSERT_COMPILED(meth);

    for (int round = 0; round < 3; round++) {
        EXPECT_EQ(utf8(run_in_frame(attr, nullptr, nullptr, d)), "a");
        PyObject *self = run_in_frame(meth, nullptr, nullptr, d);
        EXPECT_EQ(self, d);
        Py_DECREF(self);
        Py_DECREF(_PyType_Lookup(Py_TYPE(d), m));  // the method's reference
    }
    EXPECT_EQ(attr_cache.way[0].kind, HIR_CACHE_DICT_HINT);
    EXPECT_EQ(meth_cache.way[0].kind, HIR_CACHE_METHOD_WITH_DICT);
    EXPECT_EQ(attr_cache.misses, 1u);
    EXPECT_EQ(meth_cache.misses, 1u);

    // another instance with a dict of its own, whose keys differ but lack the name:
    // the method way still answers (as for asyncio's tasks, each with its own dict)
    PyObject *d2 = PyRun_String("(lambda d: (setattr(d, '__dict__', {'x': 1}), d)[1])(Plain())",
                                Py_eval_input, fx.ns, fx.ns);
    ASSERT_NE(d2, nullptr);
    PyObject *self2 = run_in_frame(meth, nullptr, nullptr, d2);
    EXPECT_EQ(self2, d2);
    Py_XDECREF(self2);
    Py_DECREF(_PyType_Lookup(Py_TYPE(d2), m));
    EXPECT_EQ(meth_cache.misses, 1u);
    Py_DECREF(d2);

    // a deleted and set again attribute (at the same entry of this split dict, or at a
    // new one) and a shadowing instance attribute: the right answers, the latter through
    // the generic lookup
    PyObject *dict = PyObject_GetAttrString(d, "__dict__");
    ASSERT_EQ(PyDict_DelItem(dict, fx.a), 0);
    ASSERT_EQ(PyDict_SetItem(dict, fx.a, Py_None), 0);
    ASSERT_EQ(PyDict_SetItem(dict, m, Py_True), 0);
    PyObject *r = run_in_frame(attr, nullptr, nullptr, d);
    EXPECT_EQ(r, Py_None);
    Py_XDECREF(r);
    EXPECT_EQ(run_in_frame(meth, nullptr, nullptr, d), Py_True);  // (NULL, d.m)
    EXPECT_EQ(meth_cache.misses, 2u);
    Py_DECREF(dict);
    Py_DECREF(m);
    Py_DECREF(d);
}
