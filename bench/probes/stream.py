"""The stream probe: per chunk of a streamed reply, arrival, text in the DOM, paint (stream.js).

Paints and frames come from a Chrome trace of the "benchmark" category while
the replies stream (StreamTrace): a chunk's paint is the first presented
frame whose main-thread commit follows its DOM change, the frames are Chrome's
own frame reports. The page then runs nothing per frame. Where no trace can
be recorded (one is already running: Chromium records one at a time), the
page measures them itself: the frame sentinel's Element Timing per chunk and
a rAF loop for the frames (paints="sentinel").

After the frame that shows a reply's last chunk the page calls
console.timeStamp(label); with CDP Performance enabled that sends the
renderer's running main-thread totals at that moment (Performance.metrics,
bench/probes/render.py): the end of the reply's render.* window.

Python learns that a reply is over from one console.debug line the page
logs (StreamProbe.ending): Playwright's console event wakes the waiting
call, so nothing polls while the reply streams. (A CDP binding polled with
10 ms waits cost about 13 % of a core meanwhile, Python and the driver: on
2 cores, CPU the browser being measured could have used.)
"""

from __future__ import annotations

import itertools
import json
import time
from contextlib import contextmanager

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from ..browser.cdp_trace import CdpTrace
from ..errors import TargetError
from . import probe_script
from .trace_frames import (CLOCK_SYNC_MARK, LEAN_CATEGORIES, PageClock, first_presented_after, frame_reports,
                           last_at_or_before, main_frame_starts, page_clock, presented_frames)

STAMP_PREFIX = "bench-stream-"
STAMPS_WAIT_S = 2.0
# The page logs console.debug(f"{DONE_SIGNAL} {seq}") once reply seq's record is ready (stream.js arm()).
DONE_SIGNAL = "bench-stream-done"
# Past the reply's own deadline (the page's --timeout), how long the page has to say it is over.
DONE_GRACE_S = 5.0


class StreamProbe:
    name = "stream"

    def __init__(self):
        self._labels = itertools.count(1)
        self._cdp = None
        self._stamps: dict[str, dict] = {}  # label -> CDP Performance metrics {name: value}
        self._seq, self._deadline = "", 0.0  # the armed reply's number, and when its page must have said

    def install(self, page) -> None:
        """Before the page's scripts run (an init script); after paint.js, whose WebSocket it wraps."""
        page.add_init_script(script=probe_script("stream.js"))

    def ensure(self, page) -> bool:
        """Into the running page if install() came too late (a session opened elsewhere); False then:
        streams the page opened before this moment are not seen."""
        if page.evaluate("() => !!window.__benchStream"):
            return True
        page.evaluate(probe_script("stream.js"))
        return False

    def listen(self, cdp) -> None:
        """Listen on the page's CDP session for the Performance.metrics events of this probe's stamps
        (sent once RenderProbe enabled CDP Performance)."""
        if self._cdp is cdp:
            return
        cdp.on("Performance.metrics", self._on_metrics)
        self._cdp = cdp
        self._stamps.clear()

    def _on_metrics(self, event: dict) -> None:
        title = event.get("title") or ""
        if title.startswith(STAMP_PREFIX):
            self._stamps[title] = {m["name"]: m["value"] for m in event["metrics"]}

    def new_label(self) -> str:
        return f"{STAMP_PREFIX}{next(self._labels)}"

    def arm(self, page, reply: str, transport: str, done: str | None, frames: bool = True,
            paints: bool = True, timeout_s: float = 30, end_stamp: str | None = None,
            trace: "StreamTrace | None" = None, stable_frames: int = 6) -> dict:
        """Measure the next reply, over within timeout_s from now; frames: rAF frame times from its first
        chunk on; paints: each chunk's paint by the frame sentinel (both False when a StreamTrace gives
        them); end_stamp: the label of the page's stamp after the frame that shows the last chunk;
        trace: a StreamTrace just started, whose clock mark the page sets as it arms.
        Returns {armed, seq} or {error}."""
        options = {"timeoutMs": timeout_s * 1000, "stableFrames": stable_frames, "endStamp": end_stamp,
                   "clockMark": trace.clock_mark if trace is not None else None, "signal": DONE_SIGNAL}
        armed = page.evaluate("([r, t, d, f, p, o]) => window.__benchStream.arm(r, t, d, f, p, o)",
                              [reply, transport, done, frames, paints, options])
        self._seq = str(armed.get("seq", ""))
        self._deadline = time.monotonic() + timeout_s + DONE_GRACE_S  # the page's deadline runs from now
        return armed

    @contextmanager
    def ending(self, page):
        """Around the armed reply's start actions: on leaving, waits until the page says the reply is
        over (its console line; the deadline is the page's, plus DONE_GRACE_S). Opened before the
        actions, so a reply that ends during them is not missed. Without it, finish() holds an evaluate
        open until the reply is over, which costs the page about 0.7 ms more of its main thread."""
        expected = f"{DONE_SIGNAL} {self._seq}"
        timeout_ms = max(1.0, (self._deadline - time.monotonic()) * 1000)
        actions_done = False
        try:
            with page.expect_console_message(lambda message: message.text == expected, timeout=timeout_ms):
                yield
                actions_done = True
        except PlaywrightTimeoutError:
            if not actions_done:
                raise
            # The page never said: finish() reads what its record holds (the page's own deadline has passed).

    def finish(self, page) -> dict:
        """The armed reply's record: {request, kind, chunks: [{t, size, dom, len, paint}], grew, ended,
        frames} or with "error": no-request | no-chunk | reply-never-filled | never-ended | stream-broke
        (a fetch body failed mid-reply; ended.error holds the browser's words). One evaluate: of a
        settled promise after ending(), else held open until the page's record is ready."""
        return json.loads(page.evaluate("() => window.__benchStream.result()"))

    def stamped(self, page, label: str, wait_s: float = STAMPS_WAIT_S) -> dict | None:
        """The metrics stamped under label, or None if they did not come within wait_s."""
        _wait_for(page, lambda: label in self._stamps, time.monotonic() + wait_s)
        metrics = self._stamps.pop(label, None)
        self._stamps.clear()  # older stamps are never asked for
        return metrics


def _wait_for(page, seen, deadline: float) -> None:
    """Until seen() (a CDP event this probe keeps has come) or the monotonic deadline."""
    while not seen() and time.monotonic() < deadline:
        page.wait_for_timeout(10)  # lets Playwright dispatch the events


class StreamTrace:
    """Paints and frame reports of streamed replies from a trace of LEAN_CATEGORIES on the page's CDP session."""

    def __init__(self, cdp):
        self._trace = CdpTrace(cdp, LEAN_CATEGORIES)

    clock_mark = CLOCK_SYNC_MARK  # set in the page by StreamProbe.arm(trace=...): it ties the page clock to the trace's

    def start(self) -> bool:
        """Start recording; False if it cannot. The page's clock mark comes as the reply is armed."""
        return self._trace.start()

    def stop(self, page) -> "TracedFrames":
        events = self._trace.stop(page)
        try:
            return TracedFrames(events)
        except ValueError as exc:  # no clock mark: the trace is cut short or empty
            raise TargetError(f"the stream trace cannot be read: {exc} ({len(events)} events)") from None


class TracedFrames:
    """What a StreamTrace recorded, read on the page's clock (ms)."""

    def __init__(self, events: list[dict]):
        self.clock: PageClock = page_clock(events)
        self.presented = presented_frames(events, self.clock.pid)
        self.reports = frame_reports(events, self.clock.pid)
        self.main_frames = main_frame_starts(events, self.clock.pid)

    def annotate(self, record: dict) -> None:
        """A reply's record from the page (sentinel and rAF loop off) gets what the trace says:
        - per chunk with a DOM time, paint (and paintRaw, the same): the presentation of the first
          frame whose main-thread commit follows that DOM change (None if the trace has none); a
          change made inside a rAF callback (inFrame) is placed at the start of its main frame;
        - frame_reports: [begin ms, state] of every vsync the compositor asked a frame for from the
          reply's arming on (bench/probes/trace_frames.py, frame_reports);
        - paints: "trace"."""
        for chunk in record["chunks"]:
            if chunk.get("dom") is None:
                continue
            at = self.clock.to_trace_us(chunk["dom"])
            if chunk.get("inFrame"):
                at = last_at_or_before(self.main_frames, at)
            frame = first_presented_after(self.presented, at)
            chunk["paint"] = chunk["paintRaw"] = None if frame is None else self.clock.to_page_ms(frame.presented_us)
        since = self.clock.to_trace_us(record["armed"])
        record["frame_reports"] = [[round(self.clock.to_page_ms(r.begin_us), 3), r.state]
                                   for r in self.reports if r.begin_us >= since]
        record["paints"] = "trace"
