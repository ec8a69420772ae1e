"""Terminal report: a short "where the time goes" block per scenario (formatting only).

Reads the render.* metrics (p50 over bursts or passes) and the raw
records.render windows of a results dict; bench/probes/render_cost.py says what
each figure is.
"""

from __future__ import annotations

import numpy as np

from ..probes.render_cost import SCOPES

WINDOWS = {
    "burst": "of each burst (first injection to the end of the frame that shows its last message)",
    "scroll": "of each gesture pass",
    "stream": "of each reply (start actions to the end of the frame that shows its last chunk)",
}


def _p50(metrics: dict, name: str) -> float | None:
    m = metrics.get(name)
    return None if m is None or m.get("p50") is None else m["p50"]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms"


def _block(results: dict, scenario: str) -> list[str]:
    prefix, per = SCOPES[scenario]
    metrics = results["metrics"]
    busy = metrics.get(f"{prefix}main_busy_pct")
    if busy is None:
        return []
    windows = [r for r in results.get("records", {}).get("render", []) if r.get("scenario") == scenario]
    label = {"burst": "bursts", "stream": "replies"}.get(scenario, "passes")
    lines = [f"where the time goes: {scenario} (medians of {busy['n']} {label})",
             f"  main thread busy  {busy['p50']:.1f} % {WINDOWS[scenario]}"]
    parts = [f"{kind} {_ms(_p50(metrics, f'{prefix}{kind}_ms'))}" for kind in ("script", "style", "layout")]
    paint = _p50(metrics, "render.paint_ms") if scenario == "burst" else None
    if paint is not None:
        parts.append(f"paint+commit {_ms(paint)} (trace run)")
    parts.append(f"other {_ms(_p50(metrics, f'{prefix}other_ms'))}")
    devtools = [r["devtools_ms"] / r["units"] for r in windows if r.get("units")]
    if devtools:
        # The harness's own CDP commands in the renderer (intercept injection, probes).
        parts.append(f"bench's CDP commands {_ms(float(np.median(devtools)))}")
    lines.append(f"  per {per:<13} " + ", ".join(parts))
    layouts = _p50(metrics, f"{prefix}layouts_per_{per}")
    recalcs = _p50(metrics, f"{prefix}style_recalcs_per_{per}")
    if layouts is not None:
        lines.append(f"  per {per:<13} {layouts:.2f} layouts, {recalcs:.2f} style recalcs "
                     f"(each frame lays out once; more than that is forced synchronous layout)")
    cpu = _p50(metrics, f"{prefix}renderer_cpu_pct")
    rss = _p50(metrics, f"{prefix}renderer_rss_mb")
    if cpu is not None or rss is not None:
        cpu_text = "CPU -" if cpu is None else f"CPU {cpu:.0f} % of one core"
        rss_text = "RSS -" if rss is None else f"RSS {rss:.1f} MiB"
        wait = _p50(metrics, f"{prefix}cpu_wait_pct")
        wait_text = "" if wait is None else (f"; its main thread waited for a CPU {wait:.0f} % of the time it "
                                             f"wanted one (the browser's and bench's own processes count too)")
        lines.append(f"  renderer process  {cpu_text} (all its threads), {rss_text}{wait_text}")
    else:
        reasons = sorted({r["renderer_reason"] for r in windows if r.get("renderer_reason")})
        lines.append(f"  renderer process  {'; '.join(reasons) or 'not available'}")
    return lines


def where_time_goes(results: dict) -> list[str]:
    """The blocks of every scenario that measured render cost, each after a blank line."""
    out = []
    for scenario in SCOPES:
        block = _block(results, scenario)
        if block:
            out.extend(["", *block])
    return out
