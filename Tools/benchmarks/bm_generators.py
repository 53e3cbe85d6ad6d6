"""Generators: pipelines of small generators, yield from, send().

Four workloads: a map/filter/window/chunk pipeline over the integers, an
in-order walk of a binary tree by recursive ``yield from``, an incremental
prime sieve built from generators, and a running-mean generator driven by
send().  Each result has a closed form or a known value: the sum of the
odd squares below n, the keys 0..2^d-2 in order, pi(10^5) = 9592 and
pi(10^6) = 78498 primes, and the mean of 0..n-1.
"""

import benchlib

PRIME_COUNTS = {10 ** 4: 1229, 10 ** 5: 9592, 10 ** 6: 78498}


def count_up(n):
    i = 0
    while i < n:
        yield i
        i += 1


def mapped(function, items):
    for item in items:
        yield function(item)


def filtered(predicate, items):
    for item in items:
        if predicate(item):
            yield item


def pairwise(items):
    iterator = iter(items)
    previous = next(iterator)
    for item in iterator:
        yield previous, item
        previous = item


def chunked(items, size):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def pipeline(n):
    """Sum of odd squares below n, through windows and chunks."""
    odd_squares = filtered(lambda x: x & 1, mapped(lambda x: x * x,
                                                    count_up(n)))
    seconds = (b for _, b in pairwise(odd_squares))
    # Every odd square is the second of a pair except the first one, 1.
    total = 1
    for chunk in chunked(seconds, 7):
        total += sum(chunk)
    return total


class Node:
    __slots__ = ("left", "key", "right")

    def __init__(self, left, key, right):
        self.left = left
        self.key = key
        self.right = right


def build_tree(low, high):
    if low >= high:
        return None
    middle = (low + high) // 2
    return Node(build_tree(low, middle), middle, build_tree(middle + 1, high))


def in_order(node):
    if node is not None:
        yield from in_order(node.left)
        yield node.key
        yield from in_order(node.right)


def primes():
    """Incremental sieve: each composite is crossed off when reached."""
    yield 2
    next_composites = {}
    candidate = 3
    while True:
        factor = next_composites.pop(candidate, None)
        if factor is None:
            yield candidate
            next_composites[candidate * candidate] = 2 * candidate
        else:
            multiple = candidate + factor
            while multiple in next_composites:
                multiple += factor
            next_composites[multiple] = factor
        candidate += 2


def count_primes_below(limit):
    count = 0
    for prime in primes():
        if prime >= limit:
            return count
        count += 1


def running_mean():
    total = 0
    count = 0
    mean = None
    while True:
        value = yield mean
        total += value
        count += 1
        mean = total / count


def mean_by_send(n):
    averager = running_mean()
    next(averager)
    mean = None
    for value in range(n):
        mean = averager.send(value)
    return mean


def work(params):
    n, depth, prime_limit = params
    return (pipeline(n), list(in_order(build_tree(0, 2 ** depth - 1))),
            count_primes_below(prime_limit), mean_by_send(n))


def verify(result, params):
    n, depth, prime_limit = params
    odd_squares, keys, prime_count, mean = result
    m = n // 2
    benchlib.check_equal("sum of odd squares", odd_squares,
                         m * (2 * m - 1) * (2 * m + 1) // 3)
    benchlib.check(keys == list(range(2 ** depth - 1)), "tree walk order")
    benchlib.check_equal("primes below %d" % prime_limit, prime_count,
                         PRIME_COUNTS[prime_limit])
    benchlib.check_equal("mean", mean, (n - 1) / 2)


if __name__ == "__main__":
    benchlib.main("generators", work,
                  {"quick": (1000, 8, 10 ** 4),
                   "normal": (3000000, 18, 10 ** 6)}, verify)
