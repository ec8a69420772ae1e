"""Frames from a Chrome trace: the ground truth the in-page probes are checked against.

Reads the JSON trace Chromium writes (Playwright's browser.start_tracing).
A presented frame is a PipelineReporter async slice in the renderer with state
STATE_PRESENTED_ALL; its end is the presentation time, and its "Commit" stage
(same async id) says when main-thread work entered it. Page clock and trace
clock are tied together by a performance.mark() whose trace event carries
both (ts in trace microseconds, startTime in page milliseconds).
"""

from __future__ import annotations

from dataclasses import dataclass

# Categories that hold what this module reads.
TRACE_CATEGORIES = [
    "blink.user_timing",
    "cc",
    "benchmark",
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "disabled-by-default-devtools.timeline.frame",
]

CLOCK_SYNC_MARK = "bench-clock-sync"


@dataclass(frozen=True)
class PresentedFrame:
    commit_us: float | None  # start of its Commit stage (None: no main-thread commit)
    presented_us: float


def trace_events(trace) -> list[dict]:
    return trace["traceEvents"] if isinstance(trace, dict) else trace


@dataclass(frozen=True)
class PageClock:
    """Converts page performance.now() milliseconds to trace microseconds."""

    pid: int
    offset_us: float  # trace_us = page_ms * 1000 + offset_us

    def to_trace_us(self, page_ms: float) -> float:
        return page_ms * 1000 + self.offset_us

    def to_page_ms(self, trace_us: float) -> float:
        return (trace_us - self.offset_us) / 1000


def page_clock(trace, mark: str = CLOCK_SYNC_MARK) -> PageClock:
    for e in trace_events(trace):
        if e.get("name") == mark and "blink.user_timing" in e.get("cat", ""):
            start_ms = e["args"]["data"]["startTime"]
            return PageClock(pid=e["pid"], offset_us=e["ts"] - start_ms * 1000)
    raise ValueError(f"trace has no performance.mark({mark!r})")


def presented_frames(trace, pid: int) -> list[PresentedFrame]:
    """Presented frames of renderer `pid`, in order of presentation.

    Async ids are reused from frame to frame, so a PipelineReporter's begin
    and end are paired per id in time order (they nest like a stack), and a
    stage belongs to the reporter open on its id when the stage begins.
    """
    events = sorted((e for e in trace_events(trace)
                     if e.get("pid") == pid and "timeline.frame" in e.get("cat", "")
                     and e.get("ph") in ("b", "e")), key=lambda e: e["ts"])
    open_reporters: dict[str, list[dict]] = {}
    frames = []
    for e in events:
        key = str(e.get("id2", {}).get("local", e.get("id")))
        stack = open_reporters.setdefault(key, [])
        if e["name"] == "PipelineReporter" and e["ph"] == "b":
            stack.append({"state": e.get("args", {}).get("frame_reporter", {}).get("state"),
                          "commit": None})
        elif e["name"] == "PipelineReporter" and e["ph"] == "e" and stack:
            reporter = stack.pop()
            if reporter["state"] == "STATE_PRESENTED_ALL":
                frames.append(PresentedFrame(reporter["commit"], e["ts"]))
        elif e["name"] == "Commit" and e["ph"] == "b" and stack:
            stack[-1]["commit"] = e["ts"]
    return sorted(frames, key=lambda f: f.presented_us)


def first_presented_after(frames: list[PresentedFrame], dom_us: float) -> PresentedFrame | None:
    """The first presented frame whose Commit follows a DOM change at dom_us."""
    candidates = [f for f in frames if f.commit_us is not None and f.commit_us >= dom_us]
    return min(candidates, key=lambda f: f.presented_us) if candidates else None
