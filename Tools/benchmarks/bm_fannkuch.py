"""Fannkuch-redux: pancake flips over every permutation of 0..n-1.

For each permutation, repeatedly reverse the first perm[0] + 1 items until
0 comes first, counting the flips.  Permutations are visited in the
prefix-rotation order of the Computer Language Benchmarks Game, whose
published results fix the maximum flip count and the alternating-sign
checksum: n=7 -> (16, 228), n=8 -> (22, 1616), n=9 -> (30, 8629).
"""

import benchlib

PUBLISHED = {7: (16, 228), 8: (22, 1616), 9: (30, 8629)}


def count_flips(perm):
    flips = 0
    first = perm[0]
    while first:
        perm[:first + 1] = perm[first::-1]
        flips += 1
        first = perm[0]
    return flips


def fannkuch(n):
    """Return (maximum flips, checksum) over all permutations of range(n)."""
    perm = list(range(n))
    # counters[r] says how many more rotations of the first r+1 items
    # are left before the next longer prefix rotates.
    counters = list(range(n))
    max_flips = 0
    checksum = 0
    sign = 1
    while True:
        if perm[0]:
            flips = count_flips(perm[:])
            if flips > max_flips:
                max_flips = flips
            checksum += sign * flips
        sign = -sign
        # Advance to the next permutation: rotate the shortest prefix
        # whose counter has not run out, resetting the shorter ones.
        r = 1
        while True:
            if r == n:
                return max_flips, checksum
            first = perm[0]
            perm[:r] = perm[1:r + 1]
            perm[r] = first
            if counters[r]:
                counters[r] -= 1
                break
            counters[r] = r
            r += 1


def work(sizes):
    return [(n, fannkuch(n)) for n in sizes]


def verify(results, sizes):
    benchlib.check_equal("sizes", [n for n, _ in results], sizes)
    for n, outcome in results:
        benchlib.check_equal("fannkuch(%d)" % n, outcome, PUBLISHED[n])


if __name__ == "__main__":
    benchlib.main("fannkuch", work, {"quick": [7], "normal": [9, 9, 9, 9]},
                  verify)
