"""--auto-sample: repeat until the gated numbers are resolved, or time runs out.

Resolved means, for every gated numeric metric (bench.metric_catalog):
- with a baseline: the 95 % CI of its p50 change is narrower than its noise
  band (threshold x |baseline p50|, or the metric's absolute floor);
- without one: the 95 % CI of its p50 is narrower than threshold x |p50|
  (or the floor).
A CI narrower than the band cannot reach across it, so the verdict it gives
(or the p50 it brackets) is known to within the threshold. Word metrics
(heap.verdict) have no CI and never hold sampling up.
"""

from __future__ import annotations

import time

from . import metric_catalog
from .compare import Thresholds, compare_results


def _width(ci) -> float | None:
    return None if ci is None else ci[1] - ci[0]


def unresolved(results: dict, baseline: dict | None, thresholds: Thresholds, gate) -> list[str]:
    """Names of the gated metrics whose CI is still as wide as their band (or missing)."""
    names = []
    if baseline is not None:
        for row in compare_results(baseline, results, thresholds, gate).gated:
            d = row.difference
            if d is None:
                continue
            width = _width(d.change_p50_ci)
            if width is None or d.band is None or width >= d.band:
                names.append(row.name)
        return names
    for name, metric in results["metrics"].items():
        if "p50" not in metric or not metric_catalog.is_gated(name, gate):
            continue
        band = max(thresholds.for_metric(name) * abs(metric["p50"] or 0), metric_catalog.info(name).floor)
        width = _width(metric.get("p50_ci"))
        if width is None or width >= band:
            names.append(name)
    return names


class AutoSampler:
    """The `until` of a UiRun: True (stop) once resolved, or when another repetition would pass max_time_s."""

    def __init__(self, baseline: dict | None, thresholds: Thresholds, gate, max_time_s: float,
                 clock=time.monotonic):
        self.baseline = baseline
        self.thresholds = thresholds
        self.gate = gate
        self.max_time_s = max_time_s
        self.clock = clock
        self.started = clock()
        self.status = "auto-sample: not started"
        self.resolved = False

    def __call__(self, run) -> bool:
        reps = run.repetitions_done
        open_names = unresolved(run.results.to_json(), self.baseline, self.thresholds, self.gate)
        elapsed = self.clock() - self.started
        what = "every gated difference" if self.baseline is not None else "every gated p50 CI"
        if not open_names:
            self.resolved = True
            self.status = (f"auto-sample: {what} narrower than its threshold after {reps} repetition(s), "
                           f"{elapsed:.0f} s")
            return True
        per_repetition = elapsed / reps  # browser start included: errs on the side of stopping early
        if elapsed + per_repetition >= self.max_time_s:
            self.status = (f"auto-sample: stopped at --max-time after {reps} repetition(s), {elapsed:.0f} s; "
                           f"still wider than the threshold: {', '.join(open_names)}")
            return True
        return False
