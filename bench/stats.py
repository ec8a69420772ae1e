"""Descriptive statistics over raw samples: pure functions, no I/O."""

from __future__ import annotations

import math

import numpy as np

PERCENTILES = (50, 95, 99)


def summarize(samples: list[float]) -> dict:
    """n, mean, min, p50/p95/p99, max, stdev of the samples.

    Percentiles use numpy's default linear interpolation between order
    statistics (Hyndman & Fan type 7), so p50 of an even count is the mean of
    the middle two. stdev is the sample standard deviation (ddof=1).
    An empty sample gives n = 0 and None elsewhere, never a made-up zero.
    """
    values = np.asarray([s for s in samples if s is not None and not math.isnan(s)], dtype=float)
    n = int(values.size)
    if n == 0:
        return {"n": 0, "mean": None, "min": None, **{f"p{p}": None for p in PERCENTILES},
                "max": None, "stdev": None}
    quantiles = np.percentile(values, PERCENTILES)
    return {
        "n": n,
        "mean": float(values.mean()),
        "min": float(values.min()),
        **{f"p{p}": float(q) for p, q in zip(PERCENTILES, quantiles)},
        "max": float(values.max()),
        "stdev": float(values.std(ddof=1)) if n > 1 else 0.0,
    }
