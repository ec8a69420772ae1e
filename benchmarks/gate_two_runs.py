"""False alarms of `bench compare` with two runs a side, on recorded runs of one page.

The 40 recorded runs of the bundled page (tests/data/gate_runs.json: a and b,
measured side by side, bursts of 10 x 20) are drawn four at a time, seeded:
two as the base, two as the new run, and compared as bench compare does
(bench.stats.difference.compare_runs, paint.latency_ms). Every `slower` or
`faster` is a false alarm. Counted twice: with the run-to-run noise bench
folds in below three runs a side (bench.stats.run_noise.for_comparison, no
calibration stored), and with the two-level bootstrap alone, the rule before.
The target is a bound the rule before missed (8 of 300, 2.7 %): at most 1 %.

Too many comparisons for a unit test (each bootstraps 2,000 resamples); the
rule itself is a known answer in tests/test_gate_known_answers.py.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from bench.gate.compare import metric_runs
from bench.stats import run_noise
from bench.stats.difference import LOWER, compare_runs

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "gate_runs.json"
METRIC = "paint.latency_ms"
DRAWS = 300
SEED = 1
TARGET = 0.01  # of the draws, at most; the bootstrap alone: 2.7 %


def measure(draws: int = DRAWS) -> tuple[float, dict]:
    variants = json.loads(DATA.read_text())["variants"]
    pool = metric_runs(variants["a"][METRIC]) + metric_runs(variants["b"][METRIC])
    rng = random.Random(SEED)
    pairs = []
    for _ in range(draws):
        picked = rng.sample(pool, 4)
        pairs.append((picked[:2], picked[2:]))
    run_sd, _ = run_noise.for_comparison(METRIC, 2, 2, {})
    start = time.monotonic()
    alarms = {label: sum(compare_runs(base, new, direction=LOWER, run_sd=sd).verdict in ("slower", "faster")
                         for base, new in pairs)
              for label, sd in (("folded", run_sd), ("bootstrap alone", 0.0))}
    seconds = time.monotonic() - start
    summary = (f"2 runs against 2 of the same page, {draws} draws: {alarms['folded']} false alarm(s) with "
               f"the missing share of {run_sd:.0%} run-to-run noise folded in, {alarms['bootstrap alone']} with the two-level "
               "bootstrap alone")
    return seconds, {"verdict": summary, "summary": summary,
                     "target_met": alarms["folded"] <= TARGET * draws,
                     "target_text": f"<= {TARGET:.0%} of {draws}"}
