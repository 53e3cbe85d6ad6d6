"""Unpack sequence: tuple and list unpacking, swaps, starred targets.

Rotates four variables by parallel assignment, unpacks tuples and lists of
ten, splits lists with a starred target, unpacks nested pairs, runs the
Fibonacci recurrence as ``a, b = b, a + b`` and bubble-sorts by swapping.
Each result is checked by arithmetic: the rotation's phase n mod 4, sums
that are n times a constant, Fibonacci numbers by fast doubling, and the
sorted list.
"""

import benchlib

TEN = (3, 1, 4, 1, 5, 9, 2, 6, 5, 3)


def rotations(n):
    a, b, c, d = "a", "b", "c", "d"
    for _ in range(n // 4):
        a, b, c, d = b, c, d, a
        a, b, c, d = b, c, d, a
        a, b, c, d = b, c, d, a
        a, b, c, d = b, c, d, a
        a, b, c, d = b, c, d, a
    return a + b + c + d


def unpack_tuples(n):
    total = 0
    items = TEN
    for _ in range(n):
        a, b, c, d, e, f, g, h, i, j = items
        total += a + j
        a, b, c, d, e, f, g, h, i, j = j, i, h, g, f, e, d, c, b, a
        total += b * c
    return total


def unpack_lists(n):
    total = 0
    items = list(TEN)
    for _ in range(n):
        a, b, c, d, e, f, g, h, i, j = items
        total += e - f
        first, *middle, last = items
        total += len(middle) + first - last
        (x, y), (z, w) = (a, b), [c, d]
        total += x * w - y * z
    return total


def fibonacci_by_pairs(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def bubble_sort(items):
    items = list(items)
    for end in range(len(items) - 1, 0, -1):
        for i in range(end):
            if items[i] > items[i + 1]:
                items[i], items[i + 1] = items[i + 1], items[i]
    return items


def scrambled(count):
    return [(i * 7919) % count for i in range(count)]


def work(params):
    n, fib, sort_size = params
    return (rotations(n), unpack_tuples(n), unpack_lists(n),
            fibonacci_by_pairs(fib), bubble_sort(scrambled(sort_size)))


def fibonacci_doubling(n):
    """F(n) by F(2k) = F(k)(2F(k+1) - F(k)), F(2k+1) = F(k)^2 + F(k+1)^2."""
    if n == 0:
        return 0, 1
    half, half_next = fibonacci_doubling(n // 2)
    even = half * (2 * half_next - half)
    odd = half * half + half_next * half_next
    return (odd, even + odd) if n % 2 else (even, odd)


def verify(result, params):
    n, fib, sort_size = params
    rotated, tuples, lists, fibonacci, ordered = result
    phase = (n // 4) * 5 % 4
    benchlib.check_equal("rotation", rotated, "abcdabcd"[phase:phase + 4])
    a, b, c, d, e, f, g, h, i, j = TEN
    benchlib.check_equal("tuple sums", tuples, n * (a + j + i * h))
    benchlib.check_equal("list sums", lists,
                         n * ((e - f) + (len(TEN) - 2) + a - j
                              + (a * d - b * c)))
    benchlib.check_equal("Fibonacci", fibonacci, fibonacci_doubling(fib)[0])
    benchlib.check_equal("sorted", ordered, list(range(sort_size)))


if __name__ == "__main__":
    benchlib.main("unpack_sequence", work,
                  {"quick": (1000, 100, 50),
                   "normal": (4000000, 20000, 1000)}, verify)
