"""Scroll smoothness arithmetic (bench/stats/smoothness.py) on frame timelines with a known answer."""

from __future__ import annotations

import pytest

from bench.stats.smoothness import (gesture_window, overlapping, pass_smoothness, refresh_interval_ms,
                                     reported_smoothness)

# No browser, no server, no clock: may run beside a timing test, in the background (tests/cpu_share.py).
pytestmark = pytest.mark.background

R = 1000 / 60  # a 60 Hz refresh interval, ms


def stamps(intervals_in_slots: list[int], jitter: float = 0.0) -> list[float]:
    """rAF timestamps whose gaps are the given multiples of R (alternating +-jitter ms)."""
    out, t = [1000.0], 1000.0
    for i, k in enumerate(intervals_in_slots):
        t += k * R
        out.append(t + (jitter if i % 2 else -jitter))
    return out


def test_every_frame_made_is_refresh_rate_and_no_drops() -> None:
    s = pass_smoothness(stamps([1] * 120, jitter=0.3), R)
    assert s.fps == pytest.approx(60, rel=1e-3)
    assert s.expected_frames == 120 and s.dropped_frames == 0 and s.dropped_pct == 0
    assert len(s.frame_ms) == 120


def test_one_frame_in_three_is_20_fps_and_two_thirds_dropped() -> None:
    s = pass_smoothness(stamps([3] * 40), R)
    assert s.fps == pytest.approx(20, rel=1e-6)
    assert s.expected_frames == 120 and s.dropped_frames == 80
    assert s.dropped_pct == pytest.approx(100 * 2 / 3)


def test_a_single_long_frame_counts_the_slots_it_covers() -> None:
    # 100 frames on time, then one 10-slot (167 ms) frame: 110 slots, 9 missed.
    s = pass_smoothness(stamps([1] * 100 + [10]), R)
    assert (s.expected_frames, s.dropped_frames) == (110, 9)
    assert s.dropped_pct == pytest.approx(100 * 9 / 110)
    assert s.fps == pytest.approx(101 / (110 * R) * 1000)


def test_jitter_and_short_intervals_count_one_slot_each() -> None:
    # A frame 6 ms late then one on time: 1.36 and 0.64 slots round to 1 each.
    s = pass_smoothness([0.0, R + 6.0, 2 * R], R)
    assert s.expected_frames == 2 and s.dropped_frames == 0
    # Two frames 2 ms apart (0.12 slots) still count one slot: never a negative drop.
    s = pass_smoothness([0.0, R, R + 2.0], R)
    assert s.expected_frames == 2 and s.dropped_frames == 0


def test_refresh_interval_is_the_median_delta() -> None:
    idle = stamps([1] * 29 + [5])  # one late frame does not move it
    assert refresh_interval_ms(idle) == pytest.approx(R)
    with pytest.raises(ValueError):
        refresh_interval_ms([5.0])


def test_gesture_window_spans_the_frames_where_scrolltop_moved() -> None:
    tops = [900, 900, 900, 880, 850, 850, 820, 800, 800, 800]
    # From the last still frame before the first move (index 2) to the last move (index 7).
    assert gesture_window(tops) == (2, 7)
    assert gesture_window([5, 5, 5]) is None


def test_overlapping_long_frames() -> None:
    frames = [{"startTime": 0, "duration": 60}, {"startTime": 100, "duration": 70},
              {"startTime": 300, "duration": 55}]
    assert overlapping(frames, 50, 200) == frames[:2]
    assert overlapping(frames, 400, 500) == []


def test_frame_reports_all_presented_are_refresh_rate() -> None:
    s = reported_smoothness(["PRESENTED_ALL"] * 60, R)
    assert s.fps == pytest.approx(60) and s.dropped_frames == 0 and s.frame_ms == pytest.approx([R] * 60)


def test_frame_reports_dropped_vsyncs_lengthen_the_frame_that_follows() -> None:
    # 4 vsyncs dropped before a frame: it lasted 5 slots; a partial presentation is presented.
    s = reported_smoothness(["PRESENTED_ALL", "DROPPED", "DROPPED", "DROPPED", "DROPPED", "PRESENTED_PARTIAL"], R)
    assert s.frame_ms == pytest.approx([R, 5 * R])
    assert (s.expected_frames, s.dropped_frames) == (6, 4)
    assert s.dropped_pct == pytest.approx(100 * 4 / 6)
    assert s.fps == pytest.approx(2 / (6 * R) * 1000)


def test_frame_reports_at_rest_are_in_no_frame() -> None:
    # A streaming page between chunks: no update wanted is neither a frame nor a drop, and a drop run
    # ended by rest lengthens nothing.
    s = reported_smoothness(["PRESENTED_ALL", "NO_UPDATE_DESIRED", "NO_UPDATE_DESIRED", "PRESENTED_ALL",
                             "DROPPED", "NO_UPDATE_DESIRED", "PRESENTED_ALL"], R)
    assert s.frame_ms == pytest.approx([R, R, R])
    assert (s.expected_frames, s.dropped_frames) == (4, 1)
    assert s.fps == pytest.approx(60)
    assert reported_smoothness(["NO_UPDATE_DESIRED", "DROPPED"], R) is None
