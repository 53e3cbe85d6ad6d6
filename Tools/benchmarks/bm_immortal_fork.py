"""Immortal instances: how much of a pre-fork server's heap its workers copy.

A parent process imports many modules and builds a large heap of containers
(about 100 MB), then forks workers that each read every object it built.
Every worker reports its Private_Dirty memory (from /proc/PID/smaps_rollup)
after the read: the pages that reading made it copy, plus what it allocated
itself.  Each interpreter runs in these modes, every one in a fresh process:

  plain        fork as is
  freeze       gc.freeze() before forking (stock CPython's best effort)
  immortalize  cinder.immortalize_heap() before forking (needs `cinder`)

The table gives every worker's Private_Dirty, their mean, and the mean's
ratio to the first interpreter's plain mode.  Runs under any Python 3.8 or
newer on Linux (stdlib only); modes an interpreter cannot run are skipped.
See CinderDoc/immortal.rst.

  python3 Tools/benchmarks/bm_immortal_fork.py
  python3 Tools/benchmarks/bm_immortal_fork.py --python stock=build/stock/python \\
      --python cinder=./python --mb 100 --workers 4 --json out.json

With --size quick|normal (the protocol of the suite's runner) it runs one
measurement in the best mode the running interpreter has and prints one
JSON line whose "seconds" is the workers' mean time to read the heap.
"""

import argparse
import gc
import json
import os
import shlex
import subprocess
import sys
import time

MODES = ("plain", "freeze", "immortalize")

# Imported by the parent so that workers share a realistic amount of code.
MODULES = """
    argparse ast asyncio base64 bisect bz2 calendar collections concurrent.futures
    configparser contextlib copy csv dataclasses datetime decimal difflib
    email.mime.text email.parser enum fractions functools glob gzip hashlib heapq
    hmac html.parser http.client http.server inspect io ipaddress itertools json
    logging logging.handlers lzma mimetypes multiprocessing numbers operator
    optparse pathlib pickle pkgutil platform pprint queue random re shlex shutil
    socket sqlite3 ssl statistics string struct subprocess tarfile tempfile
    textwrap threading timeit tokenize traceback typing unittest unittest.mock
    urllib.parse urllib.request uuid warnings weakref xml.dom.minidom
    xml.etree.ElementTree zipfile zlib
""".split()


# --- The measured process (--child MODE) --------------------------------------

def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def private_dirty_kb(pid="self"):
    with open("/proc/%s/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    raise RuntimeError("no Private_Dirty in smaps_rollup")


def import_modules():
    modules = []
    for name in MODULES:
        try:
            __import__(name)
        except ImportError:
            continue
        modules.append(sys.modules[name])
    return modules


def make_record(i):
    return {
        "id": i,
        "name": "record-%d" % i,
        "score": i * 0.25,
        "tags": ["tag%d" % (i % 64), "group-%d" % (i // 100)],
        "span": (i, -i, i * 1000003),
    }


def build_heap(megabytes):
    """Records until the process has grown by `megabytes`."""
    target = rss_bytes() + megabytes * 2**20
    records = []
    while rss_bytes() < target:
        start = len(records)
        records.extend(make_record(i) for i in range(start, start + 10000))
    return records


def read_heap(records, modules):
    """Touch every object: what a worker serving requests would do."""
    count = 0
    for record in records:
        for key, value in record.items():
            count += 1
            if type(value) is list or type(value) is tuple:
                for item in value:
                    count += 1
    for module in modules:
        for name, value in vars(module).items():
            count += 1
            if type(value) is type:
                for attr, member in vars(value).items():
                    count += 1
    return count


def run_workers(records, modules, workers):
    """Fork the workers; each reads the heap, then reports over a pipe."""
    children = []
    for _ in range(workers):
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                os.close(rfd)
                start = time.perf_counter()
                count = read_heap(records, modules)
                seconds = time.perf_counter() - start
                report = {"private_dirty_kb": private_dirty_kb(),
                          "seconds": seconds, "objects_read": count}
                os.write(wfd, json.dumps(report).encode())
                status = 0
            finally:
                os._exit(status)
        os.close(wfd)
        children.append((pid, rfd))
    reports = []
    # The parent stays idle while the workers run: a page it wrote now
    # would count as private to every worker.
    for pid, rfd in children:
        chunks = []
        while True:
            chunk = os.read(rfd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(rfd)
        _, status = os.waitpid(pid, 0)
        if status != 0 or not chunks:
            raise RuntimeError("worker %d failed (status %d)" % (pid, status))
        reports.append(json.loads(b"".join(chunks)))
    return reports


def measure(mode, megabytes, workers):
    modules = import_modules()
    records = build_heap(megabytes)
    start = time.perf_counter()
    if mode == "freeze":
        gc.collect()
        gc.freeze()
    elif mode == "immortalize":
        import cinder
        cinder.immortalize_heap()
    prepare_seconds = time.perf_counter() - start
    reports = run_workers(records, modules, workers)
    return {
        "mode": mode,
        "records": len(records),
        "modules": len(modules),
        "parent_private_dirty_kb": private_dirty_kb(),
        "prepare_seconds": prepare_seconds,
        "workers": reports,
    }


# --- The driver -------------------------------------------------------------

def parse_interpreter(spec):
    """'NAME=CMD ARGS...', or just 'CMD' (named after the program)."""
    name, equals, command = spec.partition("=")
    if not equals or not name or " " in name:
        name, command = "", spec
    words = shlex.split(command)
    if not words:
        raise argparse.ArgumentTypeError("empty interpreter: %r" % spec)
    return name or os.path.basename(words[0]), words


def has_cinder(command):
    probe = subprocess.run(command + ["-c", "import cinder; cinder.immortalize_heap"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return probe.returncode == 0


def run_child(command, mode, megabytes, workers):
    completed = subprocess.run(
        command + [os.path.abspath(__file__), "--child", mode,
                   "--mb", str(megabytes), "--workers", str(workers)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if completed.returncode != 0:
        raise RuntimeError("%s --child %s failed:\n%s"
                           % (" ".join(command), mode, completed.stderr))
    return json.loads(completed.stdout.splitlines()[-1])


def mean(values):
    return sum(values) / len(values)


def drive(args):
    interpreters = args.python or [("python", [sys.executable])]
    results = []
    baseline = None
    header = "%-12s %-12s %10s %10s  %s" % ("interpreter", "mode", "mean MB",
                                            "vs base", "per worker MB")
    print("heap: %d MB of records; %d workers; Private_Dirty after reading it"
          % (args.mb, args.workers))
    print(header)
    print("-" * len(header))
    for name, command in interpreters:
        modes = [m for m in args.mode or MODES
                 if m != "immortalize" or has_cinder(command)]
        for mode in modes:
            result = run_child(command, mode, args.mb, args.workers)
            result["interpreter"] = name
            result["command"] = command
            dirty = [w["private_dirty_kb"] / 1024 for w in result["workers"]]
            result["mean_private_dirty_mb"] = mean(dirty)
            if baseline is None:
                baseline = result["mean_private_dirty_mb"]
            result["ratio_to_baseline"] = result["mean_private_dirty_mb"] / baseline
            print("%-12s %-12s %10.1f %9.3fx  %s" % (
                name, mode, result["mean_private_dirty_mb"],
                result["ratio_to_baseline"],
                " ".join("%.1f" % d for d in dirty)), flush=True)
            results.append(result)
    print("base: the first row; records per run: %s"
          % ", ".join(sorted({str(r["records"]) for r in results})))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"megabytes": args.mb, "workers": args.workers,
                       "results": results}, f, indent=2)


def suite_protocol(size):
    """One measurement, printed as the suite runner's JSON line."""
    megabytes = {"quick": 4, "normal": 100}[size]
    try:
        import cinder
        mode = "immortalize" if cinder.immortal_instances else "freeze"
    except ImportError:
        mode = "freeze"
    result = measure(mode, megabytes, 2)
    workers = result["workers"]
    print(json.dumps({
        "name": "immortal_fork", "size": size, "mode": mode,
        "seconds": mean([w["seconds"] for w in workers]),
        "private_dirty_mb": mean([w["private_dirty_kb"] / 1024 for w in workers]),
    }), flush=True)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", action="append", type=parse_interpreter,
                        metavar="NAME=CMD",
                        help="an interpreter to measure (repeatable; the first "
                        "one's plain mode is the base); default: this one")
    parser.add_argument("--mode", action="append", choices=MODES,
                        help="only this mode (repeatable)")
    parser.add_argument("--mb", type=int, default=100,
                        help="megabytes of records the parent builds (100)")
    parser.add_argument("--workers", type=int, default=4,
                        help="workers forked per run (4)")
    parser.add_argument("--json", metavar="FILE", help="write the raw figures")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--size", choices=("quick", "normal"),
                        help="the suite runner's protocol (see above)")
    args = parser.parse_args()
    if not sys.platform.startswith("linux"):
        sys.exit("bm_immortal_fork: needs Linux (/proc/PID/smaps_rollup)")
    if args.child:
        print(json.dumps(measure(args.child, args.mb, args.workers)))
    elif args.size:
        suite_protocol(args.size)
    else:
        drive(args)


if __name__ == "__main__":
    main()
