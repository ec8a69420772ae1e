"""Where the time goes: render-cost metrics of one window from two RenderProbe readings.

A window is a burst (from the reading right before its first message is
injected to the page's stamp after the frame that shows its last message)
or a scroll gesture pass (from the reading right before the gesture to the
one right after it). All main-thread figures are differences of the
renderer's own running totals (CDP Performance), so numerator and
denominator cover exactly the same stretch of the renderer's clock:

    main_busy_pct  = 100 * dTaskDuration / dTimestamp
    <kind>_ms      = d<Kind>Duration * 1000 / units      (units: messages or frames)
    layouts_per_*  = dLayoutCount / units;  style_recalcs_per_* = dRecalcStyleCount / units
    other_ms       = dTaskOtherDuration * 1000 / units   (task time that is not script, compile,
                     style, layout or DevTools commands: paint recording, commit, GC, events)

The renderer process (every thread, not only the main one), from /proc:

    renderer_cpu_pct = 100 * d(utime+stime) / SC_CLK_TCK / d(wall)   (100 % = one core)
    renderer_rss_mb  = Rss at the end of the window, MiB (2**20 bytes)

Its main thread, from /proc/<pid>/schedstat (how busy the CPUs were as the page felt it, bench's
and the browser's own processes included; host.other_cpu_pct is the rest of the machine alone):

    cpu_wait_pct = 100 * dWait / (dRun + dWait)   (time ready to run but waiting for a CPU, as a
                   share of the time it ran or wanted to; context for a latency change, not a page cost)

Pure functions: no browser, no I/O.
"""

from __future__ import annotations

import os

from .render import Reading
from ..browser.renderer_process import Renderer
from ..results.records import ScenarioOutput

MIB = 2 ** 20

# scenario -> (metric name prefix, what the per-unit figures are per)
SCOPES = {"burst": ("render.", "message"), "scroll": ("render.scroll.", "frame"),
          "stream": ("render.stream.", "chunk")}

DURATIONS = {  # record field -> CDP metric (seconds)
    "task_ms": "TaskDuration", "script_ms": "ScriptDuration", "compile_ms": "V8CompileDuration",
    "style_ms": "RecalcStyleDuration", "layout_ms": "LayoutDuration",
    "devtools_ms": "DevToolsCommandDuration", "other_ms": "TaskOtherDuration",
    "main_thread_cpu_ms": "ThreadTime", "cdp_process_cpu_ms": "ProcessTime", "window_ms": "Timestamp",
}
COUNTS = {"layouts": "LayoutCount", "style_recalcs": "RecalcStyleCount"}


def clock_ticks_per_s() -> int:
    return os.sysconf("SC_CLK_TCK")


def window_record(start: Reading, end: Reading, units: int, renderer: Renderer,
                  ticks_per_s: int | None = None) -> dict:
    """Raw differences over the window, in ms and counts (the record kept in the results)."""
    a, b = start.metrics, end.metrics
    record = {name: (b[metric] - a[metric]) * 1000 for name, metric in DURATIONS.items()}
    record.update({name: b[metric] - a[metric] for name, metric in COUNTS.items()})
    record.update(units=units, start_page_ms=start.page_ms, end_page_ms=end.page_ms,
                  renderer_pid=renderer.pid, renderer_reason=renderer.reason)
    if start.cpu_ticks is not None and end.cpu_ticks is not None:
        ticks_per_s = ticks_per_s or clock_ticks_per_s()
        record.update(renderer_cpu_ms=(end.cpu_ticks - start.cpu_ticks) * 1000 / ticks_per_s,
                      cpu_window_ms=(end.wall_s - start.wall_s) * 1000, clock_ticks_per_s=ticks_per_s)
    if end.memory is not None:
        record.update({f"renderer_{k}": v for k, v in end.memory.items()})
    if start.sched_ms is not None and end.sched_ms is not None:
        record.update(main_thread_run_ms=end.sched_ms[0] - start.sched_ms[0],
                      main_thread_wait_ms=end.sched_ms[1] - start.sched_ms[1])
    return record


def unusable(start: Reading, end: Reading) -> str | None:
    """Why two readings do not bracket one stretch of one document's counters, or None."""
    a, b = start.metrics, end.metrics
    missing = [m for m in (*DURATIONS.values(), *COUNTS.values(), "NavigationStart") if m not in a or m not in b]
    if missing:
        return f"CDP Performance gave no {', '.join(missing)}"
    if a["NavigationStart"] != b["NavigationStart"]:
        return "the page navigated inside the window, which restarts its counters"
    if b["Timestamp"] <= a["Timestamp"] or b["TaskDuration"] < a["TaskDuration"]:
        return "the counters went backwards (the Performance agent was restarted)"
    return None


def render_output(record: dict, scenario: str) -> ScenarioOutput:
    """render.* metrics (one sample each) of one window's record; `scenario` picks names and units."""
    prefix, per = SCOPES[scenario]
    n = record["units"]
    out = ScenarioOutput()
    out.metrics[f"{prefix}main_busy_pct"] = ("%", [100 * record["task_ms"] / record["window_ms"]])
    if n > 0:
        for kind in ("script", "style", "layout", "other"):
            out.metrics[f"{prefix}{kind}_ms"] = (f"ms/{per}", [record[f"{kind}_ms"] / n])
        out.metrics[f"{prefix}layouts_per_{per}"] = (f"layouts/{per}", [record["layouts"] / n])
        out.metrics[f"{prefix}style_recalcs_per_{per}"] = (f"recalcs/{per}", [record["style_recalcs"] / n])
    if record.get("renderer_cpu_ms") is not None and record["cpu_window_ms"] > 0:
        out.metrics[f"{prefix}renderer_cpu_pct"] = ("%", [100 * record["renderer_cpu_ms"] / record["cpu_window_ms"]])
    wanted = record.get("main_thread_run_ms", 0) + record.get("main_thread_wait_ms", 0)
    if wanted > 0:
        out.metrics[f"{prefix}cpu_wait_pct"] = ("%", [100 * record["main_thread_wait_ms"] / wanted])
    if record.get("renderer_rss_bytes") is not None:
        out.metrics[f"{prefix}renderer_rss_mb"] = ("MiB", [record["renderer_rss_bytes"] / MIB])
    out.records["render"] = [{"scenario": scenario, **record}]
    return out


def measure_window(start: Reading, end: Reading | None, units: int, renderer: Renderer, scenario: str,
                   what: str) -> ScenarioOutput:
    """The window's render.* output, or only a note saying why it has none (never a guess)."""
    reason = "the page's end-of-window stamp never arrived" if end is None else unusable(start, end)
    if reason:
        return ScenarioOutput(notes=[f"render: {what}: not measured: {reason}"])
    out = render_output(window_record(start, end, units, renderer), scenario)
    if not renderer.available:
        out.notes.append(renderer.reason)
    out.notes.extend(f"render: {what}: {p}" for p in [*start.problems, *end.problems])
    return out
