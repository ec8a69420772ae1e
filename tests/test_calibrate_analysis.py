"""bench calibrate's arithmetic on results with a known answer (no browser)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bench.cli import calibrate
from bench.stats.difference import COMPARE_RUNS
from bench.results.records import Results, ScenarioOutput

# No browser, no server, no clock: may run beside a timing test, in the background (tests/cpu_share.py).
pytestmark = pytest.mark.background


def runs_with_p50s(p50s: list[float]) -> dict:
    """Repetitions whose paint latencies are constant within a run: each run's p50 is known exactly,
    and a single-run comparison's CI has zero width, so only run-to-run noise remains."""
    results = Results(env={}, config={"repetitions_done": len(p50s)})
    for repetition, p50 in enumerate(p50s):
        for _ in range(3):  # three bursts (blocks) a repetition
            results.add(repetition, ScenarioOutput(metrics={"paint.latency_ms": ("ms", [p50] * 10)}))
    return results.to_json()


def test_smallest_change_is_the_threshold_plus_run_to_run_noise_at_the_compare_runs():
    p50s = [20.0, 22.0, 18.0, 21.0, 19.0]
    data = runs_with_p50s(p50s)
    by_variant = {"default": data, **{calibrate._variant_name(w): data for w in calibrate.KNOWN_WORK_MS}}
    result = calibrate.analyse(by_variant, threshold=0.05)
    cv = np.std(p50s, ddof=1) / np.mean(p50s)
    assert result.default_p50s == p50s
    assert result.p50_cv == pytest.approx(cv)
    # The difference of two runs' p50s varies by sqrt(2) x CV; its 95 % band is 1.96 x that.
    assert result.run_noise == pytest.approx(stats.norm.ppf(0.975) * np.sqrt(2) * cv)
    assert not result.half_width  # constant runs: no within-run noise (no CI, or one of zero width)
    assert result.smallest_change == pytest.approx(0.05 + result.run_noise / np.sqrt(COMPARE_RUNS))
    assert result.pairs == 10  # every pair of 5 repetitions
