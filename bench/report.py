"""Terminal report: a table of metrics (formatting only, no measuring)."""

from __future__ import annotations

from tabulate import tabulate

from .report_heap import suspects_table


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) < 1e5 else f"{value:.3g}"
    return str(value)


def _ci(m: dict, key: str) -> str:
    ci = m.get(key)
    return f"{_fmt(ci[0])}-{_fmt(ci[1])}" if ci else "-"


def metrics_table(results: dict, tablefmt: str = "simple") -> str:
    rows = []
    for name, m in results["metrics"].items():
        if "value" in m and "p50" not in m:  # a word metric, e.g. heap.verdict
            rows.append([name, m["n"], m["value"], "", "", "", "", "", m["unit"]])
            continue
        if m["unit"] == "count":
            rows.append([name, m["n"], f"total {_fmt(m.get('sum'))}", "", "", "", "", "", m["unit"]])
            continue
        rows.append([name, m["n"], _fmt(m["p50"]), _ci(m, "p50_ci"), _fmt(m["p95"]), _ci(m, "p95_ci"),
                     _fmt(m["p99"]), _fmt(m["max"]), m["unit"]])
    # 95 % CIs by block bootstrap (bench/bootstrap.py); "-" when too few blocks.
    return tabulate(rows, headers=["metric", "n", "p50", "p50 95% CI", "p95", "p95 95% CI", "p99", "max",
                                   "unit"], tablefmt=tablefmt, disable_numparse=True,
                    colalign=("left", "right", "right", "right", "right", "right", "right", "right", "left"))


def summary_lines(results: dict) -> list[str]:
    env = results["env"]
    mode = "headless" if env.get("headless") else "headed"
    where = ""
    if env.get("browser_location", "local") != "local":  # bench.browser_source
        where = f", {env['browser_location']} at {env.get('browser_endpoint')}, its machine " \
                f"{env.get('browser_cpu_count')} CPUs"
    lines = [
        f"Chromium {env.get('chromium_version')} ({mode}, {env['viewport']['width']}x"
        f"{env['viewport']['height']}, CPU throttle {env.get('cpu_throttle')}x{where}), "
        f"{env.get('cpu_count')} CPUs",
    ]
    if results.get("partial"):
        lines.append("PARTIAL RESULTS: the run was interrupted; these are the samples gathered so far.")
    lines.extend(results.get("notes", []))
    return lines


def render(results: dict) -> str:
    return "\n".join([metrics_table(results), *suspects_table(results), "", *summary_lines(results)])
