"""How much a second up-and-down scroll cycle buys: R = 1 vs R = 2 read from the same runs.

    python scripts/scroll_passes.py LABEL=GLOB [LABEL=GLOB ...]

Each GLOB names results files of

    python -m bench ui --scenario scroll --scroll-repeat 2 --repeat 3 --app-query ... --json FILE

and each repetition in them is read twice: all 4 passes (R = 2) and only its
first up and down pass (R = 1, the default since docs/scroll.md "How many
passes"). Printed per label and R: the spread (sd) of one repetition's
scroll.fps (median of its passes) and mean scroll.dropped_pct; the sd of a
run's mean fps from one-way variance components; the width of the 95 % CI
a --repeat 3 run prints (bench.stats.descriptive); verdicts of bench.stats.difference for
every pair of files of the same label (A/A: anything but same/unsure is
wrong) and, for the first two labels, every cross pair (A/B).
"""

from __future__ import annotations

import glob
import itertools
import json
import statistics
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stats.difference import compare_runs  # noqa: E402
from bench.results.metric_catalog import info  # noqa: E402
from bench.stats.descriptive import nest_samples, percentile_cis  # noqa: E402

COMPARED = ("scroll.fps", "scroll.frame_ms", "scroll.dropped_pct")


def runs_of(metric: dict, cycles: int) -> list[list[np.ndarray]]:
    """A metric's runs of blocks (one block a pass), keeping each run's first 2 x cycles passes."""
    nested = nest_samples(metric["samples"], metric["runs"], metric["blocks"])
    return [run[:2 * cycles] for run in nested]


def per_repetition(files: list[dict], name: str, cycles: int, stat) -> list[float]:
    return [float(stat(np.concatenate(run))) for d in files for run in runs_of(d["metrics"][name], cycles)]


def ci_width(files: list[dict], name: str, cycles: int, p: int) -> float | None:
    widths = []
    for d in files:
        runs = runs_of(d["metrics"][name], cycles)
        samples = [v for run in runs for block in run for v in block]
        ci = percentile_cis(samples, [sum(len(b) for b in run) for run in runs],
                            [len(b) for run in runs for b in run])[f"p{p}_ci"]
        if ci is not None:
            widths.append(ci[1] - ci[0])
    return statistics.median(widths) if widths else None


def verdicts(pairs, cycles: int, name: str) -> Counter:
    metric = info(name)
    return Counter(compare_runs(runs_of(a["metrics"][name], cycles), runs_of(b["metrics"][name], cycles),
                                direction=metric.direction, floor=metric.floor).verdict for a, b in pairs)


def run_mean_sd(files: list[dict], name: str, passes: int) -> float:
    """sd of a run's mean over `passes` passes: between-run variance + within-run variance / passes."""
    groups = [[float(b[0]) for b in run] for d in files for run in runs_of(d["metrics"][name], 2)]
    within = statistics.mean(statistics.variance(g) for g in groups)
    between = max(statistics.variance([statistics.mean(g) for g in groups]) - within / 4, 0.0)
    return (between + within / passes) ** 0.5


def main(argv: list[str]) -> int:
    labelled = {}
    for arg in argv:
        label, _, pattern = arg.partition("=")
        labelled[label] = [json.loads(Path(f).read_text()) for f in sorted(glob.glob(pattern))]
    for label, files in labelled.items():
        print(f"\n{label}: {len(files)} results, {sum(len(d['metrics']['scroll.fps']['runs']) for d in files)} repetitions")
        for cycles in (1, 2):
            fps = per_repetition(files, "scroll.fps", cycles, np.median)
            dropped = per_repetition(files, "scroll.dropped_pct", cycles, np.mean)
            print(f"  R={cycles}: one repetition's fps sd {statistics.stdev(fps):.2f} (median {statistics.median(fps):.1f}), "
                  f"dropped% sd {statistics.stdev(dropped):.2f}; run-mean fps sd from variance components "
                  f"{run_mean_sd(files, 'scroll.fps', 2 * cycles):.2f}; budget fps.p50 >= 57 failed "
                  f"{sum(v < 57 for v in fps)} of {len(fps)}")
            widths = {f"{n} p{p}": ci_width(files, n, cycles, p)
                      for n, p in (("scroll.fps", 50), ("scroll.dropped_pct", 50), ("scroll.frame_ms", 95))}
            print("        --repeat 3 CI widths: " + ", ".join(f"{k} {v:.2f}" if v is not None else f"{k} none"
                                                        for k, v in widths.items()))
            pairs = list(itertools.combinations(files, 2))
            print(f"        A/A over {len(pairs)} pairs: " + "; ".join(
                f"{n} {dict(verdicts(pairs, cycles, n))}" for n in COMPARED))
    if len(labelled) >= 2:
        (a_label, a), (b_label, b) = list(labelled.items())[:2]
        pairs = list(itertools.product(a, b))
        for cycles in (1, 2):
            print(f"\nA/B {a_label} -> {b_label}, R={cycles}, {len(pairs)} pairs: " + "; ".join(
                f"{n} {dict(verdicts(pairs, cycles, n))}" for n in COMPARED))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
