"""Run-to-run noise of a p50: what one run's blocks cannot show, estimated and stored per machine.

A run's p50 moves from run to run by more than its within-run CI says when
something is shared by every block of a run and differs between runs (the
machine's load, the page's state in that context). bench.scenarios.burst
stratifies the frame phase within a run so that phase is not such a thing;
what remains is measured here.

Method: one-way random-effects variance components by the method of moments
(Searle, Casella & McCulloch 1992, ch. 3): over R runs of one configuration,
    var(run p50s) = sigma_run^2 + mean(within-run variance of a p50),
with the within-run variance of each run's p50 from its block-bootstrap CI
(half-width / z(0.975))^2. sigma_run is the square root of the excess,
0 when there is none, given relative to the mean p50 so it carries over to a
page whose p50 is different.

bench compare folds it into the CI of a p50 change (bench.stats.difference):
a side of k runs adds variance (sigma_run x base p50)^2 / k^2, the share of its
run-to-run variance (sigma_run^2 / k in a mean of k runs) that a bootstrap over
those k runs cannot see (it sees (k-1)/k of it). Where sigma_run comes from:
- a calibration of this machine (`bench calibrate` stores it for the metrics
  it measures, keyed by host, Chromium major, headless and CPU throttle:
  bench.gate.calibration_store), at any number of runs;
- else, when a side has fewer than MIN_RUNS_OF_ITS_OWN runs, DEFAULT_RUN_SD
  (conservative: no smaller than the largest seen here, docs/statistics.md).
  From 3 runs a side nothing is added: the bootstrap sees 2/3 of the noise or
  more, and the default, a paint latency's worst case under heavy load, would
  swamp the CI of a metric that moves less from run to run (scroll fps).
  Two runs are too few to go without: a bootstrap over two has three distinct
  resamples (both runs, one twice, the other twice) and sees half their
  variance. A CI run saw 2 runs against 2 of the same page called slower,
  +31.8 % [+8.6, +59.2]; on recorded runs (tests/data/gate_runs.json), 2
  against 2 were called slower or faster in 8 of 300 draws with the bootstrap
  alone and 2 with the default's missing share folded in
  (`python benchmarks/run.py gate-aa-two-runs`).
"""

from __future__ import annotations

import numpy as np

from .bootstrap import Runs, quantile_ci

# Relative run-to-run sd of a p50 assumed when a side has fewer than 3 runs and this
# machine has no calibration: no smaller than the largest measured here
# (benchmarks/gate_runs.py, 20 runs of burst 10x20 a variant at load average
# 26-30 on 2 cores: 27 %, 16 %, 11 % and 0 %; docs/statistics.md).
DEFAULT_RUN_SD = 0.30
Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975); a constant so compare need not import scipy
CALIBRATED_METRICS = ("paint.latency_ms", "paint.presented_ms")
# Fewer repetitions estimate sigma_run too loosely to stand in for the default
# (with 3 runs, var(p50s) has 2 degrees of freedom): bench calibrate stores none.
MIN_RUNS_TO_STORE = 10
# A side with fewer runs cannot show its own run-to-run noise (module docstring): the default, or this
# machine's calibration, is folded in for it, as for a single run.
MIN_RUNS_OF_ITS_OWN = 3


def run_p50s(runs: Runs) -> np.ndarray:
    return np.asarray([np.median(np.concatenate(blocks)) for blocks in runs if blocks])


def within_run_variance(blocks: list[np.ndarray]) -> float | None:
    """Variance of one run's p50 from its block-bootstrap 95 % CI (half-width / z)^2; None below 5 blocks."""
    ci = quantile_ci([blocks], [50])
    if ci is None:
        return None
    return float(((ci[0][1] - ci[0][0]) / 2 / Z95) ** 2)


def run_to_run_sd(runs: Runs) -> float | None:
    """sigma_run / mean p50 (see the module docstring); None with fewer than 3 runs or no within-run CIs."""
    runs = [blocks for blocks in runs if blocks]
    if len(runs) < 3:
        return None
    p50s = run_p50s(runs)
    within = [v for v in (within_run_variance(blocks) for blocks in runs) if v is not None]
    if not within or not np.mean(p50s):
        return None
    excess = float(np.var(p50s, ddof=1)) - float(np.mean(within))
    return float(np.sqrt(max(excess, 0.0)) / abs(np.mean(p50s)))


def coverage(runs: Runs, run_sd: float = 0.0) -> tuple[int, int]:
    """(runs whose 95 % CI of the p50 covers the median of every run's p50, runs with a CI).

    With run_sd, each run's CI is widened by it as compare would (in quadrature).
    """
    runs = [blocks for blocks in runs if blocks]
    center = float(np.median(run_p50s(runs))) if runs else 0.0
    covered = total = 0
    for blocks in runs:
        ci = quantile_ci([blocks], [50])
        if ci is None:
            continue
        p50 = float(np.median(np.concatenate(blocks)))
        lo, hi = widen((float(ci[0][0]), float(ci[0][1])), p50, run_sd * abs(center) * Z95)
        total += 1
        covered += lo <= center <= hi
    return covered, total


def widen(ci: tuple[float, float], center: float, extra: float) -> tuple[float, float]:
    """Each side of ci's distance from center, added in quadrature to `extra` (independent variances)."""
    lo, hi = ci
    return (center - float(np.hypot(center - lo, extra)), center + float(np.hypot(hi - center, extra)))


CALIBRATED_SOURCE = "this machine's calibration"
DEFAULT_SOURCE = f"a default of {DEFAULT_RUN_SD:.0%} of p50 (run `bench calibrate` here to measure it)"


def for_comparison(name: str, base_runs: int, new_runs: int, stored: dict[str, float],
                   plain_name: str | None = None) -> tuple[float, str]:
    """(relative run-to-run sd to fold into a comparison of `name`, where it came from).

    stored: this machine's calibration (bench.gate.calibration_store.load). plain_name: the metric's name
    without a pytest test's qualifier, looked up when `name` itself was not
    calibrated.
    """
    key = name if name in stored else (plain_name or name)
    if key in stored:
        return stored[key], CALIBRATED_SOURCE
    if min(base_runs, new_runs) < MIN_RUNS_OF_ITS_OWN:
        return DEFAULT_RUN_SD, DEFAULT_SOURCE
    return 0.0, "the runs themselves (two-level bootstrap)"
