"""Spectral norm of the infinite matrix A(i, j) = 1 / ((i+j)(i+j+1)/2 + i+1).

Ten rounds of the power method on A^T A, truncated to n x n.  The Computer
Language Benchmarks Game publishes 1.274219991 for n = 100; the norm of
the infinite matrix is 1.2742241528..., an upper bound for every n since
a truncation's norm cannot exceed the whole matrix's and the power method
approaches the norm from below.
"""

import math

import benchlib

EXPECTED_100 = "1.274219991"
INFINITE_NORM = 1.2742241528


def matrix_entry(i, j):
    total = i + j
    return 1.0 / (total * (total + 1) // 2 + i + 1)


def multiply(u, transposed):
    """Return A u, or A^T u when transposed."""
    n = len(u)
    result = []
    for i in range(n):
        acc = 0.0
        if transposed:
            for j in range(n):
                acc += matrix_entry(j, i) * u[j]
        else:
            for j in range(n):
                acc += matrix_entry(i, j) * u[j]
        result.append(acc)
    return result


def times_ata(u):
    return multiply(multiply(u, False), True)


def spectral_norm(n):
    u = [1.0] * n
    v = u
    for _ in range(10):
        v = times_ata(u)
        u = times_ata(v)
    numerator = sum(x * y for x, y in zip(u, v))
    denominator = sum(y * y for y in v)
    return math.sqrt(numerator / denominator)


def work(sizes):
    return [spectral_norm(n) for n in sizes]


def verify(norms, sizes):
    for n, norm in zip(sizes, norms):
        if n == 100:
            benchlib.check_equal("norm for n=100", "%.9f" % norm, EXPECTED_100)
        else:
            benchlib.check(1.274219991 < norm <= INFINITE_NORM + 1e-10,
                           "norm for n=%d out of range: %r" % (n, norm))


if __name__ == "__main__":
    benchlib.main("spectral_norm", work,
                  {"quick": [100], "normal": [100, 550]}, verify)
