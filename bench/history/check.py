"""`bench history check`: is the newest run a break from the history of its branch and environment?

Each chosen metric's per-run p50 over the last --window runs goes through
bench/history/changes.py (self-starting CUSUM, Hinkley's change point). A
current change in the worse direction of a gated metric fails (exit 1) and
names the change's first commit; one in the better direction, or of a
metric with no better side, is reported and passes.
"""

from __future__ import annotations

from dataclasses import dataclass

from tabulate import tabulate

from ..results import metric_catalog
from ..gate.compare import Thresholds
from ..stats.difference import LOWER, NONE
from ..report.terminal import _fmt, display_scale
from . import changes
from .series import History, Point


@dataclass(frozen=True)
class MetricCheck:
    name: str
    unit: str
    points: list[Point]            # the runs scanned, oldest first
    scan: changes.Scan
    band: float
    direction: str                 # LOWER | HIGHER | NONE
    gated: bool

    @property
    def current(self) -> changes.Change | None:
        return self.scan.current

    @property
    def worse(self) -> bool:
        change = self.current
        if change is None or self.direction == NONE:
            return False
        return change.direction == (1 if self.direction == LOWER else -1)

    @property
    def failed(self) -> bool:
        return self.gated and self.worse

    def first_commit(self, change: changes.Change) -> str:
        return self.points[change.start].run.commit

    def verdict(self) -> str:
        change = self.current
        if not self.scan.monitored:
            return f"too few runs ({len(self.points)}; more than {changes.MIN_REF} needed)"
        if change is None:
            return "steady"
        word = ("slower" if self.worse else "faster") if self.direction != NONE else \
            ("higher" if change.direction == 1 else "lower")
        return f"{word} since {short(self.first_commit(change))}"

    def detail(self) -> str:
        change = self.current
        if change is None:
            if self.scan.last_z is None:
                return ""
            return f"newest run {self.scan.last_z:+.1f} sd from the level; CUSUM up {self.scan.cusum[0]:.1f}, " \
                   f"down {self.scan.cusum[1]:.1f} (alarm above {changes.H:g})"
        rel = f" ({change.shift / abs(change.level) * 100:+.0f} %)" if change.level else ""
        return (f"{self.fmt(change.level)} -> {self.fmt(change.after)} {self.unit}{rel}, "
                f"{len(self.points) - change.start} run(s) at the new level, alarm at "
                f"{short(self.points[change.detected].run.commit)}")

    def fmt(self, value: float) -> str:
        divisor, _ = display_scale(self.unit, value)
        return _fmt(value, divisor)


def short(commit: str) -> str:
    return commit[:12] if len(commit) >= 40 else commit


def check_metric(history: History, name: str, window: int, gate) -> MetricCheck:
    import numpy as np

    points = [p for p in history.points[name] if p.p50 is not None][-window:]
    values = [p.p50 for p in points]
    band = Thresholds().band(name, float(np.median(values))) if values else 0.0  # compare's band
    direction = metric_catalog.direction_of(name)
    gated = metric_catalog.is_gated(name, gate)
    return MetricCheck(name, history.units.get(name, ""), points, changes.scan(values, band), band, direction,
                       gated)


def table(checks: list[MetricCheck]) -> str:
    rows = []
    for c in checks:
        divisor, unit = display_scale(c.unit, c.points[-1].p50 if c.points else None)
        level = c.current.level if c.current else (
            float(sorted(p.p50 for p in c.points)[len(c.points) // 2]) if c.points else None)
        rows.append([c.name, len(c.points), _fmt(level, divisor), _fmt(c.points[-1].p50 if c.points else None,
                                                                       divisor),
                     unit, "yes" if c.gated else "", c.verdict(), c.detail()])
    return tabulate(rows, headers=["metric", "runs", "level p50", "newest p50", "unit", "gate", "verdict", "detail"],
                    disable_numparse=True)


def summary(checks: list[MetricCheck]) -> str:
    failed = [c for c in checks if c.failed]
    if failed:
        parts = [f"{c.name} {'slower' if c.worse else c.verdict()} from commit {c.first_commit(c.current)} on "
                 f"({c.fmt(c.current.level)} -> {c.fmt(c.current.after)} {c.unit})" for c in failed]
        return "FAIL: the newest run breaks from the history: " + "; ".join(parts)
    others = [c for c in checks if c.current is not None]
    tail = f" ({len(others)} ungated or better change(s) shown above)" if others else ""
    return f"PASS: no gated metric broke from its history{tail}"
