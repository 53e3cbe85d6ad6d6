"""Async tree, gather variant: see coro_tree.py."""

import coro_tree

if __name__ == "__main__":
    coro_tree.main("coro_tree_gather", "gather",
                   {"quick": (3, 10, 1), "normal": (6, 100, 4)})
