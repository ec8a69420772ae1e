"""Tables of a GateOutcome (comparison, budgets, environment): formatting only.

The same rows serve the terminal (tabulate "simple") and Markdown
(tabulate "github"), so both always say the same thing.
"""

from __future__ import annotations

from tabulate import tabulate

from ..gate.budgets import NOT_MEASURED
from ..gate.compare import machine_load_note, run_count, run_noise_note
from ..gate.verdict import GateOutcome, number

COMPARISON_HEADERS = ["metric", "base p50", "new p50", "p50 change [95% CI]", "p95 change [95% CI]",
                      "p", "verdict", "gate"]
BUDGET_HEADERS = ["budget", "rule", "measured", "95% CI", "status"]


def _change(change, ci, base, unit: str) -> str:
    """'+12.3 % [+8.1, +16.0]' relative to the baseline, or absolute when the baseline is 0."""
    if change is None:
        return "-"
    if base:
        scale, fmt = 100 / abs(base), "{:+.1f}"
        text = fmt.format(change * scale) + " %"
    else:
        scale, fmt = 1.0, "{:+.3g}"
        text = fmt.format(change) + (f" {unit}" if unit and unit != "count" else "")
    if ci is None:
        return text + " [no CI]"
    return f"{text} [{fmt.format(ci[0] * scale)}, {fmt.format(ci[1] * scale)}]"


def _p(p) -> str:
    if p is None:
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def comparison_rows(outcome: GateOutcome) -> list[list[str]]:
    rows = []
    for row in outcome.comparison.rows:
        gate = "yes" if row.gated else ""
        if row.difference is None:
            base, new = row.words or (None, None)
            rows.append([row.name, number(base), number(new), "-", "-", "-", row.verdict, gate])
            continue
        d = row.difference
        rows.append([row.name, number(d.base_p50, row.unit), number(d.new_p50, row.unit),
                     _change(d.change_p50, d.change_p50_ci, d.base_p50, row.unit),
                     _change(d.change_p95, d.change_p95_ci, d.base_p95, row.unit),
                     _p(d.p_value), row.verdict, gate])
    return rows


def budget_rows(outcome: GateOutcome) -> list[list[str]]:
    rows = []
    for r in outcome.budget_results:
        ci = "-" if not r.ci else f"[{number(r.ci[0])}, {number(r.ci[1])}]"
        measured = "-" if r.status == NOT_MEASURED else number(r.measured)
        rows.append([r.budget.key, r.budget.rule(), measured, ci, r.status])
    return rows


def environment_lines(outcome: GateOutcome) -> list[str]:
    env, config = outcome.results.get("env") or {}, outcome.results.get("config") or {}
    mode = "headless" if env.get("headless") else "headed"
    lines = [f"Chromium {env.get('chromium_version')} ({mode}, CPU throttle {env.get('cpu_throttle')}x, "
             f"{env.get('browser_location')}), {env.get('cpu_count')} CPUs, {env.get('platform')}",
             f"bench {env.get('bench_version')}, git {env.get('git_revision')}, "
             f"repetitions {config.get('repetitions_done', config.get('repeat'))}"]
    if outcome.sampling:
        lines.append(outcome.sampling)
    if outcome.baseline is not None:
        base_env = outcome.baseline.get("env") or {}
        lines.append(f"baseline {outcome.baseline_label}: Chromium {base_env.get('chromium_version')}, "
                     f"git {base_env.get('git_revision')}, started {base_env.get('started_at')}")
    if outcome.comparison is not None:
        for note in (run_noise_note(outcome.comparison),
                     machine_load_note(outcome.baseline, outcome.results)):
            if note:
                lines.append(note)
    if outcome.env_differences:
        lines.append("compared despite different environments (--force): " + "; ".join(outcome.env_differences))
    if outcome.comparison is not None:
        if outcome.comparison.only_in_base:
            lines.append("only in the baseline (not compared): " + ", ".join(outcome.comparison.only_in_base))
        if outcome.comparison.only_in_new:
            lines.append("only in the new run (not compared): " + ", ".join(outcome.comparison.only_in_new))
    return lines


def terminal(outcome: GateOutcome) -> str:
    """The gate's part of the terminal report: comparison and budget tables, then the verdict line."""
    parts = [""]
    if outcome.comparison is not None:
        parts += [f"compared with {outcome.baseline_label} ({run_count(outcome.baseline)} run(s)) -> this run "
                  f"({run_count(outcome.results)}): change = new - base, 95% CI by two-level bootstrap "
                  f"(runs, blocks), p = Mann-Whitney U on block medians",
                  tabulate(comparison_rows(outcome), headers=COMPARISON_HEADERS, disable_numparse=True), ""]
    if outcome.budgets is not None:
        parts += [f"budgets from {outcome.budgets.source}",
                  tabulate(budget_rows(outcome), headers=BUDGET_HEADERS, disable_numparse=True), ""]
    for line in environment_lines(outcome):  # (the auto-sample line is already among the run's notes)
        if line.startswith(("compared despite", "only in", "note:")):
            parts.append(line)
    parts.append(outcome.verdict_line())
    return "\n".join(parts)
