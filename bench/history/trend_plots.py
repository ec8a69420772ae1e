"""Trend figures of a history, as inline SVG (the run report's style: bench/report/plots.py)."""

from __future__ import annotations

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure

from ..report.plots import STYLE, Plot, svg_text
from ..report.terminal import display_scale
from .check import MetricCheck, short

MAX_LABELS = 30  # commit labels on the x axis; more runs than this label every k-th


def trend(check: MetricCheck) -> Plot:
    """p50 per run with its 95 % CI band, p95 dashed, changes marked, commits on the x axis."""
    points = check.points
    divisor, unit = display_scale(check.unit, points[-1].p50 if points else None)
    x = np.arange(len(points))
    p50 = np.array([p.p50 for p in points], dtype=float) / divisor
    lo = np.array([p.p50_ci[0] if p.p50_ci else np.nan for p in points], dtype=float) / divisor
    hi = np.array([p.p50_ci[1] if p.p50_ci else np.nan for p in points], dtype=float) / divisor
    p95 = np.array([np.nan if p.p95 is None else p.p95 for p in points], dtype=float) / divisor
    with rc_context(STYLE):
        figure = Figure(figsize=(9, 3.2), layout="constrained")
        axes = figure.subplots()
        axes.fill_between(x, lo, hi, color="#4477aa", alpha=0.25, linewidth=0, label="p50 95% CI")
        axes.plot(x, p50, "o-", color="#4477aa", markersize=4, label="p50")
        if not np.all(np.isnan(p95)):
            axes.plot(x, p95, "--", color="#66ccee", linewidth=1, label="p95")
        for change in check.scan.changes:
            current = change is check.current
            axes.axvline(change.start - 0.5, color="#cc3311" if current else "#999999", linestyle="-",
                         linewidth=1.2, label=f"change at {short(points[change.start].run.commit)}")
            axes.hlines([change.level / divisor, change.after / divisor], [0, change.start],
                        [change.start - 0.5, len(points) - 1], colors="#cc3311" if current else "#999999",
                        linestyles=":", linewidth=1)
        step = max(1, int(np.ceil(len(points) / MAX_LABELS)))
        axes.set_xticks(x[::step], [short(p.run.commit)[:8] for p in points][::step], rotation=60, fontsize=7)
        axes.set_xlabel("commit (oldest left)")
        axes.set_ylabel(f"{check.name} ({unit})")
        axes.legend(loc="upper left", fontsize=7)
        svg = svg_text(figure)
    caption = (f"p50 of each recorded run with its 95 % CI (two-level bootstrap, as in the run report) and p95. "
               f"Verdict: {check.verdict()}. {check.detail()}").strip()
    return Plot(f"{check.name}: {len(points)} runs", svg, caption)
