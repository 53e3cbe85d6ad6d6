// Exhaustive tests of the parallel-move resolver (Jit/lir/parallel_move.c): every
// partial mapping of small location sets, permutations, cycles and fan-out included,
// checked by simulating the emitted steps.

#include <gtest/gtest.h>

#include <map>
#include <vector>

extern "C" {
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

TEST(ParallelMove, SelfMovesVanish)
{
    std::vector<LirLoc> locs = regs({LIR_RAX, LIR_RCX});
    locs.push_back(lir_loc_stack(3));
    std::vector<LirMoveStep> steps(10);
    EXPECT_EQ(lir_parallel_move(locs.data(), locs.data(), 3, kScratch, steps.data()), 0);
}
