// Exhaustive tests of the parallel-move resolver (Jit/lir/parallel_move.c): every
// partial mapping of small location sets, permutations, cycles and fan-out included,
// checked by simulating the emitted steps.

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <vector>

#include <algorithm>
#include <random>
#include <string>

extern "C" {
#include "Jit/codegen/x86_64.h"
#include "Jit/lir/lir.h"
}

namespace {

const int kScratch = LIR_R11;

int
key(LirLoc l)
{
    return l.kind == LIR_LOC_REG ? l.index : 100 + l.index;
}

// Runs the resolver on dst[k] <- src[k] and checks, by simulation, that every
// destination ends with its source's original value and every other location but the
// scratch register keeps its own. Returns the number of steps.
int
check_moves(const std::vector<LirLoc> &locs, const std::vector<LirLoc> &dst,
            const std::vector<LirLoc> &src, std::string *failure)
{
    int n = int(dst.size());
    std::vector<LirMoveStep> steps(3 * n + 1);
    int ns = lir_parallel_move(dst.data(), src.data(), n, kScratch, steps.data());
    std::map<int, int> state;
    for (LirLoc l : locs) {
        state[key(l)] = key(l);
    }
    state[kScratch] = -1;
    for (int k = 0; k < ns; k++) {
        const LirMoveStep &s = steps[k];
        if (s.kind == LIR_MOVE_SWAP) {
            if (s.dst.kind != LIR_LOC_REG || s.src.kind != LIR_LOC_REG ||
                s.dst.index >= LIR_XMM0 || s.src.index >= LIR_XMM0) {
                *failure = "xchg of something other than two GP registers";
                return -1;
            }
            std::swap(state[key(s.dst)], state[key(s.src)]);
        }
        else {
            if (state.count(key(s.src)) == 0 || state[key(s.src)] == -1) {
                *failure = "copy from an undefined location";
                return -1;
            }
            state[key(s.dst)] = state[key(s.src)];
        }
    }
    std::map<int, bool> is_dst;
    for (int k = 0; k < n; k++) {
        is_dst[key(dst[k])] = true;
        if (state[key(dst[k])] != key(src[k])) {
            *failure = "a destination does not hold its source";
            return -1;
        }
    }
    for (LirLoc l : locs) {
        if (!is_dst[key(l)] && state[key(l)] != key(l)) {
            *failure = "a location that is no destination was clobbered";
            return -1;
        }
    }
    return ns;
}

// Every partial map dst -> src over LOCS: (|LOCS| + 1) ^ |LOCS| cases.
void
exhaust(const std::vector<LirLoc> &locs, long *cases)
{
    int n = int(locs.size());
    std::vector<int> choice(n, 0); // 0: no move, else source index + 1
    for (;;) {
        std::vector<LirLoc> dst, src;
        int nontrivial = 0;
        for (int d = 0; d < n; d++) {
            if (choice[d] > 0) {
                dst.push_back(locs[d]);
                src.push_back(locs[choice[d] - 1]);
                nontrivial += choice[d] - 1 != d;
            }
        }
        std::string failure;
        int ns = check_moves(locs, dst, src, &failure);
        if (ns < 0) {
            std::string desc;
            for (size_t k = 0; k < dst.size(); k++) {
                desc += " " + std::to_string(key(dst[k])) + "<-" +
                        std::to_string(key(src[k]));
            }
            FAIL() << failure << " for:" << desc;
        }
        // At most one extra step (a scratch copy or an xchg) per moved location.
        ASSERT_LE(ns, 2 * nontrivial);
        (*cases)++;
        int d = 0;
        while (d < n && ++choice[d] > n) {
            choice[d++] = 0;
        }
        if (d == n) {
            break;
        }
    }
}

std::vector<LirLoc>
regs(std::initializer_list<int> rs)
{
    std::vector<LirLoc> v;
    for (int r : rs) {
        v.push_back(lir_loc_reg(r));
    }
    return v;
}

}  // namespace

TEST(ParallelMove, AllMappingsOfSixGpRegisters)
{
    long cases = 0;
    exhaust(regs({LIR_RAX, LIR_RCX, LIR_RDX, LIR_RBX, LIR_RSI, LIR_RDI}), &cases);
    EXPECT_EQ(cases, 117649);
}

TEST(ParallelMove, AllMappingsOfRegistersAndSpillSlots)
{
    std::vector<LirLoc> locs = regs({LIR_RAX, LIR_RCX, LIR_R12});
    for (int s = 0; s < 3; s++) {
        locs.push_back(lir_loc_stack(s));
    }
    long cases = 0;
    exhaust(locs, &cases);
    EXPECT_EQ(cases, 117649);
}

TEST(ParallelMove, AllMappingsOfXmmRegistersAndSlots)
{
    std::vector<LirLoc> locs = regs({LIR_XMM0, LIR_XMM0 + 1, LIR_XMM0 + 2, LIR_RAX});
    locs.push_back(lir_loc_stack(0));
    locs.push_back(lir_loc_stack(1));
    long cases = 0;
    exhaust(locs, &cases);
    EXPECT_EQ(cases, 117649);
}

TEST(ParallelMove, AllMappingsOfFourSpillSlots)
{
    std::vector<LirLoc> locs;
    for (int s = 0; s < 4; s++) {
        locs.push_back(lir_loc_stack(s));
    }
    long cases = 0;
    exhaust(locs, &cases);
    EXPECT_EQ(cases, 625);
}

TEST(ParallelMove, LongCycleUsesExchanges)
{
    std::vector<LirLoc> locs = regs({LIR_RAX, LIR_RCX, LIR_RDX, LIR_RBX, LIR_RSI, LIR_RDI,
                                     LIR_R8, LIR_R9});
    std::vector<LirLoc> dst, src;
    for (size_t k = 0; k < locs.size(); k++) {
        dst.push_back(locs[k]);
        src.push_back(locs[(k + 1) % locs.size()]);
    }
    std::string failure;
    int ns = check_moves(locs, dst, src, &failure);
    ASSERT_GE(ns, 0) << failure;
    EXPECT_EQ(ns, 7); // an n-cycle of GP registers is n - 1 exchanges
}

TEST(ParallelMove, ThousandsOfMoves)
{
    // A rotation through 2000 spill slots plus 12 registers: one long cycle.
    std::vector<LirLoc> locs = regs({LIR_RAX, LIR_RCX, LIR_RDX, LIR_RBX, LIR_RSI, LIR_RDI,
                                     LIR_R8, LIR_R9, LIR_R12, LIR_R13, LIR_R14, LIR_R15});
    for (int s = 0; s < 2000; s++) {
        locs.push_back(lir_loc_stack(s));
    }
    std::vector<LirLoc> dst, src;
    for (size_t k = 0; k < locs.size(); k++) {
        dst.push_back(locs[k]);
        src.push_back(locs[(k + 7) % locs.size()]);
    }
    std::string failure;
    ASSERT_GE(check_moves(locs, dst, src, &failure), 0) << failure;
}

TEST(ParallelMove, SelfMovesVanish)
{
    std::vector<LirLoc> locs = regs({LIR_RAX, LIR_RCX});
    locs.push_back(lir_loc_stack(3));
    std::vector<LirMoveStep> steps(10);
    EXPECT_EQ(lir_parallel_move(locs.data(), locs.data(), 3, kScratch, steps.data()), 0);
}

// -- The same, as machine code -------------------------------------------------------------
// Allocated LIR (text with locations) loads values into registers and spill slots, runs
// one ParMove and stores every location back: the code generator's copies, exchanges and
// stack-to-stack moves must implement the mapping.

namespace {

std::string
loc_name(LirLoc l)
{
    return l.kind == LIR_LOC_REG ? lir_reg_names[l.index] : "s" + std::to_string(l.index);
}

// Runs mapping SRC (dst j <- locs[src[j]], or no move when src[j] < 0) natively.
void
run_machine_moves(const std::vector<LirLoc> &locs, const std::vector<int> &src, bool fp)
{
    size_t n = locs.size();
    std::string v = fp ? "%f" : "%";
    std::string load = fp ? "LoadF" : "Load64", store = fp ? "StoreF" : "Store64";
    std::string t = "func pm {\nbb0:\n  %100:rdi = Arg 0\n";
    for (size_t k = 0; k < n; k++) {
        t += "  " + v + std::to_string(k) + ":" + loc_name(locs[k]) + " = " + load +
             " [%100:rdi + " + std::to_string(8 * k) + "]\n";
    }
    std::string outs, ins;
    for (size_t j = 0; j < n; j++) {
        if (src[j] < 0) {
            continue;
        }
        outs += (outs.empty() ? "" : ", ") + v + std::to_string(10 + j) + ":" +
                loc_name(locs[j]);
        ins += (ins.empty() ? "" : ", ") + v + std::to_string(src[j]) + ":" +
               loc_name(locs[size_t(src[j])]);
    }
    if (!outs.empty()) {
        t += "  " + outs + " = ParMove " + ins + "\n";
    }
    for (size_t j = 0; j < n; j++) {
        int vr = src[j] < 0 ? int(j) : int(10 + j);
        t += "  " + store + " [%100:rdi + " + std::to_string(8 * (n + j)) + "], " + v +
             std::to_string(vr) + ":" + loc_name(locs[j]) + "\n";
    }
    t += "  Return 0\n}\n";
    char err[256];
    LirFunc *f = lir_parse(t.c_str(), nullptr, nullptr, err, sizeof err);
    ASSERT_NE(f, nullptr) << err << "\n" << t;
    CiJitCode code = {};
    const char *why = nullptr;
    ASSERT_EQ(ci_codegen_x86_64(f, &code, nullptr, &why), 0) << why << "\n" << t;
    int64_t buf[32];
    for (size_t k = 0; k < n; k++) {
        double d = 1000.5 + double(k);
        buf[k] = fp ? 0 : int64_t(0x1111 * (k + 1));
        if (fp) {
            memcpy(&buf[k], &d, sizeof d);
        }
        buf[n + k] = -1;
    }
    reinterpret_cast<int64_t (*)(int64_t *)>(code.body)(buf);
    for (size_t j = 0; j < n; j++) {
        size_t from = src[j] < 0 ? j : size_t(src[j]);
        ASSERT_EQ(buf[n + j], buf[from]) << "location " << loc_name(locs[j]) << "\n" << t;
    }
    ci_codegen_release(code.memory);
    lir_func_free(f);
}

}  // namespace

TEST(ParallelMoveMachine, EveryPermutationOfRegistersAndSlots)
{
    std::vector<LirLoc> locs = regs({LIR_RAX, LIR_RCX, LIR_RBX, LIR_R12});
    locs.push_back(lir_loc_stack(0));
    locs.push_back(lir_loc_stack(1));
    std::vector<int> perm = {0, 1, 2, 3, 4, 5};
    int count = 0;
    do {
        run_machine_moves(locs, perm, false);
        count++;
    } while (std::next_permutation(perm.begin(), perm.end()) && !HasFatalFailure());
    EXPECT_EQ(count, 720);
}

TEST(ParallelMoveMachine, EveryPermutationOfXmmRegistersAndSlots)
{
    std::vector<LirLoc> locs = regs({LIR_XMM0, LIR_XMM0 + 1, LIR_XMM0 + 7});
    locs.push_back(lir_loc_stack(0));
    locs.push_back(lir_loc_stack(1));
    std::vector<int> perm = {0, 1, 2, 3, 4};
    int count = 0;
    do {
        run_machine_moves(locs, perm, true);
        count++;
    } while (std::next_permutation(perm.begin(), perm.end()) && !HasFatalFailure());
    EXPECT_EQ(count, 120);
}

TEST(ParallelMoveMachine, RandomMappingsWithFanOut)
{
    std::vector<LirLoc> locs = regs({LIR_RAX, LIR_RDX, LIR_RSI, LIR_R8, LIR_R15});
    locs.push_back(lir_loc_stack(0));
    locs.push_back(lir_loc_stack(2));
    std::mt19937 rng(7);
    for (int k = 0; k < 400 && !HasFatalFailure(); k++) {
        std::vector<int> src(locs.size());
        for (int &x : src) {
            x = int(rng() % (locs.size() + 1)) - 1;
        }
        run_machine_moves(locs, src, false);
    }
}
