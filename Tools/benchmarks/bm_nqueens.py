"""N-queens: enumerate every placement of n non-attacking queens.

A recursive generator places one queen per row, tracking the columns and
both diagonals in use with sets.  The solution counts are the known
sequence (OEIS A000170): 92 for n=8, 724 for n=10, 14200 for n=12; every
solution is also re-checked square by square.
"""

import benchlib

KNOWN_COUNTS = {6: 4, 7: 40, 8: 92, 9: 352, 10: 724, 11: 2680, 12: 14200}


def place(n, row, columns, rising, falling, placed):
    if row == n:
        yield tuple(placed)
        return
    for column in range(n):
        if column in columns or row + column in rising \
                or row - column in falling:
            continue
        columns.add(column)
        rising.add(row + column)
        falling.add(row - column)
        placed.append(column)
        yield from place(n, row + 1, columns, rising, falling, placed)
        placed.pop()
        falling.discard(row - column)
        rising.discard(row + column)
        columns.discard(column)


def solve(n):
    return list(place(n, 0, set(), set(), set(), []))


def work(sizes):
    return [(n, solve(n)) for n in sizes]


def attacks(solution):
    for row_a, column_a in enumerate(solution):
        for row_b in range(row_a + 1, len(solution)):
            column_b = solution[row_b]
            if column_a == column_b or \
                    abs(column_a - column_b) == row_b - row_a:
                return True
    return False


def verify(results, sizes):
    benchlib.check_equal("sizes", [n for n, _ in results], sizes)
    for n, solutions in results:
        benchlib.check_equal("solutions for n=%d" % n, len(solutions),
                             KNOWN_COUNTS[n])
        benchlib.check_equal("distinct solutions for n=%d" % n,
                             len(set(solutions)), len(solutions))
        for solution in solutions:
            benchlib.check(sorted(solution) == list(range(n))
                           and not attacks(solution),
                           "invalid placement %r" % (solution,))


if __name__ == "__main__":
    benchlib.main("nqueens", work,
                  {"quick": [6, 8], "normal": [8, 10, 11, 12]}, verify)
