"""Change detection over one metric's per-run values (oldest first): pure functions, numpy/scipy.

Method: Hawkins' (1987) self-starting CUSUM for location, two-sided, on
winsorized scores, restarted after each change; the change's first run by
Hinkley's (1971) maximum-likelihood change time.

- Self-starting: run i is scored against the mean m and standard deviation
  s of the earlier runs of its regime (at least MIN_REF = 5 of them), less
  those of an excursion still open (S > 0), so a shift under way is not
  measured against a level it has already pulled up:
  T = (x_i - m) / (s sqrt(1 + 1/r)) with r earlier runs has Student's t
  distribution with r - 1 degrees of freedom when runs are independent and
  normal, and z = Phi^-1(F_t(T)) is then exactly standard normal. So the
  false-alarm rate holds from the fifth run on, without a long calibration
  period, and the level and spread follow the history as it grows. s is
  taken as at least a quarter of the metric's noise band, so a metric that
  never varied cannot alarm on a change below the band.
- z is winsorized at +-CLIP = 4, so one outlying run cannot raise an alarm
  alone (Lucas & Crosier 1982, robust CUSUM): a second run must confirm it.
- S+ = max(0, S+ + z - K), S- = max(0, S- - z - K), K = 0.5 (tuned to a
  shift of one standard deviation); an alarm is S > H = 5. For independent
  normal runs each side then averages about 930 runs between false alarms
  (ARL0; 465 for the two sides together; Montgomery, Introduction to
  Statistical Quality Control, table of CUSUM ARLs). The rate on real
  run-to-run spread, which has heavier tails, is measured in
  tests/test_history_changes.py and reported in docs/history.md.
- The change starts at the split of the regime (within the excursion that
  raised the alarm) that leaves the least squared error about the two
  segments' means: the maximum-likelihood change point of a normal mean
  (Hinkley 1970). The plain CUSUM names the run after the last zero, which
  is too early when noise nudged S just above 0.
- An alarm whose shift (median of the runs since the change - median of the
  regime before it) lies within the noise band (compare's: max(threshold x
  |level|, the metric's floor)) is no change; that side restarts.
- A change starts a new regime. Until it has MIN_REF runs of its own the
  change is current: the newest run belongs to a level that has not yet
  become the history's normal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

K = 0.5
H = 5.0
CLIP = 4.0
MIN_REF = 5
SUSPECT = 0.7  # an open excursion whose S passed SUSPECT x H is left out of the reference
WINDOW = 30


@dataclass(frozen=True)
class Change:
    start: int        # index of the change's first run
    detected: int     # index of the run whose CUSUM crossed H
    direction: int    # +1: values went up; -1: down
    level: float      # median of the regime before the change
    after: float      # median of the runs from start to the end of the change's regime

    @property
    def shift(self) -> float:
        return self.after - self.level


@dataclass(frozen=True)
class Scan:
    changes: list[Change]
    current: Change | None        # the last change, while its regime has fewer than MIN_REF runs
    monitored: bool               # there were enough runs (> MIN_REF) to watch any
    last_z: float | None          # the newest run's score against its regime (None: not scored)
    cusum: tuple[float, float]    # (S+, S-) at the newest run


def self_starting_score(value: float, earlier: np.ndarray, band: float) -> float:
    """Hawkins' standard-normal score of a run against the earlier runs of its regime."""
    from scipy import special  # here: ufuncs, fast; scipy.stats would cost ~0.4 s to import

    r = earlier.size
    s = max(float(earlier.std(ddof=1)), band / 4, 1e-12)
    t = (value - float(earlier.mean())) / (s * np.sqrt(1 + 1 / r))
    # z = Phi^-1(F_t(t)), from the nearer tail so neither side loses precision.
    return float(-special.ndtri(special.stdtr(r - 1, -t)) if t > 0 else special.ndtri(special.stdtr(r - 1, t)))


def hinkley_start(x: np.ndarray, seg: int, first: int, last: int) -> int:
    """Maximum-likelihood first run of a mean shift (Hinkley 1970, normal runs, both means unknown):
    the split c in [first, last] of x[seg..last] that leaves the least squared error about the two
    segments' means. The excursion that raised the alarm bounds where it may be."""
    def sse(part: np.ndarray) -> float:
        return float(((part - part.mean()) ** 2).sum()) if part.size else 0.0

    costs = [sse(x[seg:c]) + sse(x[c:last + 1]) for c in range(first, last + 1)]
    return first + int(np.argmin(costs))


def _watch(x: np.ndarray, seg: int, band: float, min_ref: int, k: float, h: float, clip: float):
    """CUSUM over the regime starting at seg: (the first change or None, the last score, (S+, S-))."""
    z = np.zeros(x.size)
    up = down = 0.0
    up_first = down_first = seg + min_ref
    for i in range(seg + min_ref, x.size):
        if up == 0.0:
            up_first = i
        if down == 0.0:
            down_first = i
        # Runs of an excursion still open are left out of the reference, so a shift under way does not
        # pull the level and spread it is measured against towards itself (Hawkins & Olwell 1998).
        open_since = min(up_first if up > h * SUSPECT else i, down_first if down > h * SUSPECT else i)
        reference = x[seg:open_since] if open_since - seg >= min_ref else x[seg:seg + min_ref]
        z[i] = np.clip(self_starting_score(x[i], reference, band), -clip, clip)
        up, down = max(0.0, up + z[i] - k), max(0.0, down - z[i] - k)
        for direction, s, first in ((1, up, up_first), (-1, down, down_first)):
            if s <= h:
                continue
            start = hinkley_start(x, seg, first, i)
            level, after = float(np.median(x[seg:start])), float(np.median(x[start:]))
            if abs(after - level) <= band:  # real but within the noise band: not a change
                up, down = (0.0, down) if direction == 1 else (up, 0.0)
                continue
            return Change(start, i, direction, level, after), None, (0.0, 0.0)
    last_z = float(z[-1]) if x.size > seg + min_ref else None
    return None, last_z, (up, down)


def scan(values, band: float, *, min_ref: int = MIN_REF, k: float = K, h: float = H, clip: float = CLIP) -> Scan:
    """Every change in values (a metric's per-run p50s, oldest first), and whether the last is current."""
    x = np.asarray(values, dtype=float)
    changes: list[Change] = []
    seg = 0
    while True:
        change, last_z, cusum = _watch(x, seg, band, min_ref, k, h, clip)
        if change is None:
            break
        if changes:  # the previous change's regime ends where this one starts
            prev = changes[-1]
            changes[-1] = Change(prev.start, prev.detected, prev.direction, prev.level,
                                 float(np.median(x[prev.start:change.start])))
        changes.append(change)
        seg = change.start
    current = changes[-1] if changes and x.size - changes[-1].start <= min_ref else None
    return Scan(changes, current, x.size > min_ref, last_z, cusum)
