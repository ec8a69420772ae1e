"""The stream probe: per chunk of a streamed reply, arrival, text in the DOM, paint (stream.js).

Per-chunk main-thread cost: the page calls console.timeStamp(label) as each
chunk arrives (and once after the frame that shows the last one); with CDP
Performance enabled each call sends the renderer's running main-thread
totals at that moment (Performance.metrics, bench/probes/render.py), so the
difference of TaskDuration between consecutive stamps is the main-thread
time the chunk cost, by the same accounting as render.*.
"""

from __future__ import annotations

import itertools
import json
import time

from . import probe_script

STAMP_PREFIX = "bench-stream-"
STAMPS_WAIT_S = 2.0


class StreamProbe:
    name = "stream"

    def __init__(self):
        self._labels = itertools.count(1)
        self._cdp = None
        self._stamps: dict[str, dict] = {}  # label -> CDP Performance metrics {name: value}

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
        """Keep the Performance.metrics events of this probe's stamps (CDP Performance enabled by RenderProbe)."""
        if self._cdp is cdp:
            return
        cdp.on("Performance.metrics", self._on_metrics)
        self._cdp = cdp
        self._stamps.clear()

    def _on_metrics(self, event: dict) -> None:
        title = event.get("title") or ""
        if title.startswith(STAMP_PREFIX):
            self._stamps[title] = {m["name"]: m["value"] for m in event["metrics"]}

    def new_prefix(self) -> str:
        return f"{STAMP_PREFIX}{next(self._labels)}-"

    def arm(self, page, reply: str, transport: str, done: str | None, stamp_prefix: str | None) -> dict:
        return page.evaluate("([r, t, d, s]) => window.__benchStream.arm(r, t, d, s)",
                             [reply, transport, done, stamp_prefix])

    def finish(self, page, timeout_s: float, stable_frames: int = 6, end_stamp: str | None = None) -> dict:
        """The reply's record: {request, kind, chunks: [{t, size, dom, len, paint}], grew, ended, frames}
        or with "error": no-request | no-chunk | reply-never-filled | never-ended."""
        return json.loads(page.evaluate("([ms, n, s]) => window.__benchStream.finish(ms, n, s)",
                                        [timeout_s * 1000, stable_frames, end_stamp]))

    def stamps(self, page, labels: list[str], wait_s: float = STAMPS_WAIT_S) -> dict[str, dict]:
        """The metrics stamped under these labels (those that came within wait_s); forgotten once read."""
        deadline = time.monotonic() + wait_s
        while any(label not in self._stamps for label in labels) and time.monotonic() < deadline:
            page.wait_for_timeout(10)  # lets Playwright dispatch the events
        return {label: self._stamps.pop(label) for label in labels if label in self._stamps}

    def forget(self) -> None:
        self._cdp = None
        self._stamps.clear()
