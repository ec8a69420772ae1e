"""Seeded two-level bootstrap confidence intervals of percentiles (pure functions).

Samples are nested: a result has repetitions (runs, each in a fresh browser
context), a run has blocks (the samples one measurement delivered together:
one burst, one scroll pass), a block has samples (one per message). Samples
of one block are not independent (a burst's messages share its frame phase
and the page's state), and blocks of one run are not either (they share the
machine's load and the page's state during that run). Resampling single
samples would make intervals far too narrow (tests/test_stats.py shows it).

Method: the hierarchical (two-stage) bootstrap of Davison & Hinkley (1997,
section 3.8): each resample draws the runs with replacement, then within
every drawn run its blocks with replacement, pools their samples and takes
numpy percentiles. The interval is the percentile interval (2.5th and 97.5th
percentile of 2,000 resampled statistics) from a fixed seed, so the same
samples always give the same interval. With one run this is the block
(cluster) bootstrap; with blocks of one sample, the ordinary bootstrap.
With a single run, run-to-run noise is not in the interval: nothing in one
run can measure it (docs: use --repeat 3 or more for gating).

Everything is vectorised: runs x blocks x samples become one NaN-padded
array, and a batch of resamples is gathered from it in one indexing step.
"""

from __future__ import annotations

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 2000
SEED = 20260501
# Fewer blocks than this (over all runs): no interval. A bootstrap over k
# clusters underestimates their spread by a factor sqrt((k-1)/k) and has
# only a handful of distinct resamples when k is tiny; below 5 it is not
# worth printing, and a verdict then says "unsure" instead of trusting it.
MIN_BLOCKS = 5
_MAX_GATHERED = 4_000_000  # floats gathered per batch (about 32 MB)

Runs = list[list[np.ndarray]]  # runs -> blocks -> samples


def block_count(runs: Runs) -> int:
    return sum(len(blocks) for blocks in runs)


class NestedSamples:
    """Runs of blocks of samples as one NaN-padded array (run, block, sample)."""

    def __init__(self, runs: Runs):
        runs = [blocks for blocks in runs if blocks]
        self.run_count = len(runs)
        self.blocks_per_run = np.asarray([len(blocks) for blocks in runs])
        self.max_blocks = int(self.blocks_per_run.max())
        self.max_size = max(block.size for blocks in runs for block in blocks)
        self.values = np.full((self.run_count, self.max_blocks, self.max_size), np.nan)
        sizes = set()
        for r, blocks in enumerate(runs):
            for b, block in enumerate(blocks):
                self.values[r, b, :block.size] = block
                sizes.add(block.size)
        # No padding anywhere: every run has as many blocks, every block as many samples.
        self.dense = len(sizes) == 1 and len(set(self.blocks_per_run.tolist())) == 1

    def resample_percentiles(self, qs, rng: np.random.Generator, count: int) -> np.ndarray:
        """Percentiles qs of `count` two-level resamples: array (len(qs), count)."""
        per_resample = self.run_count * self.max_blocks * self.max_size
        batch = max(1, min(count, _MAX_GATHERED // per_resample))
        out = [self._batch(qs, rng, min(batch, count - done)) for done in range(0, count, batch)]
        return np.concatenate(out, axis=-1)

    def _batch(self, qs, rng: np.random.Generator, size: int) -> np.ndarray:
        runs = rng.integers(0, self.run_count, size=(size, self.run_count))         # stage 1: runs
        available = self.blocks_per_run[runs][..., None]                            # (size, R, 1)
        blocks = (rng.random((size, self.run_count, self.max_blocks)) * available).astype(np.intp)  # stage 2
        gathered = self.values[runs[..., None], blocks]                             # (size, R, K, M)
        if self.dense:
            return np.percentile(gathered.reshape(size, -1), qs, axis=-1)
        # A drawn run contributes as many blocks as it has: drop the padding draws.
        gathered[np.arange(self.max_blocks)[None, None, :] >= available] = np.nan
        return nan_percentiles(gathered.reshape(size, -1), qs)


def nan_percentiles(rows: np.ndarray, qs) -> np.ndarray:
    """np.nanpercentile(rows, qs, axis=-1) (method "linear"), NaNs ignored: array (len(qs), len(rows)).

    The same values, computed at once for all rows: nanpercentile goes row
    by row in Python (apply_along_axis), 0.15 s for 2,000 resamples of a
    1,000-sample burst run. Sorting puts NaNs last, so row i's values are
    its first n_i; percentile q is linear interpolation at (n_i - 1) q/100
    between the two neighbouring order statistics. A row of NaNs gives NaN.
    """
    ordered = np.sort(rows, axis=-1)
    counts = np.count_nonzero(~np.isnan(rows), axis=-1)
    last = np.maximum(counts - 1, 0)
    out = np.empty((len(np.atleast_1d(qs)), rows.shape[0]))
    for i, q in enumerate(np.atleast_1d(qs)):
        position = last * (q / 100)
        low = np.floor(position).astype(np.intp)
        high = np.minimum(low + 1, last)
        fraction = position - low
        below = np.take_along_axis(ordered, low[:, None], axis=-1)[:, 0]
        above = np.take_along_axis(ordered, high[:, None], axis=-1)[:, 0]
        out[i] = below + (above - below) * fraction
    out[:, counts == 0] = np.nan
    return out


def _interval(statistics: np.ndarray) -> np.ndarray:
    """Percentile interval: (len(qs), 2) array of [lo, hi] from (len(qs), RESAMPLES) statistics."""
    tail = (1 - CONFIDENCE) / 2 * 100
    return np.percentile(statistics, [tail, 100 - tail], axis=-1).T


def quantile_ci(runs: Runs, qs) -> np.ndarray | None:
    """95 % CI of each percentile in qs of the pooled samples; None below MIN_BLOCKS blocks."""
    if block_count(runs) < MIN_BLOCKS:
        return None
    rng = np.random.default_rng(SEED)
    return _interval(NestedSamples(runs).resample_percentiles(qs, rng, RESAMPLES))


def difference_ci(base: Runs, new: Runs, qs) -> np.ndarray | None:
    """95 % CI of (percentile of new - percentile of base) for each q, in the samples' unit.

    The two results come from separate runs, so they are resampled
    independently. None when either has fewer than MIN_BLOCKS blocks.
    """
    if block_count(base) < MIN_BLOCKS or block_count(new) < MIN_BLOCKS:
        return None
    rng = np.random.default_rng(SEED)
    base_stats = NestedSamples(base).resample_percentiles(qs, rng, RESAMPLES)
    new_stats = NestedSamples(new).resample_percentiles(qs, rng, RESAMPLES)
    return _interval(new_stats - base_stats)
