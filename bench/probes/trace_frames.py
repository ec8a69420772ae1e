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

# Categories that hold what this module reads. LEAN_CATEGORIES are enough for
# presented_frames() and frame_reports(): the frame pipeline and one instant
# per main frame (BeginMainThreadFrame) on the page's main thread, about 30
# events per frame where "cc" has ~200 (raster and tiles) and "benchmark" ~100,
# which the browser takes ~25 us each to hand over when the trace ends; the
# clock-sync mark is blink.user_timing (docs/streaming.md).
TRACE_CATEGORIES = [
    "blink.user_timing",
    "cc",
    "benchmark",
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "disabled-by-default-devtools.timeline.frame",
]

LEAN_CATEGORIES = ["disabled-by-default-devtools.timeline.frame", "blink.user_timing"]

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
    is not presented, and what it held is let go when the next
    PipelineReporter begins on its id. Two reporters of one frame share its stages: one frame.

    A frame's commit_us is when the main thread began its commit (the
    renderer main thread's "Commit" complete event that precedes the
    compositor's Commit stage): a DOM change after it cannot be in that frame.
    The compositor's own Commit stage can begin 10 ms and more later on a
    loaded machine, and a DOM change in between was matched to a frame that
    could not show it.
    """
    main_commit = _main_thread_commit(trace, pid)
    pending_commit: dict[str, float | None] = {}
    submitting: dict[str, float | None] = {}  # id -> commit of the frame being submitted
    swapping: dict[str, tuple[float, float | None]] = {}  # id -> (SwapEnd begin, commit)
    presented: dict[float, PresentedFrame] = {}
    for e in _pipeline_events(trace, pid):
        key = str(e.get("id2", {}).get("local", e.get("id")))
        name, ts = e["name"], e["ts"]
        if e["ph"] == "b":
            if name == "PipelineReporter":
                # A new frame on this id (ids are reused once a frame ends): what is still held
                # for the id belongs to a frame that ended without being presented (dropped after
                # its commit or its submit), and must not go to this one (seen: a commit 0.6 s
                # old given to an impl-side frame, a chunk's paint a whole token late).
                pending_commit.pop(key, None)
                submitting.pop(key, None)
                swapping.pop(key, None)
            elif name == "Commit":
                pending_commit[key] = main_commit(ts)
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


def _main_thread_commit(trace, pid: int):
    """f(stage_ts) -> when the renderer's main thread committed the frame whose compositor Commit stage
    began at stage_ts.

    From the "Commit" complete event (category disabled-by-default-devtools.timeline)
    where the trace has it: the last one at or before stage_ts. In a trace of
    "cc" or "benchmark" without it, from ProxyMain::BeginMainFrame, which holds
    the frame's rAF callbacks, lifecycle and commit: the last one that began
    at or before stage_ts; if it was still running then (the main thread hands
    the frame over inside it), stage_ts itself, else its end. Either way no DOM
    change the main thread made before it misses the frame, and none made
    after it is in it.

    In a trace of disabled-by-default-devtools.timeline.frame alone, only the
    main frame's start is there (BeginMainThreadFrame): the last one at or
    before stage_ts. The next main frame is not sent before this one commits,
    so it is this frame's. A DOM change made in a task before that start is in
    the frame; one made inside it (a rAF callback) is too, and must be placed
    at the start by the caller (last_at_or_before) to be matched to it.
    """
    events = trace_events(trace)
    commits = sorted(e["ts"] for e in events if e.get("pid") == pid and e.get("name") == "Commit"
                     and e.get("ph") == "X")
    if commits:
        return lambda ts: last_at_or_before(commits, ts)
    begins = sorted((e["ts"], e["ts"] + e.get("dur", 0)) for e in events if e.get("pid") == pid
                    and e.get("name") == "ProxyMain::BeginMainFrame" and e.get("ph") == "X")
    if not begins:
        starts = main_frame_starts(events, pid)
        return lambda ts: last_at_or_before(starts, ts)
    starts = [b for b, _ in begins]

    def from_begin_main_frames(ts: float) -> float:
        at = bisect.bisect_right(starts, ts)
        if not at:
            return ts
        _, end = begins[at - 1]
        return ts if end >= ts else end
    return from_begin_main_frames


def main_frame_starts(trace, pid: int) -> list[float]:
    """When renderer `pid`'s main thread began each frame (BeginMainThreadFrame), in order."""
    return sorted(e["ts"] for e in trace_events(trace) if e.get("pid") == pid
                  and e.get("name") == "BeginMainThreadFrame")


def last_at_or_before(times: list[float], ts: float) -> float:
    """The last of the sorted `times` at or before ts (e.g. the start of the main frame running at ts);
    ts itself if none."""
    at = bisect.bisect_right(times, ts)
    return times[at - 1] if at else ts


@dataclass(frozen=True)
class FrameReport:
    """One BeginFrame the page's compositor handled, as Chrome's frame reporter judged it."""

    sequence: int
    begin_us: float
    state: str  # PRESENTED_ALL, PRESENTED_PARTIAL, DROPPED, NO_UPDATE_DESIRED


# Best first: one BeginFrame can have several reporters (e.g. main-thread and compositor-only parts).
_STATE_RANK = {"PRESENTED_ALL": 0, "PRESENTED_PARTIAL": 1, "DROPPED": 2, "NO_UPDATE_DESIRED": 3}


def frame_reports(trace, pid: int) -> list[FrameReport]:
    """Every BeginFrame of renderer `pid` that has a PipelineReporter, in order, one per frame sequence.

    A vsync with no reporter is one the compositor did not ask a frame for (the page was idle).
    """
    best: dict[tuple, FrameReport] = {}
    for e in trace_events(trace):
        if e.get("pid") != pid or e.get("name") != "PipelineReporter" or e.get("ph") != "b":
            continue
        args = e.get("args", {})
        reporter = args.get("frame_reporter") or args.get("chrome_frame_reporter") or {}
        state = str(reporter.get("state", "")).removeprefix("STATE_")
        if state not in _STATE_RANK:
            continue
        key = (reporter.get("frame_source"), reporter.get("frame_sequence"))
        report = FrameReport(int(reporter.get("frame_sequence", 0)), e["ts"], state)
        if key not in best or _STATE_RANK[state] < _STATE_RANK[best[key].state]:
            best[key] = report
    return sorted(best.values(), key=lambda r: (r.begin_us, r.sequence))


def first_presented_after(frames: list[PresentedFrame], dom_us: float) -> PresentedFrame | None:
    """The first presented frame whose Commit follows a DOM change at dom_us."""
    candidates = [f for f in frames if f.commit_us is not None and f.commit_us >= dom_us]
    return min(candidates, key=lambda f: f.presented_us) if candidates else None
