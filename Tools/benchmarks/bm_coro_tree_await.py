"""Async tree, await variant: see coro_tree.py."""

import coro_tree

if __name__ == "__main__":
    coro_tree.main("coro_tree_await", "await",
                   {"quick": (3, 10, 1), "normal": (8, 100, 10)})
