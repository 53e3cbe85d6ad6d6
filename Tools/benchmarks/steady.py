"""Run one benchmark's work N times in one process, for instruction counts.

    python steady.py NAME N [SIZE]

imports bm_NAME.py (next to this file) with benchlib.main replaced by a
function that keeps the work and its sizes, then calls work(sizes[SIZE])
(SIZE: quick by default, or normal) N times and verifies the last result.
Under valgrind --tool=callgrind the instructions of N=3 minus those of N=1
are two runs of the work in steady state: start-up, imports and the first
run's warm-up (specialisation, caches) cancel; N=1 minus N=0 is one run as
the benchmark times it, compiling included.  bm_eager_coro has its own main(): its run() is called for
each variant.  See CinderDoc/immortal.rst ("Figures").
"""

import os
import runpy
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    name, count = sys.argv[1], int(sys.argv[2])
    size = sys.argv[3] if len(sys.argv) > 3 else "quick"
    sys.path.insert(0, HERE)
    import benchlib
    path = os.path.join(HERE, "bm_%s.py" % name)
    if name == "eager_coro":
        module = runpy.run_path(path)
        for _ in range(count):
            for variant in ("await", "gather", "suspend"):
                module["run"](variant, *module["SIZES"][size][variant])
        return
    captured = []
    benchlib.main = lambda _name, work, sizes, verify: captured.append(
        (work, sizes, verify))
    sys.argv = [path]
    runpy.run_path(path, run_name="__main__")
    work, sizes, verify = captured[0]
    param = sizes[size]
    for _ in range(count):
        result = work(param)
    if count:
        verify(result, param)


if __name__ == "__main__":
    main()
