"""Run the bm_*.py benchmarks under several interpreters and compare them.

Each benchmark runs in a fresh process per interpreter, several times, with
the runs interleaved (run 1 of every benchmark on every interpreter, then
run 2, ...) so that a slow spell of the machine hits every interpreter
alike.  The table gives median seconds and the speedup over the first
interpreter.  See CinderDoc/benchmarks.rst.

Stdlib only; runs under any Python 3.8 or newer, including the
interpreters it measures.
"""

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
STOCK_PYTHON = os.path.join(ROOT, "build", "stock", "python")
STOCK_BUILD_SCRIPT = os.path.join(ROOT, "Tools", "build-stock.sh")
CINDER_PYTHON = os.path.join(ROOT, "python")
PLOT_PYTHON = "/usr/bin/python3"
PLOT_SCRIPT = os.path.join(HERE, "plot.py")
MISSING_MATPLOTLIB = ("error: --plot needs matplotlib for %s; run "
                      "Tools/install-deps.sh (it installs python3-matplotlib)"
                      % PLOT_PYTHON)


class Interpreter:
    def __init__(self, name, command, display=None):
        self.name = name
        self.command = command
        self.display = display or " ".join(shlex.quote(c) for c in command)


def discover_benchmarks():
    names = []
    for filename in sorted(os.listdir(HERE)):
        if filename.startswith("bm_") and filename.endswith(".py"):
            names.append(filename[3:-3])
    return names


def parse_interpreter(spec):
    """'NAME=CMD ARGS...' (or just 'CMD', named after the program)."""
    name, equals, command = spec.partition("=")
    if not equals or " " in name or not name:
        name, command = "", spec
    words = shlex.split(command)
    if not words:
        raise argparse.ArgumentTypeError("empty interpreter command: %r"
                                         % spec)
    if not name:
        name = " ".join(os.path.basename(words[0]) if i == 0 else word
                        for i, word in enumerate(words))
    return Interpreter(name, words, command.strip())


def works(command):
    try:
        completed = subprocess.run(command, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return completed.returncode == 0


def ensure_stock():
    """Return whether build/stock/python exists, building it if needed."""
    if os.access(STOCK_PYTHON, os.X_OK):
        return True
    if not os.path.exists(STOCK_BUILD_SCRIPT):
        log("error: %s is missing and so is %s"
            % (STOCK_PYTHON, STOCK_BUILD_SCRIPT))
        return False
    log("building stock CPython 3.11.2 into build/stock with "
        "Tools/build-stock.sh (once; this takes a while)")
    completed = subprocess.run([STOCK_BUILD_SCRIPT], cwd=ROOT)
    if completed.returncode != 0 or not os.access(STOCK_PYTHON, os.X_OK):
        log("error: Tools/build-stock.sh failed (exit %d)"
            % completed.returncode)
        return False
    return True


def default_interpreters():
    """stock, ./python, ./python -X jit (if the JIT exists), pypy3."""
    interpreters = []
    if not ensure_stock():
        sys.exit(2)
    interpreters.append(Interpreter("stock", [STOCK_PYTHON],
                                    "build/stock/python"))
    if os.path.exists(CINDER_PYTHON):
        interpreters.append(Interpreter("cinder", [CINDER_PYTHON],
                                        "./python"))
        jit = [CINDER_PYTHON, "-X", "jit"]
        if works(jit + ["-c", "import cinderjit"]):
            interpreters.append(Interpreter("cinder-jit", jit,
                                            "./python -X jit"))
    else:
        log("note: ./python is not built; measuring without it")
    pypy = shutil.which("pypy3")
    if pypy:
        interpreters.append(Interpreter("pypy3", [pypy], "pypy3"))
    return interpreters


def log(message):
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def run_once(interpreter, benchmark, size, timeout):
    """Run one benchmark process; return (seconds, None) or (None, why)."""
    command = interpreter.command + [
        os.path.join(HERE, "bm_%s.py" % benchmark), "--size", size]
    try:
        completed = subprocess.run(command, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=timeout,
                                   universal_newlines=True)
    except subprocess.TimeoutExpired:
        return None, "timed out after %d s" % timeout
    except OSError as error:
        return None, "cannot run %s: %s" % (interpreter.display, error)
    tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
    if completed.returncode != 0:
        return None, "exit status %d\n%s" % (completed.returncode, tail)
    for line in reversed(completed.stdout.splitlines()):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("name") == benchmark \
                and isinstance(record.get("seconds"), (int, float)):
            return float(record["seconds"]), None
    return None, "no result line on stdout\n" + tail


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def geometric_mean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def measure(interpreters, benchmarks, size, runs, timeout):
    """results[bench][interp] = {"times": [...], "errors": [...]}."""
    results = {bench: {interp.name: {"times": [], "errors": []}
                       for interp in interpreters}
               for bench in benchmarks}
    width = max(len(bench) for bench in benchmarks)
    for run in range(runs):
        for bench in benchmarks:
            for interp in interpreters:
                seconds, error = run_once(interp, bench, size, timeout)
                cell = results[bench][interp.name]
                if error is None:
                    cell["times"].append(seconds)
                    outcome = "%.3f s" % seconds
                else:
                    cell["errors"].append({"run": run + 1, "error": error})
                    outcome = "FAILED"
                log("run %d/%d  %-*s  %-12s %s" % (run + 1, runs, width,
                                                   bench, interp.name,
                                                   outcome))
    return results


def summarise(results, interpreters):
    """Add medians and speedups over the first interpreter."""
    baseline = interpreters[0].name
    for cells in results.values():
        for cell in cells.values():
            cell["failed"] = bool(cell["errors"]) or not cell["times"]
            cell["median"] = None if cell["failed"] else median(cell["times"])
        base = cells[baseline]["median"]
        for cell in cells.values():
            if base is None or cell["median"] is None:
                cell["speedup"] = None
            else:
                cell["speedup"] = base / cell["median"]
    geomeans = {}
    for interp in interpreters[1:]:
        ratios = [cells[interp.name]["speedup"] for cells in results.values()
                  if cells[interp.name]["speedup"] is not None]
        geomeans[interp.name] = {
            "speedup": geometric_mean(ratios) if ratios else None,
            "benchmarks": len(ratios)}
    return geomeans


def format_table(results, interpreters, geomeans, runs):
    baseline = interpreters[0].name
    header = ["benchmark"]
    for index, interp in enumerate(interpreters):
        header.append(interp.name)
        if index:
            header.append("vs " + baseline)
    rows = []
    for bench, cells in results.items():
        row = [bench]
        for index, interp in enumerate(interpreters):
            cell = cells[interp.name]
            if cell["failed"]:
                row.append("FAILED")
            else:
                text = "%.3f" % cell["median"]
                if len(cell["times"]) > 1:
                    spread = (max(cell["times"]) - min(cell["times"])) \
                        / (2 * cell["median"])
                    text += " (%d%%)" % round(100 * spread)
                row.append(text)
            if index:
                speedup = cell["speedup"]
                row.append("-" if speedup is None else "%.2fx" % speedup)
        rows.append(row)
    if len(interpreters) > 1:
        row = ["geometric mean"]
        for index, interp in enumerate(interpreters):
            row.append("")
            if index:
                mean = geomeans[interp.name]
                text = "-" if mean["speedup"] is None \
                    else "%.2fx" % mean["speedup"]
                if mean["benchmarks"] != len(results):
                    text += " (%d of %d)" % (mean["benchmarks"], len(results))
                row.append(text)
        rows.append(row)
    widths = [max(len(r[i]) for r in [header] + rows)
              for i in range(len(header))]

    def line(cells):
        return "  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                         for i, (cell, width) in
                         enumerate(zip(cells, widths))).rstrip()

    lines = ["Median seconds of %d run%s per interpreter%s." % (
        runs, "" if runs == 1 else "s",
        "; (n%) is half the range of the runs over the median"
        if runs > 1 else "")]
    if len(interpreters) > 1:
        lines.append('"vs %s" is the speedup: %s time / this time; above '
                     "1.00x is faster than %s." % (baseline, baseline,
                                                   baseline))
    lines.append("Interpreters: " + "; ".join(
        "%s = %s" % (interp.name, interp.display) for interp in interpreters))
    lines.append("")
    lines.append(line(header))
    lines.append(line(["-" * width for width in widths]))
    lines.extend(line(row) for row in rows[:len(results)])
    if len(rows) > len(results):
        lines.append(line(["-" * width for width in widths]))
        lines.append(line(rows[-1]))
    return "\n".join(lines)


def report_failures(results):
    failed = False
    for bench, cells in results.items():
        for name, cell in cells.items():
            for error in cell["errors"]:
                failed = True
                log("\nFAILED: %s under %s (run %d): %s"
                    % (bench, name, error["run"], error["error"].rstrip()))
    return failed


def write_json(path, document):
    with open(path, "w") as stream:
        json.dump(document, stream, indent=1, sort_keys=True)
        stream.write("\n")


def plot(json_path, png_path):
    if not os.path.exists(PLOT_PYTHON) or not works(
            [PLOT_PYTHON, "-c", "import matplotlib"]):
        log(MISSING_MATPLOTLIB)
        return False
    completed = subprocess.run([PLOT_PYTHON, PLOT_SCRIPT, json_path,
                                png_path])
    if completed.returncode != 0:
        log("error: plotting failed (exit %d)" % completed.returncode)
        return False
    log("wrote " + png_path)
    return True


def parse_arguments(benchmarks):
    parser = argparse.ArgumentParser(
        description="Compare interpreters on the bm_*.py benchmarks.",
        epilog="Default interpreters: stock (build/stock/python, built by "
               "Tools/build-stock.sh if missing), ./python, ./python -X jit "
               "(if cinderjit imports) and pypy3 (if on PATH).")
    parser.add_argument("--python", action="append", type=parse_interpreter,
                        metavar="NAME=CMD", dest="interpreters",
                        help="an interpreter command, e.g. 'jit=./python -X "
                             "jit' (repeatable; the first is the baseline)")
    parser.add_argument("--runs", type=int, default=5,
                        help="runs per benchmark and interpreter "
                             "(default 5)")
    parser.add_argument("--quick", action="store_true",
                        help="one run at the quick size: a smoke test, "
                             "not a figure")
    parser.add_argument("--bench", action="append", metavar="NAME",
                        help="run only this benchmark (repeatable)")
    parser.add_argument("--json", metavar="FILE",
                        help="write the raw figures to FILE")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="draw the speedups as a bar chart (needs "
                             "matplotlib for %s)" % PLOT_PYTHON)
    parser.add_argument("--timeout", type=int, default=300,
                        help="seconds before one benchmark process is "
                             "killed (default 300)")
    parser.add_argument("--list", action="store_true",
                        help="list the benchmarks and exit")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    for name in args.bench or []:
        if name not in benchmarks:
            parser.error("unknown benchmark %r; known: %s"
                         % (name, ", ".join(benchmarks)))
    return args


def main():
    benchmarks = discover_benchmarks()
    args = parse_arguments(benchmarks)
    if args.list:
        print("\n".join(benchmarks))
        return 0
    if args.bench:
        benchmarks = [name for name in benchmarks if name in args.bench]
    interpreters = args.interpreters or default_interpreters()
    names = [interp.name for interp in interpreters]
    if len(set(names)) != len(names):
        log("error: interpreter names must differ: %s" % ", ".join(names))
        return 2
    size = "quick" if args.quick else "normal"
    runs = 1 if args.quick else args.runs
    started = datetime.datetime.now()
    results = measure(interpreters, benchmarks, size, runs, args.timeout)
    geomeans = summarise(results, interpreters)
    print()
    if args.quick:
        print("Quick smoke test: the figures below are not measurements.")
    print(format_table(results, interpreters, geomeans, runs))
    failed = report_failures(results)
    document = {
        "started": started.isoformat(timespec="seconds"),
        "size": size,
        "runs": runs,
        "machine": {"platform": platform.platform(),
                    "processor": platform.processor(),
                    "cpus": os.cpu_count()},
        "interpreters": [{"name": i.name, "command": i.command,
                          "display": i.display} for i in interpreters],
        "baseline": interpreters[0].name,
        "benchmarks": results,
        "geometric_mean": geomeans,
    }
    if args.json:
        write_json(args.json, document)
        log("wrote " + args.json)
    status = 0
    if failed:
        log("\nsome benchmarks FAILED")
        status = 1
    if args.plot:
        json_path = args.json or args.plot + ".json"
        if not args.json:
            write_json(json_path, document)
        if not plot(json_path, args.plot):
            status = 1
        if not args.json:
            os.remove(json_path)
    return status


if __name__ == "__main__":
    sys.exit(main())
