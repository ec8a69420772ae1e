"""Descriptive statistics over raw samples: pure functions, no I/O.

Confidence intervals come from bench.stats.bootstrap (a seeded two-level bootstrap
over repetitions and blocks), so the same samples always give the same interval.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from .bootstrap import MIN_BLOCKS, quantile_ci

PERCENTILES = (50, 95, 99)
CI_PERCENTILES = (50, 95)  # the percentiles whose 95 % CI every metric carries


def clean(samples) -> np.ndarray:
    """The numeric samples as a float array, without None and NaN."""
    return np.asarray([s for s in samples if s is not None and not math.isnan(s)], dtype=float)


def summarize(samples: list[float]) -> dict:
    """n, mean, min, p50/p95/p99, max, stdev and CV of the samples.

    Percentiles use numpy's default linear interpolation between order
    statistics (Hyndman & Fan type 7), so p50 of an even count is the mean of
    the middle two. stdev is the sample standard deviation (ddof=1); CV is
    stdev / |mean| (None when the mean is 0). An empty sample gives n = 0 and
    None elsewhere, never a made-up zero.
    """
    values = clean(samples)
    n = int(values.size)
    if n == 0:
        return {"n": 0, "mean": None, "min": None, **{f"p{p}": None for p in PERCENTILES},
                "max": None, "stdev": None, "cv": None}
    quantiles = np.percentile(values, PERCENTILES)
    mean = float(values.mean())
    stdev = float(values.std(ddof=1)) if n > 1 else 0.0
    return {
        "n": n,
        "mean": mean,
        "min": float(values.min()),
        **{f"p{p}": float(q) for p, q in zip(PERCENTILES, quantiles)},
        "max": float(values.max()),
        "stdev": stdev,
        "cv": stdev / abs(mean) if mean != 0 else None,
    }


def percentile_cis(samples: list[float], run_sizes: list[int] | None = None,
                   block_sizes: list[int] | None = None) -> dict:
    """{"p50_ci": [lo, hi], "p95_ci": [lo, hi]}: 95 % CIs by seeded two-level bootstrap.

    run_sizes and block_sizes cut the samples (in order) into repetitions
    and blocks (see nest_samples); runs and blocks, not single samples, are
    resampled (bench.stats.bootstrap). None for both when there are fewer than
    MIN_BLOCKS non-empty blocks.
    """
    ci = quantile_ci(nest_samples(samples, run_sizes, block_sizes), CI_PERCENTILES)
    if ci is None:
        return {f"p{p}_ci": None for p in CI_PERCENTILES}
    return {f"p{p}_ci": [float(lo), float(hi)] for p, (lo, hi) in zip(CI_PERCENTILES, ci)}


def metric_stats(unit: str, samples: list, run_sizes: list[int], block_sizes: list[int]) -> dict:
    """Every statistic a results file carries for one metric, from its raw samples.

    Words (e.g. heap.verdict): their counts (categorical_summary). Numbers: the
    summary (summarize) and the p50/p95 95 % CIs (percentile_cis, two-level
    bootstrap over run_sizes and block_sizes); a "count" metric also its sum.
    """
    if any(isinstance(s, str) for s in samples):
        return categorical_summary(samples)
    out = {**summarize(samples), **percentile_cis(samples, run_sizes, block_sizes)}
    if unit == "count":
        out["sum"] = float(sum(samples))
    return out


def split_blocks(samples, block_sizes: list[int] | None) -> list[np.ndarray]:
    """Cut samples into consecutive blocks of the given sizes; NaN/None dropped, empty blocks too.

    No sizes: every sample is its own block (independent samples).
    """
    if block_sizes is None:
        block_sizes = [1] * len(samples)
    if sum(block_sizes) != len(samples):
        raise ValueError(f"block sizes add up to {sum(block_sizes)}, not {len(samples)} samples")
    blocks, start = [], 0
    for size in block_sizes:
        block = clean(samples[start:start + size])
        start += size
        if block.size:
            blocks.append(block)
    return blocks


def _fits(sizes, total: int) -> bool:
    return isinstance(sizes, list) and bool(sizes) and sum(sizes) == total


def nest_samples(samples, run_sizes: list[int] | None = None,
                 block_sizes: list[int] | None = None) -> list[list[np.ndarray]]:
    """Samples as runs of blocks (bench.stats.bootstrap.Runs).

    run_sizes: samples per repetition; block_sizes: samples per block, in
    order, each block inside one run. Without block sizes each run is one
    block (the cautious reading of older results files); without run sizes
    all samples are one run; with neither, every sample is its own block
    (independent samples, as in a unit test of a known distribution). Sizes
    that do not add up are ignored the same way.
    """
    samples = list(samples)
    has_runs, has_blocks = _fits(run_sizes, len(samples)), _fits(block_sizes, len(samples))
    if not has_runs and not has_blocks:
        return [split_blocks(samples, None)] if run_sizes is None and block_sizes is None \
            else [split_blocks(samples, [len(samples)] if samples else [])]
    runs = run_sizes if has_runs else [len(samples)]
    blocks = iter(block_sizes if has_blocks else runs)
    out, start = [], 0
    for run_size in runs:
        taken = []
        while sum(taken) < run_size:
            taken.append(next(blocks))
        if sum(taken) != run_size:  # a block straddles two runs: keep the runs, one block each
            return nest_samples(samples, runs, None)
        out.append(split_blocks(samples[start:start + run_size], taken))
        start += run_size
    return out


def relative_spread(values: list[float]) -> float | None:
    """Coefficient of variation (stdev ddof=1 / |mean|) of a few values, e.g. per-repetition p50s."""
    arr = clean(values)
    if arr.size < 2 or arr.mean() == 0:
        return None
    return float(arr.std(ddof=1) / abs(arr.mean()))


def categorical_summary(samples: list) -> dict:
    """For a metric whose samples are words (e.g. heap.verdict): n, value, counts.

    value is the one word every sample agrees on, or "mixed" when they differ.
    """
    words = [str(s) for s in samples if s is not None]
    counts = Counter(words)
    value = words[0] if len(counts) == 1 else ("mixed" if counts else None)
    return {"n": len(words), "value": value, "counts": dict(sorted(counts.items()))}


__all__ = ["MIN_BLOCKS", "PERCENTILES", "CI_PERCENTILES", "summarize", "percentile_cis", "split_blocks",
           "nest_samples", "relative_spread", "categorical_summary", "clean", "metric_stats"]
