"""Frames from a Chrome trace: the ground truth the in-page probes are checked against.

Reads the JSON trace Chromium writes (Playwright's browser.start_tracing).
A presented frame is a PipelineReporter async slice in the renderer with state
STATE_PRESENTED_ALL; its end is the presentation time, and its "Commit" stage
(same async id) says when main-thread work entered it. Page clock and trace
clock are tied together by a performance.mark() whose trace event carries
both (ts in trace microseconds, startTime in page milliseconds).
"""

from __future__ import annotations

import bisect
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


def _pipeline_events(trace, pid: int) -> list[dict]:
    """The frame pipeline's async begin/end events of renderer `pid`, in time order (file order on ties)."""
    return sorted((e for e in trace_events(trace)
                   if e.get("pid") == pid and "timeline.frame" in e.get("cat", "")
                   and e.get("ph") in ("b", "e")), key=lambda e: e["ts"])


def presented_frames(trace, pid: int) -> list[PresentedFrame]:
    """Presented frames of renderer `pid`, in order of presentation.

    A frame's stages are a chain (each begins where the one before ends):
    ... Commit -> EndCommitToActivation -> Activation -> ... ->
    SubmitCompositorFrameToPresentationCompositorFrame, whose last sub-stage
    SwapEndToPresentationCompositorFrame ends when the frame is presented.
    Only the begin events are trusted for names: the JSON export names an end
    event after whatever is innermost open on its async id at that time, and
    the PipelineReporter's own begin is often stamped 0.01-0.1 ms after its
    first stages begin, so pairing ends by name (or by nesting) closes the
    reporter at its first stage's end and loses the frame's Commit (seen
    under load: messages matched to a frame 20-70 ms late). So, per async id:
    a Commit begin is held until the next Submit stage begins (that frame
    carries it; a frame without one is an impl-side frame), and the frame is
    presented at the first end event after its SwapEnd stage begins (a leaf:
    nothing nests inside it). A frame that never reaches SwapEnd (dropped)
    is not presented. Two reporters of one frame share its stages: one frame.

    A frame's commit_us is when the main thread began its commit (the
    renderer main thread's "Commit" complete event that precedes the
    compositor's Commit stage): a DOM change after it cannot be in that frame.
    The compositor's own Commit stage can begin 10 ms and more later on a
    loaded machine, and a DOM change in between was matched to a frame that
    could not show it.
    """
    main_commits = sorted(e["ts"] for e in trace_events(trace)
                          if e.get("pid") == pid and e.get("name") == "Commit" and e.get("ph") == "X")
    pending_commit: dict[str, float | None] = {}
    submitting: dict[str, float | None] = {}  # id -> commit of the frame being submitted
    swapping: dict[str, tuple[float, float | None]] = {}  # id -> (SwapEnd begin, commit)
    presented: dict[float, PresentedFrame] = {}
    for e in _pipeline_events(trace, pid):
        key = str(e.get("id2", {}).get("local", e.get("id")))
        name, ts = e["name"], e["ts"]
        if e["ph"] == "b":
            if name == "Commit":
                at = bisect.bisect_right(main_commits, ts)
                pending_commit[key] = main_commits[at - 1] if at else ts
            elif name == "SubmitCompositorFrameToPresentationCompositorFrame":
                if key not in submitting or pending_commit.get(key) is not None:
                    submitting[key] = pending_commit.pop(key, None)
            elif name == "SwapEndToPresentationCompositorFrame" and key in submitting:
                swapping[key] = (ts, submitting.pop(key))
        elif key in swapping and ts >= swapping[key][0]:
            _, commit = swapping.pop(key)
            frame = presented.get(ts)
            if frame is None or (frame.commit_us is None and commit is not None):
                presented[ts] = PresentedFrame(commit, ts)
    return sorted(presented.values(), key=lambda f: f.presented_us)


def first_presented_after(frames: list[PresentedFrame], dom_us: float) -> PresentedFrame | None:
    """The first presented frame whose Commit follows a DOM change at dom_us."""
    candidates = [f for f in frames if f.commit_us is not None and f.commit_us >= dom_us]
    return min(candidates, key=lambda f: f.presented_us) if candidates else None
