"""One self-contained HTML page of a run: verdict, budgets, plots, metrics, environment.

Everything is inline (CSS in a <style>, figures as <svg> from bench/report/plots.py),
so the file opens offline and makes no network request. Formatting only.
"""

from __future__ import annotations

import html
import json

from ..gate.verdict import GateOutcome
from .gate_tables import BUDGET_HEADERS, COMPARISON_HEADERS, budget_rows, comparison_rows, environment_lines
from .plots import all_plots
from .terminal import metrics_table

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1100px; color: #222; padding: 0 16px; }
h1 { font-size: 20px; } h2 { font-size: 17px; margin-top: 32px; border-bottom: 1px solid #ddd; }
.verdict { padding: 8px 12px; border-radius: 4px; font-weight: 600; }
.fail { background: #fde2e1; color: #8a1c14; } .pass { background: #e3f4e1; color: #1d5e17; }
.unmeasured { background: #f1f1f1; color: #555; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f6f6f6; } td:first-child, th:first-child { text-align: left; }
figure { margin: 16px 0; } figcaption { color: #555; font-size: 13px; }
figure svg { max-width: 100%; height: auto; }
code { background: #f4f4f4; padding: 0 3px; }
"""
STATUS_CLASS = {"PASS": "pass", "FAIL": "fail", "not measured": "unmeasured",
                "slower": "fail", "faster": "pass"}


def _table(headers: list[str], rows: list[list[str]], status_column: int | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            css = STATUS_CLASS.get(str(cell)) if i == status_column else None
            attr = f' class="{css}"' if css else ""
            cells.append(f"<td{attr}>{html.escape(str(cell))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _section(title: str, *parts: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{''.join(parts)}</section>"


def _environment(results: dict, outcome: GateOutcome) -> str:
    lines = "".join(f"<li>{html.escape(line)}</li>" for line in environment_lines(outcome))
    env = results.get("env") or {}
    rows = [[key, value if isinstance(value, str) else json.dumps(value)] for key, value in env.items()]
    return _section("Environment", f"<ul>{lines}</ul>", _table(["key", "value"], rows))


def html_report(results: dict, outcome: GateOutcome, title: str = "bench ui", extra: list[str] = ()) -> str:
    """The page. `extra`: lines about where this report came from (e.g. the trace archive's contents)."""
    verdict_class = "fail" if outcome.failed else ("pass" if outcome.comparison or outcome.budgets else "unmeasured")
    parts = [f'<p class="verdict {verdict_class}">{html.escape(outcome.verdict_line())}</p>']
    if results.get("partial"):
        parts.append('<p class="verdict fail">Partial results: the run was interrupted.</p>')
    parts.extend(f"<p>{html.escape(line)}</p>" for line in extra)
    if outcome.budgets is not None:
        parts.append(_section(f"Budgets ({outcome.budgets.source})",
                              _table(BUDGET_HEADERS, budget_rows(outcome), status_column=len(BUDGET_HEADERS) - 1)))
    if outcome.comparison is not None:
        parts.append(_section(f"Compared with baseline {outcome.baseline_label}",
                              _table(COMPARISON_HEADERS, comparison_rows(outcome), status_column=6)))
    figures = [f"<figure><figcaption><b>{html.escape(p.title)}</b></figcaption>{p.svg}"
               f"<figcaption>{html.escape(p.caption)}</figcaption></figure>" for p in all_plots(results)]
    parts.append(_section("Plots", *(figures or ["<p>Nothing to plot: no samples.</p>"])))
    parts.append(_section("Metrics", metrics_table(results, tablefmt="html")))
    notes = results.get("notes") or []
    if notes:
        parts.append(_section("Notes", "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"))
    parts.append(_environment(results, outcome))
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>{''.join(parts)}</body></html>\n")
