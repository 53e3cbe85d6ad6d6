"""Compile every Python function of some stdlib modules with the JIT, for compile time.

    python -X jit compile_time.py [LIMIT]

imports a fixed set of stdlib modules, collects the functions of every loaded
module and of the classes defined in them (at most LIMIT, 800 by default, in a
fixed order), force-compiles each one and prints how many compiled, the JIT's
compile time and code size.  Under valgrind --tool=callgrind, the inclusive
count of ci_jit_compile divided by the number compiled is the compiler's cost
per function in instructions (see CinderDoc/jit.rst, "Compile time").
"""

import sys
import types

import argparse, ast, dataclasses, difflib, email.message, inspect  # noqa: E401,F401
import json, textwrap, typing  # noqa: E401,F401

import cinderjit


def functions(limit):
    found = []
    for module in list(sys.modules.values()):
        for value in vars(module).values():
            if isinstance(value, types.FunctionType):
                found.append(value)
            elif isinstance(value, type):
                found.extend(v for v in vars(value).values()
                             if isinstance(v, types.FunctionType))
    return found[:limit]


def main():
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 800
    candidates = functions(limit)
    compiled = sum(bool(cinderjit.force_compile(f)) for f in candidates)
    stats = cinderjit.jit_stats()
    print("functions %d, compiled %d, compile time %.3f s, code size %d bytes"
          % (len(candidates), compiled, stats["compile_time"], stats["code_size"]))


if __name__ == "__main__":
    main()
