"""Known answers for the change detection of `bench history check` (bench/history/changes.py).

No browser, no I/O beyond reading the bundled real runs. Synthetic histories are drawn
(seeded, with replacement) from the per-run p50s of ten real `bench ui` runs of the unchanged
bundled app (tests/data/history): the spread between runs a real history has, heavy tails included.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.history import changes
from tests.history_data import real_p50s

# No browser, no server, no clock: may run beside a timing test, in the background (tests/cpu_share.py).
pytestmark = pytest.mark.background

HISTORY = 30
TRIALS = 600


def band_of(values) -> float:
    return 0.05 * float(np.median(values))  # compare's default 5 % threshold


@pytest.mark.parametrize("metric", ["paint.latency_ms", "scroll.fps", "scroll.dropped_pct"])
def test_steady_histories_from_real_spread_stay_quiet(metric):
    """Per check (the newest run's verdict), false alarms in the worse or better direction: at most
    1 % per metric (measured on paint.latency_ms: about 0.1-0.2 %). Changes anywhere in the 30 runs
    (history, not failing) are rarer than 1 in 6."""
    real = np.asarray(real_p50s(metric))
    rng = np.random.default_rng(21)
    current = anywhere = 0
    for _ in range(TRIALS):
        history = rng.choice(real, HISTORY)
        scan = changes.scan(history, band_of(real))
        current += scan.current is not None
        anywhere += bool(scan.changes)
    assert current / TRIALS <= 0.01, f"{current} false alarms in {TRIALS} steady histories"
    assert anywhere / TRIALS <= 1 / 6, f"{anywhere} histories of {TRIALS} with a change somewhere"


def test_normal_runs_false_alarm_rate_is_near_the_nominal():
    """Independent normal runs: the per-side ARL0 of K=0.5, H=5 is about 930 runs, so a change
    current at the newest run (an alarm within the last MIN_REF runs) is rare: <= 1 %."""
    rng = np.random.default_rng(5)
    current = sum(changes.scan(rng.normal(30, 7, HISTORY), 1.5).current is not None for _ in range(TRIALS))
    assert current / TRIALS <= 0.01


def test_a_30_ms_step_is_found_at_its_first_commit():
    """+30 ms on the last 3 of 30 runs (the real spread's sd is about 7 ms): found as a current
    upward change in >= 90 % of histories (measured 97 %), at the exact first run in >= 85 %
    (measured 93 %), and never more than one run off in >= 90 %."""
    real = np.asarray(real_p50s("paint.latency_ms"))
    rng = np.random.default_rng(30)
    found = exact = near = 0
    trials = 300
    for _ in range(trials):
        history = rng.choice(real, HISTORY)
        history[-3:] += 30
        change = changes.scan(history, band_of(real)).current
        if change is not None and change.direction == 1:
            found += 1
            exact += change.start == HISTORY - 3
            near += abs(change.start - (HISTORY - 3)) <= 1
    assert found / trials >= 0.90 and exact / trials >= 0.85 and near / trials >= 0.90, (found, exact, near)


def test_one_outlying_run_alone_raises_no_alarm():
    """Winsorized scores: a single run far off (a machine hiccup) needs a second to confirm it."""
    history = [30.0, 31.0, 29.0, 30.5, 29.5, 30.0, 31.0, 29.0, 30.0, 500.0]
    scan = changes.scan(history, 1.5)
    assert scan.current is None and scan.last_z == changes.CLIP
    confirmed = changes.scan(history + [500.0], 1.5).current
    assert confirmed is not None and confirmed.start == len(history) - 1 and confirmed.direction == 1


def test_a_shift_within_the_noise_band_is_no_change():
    """A metric that never varied: a shift smaller than its band is ignored, a larger one is not."""
    flat = [60.0] * 12
    assert changes.scan(flat + [59.0] * 3, band=3.0).changes == []
    change = changes.scan(flat + [50.0] * 3, band=3.0).current
    assert change is not None and change.start == 12 and change.direction == -1 and change.shift == -10


def test_an_older_change_is_history_and_the_new_level_is_the_reference():
    """A change with more than MIN_REF runs at its level is listed but no longer current; the runs
    after it are watched against the new level, so a second step is found from there."""
    rng = np.random.default_rng(7)
    history = np.concatenate([rng.normal(30, 2, 12), rng.normal(60, 2, 10)])
    scan = changes.scan(history, 1.5)
    assert [c.start for c in scan.changes] == [12] and scan.current is None
    assert abs(scan.changes[0].after - 60) < 3
    again = changes.scan(np.concatenate([history, rng.normal(90, 2, 3)]), 1.5)
    assert [c.start for c in again.changes] == [12, 22] and again.current is again.changes[-1]
    assert abs(again.changes[0].after - 60) < 3  # the first change's level ends where the second starts


def test_too_few_runs_are_not_monitored():
    scan = changes.scan([30.0, 31.0, 32.0, 33.0, 34.0], 1.5)
    assert not scan.monitored and scan.changes == [] and scan.last_z is None


def test_hinkley_start_is_the_least_squares_split():
    x = np.array([10, 11, 9, 10, 12.0, 20, 21, 19])
    assert changes.hinkley_start(x, 0, 3, 7) == 5
