"""Terminal report of a server-side run (formatting only, no measuring)."""

from __future__ import annotations

from ..report import metrics_table


def summary_lines(results: dict) -> list[str]:
    env, config = results["env"], results["config"]
    server, ws_url = env.get("server"), config.get("ws_url")
    where = server if server == ws_url else f"{server}, {ws_url}"
    lines = [f"server: {where}; {env.get('workers')} load worker process(es) on {env.get('cpu_count')} CPUs"]
    if results.get("partial"):
        lines.append("PARTIAL RESULTS: the run was interrupted; these are the samples gathered so far.")
    lines.extend(results.get("notes", []))
    return lines


def render(results: dict) -> str:
    return "\n".join([metrics_table(results), "", *summary_lines(results)])
