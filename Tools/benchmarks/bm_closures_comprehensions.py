"""Closures and comprehensions: nested functions, nonlocal state, lambdas,
a memoising decorator, and list, dict, set and generator comprehensions.

Every result has a closed form or a known value: counters count, sums of
adders and compositions follow from arithmetic series, the partition
function gives p(100) = 190569292 and p(200) = 3972999029388, a matrix
product of i + j by j - k has a polynomial formula, and an odd prime p has
(p + 1) / 2 squares modulo p (counting 0).
"""

import benchlib

PARTITIONS = {50: 204226, 100: 190569292, 200: 3972999029388}


def make_counter():
    count = 0

    def increment(step=1):
        nonlocal count
        count += step
        return count

    return increment


def make_adder(k):
    return lambda x: x + k


def compose(*functions):
    def composed(x):
        for function in reversed(functions):
            x = function(x)
        return x
    return composed


def memoised(function):
    cache = {}

    def wrapper(*args):
        try:
            return cache[args]
        except KeyError:
            value = cache[args] = function(wrapper, *args)
            return value
    return wrapper


def partitions(n):
    """p(n) through p(n, k): partitions of n into parts of at most k."""
    @memoised
    def at_most(recurse, total, largest):
        if total == 0:
            return 1
        if total < 0 or largest == 0:
            return 0
        return recurse(total - largest, largest) + recurse(total,
                                                           largest - 1)
    return at_most(n, n)


def closures(n, adders):
    increment = make_counter()
    for _ in range(n):
        increment()
    counted = increment(0)
    functions = [make_adder(k) for k in range(adders)]
    adder_sum = sum(f(x) for f in functions for x in range(adders))
    # Applied right to left: (x - 3) * 2 + 1 = 2x - 5.
    step = compose(make_adder(1), lambda x: x * 2, make_adder(-3))
    composed_sum = sum(map(step, range(n)))
    return counted, adder_sum, composed_sum


def matrix_product(size):
    a = [[i + j for j in range(size)] for i in range(size)]
    b = [[j - k for k in range(size)] for j in range(size)]
    columns = list(zip(*b))
    return [[sum(x * y for x, y in zip(row, column)) for column in columns]
            for row in a]


def comprehensions(n, prime):
    squares = {x: x * x for x in range(n) if x % 3}
    residues = {x * x % prime for x in range(prime)}
    evens = [value for key, value in squares.items() if not key & 1]
    return len(squares), len(residues), sum(evens)


def work(params):
    n, adders, sizes, matrix, prime, rounds = params
    results = []
    for _ in range(rounds):
        results.append((closures(n, adders),
                         [partitions(size) for size in sizes],
                         matrix_product(matrix),
                         comprehensions(n, prime)))
    return results


def verify(results, params):
    n, adders, sizes, matrix, prime, rounds = params
    benchlib.check_equal("rounds", len(results), rounds)
    m = adders
    s1 = matrix * (matrix - 1) // 2
    s2 = (matrix - 1) * matrix * (2 * matrix - 1) // 6
    # Sum over even x below n, x not a multiple of 3, of x squared:
    # all even squares minus those of multiples of 6.
    halves = (n - 1) // 2
    sixths = (n - 1) // 6
    even_squares = 4 * halves * (halves + 1) * (2 * halves + 1) // 6
    six_squares = 36 * sixths * (sixths + 1) * (2 * sixths + 1) // 6
    for closure, parts, product, comprehension in results:
        benchlib.check_equal("closures", closure,
                             (n, m * m * (m - 1),
                              2 * (n * (n - 1) // 2) - 5 * n))
        benchlib.check_equal("partitions", parts,
                             [PARTITIONS[size] for size in sizes])
        for i in (0, matrix // 2, matrix - 1):
            for k in (0, matrix // 3, matrix - 1):
                benchlib.check_equal(
                    "product[%d][%d]" % (i, k), product[i][k],
                    i * s1 - i * k * matrix + s2 - k * s1)
        benchlib.check_equal("comprehensions", comprehension,
                             (n - (n + 2) // 3, (prime + 1) // 2,
                              even_squares - six_squares))


if __name__ == "__main__":
    benchlib.main("closures_comprehensions", work,
                  {"quick": (1000, 20, [50], 10, 101, 1),
                   "normal": (200000, 300, [100, 200], 60, 100003, 8)},
                  verify)
