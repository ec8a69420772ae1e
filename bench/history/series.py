"""The runs of one branch and environment, and each metric's values across them."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass

from ..results import metric_catalog
from .store import Run, Store


@dataclass(frozen=True)
class Point:
    run: Run
    p50: float | None
    p50_ci: tuple[float, float] | None
    p95: float | None
    p95_ci: tuple[float, float] | None
    n: int | None
    value: str | None  # a word metric's word


@dataclass
class History:
    """Runs of one branch and environment, oldest first, with each metric's points."""

    branch: str | None
    env_key: str
    runs: list[Run]
    points: dict[str, list[Point]]   # metric -> one point per run that measured it
    units: dict[str, str]
    other_env_runs: int               # runs of the branch left out: another environment

    def env_text(self) -> str:
        key = json.loads(self.env_key)
        return ", ".join(f"{k} {v}" for k, v in key.items())


def _ci(lo, hi) -> tuple[float, float] | None:
    return None if lo is None or hi is None else (lo, hi)


def select(store: Store, branch: str | None = None, last: int | None = None) -> History | None:
    """The history of `branch` (default: the newest run's) in the newest run's environment."""
    # branch None: the newest run's branch (which may be none: runs recorded outside any branch)
    newest = store.newest() if branch is None else next(iter(store.runs(branch=branch, last=1)), None)
    if newest is None:
        return None
    branch = newest.branch
    runs = store.runs(branch=branch, env_key=newest.env_key, last=last)
    everything = store.runs(branch=branch, last=last)
    points: dict[str, list[Point]] = {}
    units: dict[str, str] = {}
    for run_id, metrics in store.metrics([r.id for r in runs]).items():
        run = next(r for r in runs if r.id == run_id)
        for name, m in metrics.items():
            units.setdefault(name, m["unit"] or "")
            points.setdefault(name, []).append(Point(run, m["p50"], _ci(m["p50_lo"], m["p50_hi"]), m["p95"],
                                                     _ci(m["p95_lo"], m["p95_hi"]), m["n"], m["value"]))
    for values in points.values():
        values.sort(key=lambda p: p.run.id)
    return History(branch, newest.env_key, runs, dict(sorted(points.items())), units,
                   len(everything) - len(runs))


def chosen_metrics(history: History, patterns: tuple[str, ...] | None) -> list[str]:
    """Metrics matching the patterns (fnmatch, also on the name without a pytest test id); default: the
    gated ones (bench/results/metric_catalog.py DEFAULT_GATE) that have numbers."""
    names = [n for n, pts in history.points.items() if any(p.p50 is not None for p in pts)]
    if not patterns:
        return [n for n in names if metric_catalog.is_gated(n, metric_catalog.DEFAULT_GATE)]
    return [n for n in names if any(fnmatch.fnmatchcase(x, p) for p in patterns
                                    for x in (n, metric_catalog.base_metric(n)))]


def parse_patterns(text: str | None) -> tuple[str, ...] | None:
    if not text:
        return None
    return tuple(p.strip() for p in text.split(",") if p.strip()) or None
