"""Paint and commit time per message, from a Chrome trace (the finer detail CDP Performance lacks).

CDP Performance counts script, style and layout on the renderer main thread
but not paint: that is in the trace, as complete ("X") events on the thread
named CrRendererMain of the renderer process:

    style   UpdateLayoutTree
    layout  Layout
    paint   PrePaint, Paint, Layerize   (Paint events nest: one per painted layer/node)
    commit  Commit                      (the main thread's part: it waits for the compositor)

A phase's time in a window is the length of the union of its events'
intervals clipped to the window, so nested and overlapping events count
once. style and layout read this way agree with CDP's RecalcStyleCount and
LayoutCount (events) and RecalcStyleDuration and LayoutDuration (time) over
the same window (tests/test_render_cost.py), which is what says the process,
thread and window are the right ones for paint too.

render.paint_ms = (paint + commit) / messages, per burst window. Tracing
costs time, so a trace comes from its own, unmeasured run (docs/measurement.md,
"Rules of measurement"): call paint_output() on that run's trace and its render windows; without
a trace render.paint_ms is left out, never guessed.
"""

from __future__ import annotations

from ..results.records import ScenarioOutput
from .trace_frames import CLOCK_SYNC_MARK, page_clock, trace_events

PHASES = {"UpdateLayoutTree": "style", "Layout": "layout", "PrePaint": "paint", "Paint": "paint",
          "Layerize": "paint", "Commit": "commit"}
MAIN_THREAD = "CrRendererMain"


def main_thread_id(trace, pid: int) -> int | None:
    """The renderer main thread of process pid (thread_name metadata), or None."""
    for e in trace_events(trace):
        if (e.get("ph") == "M" and e.get("name") == "thread_name" and e.get("pid") == pid
                and e.get("args", {}).get("name") == MAIN_THREAD):
            return e["tid"]
    return None


def _union_us(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for lo, hi in sorted(intervals):
        if hi <= end:
            continue
        total += hi - max(lo, end)
        end = hi
    return total


def phase_spans(trace, pid: int, start_us: float, end_us: float) -> dict[str, list[tuple[float, float]]]:
    """Each phase's events on renderer pid's main thread, as intervals clipped to [start_us, end_us]."""
    tid = main_thread_id(trace, pid)
    if tid is None:
        raise ValueError(f"trace has no {MAIN_THREAD} thread for pid {pid}")
    spans: dict[str, list] = {phase: [] for phase in dict.fromkeys(PHASES.values())}
    for e in trace_events(trace):
        phase = PHASES.get(e.get("name"))
        if phase is None or e.get("ph") != "X" or e.get("pid") != pid or e.get("tid") != tid:
            continue
        lo, hi = max(e["ts"], start_us), min(e["ts"] + e.get("dur", 0), end_us)
        if hi > lo:
            spans[phase].append((lo, hi))
    return spans


def phase_ms(trace, pid: int, start_us: float, end_us: float) -> dict[str, float]:
    """Main-thread ms of each phase (style, layout, paint, commit) of renderer pid inside [start_us, end_us]."""
    return {phase: _union_us(spans) / 1000 for phase, spans in phase_spans(trace, pid, start_us, end_us).items()}


def paint_output(trace, windows: list[tuple[float, float, int]], mark: str = CLOCK_SYNC_MARK) -> ScenarioOutput:
    """render.paint_ms (paint + commit per message), one sample per window.

    windows: (start, end, messages) on the page clock (performance.now() ms),
    e.g. each burst's render window from records.render (start_page_ms,
    end_page_ms, units). The trace must hold performance.mark(mark), which
    ties the page clock to the trace's (bench/probes/trace_frames.py).
    """
    clock = page_clock(trace, mark)
    out = ScenarioOutput()
    samples, records = [], []
    for start_ms, end_ms, messages in windows:
        spans = phase_spans(trace, clock.pid, clock.to_trace_us(start_ms), clock.to_trace_us(end_ms))
        phases = {phase: _union_us(s) / 1000 for phase, s in spans.items()}
        records.append({"start_page_ms": start_ms, "end_page_ms": end_ms, "messages": messages,
                        **{f"{phase}_ms": ms for phase, ms in phases.items()},
                        **{f"{phase}_events": len(s) for phase, s in spans.items()}})
        if messages > 0:
            samples.append((phases["paint"] + phases["commit"]) / messages)
    out.metrics["render.paint_ms"] = ("ms/message", samples)
    out.records["render.trace"] = records
    return out


def render_windows(render_records: list[dict], scenario: str = "burst") -> list[tuple[float, float, int]]:
    """The (start, end, messages) windows of a run's records.render, for paint_output()."""
    return [(r["start_page_ms"], r["end_page_ms"], r["units"]) for r in render_records
            if r.get("scenario") == scenario]
