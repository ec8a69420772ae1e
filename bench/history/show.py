"""`bench history show`: a table per metric of the runs, newest last, with p50 and p95 and their CIs."""

from __future__ import annotations

from tabulate import tabulate

from ..report.terminal import _fmt, display_scale
from .check import short
from .series import History


def _ci(ci, divisor: float) -> str:
    return f"{_fmt(ci[0], divisor)} to {_fmt(ci[1], divisor)}" if ci else "-"


def metric_table(history: History, name: str) -> str:
    points = history.points[name]
    reference = next((p.p50 for p in reversed(points) if p.p50 is not None), None)
    divisor, unit = display_scale(history.units.get(name, ""), reference)
    partial = any(p.run.partial for p in points)  # a column only when some run was interrupted
    rows = [[p.run.id, short(p.run.commit), p.run.recorded_at.replace("+00:00", "Z"), _fmt(p.n),
             p.value if p.value is not None else _fmt(p.p50, divisor), _ci(p.p50_ci, divisor),
             _fmt(p.p95, divisor), _ci(p.p95_ci, divisor), *(["partial" if p.run.partial else ""] if partial else [])]
            for p in points]
    headers = ["run", "commit", "recorded", "n", "p50", "p50 95% CI", "p95", "p95 95% CI", *([""] if partial else [])]
    align = ("right", "left", "left", "right", "right", "right", "right", "right", "left")[:len(headers)]
    return f"{name} ({unit})\n" + tabulate(rows, headers=headers, disable_numparse=True, colalign=align)


def text_report(history: History, names: list[str]) -> str:
    head = (f"branch {history.branch or '(none)'}: the last {len(history.runs)} run(s) in this environment "
            f"({history.env_text()})")
    if history.other_env_runs:
        head += f"; {history.other_env_runs} run(s) of the branch in other environments not shown"
    return "\n\n".join([head, *(metric_table(history, n) for n in names)])
