"""The production baseline table: Metric | Value | Target | Status, from a results dict.

The rows are the original report's four categories (throughput, connections,
UI render, memory) with its targets as defaults, plus the server latency
p50/p95 rows (shown, no target unless given). A row's value is read from a
metric measured in this run; a metric this run did not measure (a scenario
not built or not run, memory not readable) is 'not measured', never
invented. Formatting only: no measuring here (baseline_run.py measures).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, replace

from tabulate import tabulate

from .errors import UsageError

PASS, FAIL, NOT_MEASURED, INFO = "PASS", "FAIL", "not measured", "-"
MB = 1_000_000  # the report's "10 MB": SI megabytes

OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq}


@dataclass(frozen=True)
class Row:
    key: str          # --target KEY=VALUE
    label: str
    metric: str
    statistic: str    # p50 / p95 of the samples, or "verdict" for heap.verdict
    op: str | None    # None: shown, not judged
    target: float | str | None
    unit: str
    scale: float = 1.0  # value shown = metric / scale

    def target_text(self) -> str:
        if self.op is None:
            return "-"
        if isinstance(self.target, str):
            return self.target
        return f"{self.op} {self.target:g} {self.unit}".strip()


ROWS = (
    Row("throughput", "Message throughput (delivered)", "throughput.msgs_per_s", "p50", ">", 50, "msg/s"),
    Row("latency_p50", "Message latency p50 (server)", "throughput.latency_ms", "p50", None, None, "ms"),
    Row("latency_p95", "Message latency p95 (server)", "throughput.latency_ms", "p95", None, None, "ms"),
    Row("stability", "Connection stability", "connections.stability_pct", "p50", ">=", 99, "%"),
    Row("memory_per_connection", "Server memory per connection", "connections.server_bytes_per_connection",
        "p50", "<", 10, "MB", scale=MB),
    Row("message_shown", "Message shown (p95)", "paint.latency_ms", "p95", "<", 100, "ms"),
    # 57 = 60 fps less 5 %: headless Chromium's frame clock is a synthetic
    # 60 Hz, so a pass that drops one frame must not fail (as the budgets preset).
    Row("scroll_fps", "Scroll smoothness (p50)", "scroll.fps", "p50", ">=", 57, "fps"),
    Row("memory_growth", "Memory growth over reconnects", "heap.verdict", "verdict", "==", "stable", ""),
)

WHO_MEASURES = {
    "throughput": "bench throughput",
    "connections": "bench connections",
    "paint": "the ui burst scenario",
    "scroll": "the ui scroll scenario",
    "heap": "the ui cycles scenario",
}


def with_targets(rows: tuple[Row, ...], overrides: list[str]) -> tuple[Row, ...]:
    """Apply --target KEY=VALUE (or KEY=OP VALUE, e.g. 'latency_p95=<50')."""
    by_key = {r.key: r for r in rows}
    for text in overrides:
        key, sep, value = text.partition("=")
        if not sep or key not in by_key:
            raise UsageError(f"--target {text!r}: use KEY=VALUE with KEY one of {', '.join(by_key)}")
        row = by_key[key]
        value = value.strip()
        op = next((o for o in sorted(OPERATORS, key=len, reverse=True) if value.startswith(o)), None)
        if op:
            value = value[len(op):].strip()
        if row.statistic == "verdict":
            by_key[key] = replace(row, op="==", target=value)
            continue
        try:
            number = float(value)
        except ValueError:
            raise UsageError(f"--target {text!r}: {value!r} is not a number") from None
        by_key[key] = replace(row, op=op or row.op or "<", target=number)
    return tuple(by_key[r.key] for r in rows)


def _verdict(samples: list) -> str:
    """heap.verdict as a word: samples are words ("stable"/"leak") or 1 = leak / 0 = stable."""
    words = ["leak" if s == 1 else "stable" if s == 0 else str(s) for s in samples]
    return "leak" if "leak" in words else words[0]


def evaluate(row: Row, metrics: dict) -> dict:
    """One table row from a results "metrics" mapping."""
    m = metrics.get(row.metric)
    out = {"key": row.key, "metric": row.metric, "label": row.label, "target": row.target_text(),
           "value": None, "status": NOT_MEASURED}
    if not m or not m.get("samples"):
        who = WHO_MEASURES.get(row.metric.split(".")[0], "nothing in this build")
        out["reason"] = f"{row.metric} not measured in this run ({who})"
        return out
    if row.statistic == "verdict":
        value = _verdict(m["samples"])
        shown = value
    else:
        value = m[row.statistic] / row.scale
        shown = f"{value:.3g} {row.unit}" if value < 1000 else f"{value:,.0f} {row.unit}"
    out["value"], out["shown"] = value, shown.strip()
    if row.op is None:
        out["status"] = INFO
    else:
        out["status"] = PASS if OPERATORS[row.op](value, row.target) else FAIL
    return out


def baseline_rows(results: dict, rows: tuple[Row, ...] = ROWS) -> list[dict]:
    return [evaluate(r, results["metrics"]) for r in rows]


def failed(table: list[dict]) -> bool:
    return any(r["status"] == FAIL for r in table)


def _cells(table: list[dict]) -> list[list[str]]:
    return [[r["label"], "-" if r["value"] is None else r["shown"], r["target"], r["status"]] for r in table]


HEADERS = ["Metric", "Value", "Target", "Status"]


def render_table(table: list[dict]) -> str:
    return tabulate(_cells(table), headers=HEADERS)


def render_markdown(table: list[dict], footer: list[str]) -> str:
    """A GitHub-flavoured table for a job summary ($GITHUB_STEP_SUMMARY) or a pull request."""
    lines = ["## Production baseline", "", tabulate(_cells(table), headers=HEADERS, tablefmt="github"), ""]
    lines += [f"- {line}" for line in footer]
    return "\n".join(lines) + "\n"
