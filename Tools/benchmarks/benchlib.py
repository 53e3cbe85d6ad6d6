"""Shared protocol for the bm_*.py workloads: arguments, timing, output.

Every benchmark calls main(): it parses ``--size quick|normal``, times the
work with time.perf_counter, checks the result and prints one JSON line.
A failed check raises BenchmarkError, so the process exits non-zero.
"""

import argparse
import json
import sys
import time


class BenchmarkError(Exception):
    """A benchmark computed a wrong answer."""


def check(condition, message):
    """Fail loudly (also under -O, unlike assert) unless condition holds."""
    if not condition:
        raise BenchmarkError(message)


def check_equal(label, got, want):
    if got != want:
        raise BenchmarkError("%s: got %r, expected %r" % (label, got, want))


def check_close(label, got, want, tolerance):
    if not abs(got - want) <= tolerance:
        raise BenchmarkError("%s: got %r, expected %r within %r"
                             % (label, got, want, tolerance))


def main(name, work, sizes, verify):
    """Run work(param) once and verify(result, param) it.

    sizes maps "quick" and "normal" to the parameter handed to work.  Only
    the call to work is timed; verify runs afterwards and raises
    BenchmarkError on a wrong answer.
    """
    parser = argparse.ArgumentParser(description="benchmark " + name)
    parser.add_argument("--size", choices=sorted(sizes), default="normal",
                        help="amount of work (quick is a smoke test)")
    args = parser.parse_args()
    param = sizes[args.size]
    start = time.perf_counter()
    result = work(param)
    seconds = time.perf_counter() - start
    verify(result, param)
    sys.stdout.write(json.dumps({"name": name, "seconds": seconds,
                                 "size": args.size}) + "\n")
    sys.stdout.flush()
