"""Open-loop schedules: when each message is due, whatever the server does.

Message seq of a phase is due at t0 + seq / rate on the machine's monotonic
clock (time.monotonic: CLOCK_MONOTONIC on Linux, shared by every process, so
workers and coordinator agree). Latency is measured from that due time: a
stalled server or a stalled generator shows up in the latency instead of
silently thinning the sample (coordinated omission, docs/metrics.md).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable


@dataclass(frozen=True)
class Schedule:
    """One phase: `count` messages at `rate`/s from t0; the first `warmup` are not measured."""

    phase: int
    t0: float
    rate: float
    count: int
    warmup: int

    def at(self, seq: int) -> float:
        return self.t0 + seq / self.rate

    @property
    def last_due(self) -> float:
        return self.at(self.count - 1)

    @property
    def measured(self) -> int:
        return self.count - self.warmup

    def seqs_for(self, sender: int, senders: int) -> range:
        """Sender k of S sends every S-th message, so together they keep the one rate."""
        return range(sender, self.count, senders)

    def to_json(self) -> dict:
        return asdict(self)


def phase_counts(rate: float, duration_s: float | None, messages: int | None,
                 warmup_s: float) -> tuple[int, int]:
    """(total, warm-up) message counts for a phase at `rate`."""
    warmup = int(round(warmup_s * rate))
    measured = messages if messages is not None else max(1, int(round(duration_s * rate)))
    return warmup + measured, warmup


@dataclass
class Step:
    """One rate tried by the ramp, and what it showed."""

    rate: float
    ok: bool
    reason: str          # why not ok ("" when ok)
    generator_limited: bool = False


def find_max_rate(try_rate: Callable[[float], Step], start: float, factor: float, limit: float,
                  refine: int) -> tuple[float | None, list[Step]]:
    """Highest rate try_rate() calls ok: double until one fails, then bisect.

    Rates grow geometrically from `start` by `factor` up to `limit`; after the
    first failure, `refine` bisections between the last good and the first
    bad rate, on a log scale (geometric mean), narrow the answer to within a
    factor of factor ** (1 / 2 ** refine). A step where the generator itself
    fell behind ends the search: above it nothing says anything about the
    server.
    """
    steps: list[Step] = []
    good, bad = None, None
    rate = start
    while rate <= limit:
        step = try_rate(rate)
        steps.append(step)
        if step.generator_limited:
            return good, steps
        if not step.ok:
            bad = rate
            break
        good = rate
        rate *= factor
    if good is None or bad is None:
        return good, steps
    for _ in range(refine):
        mid = round(math.sqrt(good * bad))
        if mid <= good or mid >= bad:
            break
        step = try_rate(mid)
        steps.append(step)
        if step.generator_limited:
            break
        if step.ok:
            good = mid
        else:
            bad = mid
    return good, steps
