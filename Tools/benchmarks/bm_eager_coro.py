"""Eager coroutine evaluation: an async call tree with memoized leaves.

Each internal node of a tree (FANOUT wide, DEPTH deep) awaits its children
and sums their values; each leaf looks its key up in a cache and computes
it only on a miss, suspending once (``await asyncio.sleep(0)``) as if it
had done I/O.  Keys repeat, so nearly every leaf call returns without
suspending.  Variants (--variant):

  await    nodes await their children one after another
  gather   nodes fan out with asyncio.gather
  suspend  nodes fan out with asyncio.gather and every leaf suspends

Protocol of Tools/benchmarks: --size quick|normal, one JSON line
{"name": ..., "seconds": ...} on stdout; the result is checked.  Runs on
stock CPython too.
"""

import argparse
import asyncio
import json
import sys
import time

FANOUT = 4
SIZES = {
    # size: (depth, distinct keys, repetitions)
    "quick": (4, 16, 1),
    "normal": (7, 64, 4),
}


def compute(key):
    return (key * 7919) % 10007


class Tree:
    def __init__(self, variant, keys):
        self.variant = variant
        self.keys = keys
        self.cache = {}
        self.misses = 0

    async def leaf(self, index):
        key = index % self.keys
        if self.variant != "suspend":
            value = self.cache.get(key)
            if value is not None:
                return value
        self.misses += 1
        await asyncio.sleep(0)
        value = self.cache[key] = compute(key)
        return value

    async def node_await(self, depth, index):
        if depth == 0:
            return await self.leaf(index)
        total = 0
        for child in range(index * FANOUT, index * FANOUT + FANOUT):
            total += await self.node_await(depth - 1, child)
        return total

    async def node_gather(self, depth, index):
        if depth == 0:
            return await self.leaf(index)
        children = [self.node_gather(depth - 1, child)
                    for child in range(index * FANOUT, index * FANOUT + FANOUT)]
        return sum(await asyncio.gather(*children))


def run(variant, depth, keys):
    tree = Tree(variant, keys)
    if variant == "await":
        root = tree.node_await(depth, 0)
    else:
        root = tree.node_gather(depth, 0)
    return asyncio.run(root), tree.misses


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="normal")
    parser.add_argument("--variant", choices=("await", "gather", "suspend"),
                        default="await")
    args = parser.parse_args()
    depth, keys, reps = SIZES[args.size]

    start = time.perf_counter()
    results = [run(args.variant, depth, keys) for _ in range(reps)]
    seconds = time.perf_counter() - start

    leaves = FANOUT ** depth
    want = sum(compute(i % keys) for i in range(leaves))
    for total, misses in results:
        if total != want:
            sys.exit("wrong total: %r, expected %r" % (total, want))
        if args.variant == "suspend":
            ok = misses == leaves
        elif args.variant == "await":
            ok = misses == min(keys, leaves)
        else:
            ok = min(keys, leaves) <= misses <= leaves
        if not ok:
            sys.exit("wrong number of suspensions: %d" % misses)
    print(json.dumps({"name": "eager_coro_" + args.variant,
                      "seconds": seconds, "size": args.size}))


if __name__ == "__main__":
    main()
