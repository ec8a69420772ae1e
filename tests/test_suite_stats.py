"""The statistics of the suite's own benchmarks (benchmarks/suite_stats.py): known answers, no browser."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.suite_stats import WITH, WITHOUT, growth_exponent, interleaved_order, paired_difference, spread

# No browser, no server, no clock: may run beside a timing test, in the background (tests/cpu_share.py).
pytestmark = pytest.mark.background

SIZES = [100, 1_000, 3_000, 10_000, 100_000]  # benchmarks/growth.py's default runs, in messages


def test_interleaved_order_alternates_and_balances():
    order = interleaved_order(4)
    assert order == [(WITH, WITHOUT), (WITHOUT, WITH), (WITH, WITHOUT), (WITHOUT, WITH)]
    firsts = [first for first, _ in order]
    assert firsts.count(WITH) == firsts.count(WITHOUT)  # an even count of rounds: each arm first as often
    with pytest.raises(ValueError):
        interleaved_order(0)


def test_paired_difference_pairs_rounds_not_pools():
    # Round loads differ a lot (1, 10, 100) but the arm adds exactly 0.5 in each round:
    # paired, the difference is 0.5 with no spread; pooled medians would say 9.5.
    without = [1.0, 10.0, 100.0]
    got = paired_difference([w + 0.5 for w in without], without)
    assert got["median"] == pytest.approx(0.5)
    assert got["min"] == pytest.approx(0.5) and got["max"] == pytest.approx(0.5)
    assert got["q25"] == pytest.approx(0.5) and got["q75"] == pytest.approx(0.5)
    assert got["n"] == 3


def test_spread_quartiles_are_numpy_linear():
    got = spread([4, 1, 3, 2])
    assert got["median"] == 2.5 and got["q25"] == 1.75 and got["q75"] == 3.25
    assert (got["min"], got["max"]) == (1, 4)
    with pytest.raises(ValueError):
        spread([])
    with pytest.raises(ValueError):
        paired_difference([1, 2], [1])


@pytest.mark.parametrize("power", [1, 2])
def test_growth_exponent_of_a_known_power_under_a_constant(power):
    sizes = np.array(SIZES, dtype=float)
    values = 5 + 1e-3 * sizes ** power  # a fixed part that dominates the small runs
    assert growth_exponent(sizes, values) == pytest.approx(power, abs=0.02)


def test_raw_log_log_would_hide_quadratic_growth_that_the_increments_show():
    # Why the fixed part is taken out: over these sizes a 20 s constant makes
    # the slope of the totals far under 1 although the growing part is quadratic.
    sizes = np.array(SIZES, dtype=float)
    values = 20 + 1e-9 * sizes ** 2
    raw_slope = np.polyfit(np.log(sizes), np.log(values), 1)[0]
    assert raw_slope < 0.5
    assert growth_exponent(sizes, values) == pytest.approx(2, abs=0.02)


def test_growth_exponent_is_not_swung_by_noise_in_a_small_increment():
    # Linear, 1 MiB per 1,000 messages, with +-0.5 MiB of noise: the 1,000 run's
    # increment (0.4 MiB) is mostly noise. Weighted by increment, the fit stays
    # near 1; the unweighted fit of the same points is pulled to about 1.13.
    sizes = np.array(SIZES, dtype=float)
    values = 80 + 1e-3 * sizes + np.array([0.0, -0.5, 0.5, -0.5, 0.5])
    weighted = growth_exponent(sizes, values)
    unweighted = np.polyfit(np.log(sizes[1:] - 100), np.log(values[1:] - values[0]), 1)[0]
    assert weighted == pytest.approx(1, abs=0.03)
    assert abs(unweighted - 1) > 0.1


def test_growth_exponent_flat_and_bad_input():
    assert growth_exponent(SIZES, [80, 80, 79.5, 80, 80]) is None  # nothing grew
    with pytest.raises(ValueError):
        growth_exponent([100, 1000], [1, 2])
    with pytest.raises(ValueError):
        growth_exponent([100, 1000, 1000], [1, 2, 3])
