"""--auto-sample: repeat until the gated numbers are resolved, or time runs out.

Resolved means, for every gated numeric metric (bench.results.metric_catalog):
- with a baseline: the 95 % CI of its p50 change lies wholly on one side of
  each horizon -band and +band (band = threshold x |baseline p50|, or the
  metric's absolute floor): wholly beyond +band (slower), wholly within
  [-band, +band] (same) or wholly below -band (faster). These are
  tachometer's horizons: sampling stops as soon as the verdict cannot change
  by more sampling of the same size, which for a change far beyond the band is
  after the first repetition, however wide its CI still is; and the verdict
  is not `unsure` (its Mann-Whitney p is below 0.05 too);
- without one: the 95 % CI of its p50 is narrower than threshold x |p50|
  (or the floor): there is no horizon, so the p50 is known to the threshold.
Word metrics (heap.verdict) have no CI and never hold sampling up.
"""

from __future__ import annotations

import time

from ..results import metric_catalog
from .compare import Thresholds, compare_results


def resolved_against(ci, band: float | None) -> bool:
    """The CI lies wholly on one side of each horizon -band and +band (tachometer's horizons)."""
    if ci is None or band is None:
        return False
    lo, hi = ci
    return all(lo > h or hi < h for h in (-band, band))


def difference_resolved(d) -> bool:
    """A gated change is resolved: its CI clears the horizons and its verdict is decided.

    The verdict also asks p < 0.05 (bench.stats.difference.verdict): a CI
    wholly beyond the band with p >= 0.05 is still `unsure`, and stopping
    there passed a +5 ms change as unsure (seen in CI: p = 0.059 after one
    repetition). More blocks lower p, so sampling goes on.
    """
    return resolved_against(d.change_p50_ci, d.band) and d.verdict != "unsure"


def unresolved(results: dict, baseline: dict | None, thresholds: Thresholds, gate) -> list[str]:
    """Names of the gated metrics not yet resolved (module docstring)."""
    names = []
    if baseline is not None:
        for row in compare_results(baseline, results, thresholds, gate).gated:
            d = row.difference
            if d is None:
                continue
            if not difference_resolved(d):
                names.append(row.name)
        return names
    for name, metric in results["metrics"].items():
        if "p50" not in metric or not metric_catalog.is_gated(name, gate):
            continue
        band = thresholds.band(name, metric["p50"] or 0)
        ci = metric.get("p50_ci")
        if ci is None or ci[1] - ci[0] >= band:
            names.append(name)
    return names


class AutoSampler:
    """The `until` of a UiRun: True (stop) once resolved, or when another repetition would pass max_time_s."""

    def __init__(self, baseline, thresholds: Thresholds, gate, max_time_s: float,
                 clock=time.monotonic):
        """baseline: a results dict, None, or a function of the run giving one (an interleaved baseline)."""
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
        baseline = self.baseline(run) if callable(self.baseline) else self.baseline
        open_names = unresolved(run.results.to_json(), baseline, self.thresholds, self.gate)
        elapsed = self.clock() - self.started
        what = ("every gated difference's CI on one side of each threshold" if self.baseline is not None
                else "every gated p50 CI narrower than its threshold")
        if not open_names:
            self.resolved = True
            self.status = f"auto-sample: {what} after {reps} repetition(s), {elapsed:.0f} s"
            return True
        per_repetition = elapsed / reps  # browser start included: errs on the side of stopping early
        if elapsed + per_repetition >= self.max_time_s:
            self.status = (f"auto-sample: stopped at --max-time after {reps} repetition(s), {elapsed:.0f} s; "
                           f"still unresolved: {', '.join(open_names)}")
            return True
        return False
