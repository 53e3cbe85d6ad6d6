"""Deep recursion: call chains thousands of frames deep.

Ackermann's function A(3, n) recurses about 2^(n+3) frames deep; a
recursive sum, a recursive linked-list walk and mutual recursion between
is_even and is_odd go a few thousand frames deep many times over.  Checked
against the closed forms A(3, n) = 2^(n+3) - 3, n(n+1)/2 and parity.
"""

import sys

import benchlib

DEPTH_LIMIT = 10000


def ackermann(m, n):
    if m == 0:
        return n + 1
    if n == 0:
        return ackermann(m - 1, 1)
    return ackermann(m - 1, ackermann(m, n - 1))


def sum_to(n):
    if n == 0:
        return 0
    return n + sum_to(n - 1)


def build_list(n):
    """A linked list n, n-1, ..., 1 of (value, rest) pairs, built
    recursively."""
    if n == 0:
        return None
    return (n, build_list(n - 1))


def list_length(node):
    if node is None:
        return 0
    return 1 + list_length(node[1])


def is_even(n):
    return True if n == 0 else is_odd(n - 1)


def is_odd(n):
    return False if n == 0 else is_even(n - 1)


def work(params):
    ackermann_n, depth, repeats = params
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(DEPTH_LIMIT)
    try:
        value = ackermann(3, ackermann_n)
        sums = [sum_to(depth) for _ in range(repeats)]
        lengths = [list_length(build_list(depth)) for _ in range(repeats)]
        parities = [(is_even(depth + i), is_odd(depth + i))
                    for i in range(repeats)]
    finally:
        sys.setrecursionlimit(old_limit)
    return value, sums, lengths, parities


def verify(result, params):
    ackermann_n, depth, repeats = params
    value, sums, lengths, parities = result
    benchlib.check_equal("Ackermann", value, 2 ** (ackermann_n + 3) - 3)
    benchlib.check_equal("sums", sums, [depth * (depth + 1) // 2] * repeats)
    benchlib.check_equal("lengths", lengths, [depth] * repeats)
    benchlib.check_equal("parities", parities,
                         [((depth + i) % 2 == 0, (depth + i) % 2 == 1)
                          for i in range(repeats)])


if __name__ == "__main__":
    benchlib.main("deep_recursion", work,
                  {"quick": (3, 200, 2), "normal": (7, 4000, 40)}, verify)
