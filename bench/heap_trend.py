"""Memory trend over reconnect cycles: the fitted growth per cycle and the leak verdict.

Pure functions over per-cycle series (index 0 = after warm-up, then one
value per measured cycle), no I/O.

Method (DESIGN.md section 3, "memory trend"):
- Growth per cycle is the least-squares slope of value against cycle index
  (numpy.polyfit, degree 1). Its 95 % confidence interval is
  slope +/- t(0.975, n - 2) * stderr: Student's t because the residual
  variance is estimated from the same n points (n - 2 degrees of freedom);
  stderr from polyfit's covariance (scaled by the residual sum of squares
  over n - 2), the quantile from scipy.special.stdtrit. The same numbers as
  scipy.stats.linregress and scipy.stats.t.ppf (tests/test_heap_analysis.py
  checks), without importing scipy.stats, which costs about 1 s of CPU, more
  than the whole analysis.
- Heap signal: the CI's lower bound lies above the threshold, i.e. growth
  of at least the threshold is established at 95 % confidence, not just a
  positive point estimate. A line through n points needs n >= 3.
- Counter signal (DOM nodes, documents, JS event listeners): the counter
  rose in every measured cycle. These are exact integers after GC, so a
  stable page repeats its value; growth in all of 7 cycles in a row is not
  chance.
- Expected growth (chat history from --cycle-messages, measured apart as
  bytes and nodes per message) is subtracted before either test.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import asdict, dataclass

import numpy as np

CI_LEVEL = 0.95
# Heap growth per cycle that counts as a leak. The plain bundled app's fitted
# slope stays within a few KB of zero (tests/test_cycles.py runs it 5 times);
# 64 KB/cycle is far above that noise and far below the known 200 KB leak.
DEFAULT_THRESHOLD_BYTES = 64 * 1024
COUNTERS = ("listeners", "nodes", "documents")


def preload() -> None:
    """Import scipy.special in a thread while the browser works (cycles wait on it).

    The import takes ~0.2 s of CPU; done at the top of the module it would
    slow every `bench` start, done on first use it would add to the
    scenario's time. Python's import lock makes a later import wait for it.
    """
    threading.Thread(target=importlib.import_module, args=("scipy.special",), daemon=True).start()


@dataclass(frozen=True)
class Trend:
    slope: float
    ci_low: float
    ci_high: float
    intercept: float
    n: int


def linear_trend(values) -> Trend:
    """Least-squares slope per cycle with its t-based 95 % CI (needs 3+ points)."""
    from scipy.special import stdtrit  # not at the top: see preload()

    y = np.asarray(values, dtype=float)
    n = int(y.size)
    if n < 3:
        raise ValueError(f"a trend with a confidence interval needs 3 points, got {n}")
    x = np.arange(n, dtype=float)
    # Fitted to y - y[0] (the same slope): a series that never changes, as a
    # stable page's DOM counters do, then gives a slope of exactly 0, not 1e-15.
    (slope, intercept), cov = np.polyfit(x, y - y[0], 1, cov=True)
    half = stdtrit(n - 2, 0.5 + CI_LEVEL / 2) * np.sqrt(cov[0, 0])
    return Trend(float(slope), float(slope - half), float(slope + half), float(intercept + y[0]), n)


def without_expected(values, per_cycle: float) -> np.ndarray:
    """The series with `per_cycle` growth per cycle index taken out."""
    y = np.asarray(values, dtype=float)
    return y - per_cycle * np.arange(y.size)


def grows_every_cycle(values) -> bool:
    y = np.asarray(values, dtype=float)
    return y.size >= 2 and bool(np.all(np.diff(y) >= 1))


def _kb(value: float) -> str:
    return f"{value / 1024:.1f} KiB"


def verdict(series: dict, threshold_bytes: float = DEFAULT_THRESHOLD_BYTES,
            expected_bytes_per_cycle: float = 0.0, expected_nodes_per_cycle: float = 0.0) -> dict:
    """leak | stable, the reasons (which signal fired, by how much) and every signal's numbers.

    series: {"used_bytes": [...], "listeners": [...], "nodes": [...], "documents": [...]}.
    """
    cycles = len(series["used_bytes"]) - 1
    heap = linear_trend(without_expected(series["used_bytes"], expected_bytes_per_cycle))
    signals = {"heap": {**asdict(heap), "threshold_bytes": threshold_bytes,
                        "expected_bytes_per_cycle": expected_bytes_per_cycle,
                        "fired": heap.ci_low > threshold_bytes}}
    reasons = []
    if signals["heap"]["fired"]:
        reasons.append(f"heap grows {_kb(heap.slope)}/cycle (95% CI {_kb(heap.ci_low)} to {_kb(heap.ci_high)}), "
                       f"above the {_kb(threshold_bytes)}/cycle threshold")
    for name in COUNTERS:
        expected = expected_nodes_per_cycle if name == "nodes" else 0.0
        values = without_expected(series[name], expected)
        trend = linear_trend(values)
        fired = grows_every_cycle(values)
        signals[name] = {**asdict(trend), "expected_per_cycle": expected, "fired": fired,
                         "growth": float(values[-1] - values[0])}
        if fired:
            reasons.append(f"{name} grew in every one of {cycles} cycles "
                           f"({values[-1] - values[0]:+g} in all, {trend.slope:+.3g}/cycle)")
    if reasons:
        return {"verdict": "leak", "reasons": reasons, "signals": signals}
    quiet = [f"heap {_kb(heap.slope)}/cycle (95% CI {_kb(heap.ci_low)} to {_kb(heap.ci_high)}) is not "
             f"established above the {_kb(threshold_bytes)}/cycle threshold",
             "no counter (listeners, nodes, documents) grew in every cycle"]
    return {"verdict": "stable", "reasons": quiet, "signals": signals}
