"""Statistics against known distributions (seeded): summaries, CI coverage, verdicts.

Coverage bands: with a true coverage of 0.95, the share of T seeded trials
whose interval holds the true value is binomial with sd sqrt(.95 x .05 / T)
(0.011 for T = 400, 0.020 for T = 120). A percentile bootstrap also runs a little short of its
nominal level at these sample sizes (about 0.93 for a p95 from 200 samples),
so the band 0.90-0.99 holds a correct method with room to spare, and fails
one that is off by more (the naive bootstrap below covers only about 0.65).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats as scipy_stats

from bench.stats import bootstrap
from bench.stats.bootstrap import MIN_BLOCKS, quantile_ci
from bench.stats.difference import HIGHER, LOWER, NONE, compare_runs, compare_samples, compare_words, verdict
from bench.results.records import Results, ScenarioOutput
from bench.stats.descriptive import nest_samples, percentile_cis, relative_spread, summarize

# No browser, no server, no clock: may run beside a timing test, in the background (tests/cpu_share.py).
pytestmark = pytest.mark.background

MU, SIGMA = 3.0, 0.5  # lognormal: skewed like latencies
TRUE_P50 = float(np.exp(MU))
TRUE_P95 = float(np.exp(MU + SIGMA * scipy_stats.norm.ppf(0.95)))


def test_summary_of_a_known_sample():
    s = summarize([2, 4, 4, 4, 5, 5, 7, 9])
    assert s["n"] == 8 and s["mean"] == 5 and s["p50"] == 4.5 and s["max"] == 9
    assert s["stdev"] == pytest.approx(np.sqrt(32 / 7))        # sample stdev, ddof = 1
    assert s["cv"] == pytest.approx(np.sqrt(32 / 7) / 5)
    assert summarize([])["cv"] is None and summarize([None, float("nan")])["n"] == 0


def test_cis_are_reproducible_and_bracket_the_estimate():
    rng = np.random.default_rng(1)
    samples = list(rng.lognormal(MU, SIGMA, 300))
    first, again = percentile_cis(samples), percentile_cis(samples)
    assert first == again  # seeded: same samples, same interval
    s = summarize(samples)
    assert first["p50_ci"][0] <= s["p50"] <= first["p50_ci"][1]
    assert first["p95_ci"][0] <= s["p95"] <= first["p95_ci"][1]
    assert percentile_cis(samples[:MIN_BLOCKS - 1]) == {"p50_ci": None, "p95_ci": None}


def test_ci_coverage_of_p50_and_p95_over_400_seeded_trials():
    rng = np.random.default_rng(2026)
    trials, hits50, hits95 = 400, 0, 0
    for _ in range(trials):
        ci = percentile_cis(list(rng.lognormal(MU, SIGMA, 200)))
        hits50 += ci["p50_ci"][0] <= TRUE_P50 <= ci["p50_ci"][1]
        hits95 += ci["p95_ci"][0] <= TRUE_P95 <= ci["p95_ci"][1]
    print(f"coverage p50 {hits50 / trials:.3f}, p95 {hits95 / trials:.3f}")
    assert 0.90 <= hits50 / trials <= 0.99
    assert 0.90 <= hits95 / trials <= 0.99


def _clustered(rng, blocks: int, size: int) -> list[np.ndarray]:
    """Blocks sharing an offset (like a burst's frame phase): N(0,1) per block + N(0,1) per sample.

    Every sample is N(0, sqrt 2), so the true p50 is 0.
    """
    return [rng.normal(0, 1) + rng.normal(0, 1, size) for _ in range(blocks)]


def test_block_bootstrap_covers_clustered_samples_where_the_naive_one_does_not():
    rng = np.random.default_rng(7)
    trials, block_hits, naive_hits = 120, 0, 0
    for _ in range(trials):
        blocks = _clustered(rng, 20, 10)
        lo, hi = quantile_ci([blocks], (50,))[0]
        block_hits += lo <= 0 <= hi
        lo, hi = quantile_ci(nest_samples(np.concatenate(blocks)), (50,))[0]  # each sample its own block
        naive_hits += lo <= 0 <= hi
    print(f"coverage: blocks {block_hits / trials:.3f}, samples as if independent {naive_hits / trials:.3f}")
    # 20 clusters: the cluster bootstrap runs short by ~sqrt(19/20), hence the lower edge 0.88.
    assert 0.88 <= block_hits / trials <= 0.99
    assert naive_hits / trials < 0.75


def test_two_level_bootstrap_covers_run_to_run_noise():
    """Runs with their own offset (machine load) around blocks with theirs: resampling runs is needed."""
    rng = np.random.default_rng(11)
    trials, hits, block_only_hits = 120, 0, 0
    for _ in range(trials):
        runs = []
        for _ in range(8):
            offset = rng.normal(0, 1)  # shared by every block of the run
            runs.append([offset + b for b in _clustered(rng, 5, 5)])
        # every sample is N(0, sqrt 3): true p50 0
        lo, hi = quantile_ci(runs, (50,))[0]
        hits += lo <= 0 <= hi
        lo, hi = quantile_ci([[b for run in runs for b in run]], (50,))[0]  # runs ignored
        block_only_hits += lo <= 0 <= hi
    print(f"coverage: runs+blocks {hits / trials:.3f}, blocks only {block_only_hits / trials:.3f}")
    # 8 runs: the run level is resampled from 8 units, short by ~sqrt(7/8): lower edge 0.85.
    assert 0.85 <= hits / trials <= 0.99
    assert block_only_hits / trials < hits / trials - 0.05


def test_difference_ci_coverage_of_a_known_shift():
    rng = np.random.default_rng(3)
    trials, hits = 120, 0
    true_change = TRUE_P50 * 0.10  # new = base x 1.1: its p50 moves by 10 %
    for _ in range(trials):
        base = rng.lognormal(MU, SIGMA, 100)
        new = rng.lognormal(MU, SIGMA, 100) * 1.10
        d = compare_samples(base, new, direction=LOWER)
        hits += d.change_p50_ci[0] <= true_change <= d.change_p50_ci[1]
    print(f"coverage of the p50 change: {hits / trials:.3f}")
    assert 0.90 <= hits / trials <= 0.99


@pytest.mark.parametrize("factor, direction, expected", [
    (1.25, LOWER, "slower"),    # latency up 25 %
    (0.80, LOWER, "faster"),
    (0.80, HIGHER, "slower"),   # fps down 20 %
    (1.25, HIGHER, "faster"),
    (1.25, NONE, "higher"),     # a count: says which way, never slower/faster
])
def test_verdict_on_a_known_shift(factor, direction, expected):
    rng = np.random.default_rng(5)
    base = rng.lognormal(MU, 0.3, 400)
    new = rng.lognormal(MU, 0.3, 400) * factor
    d = compare_samples(base, new, direction=direction)
    assert d.verdict == expected, d
    # The median of 400 lognormal(., 0.3) samples is off by ~1.9 % (sd); a ratio of two by ~2.7 %:
    # 0.1 is more than 3.5 sd.
    assert d.relative(d.change_p50) == pytest.approx(factor - 1, abs=0.1)


def test_no_shift_is_same_with_many_samples_and_unsure_with_few():
    rng = np.random.default_rng(6)
    many = compare_samples(rng.lognormal(MU, 0.2, 4000), rng.lognormal(MU, 0.2, 4000), direction=LOWER)
    assert many.verdict == "same", many  # CI of the change well inside +-5 %
    few = compare_samples(rng.lognormal(MU, 0.5, 30), rng.lognormal(MU, 0.5, 30), direction=LOWER)
    assert few.verdict == "unsure", few  # CI far wider than the band
    tiny = compare_samples([20, 21, 22], [40, 41, 42], direction=LOWER)
    assert tiny.verdict == "unsure" and "fewer than" in tiny.reason  # 3 blocks: no interval


def test_false_alarms_on_clustered_samples_without_a_shift_are_rare():
    """Six bursts a side (the end-to-end tests' size), no true change: 'slower' must stay rare.

    Expected about 1-2 % (a 2.5 % tail, cut further by the 5 % band); the
    bound 6 of 150 leaves room for binomial noise (sd ~1.7 trials at 2 %).
    """
    rng = np.random.default_rng(8)
    alarms = sum(compare_runs([[20 + b for b in _clustered(rng, 6, 20)]],
                              [[20 + b for b in _clustered(rng, 6, 20)]], direction=LOWER).verdict == "slower"
                 for _ in range(150))
    assert alarms <= 6


@pytest.mark.parametrize("ci, p, expected", [
    ((6, 9), 0.01, "slower"), ((6, 9), 0.2, "unsure"), ((-9, -6), 0.01, "faster"),
    ((-4, 4), 0.5, "same"), ((-4, 4), 0.001, "same"), ((2, 8), 0.01, "unsure"), ((-8, 8), 0.5, "unsure"),
    ((5, 9), 0.01, "unsure"),  # touching the band edge is not beyond it
])
def test_verdict_rule_against_a_band_of_5(ci, p, expected):
    assert verdict(ci, p, 5.0, LOWER)[0] == expected
    flipped = {"slower": "faster", "faster": "slower"}.get(expected, expected)
    assert verdict(ci, p, 5.0, HIGHER)[0] == flipped  # for fps, up is better


def test_word_metrics_compare_good_to_bad():
    good = frozenset({"stable"})
    assert compare_words("stable", "leak", good)[0] == "slower"
    assert compare_words("leak", "stable", good)[0] == "faster"
    assert compare_words("stable", "stable", good)[0] == "same"
    assert compare_words("stable", "mixed", good)[0] == "unsure"


def test_nest_samples_cuts_runs_into_blocks():
    runs = nest_samples([1, 2, 3, 4, 5, 6, 7], [3, 4], [1, 2, 2, 2])
    assert [[b.tolist() for b in run] for run in runs] == [[[1], [2, 3]], [[4, 5], [6, 7]]]
    # no block sizes (older files): each run is one block
    assert [[b.tolist() for b in run] for run in nest_samples([1, 2, 3], [1, 2])] == [[[1]], [[2, 3]]]
    # a block across two runs: trust the runs
    assert [len(run) for run in nest_samples([1, 2, 3, 4], [2, 2], [3, 1])] == [1, 1]


def test_relative_spread_is_the_cv_of_a_few_values():
    assert relative_spread([10, 12, 14]) == pytest.approx(2 / 12)
    assert relative_spread([10]) is None


def test_results_json_keeps_old_fields_and_adds_cv_cis_and_blocks():
    rng = np.random.default_rng(9)
    results = Results(env={}, config={})
    for repetition in range(2):
        for _ in range(4):
            results.add(repetition, ScenarioOutput(metrics={
                "paint.latency_ms": ("ms", list(rng.normal(20, 2, 10))),
                "paint.injected": ("count", [10]),
                "heap.verdict": ("verdict", ["stable"])}))
    metrics = results.to_json()["metrics"]
    latency = metrics["paint.latency_ms"]
    for key in ("unit", "n", "mean", "min", "p50", "p95", "p99", "max", "stdev", "samples", "runs"):
        assert key in latency
    assert latency["runs"] == [40, 40] and latency["blocks"] == [10] * 8
    assert latency["cv"] == pytest.approx(latency["stdev"] / latency["mean"])
    assert latency["p50_ci"][0] < latency["p50"] < latency["p50_ci"][1]
    assert metrics["paint.injected"]["sum"] == 80
    assert metrics["heap.verdict"]["value"] == "stable" and metrics["heap.verdict"]["n"] == 8


def test_one_run_a_side_folds_run_to_run_noise_into_the_ci():
    """One run a side: the CI of the change widens by the run-to-run sd (bench.stats.run_noise), in quadrature.

    Known answer: blocks of 20 samples, base ~ N(10, 1), new ~ N(20, 1). Within
    the runs the change (+10) is known to about +-0.3; a run-to-run sd of 15 %
    of the base p50 adds 1.96 x 1.5 x sqrt(2) = 4.16 to each side. +100 % is
    far beyond that: slower. +20 % (new ~ N(12, 1)) is not: the folded CI
    reaches below the 5 % band, so unsure, where the within-run CI alone said slower.
    """
    from bench.stats.difference import compare_runs
    from bench.stats.descriptive import nest_samples

    rng = np.random.default_rng(7)
    blocks = [20] * 10
    base = nest_samples(list(rng.normal(10, 1, 200)), [200], blocks)
    far = nest_samples(list(rng.normal(20, 1, 200)), [200], blocks)
    near = nest_samples(list(rng.normal(12, 1, 200)), [200], blocks)
    bare = compare_runs(base, far, direction="lower")
    folded = compare_runs(base, far, direction="lower", run_sd=0.15)
    assert folded.verdict == "slower" and bare.verdict == "slower"
    half = lambda ci: (ci[1] - ci[0]) / 2  # noqa: E731
    extra = 1.959964 * 0.15 * folded.base_p50 * np.sqrt(2)
    for side in (0, 1):
        bare_side = abs(bare.change_p50_ci[side] - bare.change_p50)
        assert abs(folded.change_p50_ci[side] - folded.change_p50) == pytest.approx(np.hypot(bare_side, extra))
    assert half(folded.change_p50_ci) > 10 * half(bare.change_p50_ci)
    assert compare_runs(base, near, direction="lower").verdict == "slower"
    assert compare_runs(base, near, direction="lower", run_sd=0.15).verdict == "unsure"


def test_nan_percentiles_equal_numpys_nanpercentile_row_by_row():
    # The bootstrap's padded resamples: rows with different numbers of NaNs,
    # one with a single value and one with none.
    rng = np.random.default_rng(7)
    rows = rng.normal(30, 10, (300, 250))
    rows[rng.random(rows.shape) < 0.3] = np.nan
    rows[1, 1:] = np.nan
    rows[2, :] = np.nan
    qs = [0, 5, 50, 75.5, 95, 100]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nanpercentile warns on the all-NaN row
        expected = np.nanpercentile(rows, qs, axis=-1)
    assert np.allclose(bootstrap.nan_percentiles(rows, qs), expected, rtol=0, atol=1e-9, equal_nan=True)


def test_the_fold_adds_the_run_noise_a_bootstrap_over_k_runs_cannot_see():
    """fold_run_noise's known answers: each side of k runs adds (sd x base)^2 / k^2 in quadrature with the
    CI's half-widths: the whole run-to-run variance for one run, a quarter for two (a bootstrap over two
    runs sees the other half of sigma^2 / 2), a ninth for three."""
    import math

    from bench.stats.difference import fold_run_noise
    from bench.stats.run_noise import Z95

    for runs, share in (((1, 1), 2.0), ((2, 2), 0.5), ((3, 3), 2 / 9), ((1, 2), 1.25)):
        lo, hi = fold_run_noise((-1.0, 3.0), 1.0, 10.0, 0.3, runs)
        extra = Z95 * 0.3 * 10.0 * math.sqrt(share)
        assert lo == pytest.approx(1.0 - math.hypot(2.0, extra)) and hi == pytest.approx(1.0 + math.hypot(2.0, extra))
    assert fold_run_noise((-1.0, 3.0), 1.0, 10.0, 0.0, (2, 2)) == (-1.0, 3.0)  # no run noise: the CI as it was
