"""Difference of two results for one metric: change with CI, p-value, verdict (pure functions).

Method, for a numeric metric measured in a baseline run (base) and a new run:
- change = p50(new) - p50(base), and the same for p95, in the metric's unit;
  95 % CI by the seeded two-level bootstrap of bench.stats.bootstrap (repetitions,
  then blocks within them; the two results resampled independently), widened
  by the run-to-run noise a side's runs cannot show (bench.stats.run_noise: each
  side of k runs adds variance (run_sd x base statistic)^2 / k^2, in quadrature
  with the bootstrap's half-widths). Shown relative to the baseline's p50/p95.
- p-value: Mann-Whitney U, two-sided (scipy.stats.mannwhitneyu), on the
  per-block medians: a block (one burst, one pass, one repetition) is the
  unit that is measured independently; samples inside a block are not
  independent, and a test over them would be sure of far too much. With
  blocks of one sample this is the plain test over the samples.
- noise band = max(threshold x |p50(base)|, the metric's absolute floor), in
  the metric's unit (threshold 5 % by default, settable per metric).
- verdict, with "worse" meaning up for lower-is-better metrics and down for
  higher-is-better ones (bench.results.metric_catalog):
    slower  the whole CI of the p50 change lies beyond +band on the worse side, and p < 0.05
    faster  the whole CI lies beyond the band on the better side, and p < 0.05
    same    the whole CI lies within [-band, +band]
    unsure  anything else (CI straddles a band edge, or too few blocks for a CI).
  One run a side may give any verdict: its CI holds the run-to-run noise
  through run_sd (measured by bench calibrate, else a conservative default),
  so only a change far beyond that noise is called slower or faster.
  Metrics with no better direction (counts) say "higher"/"lower" instead of
  "slower"/"faster" and are never gated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .bootstrap import MIN_BLOCKS, Runs, difference_ci
from .run_noise import Z95, widen
from .descriptive import nest_samples

ALPHA = 0.05
COMPARE_RUNS = 3          # runs `bench ui --baseline` takes unless --repeat says (--auto-sample: 1, then more)
DEFAULT_THRESHOLD = 0.05
LOWER, HIGHER, NONE = "lower", "higher", "none"  # which way is better

WORSE = {LOWER: "slower", HIGHER: "slower", NONE: "higher"}
BETTER = {LOWER: "faster", HIGHER: "faster", NONE: "lower"}


@dataclass(frozen=True)
class Difference:
    """One metric, base vs new. Changes are new - base in the metric's unit."""

    base_p50: float | None
    new_p50: float | None
    base_p95: float | None
    new_p95: float | None
    change_p50: float | None
    change_p50_ci: tuple[float, float] | None
    change_p95: float | None
    change_p95_ci: tuple[float, float] | None
    p_value: float | None
    band: float | None         # noise band in the metric's unit
    threshold: float           # relative threshold the band came from
    base_blocks: int
    new_blocks: int
    base_runs: int
    new_runs: int
    verdict: str
    reason: str
    run_sd: float = 0.0        # relative run-to-run sd folded into the CIs (bench.stats.run_noise)

    def relative(self, value: float | None, stat: str = "p50") -> float | None:
        """A change (or CI end) as a fraction of the baseline's p50 (or p95)."""
        base = self.base_p50 if stat == "p50" else self.base_p95
        if value is None or not base:
            return None
        return value / abs(base)


def block_medians(blocks: list[np.ndarray]) -> np.ndarray:
    return np.asarray([np.median(b) for b in blocks])


def mann_whitney_p(base_blocks: list[np.ndarray], new_blocks: list[np.ndarray]) -> float | None:
    """Two-sided Mann-Whitney U p-value (scipy) on the per-block medians; None if undefined."""
    base, new = block_medians(base_blocks), block_medians(new_blocks)
    if base.size == 0 or new.size == 0:
        return None
    if np.all(base == base[0]) and np.all(new == base[0]):
        return 1.0  # every value equal: no evidence of any difference (scipy would say nan)
    from scipy import stats  # here, not at the top: importing scipy.stats costs ~0.4 s per command

    p = float(stats.mannwhitneyu(base, new, alternative="two-sided").pvalue)
    return None if math.isnan(p) else p


def noise_band(threshold: float, level: float, floor: float = 0.0) -> float:
    """The noise band around a level: max(threshold x |level|, the metric's absolute floor)."""
    return max(threshold * abs(level), floor)


def verdict(ci: tuple[float, float] | None, p_value: float | None, band: float,
            direction: str, alpha: float = ALPHA) -> tuple[str, str]:
    """(verdict, reason) from the CI of the p50 change, the p-value and the noise band."""
    if ci is None:
        return "unsure", f"fewer than {MIN_BLOCKS} blocks on a side: no interval"
    lo, hi = ci
    sign = -1.0 if direction == HIGHER else 1.0  # for HIGHER, a drop is the worse side
    worse_lo, worse_hi = sorted((sign * lo, sign * hi))
    significant = p_value is not None and p_value < alpha
    if worse_lo > band:
        if significant:
            return WORSE[direction], "CI beyond the noise band, p < 0.05"
        return "unsure", "CI beyond the noise band but p >= 0.05"
    if worse_hi < -band:
        if significant:
            return BETTER[direction], "CI beyond the noise band, p < 0.05"
        return "unsure", "CI beyond the noise band but p >= 0.05"
    if -band <= worse_lo and worse_hi <= band:
        return "same", "CI within the noise band"
    return "unsure", "CI crosses the noise band"


def _blocks(runs: Runs) -> list[np.ndarray]:
    return [block for blocks in runs for block in blocks]


def _percentile(blocks: list[np.ndarray], q: float) -> float | None:
    return float(np.percentile(np.concatenate(blocks), q)) if blocks else None


def fold_run_noise(ci: tuple[float, float], change: float, base_stat: float, run_sd: float,
                   runs: tuple[int, int]) -> tuple[float, float]:
    """ci widened by the run-to-run noise its bootstrap cannot see: variance
    (run_sd x base_stat)^2 x (1/runs_base^2 + 1/runs_new^2).

    A side of k runs has run-to-run variance sigma^2 / k in its mean; a bootstrap over k
    runs sees (k-1)/k of that (the cluster bootstrap's bias), so sigma^2 / k^2 is what is
    missing: all of it for one run, a quarter for two. Adding sigma^2 / k instead would count
    the share the runs show twice."""
    if not run_sd:
        return ci
    extra = Z95 * run_sd * abs(base_stat) * math.sqrt(1 / runs[0] ** 2 + 1 / runs[1] ** 2)
    return widen(ci, change, extra)


def compare_runs(base: Runs, new: Runs, *, direction: str, threshold: float = DEFAULT_THRESHOLD,
                 floor: float = 0.0, run_sd: float = 0.0) -> Difference:
    """The Difference of one metric from its two results' runs of blocks (see the module docstring).

    run_sd: relative run-to-run sd of a p50 (bench.stats.run_noise) to fold into the CIs; 0 adds nothing.
    """
    base_blocks, new_blocks = _blocks(base), _blocks(new)
    base_p50, new_p50 = _percentile(base_blocks, 50), _percentile(new_blocks, 50)
    base_p95, new_p95 = _percentile(base_blocks, 95), _percentile(new_blocks, 95)
    runs = (len([r for r in base if r]), len([r for r in new if r]))
    if base_p50 is None or new_p50 is None:
        return Difference(base_p50, new_p50, base_p95, new_p95, None, None, None, None, None, None,
                          threshold, len(base_blocks), len(new_blocks), *runs, "unsure", "no samples on a side")
    ci = difference_ci(base, new, (50, 95))
    p_value = mann_whitney_p(base_blocks, new_blocks)
    band = noise_band(threshold, base_p50, floor)
    ci50 = None if ci is None else fold_run_noise((float(ci[0][0]), float(ci[0][1])), new_p50 - base_p50,
                                                  base_p50, run_sd, runs)
    ci95 = None if ci is None else fold_run_noise((float(ci[1][0]), float(ci[1][1])), new_p95 - base_p95,
                                                  base_p95, run_sd, runs)
    word, reason = verdict(ci50, p_value, band, direction)
    return Difference(base_p50, new_p50, base_p95, new_p95, new_p50 - base_p50, ci50,
                      new_p95 - base_p95, ci95, p_value, band, threshold, len(base_blocks),
                      len(new_blocks), *runs, word, reason, run_sd)


def compare_samples(base, new, *, direction: str, threshold: float = DEFAULT_THRESHOLD) -> Difference:
    """compare_runs for two plain lists of samples known to be independent (blocks of one
    sample): no run-to-run noise hides behind them, so one list a side may give a verdict."""
    return compare_runs(nest_samples(base), nest_samples(new), direction=direction, threshold=threshold)


def compare_words(base_value: str | None, new_value: str | None, good: frozenset[str]) -> tuple[str, str]:
    """(verdict, reason) for a metric whose value is a word, e.g. heap.verdict stable/leak.

    Changing from a good word (e.g. "stable") to any other is `slower`; the
    reverse is `faster`; equal words are `same`; "mixed" (repetitions that
    disagree) or a missing value is `unsure`.
    """
    if base_value is None or new_value is None or "mixed" in (base_value, new_value):
        return "unsure", "repetitions disagree or no value"
    if base_value == new_value:
        return "same", f"both {new_value}"
    if base_value in good and new_value not in good:
        return "slower", f"{base_value} -> {new_value}"
    if new_value in good and base_value not in good:
        return "faster", f"{base_value} -> {new_value}"
    return "unsure", f"{base_value} -> {new_value}"
