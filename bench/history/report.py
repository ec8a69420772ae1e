"""`bench history report --html PATH`: one self-contained page of trend plots (no network when opened)."""

from __future__ import annotations

import html

from ..report.html import CSS
from .check import MetricCheck, short, summary
from .series import History
from .show import _ci
from .trend_plots import trend
from ..report.terminal import _fmt, display_scale


def _runs_table(history: History) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("run", "commit", "branch", "recorded", "partial"))
    body = "".join(f"<tr><td>{r.id}</td><td>{html.escape(r.commit)}</td><td>{html.escape(r.branch or '')}</td>"
                   f"<td>{html.escape(r.recorded_at)}</td><td>{'yes' if r.partial else ''}</td></tr>"
                   for r in history.runs)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _values_table(check: MetricCheck) -> str:
    divisor, unit = display_scale(check.unit, check.points[-1].p50 if check.points else None)
    rows = "".join(f"<tr><td>{html.escape(short(p.run.commit))}</td><td>{_fmt(p.p50, divisor)}</td>"
                   f"<td>{_ci(p.p50_ci, divisor)}</td><td>{_fmt(p.p95, divisor)}</td></tr>"
                   for p in check.points)
    return (f"<details><summary>values ({html.escape(unit)})</summary><table><thead><tr><th>commit</th>"
            f"<th>p50</th><th>p50 95% CI</th><th>p95</th></tr></thead><tbody>{rows}</tbody></table></details>")


def html_page(history: History, checks: list[MetricCheck], title: str = "bench history") -> str:
    verdict = summary(checks)
    css = "fail" if verdict.startswith("FAIL") else "pass"
    parts = [f'<p class="verdict {css}">{html.escape(verdict)}</p>',
             f"<p>Branch <code>{html.escape(history.branch or '(none)')}</code>, {len(history.runs)} run(s) in "
             f"this environment ({html.escape(history.env_text())}). Changes by a self-starting CUSUM "
             f"(docs/history.md).</p>"]
    if history.other_env_runs:
        parts.append(f"<p>{history.other_env_runs} run(s) of this branch in other environments are not shown.</p>")
    figures = []
    for check in checks:
        if not check.points:
            continue
        plot = trend(check)
        figures.append(f"<figure><figcaption><b>{html.escape(plot.title)}</b></figcaption>{plot.svg}"
                       f"<figcaption>{html.escape(plot.caption)}</figcaption>{_values_table(check)}</figure>")
    parts.append(f"<section><h2>Trends</h2>{''.join(figures) or '<p>No metric to plot.</p>'}</section>")
    parts.append(f"<section><h2>Runs</h2>{_runs_table(history)}</section>")
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>{''.join(parts)}</body></html>\n")
