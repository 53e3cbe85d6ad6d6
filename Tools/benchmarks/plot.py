"""Draw the speedups in a run.py --json file as a grouped bar chart.

Usage: /usr/bin/python3 plot.py RESULTS.json OUT.png
Run by run.py --plot with the system python3, which has matplotlib once
Tools/install-deps.sh has installed python3-matplotlib.
"""

import json
import sys

try:
    import matplotlib
except ImportError:
    sys.exit("error: matplotlib is missing; run Tools/install-deps.sh "
             "(it installs python3-matplotlib)")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (needs the backend set first)


def main(json_path, png_path):
    with open(json_path) as stream:
        document = json.load(stream)
    baseline = document["baseline"]
    others = [i["name"] for i in document["interpreters"]
              if i["name"] != baseline]
    if not others:
        sys.exit("error: nothing to plot: only the baseline was measured")
    benchmarks = sorted(document["benchmarks"])
    labels = benchmarks + ["geometric mean"]
    width = 0.8 / len(others)
    figure, axes = plt.subplots(figsize=(max(8, 0.6 * len(labels)), 5))
    for index, name in enumerate(others):
        values = [document["benchmarks"][bench][name]["speedup"] or 0.0
                  for bench in benchmarks]
        values.append(document["geometric_mean"][name]["speedup"] or 0.0)
        positions = [x + (index - (len(others) - 1) / 2) * width
                     for x in range(len(labels))]
        axes.bar(positions, values, width, label=name)
    axes.axhline(1.0, color="black", linewidth=0.8)
    axes.set_xticks(range(len(labels)))
    axes.set_xticklabels(labels, rotation=45, ha="right")
    axes.set_ylabel("speedup over %s (%s time / time)" % (baseline, baseline))
    runs = document["runs"]
    axes.set_title("Benchmarks: speedup over %s, median of %d run%s "
                   "(a failed benchmark shows as 0)"
                   % (baseline, runs, "" if runs == 1 else "s"))
    axes.legend()
    figure.tight_layout()
    figure.savefig(png_path, dpi=100)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: plot.py RESULTS.json OUT.png")
    main(sys.argv[1], sys.argv[2])
