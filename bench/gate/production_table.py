"""The production baseline table: Metric | Value | Target | Status, from a results dict.

The rows are the original report's four categories (throughput, connections,
UI render, memory) plus the server latency p50/p95 rows. Targets are budgets
(bench/gate/budgets.py), so `bench baseline` and `bench ui --budgets` judge alike:
the preset `baseline` (the original report's targets) first, then the user's
budgets (--budgets or [tool.bench.budgets]) replace the ones they name and
add rows for the others, then --target KEY=VALUE. A row without a budget is
shown, not judged. A metric this run did not measure (a scenario not built
or not run, memory not readable) is 'not measured', never invented.
Formatting only: no measuring here (baseline_run.py measures).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tabulate import tabulate

from .budgets import FAIL, NOT_MEASURED, PASS, Budget, BudgetSet, check, load_budgets
from ..errors import UsageError

INFO = "-"
MB = 1_000_000  # the report's "10 MB": SI megabytes
__all__ = ["FAIL", "INFO", "MB", "NOT_MEASURED", "PASS", "ROWS", "Row", "baseline_rows", "targets"]


@dataclass(frozen=True)
class Row:
    key: str                # --target KEY=VALUE
    label: str
    metric: str
    statistic: str | None   # p50 / p95 of the samples; None for a word metric (heap.verdict)
    unit: str
    scale: float = 1.0      # value shown = metric / scale; --target values are in shown units

    @property
    def budget_key(self) -> str:
        return self.metric if self.statistic is None else f"{self.metric}.{self.statistic}"

    def show(self, value) -> str:
        if isinstance(value, str):
            return value
        value /= self.scale
        text = f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
        return f"{text} {self.unit}".strip()

    def target_text(self, budget: Budget | None) -> str:
        if budget is None:
            return INFO
        parts = [f">= {self.show(budget.min)}" if budget.min is not None else "",
                 f"<= {self.show(budget.max)}" if budget.max is not None else "",
                 f"{budget.equals}" if budget.equals is not None else ""]
        return " and ".join(p for p in parts if p)


ROWS = (
    Row("throughput", "Message throughput (delivered)", "throughput.msgs_per_s", "p50", "msg/s"),
    Row("latency_p50", "Message latency p50 (server)", "throughput.latency_ms", "p50", "ms"),
    Row("latency_p95", "Message latency p95 (server)", "throughput.latency_ms", "p95", "ms"),
    Row("stability", "Connection stability", "connections.stability_pct", "p50", "%"),
    Row("memory_per_connection", "Server memory per connection", "connections.server_bytes_per_connection",
        "p50", "MB", scale=MB),
    # paint.presented_ms, not paint.latency_ms: it counts every message,
    # including those a burst scrolls out of view before a frame shows them.
    Row("message_shown", "Message shown (p95)", "paint.presented_ms", "p95", "ms"),
    Row("scroll_fps", "Scroll smoothness (p50)", "scroll.fps", "p50", "fps"),
    Row("memory_growth", "Memory growth over reconnects", "heap.verdict", None, ""),
)

WHO_MEASURES = {
    "throughput": "bench throughput",
    "connections": "bench connections",
    "paint": "the ui burst scenario",
    "scroll": "the ui scroll scenario",
    "heap": "the ui cycles scenario",
}

PRESET = "baseline"


def _target_budget(row: Row, text: str, current: Budget | None) -> Budget:
    """--target KEY=VALUE: VALUE is 'NUMBER' (the row's direction), 'OP NUMBER' or, for a word, the word.

    Numbers are in the row's shown unit (memory_per_connection=5 is 5 MB); every
    target is inclusive (a budget's min/max), so '<20' means at most 20.
    """
    value = text.strip()
    if row.statistic is None:
        return Budget(row.budget_key, row.metric, None, equals=value.lstrip("=").strip())
    op = next((o for o in ("<=", ">=", "<", ">") if value.startswith(o)), None)
    number_text = value[len(op):].strip() if op else value
    try:
        number = float(number_text) * row.scale
    except ValueError:
        raise UsageError(f"--target {row.key}={text}: {number_text!r} is not a number") from None
    at_least = op in (">", ">=") if op else (current is not None and current.min is not None)
    return Budget(row.budget_key, row.metric, row.statistic,
                  min=number if at_least else None, max=None if at_least else number)


def targets(user: BudgetSet | None = None, overrides: list[str] = ()) -> tuple[dict[str, Budget], str]:
    """Budgets by key (the preset's, replaced or extended by the user's, then --target), and where from."""
    by_key = {b.key: b for b in load_budgets(PRESET).budgets}
    source = "the original report's targets (preset baseline)"
    if user is not None:
        by_key.update({b.key: b for b in user.budgets})
        source += f", with {user.source}"
    rows = {r.key: r for r in ROWS}
    for text in overrides:
        key, sep, value = text.partition("=")
        if not sep or key not in rows:
            raise UsageError(f"--target {text!r}: use KEY=VALUE with KEY one of {', '.join(rows)}")
        row = rows[key]
        by_key[row.budget_key] = _target_budget(row, value, by_key.get(row.budget_key))
    if overrides:
        source += ", and --target"
    return by_key, source


def _extra_row(budget: Budget) -> Row:
    """A row for a user's budget on a metric the table has no row for."""
    return Row(budget.key, budget.key, budget.metric, budget.statistic, "")


def table_rows(budgets: dict[str, Budget]) -> list[tuple[Row, Budget | None]]:
    named = {r.budget_key for r in ROWS}
    return [(r, budgets.get(r.budget_key)) for r in ROWS] + \
        [(_extra_row(b), b) for key, b in budgets.items() if key not in named]


def evaluate(row: Row, budget: Budget | None, metrics: dict) -> dict:
    """One table row from a results "metrics" mapping."""
    m = metrics.get(row.metric)
    out = {"key": row.key, "metric": row.metric, "statistic": row.statistic, "label": row.label,
           "target": row.target_text(budget), "value": None, "status": NOT_MEASURED}
    checked = check(budget or Budget(row.budget_key, row.metric, row.statistic), metrics)
    value = checked.measured if m and m.get("samples") else None
    if value is None:
        who = WHO_MEASURES.get(row.metric.split(".")[0], "nothing in this build")
        out["reason"] = f"{row.metric} not measured in this run ({who})"
        return out
    unit = row.unit or ("" if m.get("unit") in (None, "count", "word") else m["unit"])
    out["value"] = value if isinstance(value, str) else value / row.scale
    out["shown"] = replace(row, unit=unit).show(value)
    out["status"] = INFO if budget is None else checked.status
    return out


def baseline_rows(results: dict, budgets: dict[str, Budget] | None = None) -> list[dict]:
    if budgets is None:
        budgets, _ = targets()
    return [evaluate(row, budget, results["metrics"]) for row, budget in table_rows(budgets)]


def failed(table: list[dict]) -> bool:
    return any(r["status"] == FAIL for r in table)


def _cells(table: list[dict]) -> list[list[str]]:
    return [[r["label"], "-" if r["value"] is None else r["shown"], r["target"], r["status"]] for r in table]


HEADERS = ["Metric", "Value", "Target", "Status"]


def format_table(table: list[dict]) -> str:
    return tabulate(_cells(table), headers=HEADERS, disable_numparse=True)


def format_markdown(table: list[dict], footer: list[str]) -> str:
    """A GitHub-flavoured table for a job summary ($GITHUB_STEP_SUMMARY) or a pull request."""
    lines = ["## Production baseline", "",
             tabulate(_cells(table), headers=HEADERS, tablefmt="github", disable_numparse=True), ""]
    lines += [f"- {line}" for line in footer]
    return "\n".join(lines) + "\n"


def junit_cases(table: list[dict]) -> list[tuple[str, str | None, str | None, str]]:
    """The table as JUnit test cases: (name, failure, skipped, system-out)."""
    cases = []
    for r in table:
        text = f"{r['label']}: {r.get('shown', '-')} (target {r['target']}): {r['status']}"
        cases.append((f"{r['label']} {r['target']}", text if r["status"] == FAIL else None,
                      r.get("reason") if r["status"] == NOT_MEASURED else None, text))
    return cases

