"""Terminal report: a table of metrics (formatting only, no measuring)."""

from __future__ import annotations

from tabulate import SEPARATING_LINE, tabulate

from .heap import suspects_table
from .time_spent import where_time_goes


_BINARY = ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"))


def display_scale(unit: str, reference: float | None) -> tuple[float, str]:
    """(divisor, unit to show): byte units in KiB/MiB/GiB by the size of `reference`."""
    if not unit.startswith("bytes") or reference is None:
        return 1.0, unit
    for divisor, name in _BINARY:
        if abs(reference) >= divisor:
            return float(divisor), name + unit[len("bytes"):]
    return 1.0, unit


def _fmt(value, divisor: float = 1.0) -> str:
    if value is None:
        return "-"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = value / divisor
        if float(value).is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.1f}" if abs(value) < 1e5 else f"{value:.3g}"
    return str(value)


def _ci(m: dict, key: str, divisor: float = 1.0) -> str:
    ci = m.get(key)
    return f"{_fmt(ci[0], divisor)} to {_fmt(ci[1], divisor)}" if ci else "-"


def _family(name: str) -> str:
    """Rows are grouped by what they measure; paint and burst belong together."""
    head = name.split(".")[0]
    return "paint" if head == "burst" else head


def _shared_scales(metrics: dict) -> dict:
    """(family, unit) -> the largest |p50| among its rows: rows of one unit in one family (a heap slope
    and the bounds of its CI) are shown in one scale, so 495.2 bytes/cycle is not read beside a bound
    of 11.2 KiB/cycle."""
    reference: dict = {}
    for name, m in metrics.items():
        if isinstance(m.get("p50"), (int, float)) and not isinstance(m["p50"], bool):
            key = (_family(name), m["unit"])
            reference[key] = max(reference.get(key, 0.0), abs(m["p50"]))
    return reference


def metrics_table(results: dict, tablefmt: str = "simple") -> str:
    rows: list = []
    family = None
    scales = _shared_scales(results["metrics"])
    for name, m in results["metrics"].items():
        if family is not None and _family(name) != family:
            rows.append(SEPARATING_LINE)
        family = _family(name)
        if "value" in m and "p50" not in m:  # a word metric, e.g. heap.verdict
            rows.append([name, m["n"], m["value"], "", "", "", "", "", m["unit"]])
            continue
        if m["unit"] == "count":
            rows.append([name, m["n"], f"total {_fmt(m.get('sum'))}", "", "", "", "", "", m["unit"]])
            continue
        divisor, unit = display_scale(m["unit"], scales.get((family, m["unit"]), m.get("p50")))
        rows.append([name, m["n"], _fmt(m["p50"], divisor), _ci(m, "p50_ci", divisor),
                     _fmt(m["p95"], divisor), _ci(m, "p95_ci", divisor), _fmt(m["p99"], divisor),
                     _fmt(m["max"], divisor), unit])
    # 95 % CIs by block bootstrap (bench/stats/bootstrap.py); "-" when too few blocks.
    return tabulate(rows, headers=["metric", "n", "p50", "p50 95% CI", "p95", "p95 95% CI", "p99", "max",
                                   "unit"], tablefmt=tablefmt, disable_numparse=True,
                    colalign=("left", "right", "right", "right", "right", "right", "right", "right", "left"))


def browser_line(env: dict) -> str:
    """Which browser measured, how, and where: 'Chromium 156.0... (headless, 1280x800, ...), 2 CPUs'."""
    mode = "headless" if env.get("headless") else "headed"
    where = ""
    if env.get("browser_location", "local") != "local":  # bench.browser.source
        where = f", {env['browser_location']} at {env.get('browser_endpoint')}, its machine " \
                f"{env.get('browser_cpu_count')} CPUs"
    return (f"Chromium {env.get('chromium_version')} ({mode}, {env['viewport']['width']}x"
            f"{env['viewport']['height']}, CPU throttle {env.get('cpu_throttle')}x{where}), "
            f"{env.get('cpu_count')} CPUs")


def summary_lines(results: dict) -> list[str]:
    lines = [browser_line(results["env"])]
    timings = results.get("timings_s") or {}
    if timings:
        lines.append("time per scenario: " + ", ".join(f"{name} {s:.1f} s" for name, s in timings.items()))
    return lines + run_lines(results)


def run_lines(results: dict) -> list[str]:
    """Whether the run is partial, and its notes: the same for every command."""
    lines = []
    if results.get("partial"):
        lines.append("PARTIAL RESULTS: the run stopped before its end (interrupted, or failed); "
                     "these are the samples gathered so far.")
    lines.extend(results.get("notes", []))
    return lines


def text_report(results: dict) -> str:
    return "\n".join([metrics_table(results), *suspects_table(results), *where_time_goes(results), "",
                      *summary_lines(results)])
