"""The async tree shared by the bm_coro_tree_*.py benchmarks.

A tree of coroutines BRANCH wide and depth deep runs under asyncio; each
leaf asks for a value by key.  Three variants:

  await    internal nodes await their children one after another; leaves
           are memoised and suspend (``await asyncio.sleep(0)``) only on a
           cache miss, so almost every call completes without suspending;
  gather   the same memoised leaves, but internal nodes fan out with
           asyncio.gather;
  suspend  internal nodes fan out with asyncio.gather and every leaf
           really suspends once before answering.

The check recomputes the tree's total with a plain loop over the leaves,
and counts suspensions: exactly one per key for await (each miss happens
once, in order), at least one per key and at most one per leaf for
gather, and exactly one per leaf for suspend.
"""

import asyncio

import benchlib

BRANCH = 5


def leaf_value(key):
    return (key * 2654435761) % 1000003


class Tree:
    def __init__(self, variant, keys):
        self.variant = variant
        self.keys = keys
        self.cache = {}
        self.suspensions = 0

    async def leaf(self, index):
        key = index % self.keys
        if self.variant != "suspend":
            try:
                return self.cache[key]
            except KeyError:
                pass
        self.suspensions += 1
        await asyncio.sleep(0)
        value = self.cache[key] = leaf_value(key)
        return value

    async def node_await(self, depth, index):
        if depth == 0:
            return await self.leaf(index)
        total = 0
        first = index * BRANCH
        for child in range(first, first + BRANCH):
            total += await self.node_await(depth - 1, child)
        return total

    async def node_gather(self, depth, index):
        if depth == 0:
            return await self.leaf(index)
        first = index * BRANCH
        values = await asyncio.gather(
            *[self.node_gather(depth - 1, child)
              for child in range(first, first + BRANCH)])
        return sum(values)

    def run(self, depth):
        if self.variant == "await":
            root = self.node_await(depth, 0)
        else:
            root = self.node_gather(depth, 0)
        return asyncio.run(root)


def work(params):
    variant, depth, keys, rounds = params
    results = []
    for _ in range(rounds):
        tree = Tree(variant, keys)
        results.append((tree.run(depth), tree.suspensions))
    return results


def verify(results, params):
    variant, depth, keys, rounds = params
    benchlib.check_equal("rounds", len(results), rounds)
    leaves = BRANCH ** depth
    want = sum(leaf_value(index % keys) for index in range(leaves))
    for total, suspensions in results:
        benchlib.check_equal("tree total", total, want)
        if variant == "await":
            benchlib.check_equal("suspensions", suspensions,
                                 min(keys, leaves))
        elif variant == "gather":
            benchlib.check(min(keys, leaves) <= suspensions <= leaves,
                           "suspensions out of range: %d" % suspensions)
        else:
            benchlib.check_equal("suspensions", suspensions, leaves)


def main(name, variant, sizes):
    """sizes maps quick/normal to (depth, distinct keys, rounds)."""
    benchlib.main(name, work,
                  {size: (variant,) + spec for size, spec in sizes.items()},
                  verify)
