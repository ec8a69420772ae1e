"""Statistics of the suite's own benchmarks: pure functions over numbers, no I/O (numpy).

- interleaved_order / paired_difference: a with/without comparison on a shared
  machine (benchmarks/probe_overhead.py);
- growth_exponent: how a cost grows with the number of messages
  (benchmarks/growth.py).

Imported by tests as benchmarks.suite_stats, so it imports nothing from beside it.
"""

from __future__ import annotations

import numpy as np

WITH, WITHOUT = "with", "without"


def interleaved_order(rounds: int) -> list[tuple[str, str]]:
    """The arms of each round, alternating which goes first (with/without, without/with, ...).

    A round holds one run of each arm, so a change in the machine's load that
    lasts longer than a round falls on both arms alike; alternating the order
    (ABBA) also cancels a steady drift within the rounds (a warming cache, a
    load that rises through the benchmark), which a fixed order would charge
    to the arm that always runs second.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1 (got {rounds})")
    return [(WITH, WITHOUT) if i % 2 == 0 else (WITHOUT, WITH) for i in range(rounds)]


def paired_difference(with_values, without_values) -> dict:
    """Per-round differences (with - without), their median and spread.

    Rounds are paired, not pooled: the two runs of a round saw the same
    machine load, so their difference is what the arm changes and the spread
    of the differences across rounds is the noise. Spread: the interquartile
    range and min..max (spread()).
    """
    with_values = np.asarray(with_values, dtype=float)
    without_values = np.asarray(without_values, dtype=float)
    if with_values.shape != without_values.shape or with_values.size == 0:
        raise ValueError(f"need the same number of rounds on both sides, at least one "
                         f"(got {with_values.size} and {without_values.size})")
    return spread(with_values - without_values)


def spread(values) -> dict:
    """Median, interquartile range (numpy.percentile, linear interpolation), min, max, n, and the values."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        raise ValueError("no values")
    q25, median, q75 = np.percentile(values, [25, 50, 75])
    return {"median": float(median), "q25": float(q25), "q75": float(q75),
            "min": float(values.min()), "max": float(values.max()), "n": int(values.size),
            "values": [float(v) for v in values]}


def growth_exponent(sizes, values) -> float | None:
    """k in value - value(smallest) ~ (size - smallest)^k, by weighted least squares on log-log.

    Method: the run at the smallest size stands for the fixed part of the
    cost (interpreter, browser start, page load, writing results); what grows
    is the increment over it. Without taking the fixed part out, a large
    constant hides superlinear growth: a + b*n^2 looks like an exponent under
    1 over a decade when a dominates. The exponent is the slope of a straight
    line (numpy.polyfit, degree 1) through log(increment) against log(size
    increment), over the sizes above the smallest. Linear growth gives 1,
    quadratic 2.

    Weights: a run's noise is about the same in absolute terms at every size
    (it is mostly the fixed part's: browser start on a shared machine), so
    the log of a small increment is the less certain one: its standard error
    is noise / increment. polyfit takes weights as 1 / standard error, so
    each point is weighted by its increment (the unknown noise scales them
    all alike and drops out). A 0.5 MiB increment that is half noise then
    cannot swing the slope that the large runs settle.

    Increments <= 0 (no growth above the noise at that size) are left out of
    the fit. With fewer than two increments left there is no growth to fit:
    None, which means "did not grow measurably", not "unknown".
    """
    sizes = np.asarray(sizes, dtype=float)
    values = np.asarray(values, dtype=float)
    if sizes.shape != values.shape or sizes.size < 3:
        raise ValueError(f"need at least three sizes with one value each (got {sizes.size} and {values.size})")
    if np.unique(sizes).size != sizes.size:
        raise ValueError("sizes must be distinct")
    smallest = int(np.argmin(sizes))
    d_size = np.delete(sizes - sizes[smallest], smallest)
    d_value = np.delete(values - values[smallest], smallest)
    keep = d_value > 0
    if keep.sum() < 2:
        return None
    slope, _ = np.polyfit(np.log(d_size[keep]), np.log(d_value[keep]), 1, w=d_value[keep])
    return float(slope)
