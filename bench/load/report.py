"""Terminal report of a server-side run (formatting only, no measuring)."""

from __future__ import annotations

from ..report.terminal import metrics_table, run_lines

BUSY_PRESSURE_PCT = 20.0  # CPU pressure worth a line: a fifth of the time something waited


def summary_lines(results: dict) -> list[str]:
    env, config = results["env"], results["config"]
    server, ws_url = env.get("server"), config.get("ws_url")
    where = server if server == ws_url else f"{server}, {ws_url}"
    lines = [f"server: {where}; {env.get('workers')} load worker process(es) on {env.get('cpu_count')} CPUs"]
    pressure = env.get("cpu_pressure_pct")
    if pressure is not None and pressure >= BUSY_PRESSURE_PCT:
        lines.append(f"the machine was busy: in the 10 s before the run some task waited for a CPU "
                     f"{pressure:.0f} % of the time (/proc/pressure/cpu); latencies include such waits")
    return lines + run_lines(results)


def text_report(results: dict) -> str:
    return "\n".join([metrics_table(results), "", *summary_lines(results)])
