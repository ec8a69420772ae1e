"""Scroll smoothness from rAF timestamps: pure functions, no I/O (docs/metrics.md).

Definitions, for one gesture pass:
- refresh interval R: the median delta between consecutive rAF timestamps
  while the page is idle (numpy.median: robust to the odd late frame).
- the gesture window: from the last frame before the list's scrollTop first
  changed to the frame of its last change, timestamps t_0 < ... < t_n
  (n frame intervals). Frames before and after the scroll are left out, so
  idle frames cannot flatter a janky pass.
- scroll.frame_ms: the intervals d_i = t_i - t_(i-1).
- scroll.fps = n / (t_n - t_0) * 1000.
- each interval covers k_i = max(1, round(d_i / R)) refresh slots (round to
  nearest: vsync-aligned timestamps jitter by a fraction of a slot); the
  page drew one frame in them and missed k_i - 1.
  expected = sum(k_i), dropped = expected - n,
  scroll.dropped_pct = 100 * dropped / expected.

From Chrome's frame reporter instead (a trace, no rAF loop in the page; the
stream scenario): each vsync the compositor asked a frame for is presented,
dropped (an update was wanted, none was shown) or had no update wanted.
A presented frame covers k = 1 + the dropped vsyncs right before it, so it
lasted k * R, as a rAF interval over k slots does; vsyncs with no update
wanted are the page at rest, in no frame (reported_smoothness).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def refresh_interval_ms(timestamps: list[float]) -> float:
    deltas = np.diff(np.asarray(timestamps, dtype=float))
    if deltas.size == 0:
        raise ValueError("need at least two rAF timestamps")
    return float(np.median(deltas))


def gesture_window(scroll_tops: list[float]) -> tuple[int, int] | None:
    """(first, last) frame index of the gesture window; None if scrollTop never changed."""
    changed = np.nonzero(np.diff(np.asarray(scroll_tops, dtype=float)))[0]
    if changed.size == 0:
        return None
    # diff index k is a change between frame k and frame k + 1.
    return int(changed[0]), int(changed[-1]) + 1


@dataclass(frozen=True)
class PassSmoothness:
    frame_ms: list[float]
    duration_ms: float
    fps: float
    expected_frames: int
    dropped_frames: int
    dropped_pct: float


def pass_smoothness(timestamps: list[float], refresh_ms: float) -> PassSmoothness:
    """Metrics of one pass from the rAF timestamps of its gesture window."""
    stamps = np.asarray(timestamps, dtype=float)
    if stamps.size < 2:
        raise ValueError("need at least two frames in the gesture window")
    intervals = np.diff(stamps)
    duration = float(stamps[-1] - stamps[0])
    slots = np.maximum(1, np.rint(intervals / refresh_ms)).astype(int)
    expected = int(slots.sum())
    dropped = expected - int(intervals.size)
    return PassSmoothness(
        frame_ms=intervals.tolist(),
        duration_ms=duration,
        fps=intervals.size / duration * 1000,
        expected_frames=expected,
        dropped_frames=dropped,
        dropped_pct=100.0 * dropped / expected,
    )


def overlapping(long_frames: list[dict], start_ms: float, end_ms: float) -> list[dict]:
    """Long animation frames that overlap [start_ms, end_ms] (page clock)."""
    return [f for f in long_frames
            if f["startTime"] <= end_ms and f["startTime"] + f["duration"] >= start_ms]


def reported_smoothness(states: list[str], refresh_ms: float) -> PassSmoothness | None:
    """Metrics of a window from its frame reports' states in vsync order (see the module docstring):
    frame_ms = k_i * R per presented frame, fps = presented / sum(frame_ms), dropped_pct = 100 *
    dropped / (presented + dropped); dropped vsyncs after the last presented frame count as dropped.
    None when nothing was presented."""
    slots, run, dropped = [], 0, 0
    for state in states:
        if state == "DROPPED":
            run += 1
            dropped += 1
        elif state.startswith("PRESENTED"):
            slots.append(1 + run)
            run = 0
        else:  # no update wanted: the page was at rest
            run = 0
    if not slots:
        return None
    frame_ms = [k * refresh_ms for k in slots]
    duration = float(sum(frame_ms))
    expected = len(slots) + dropped
    return PassSmoothness(frame_ms=frame_ms, duration_ms=duration, fps=len(slots) / duration * 1000,
                          expected_frames=expected, dropped_frames=dropped, dropped_pct=100.0 * dropped / expected)
