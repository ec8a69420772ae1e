"""The stream probe: per chunk of a streamed reply, arrival, text in the DOM, paint (stream.js).

After the frame that shows a reply's last chunk the page calls
console.timeStamp(label); with CDP Performance enabled that sends the
renderer's running main-thread totals at that moment (Performance.metrics,
bench/probes/render.py): the end of the reply's render.* window.
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

    def new_label(self) -> str:
        return f"{STAMP_PREFIX}{next(self._labels)}"

    def arm(self, page, reply: str, transport: str, done: str | None, frames: bool = True) -> dict:
        """Measure the next reply; frames: rAF frame times from its first chunk on."""
        return page.evaluate("([r, t, d, f]) => window.__benchStream.arm(r, t, d, f)", [reply, transport, done, frames])

    def finish(self, page, timeout_s: float, stable_frames: int = 6, end_stamp: str | None = None) -> dict:
        """The reply's record: {request, kind, chunks: [{t, size, dom, len, paint}], grew, ended, frames}
        or with "error": no-request | no-chunk | reply-never-filled | never-ended."""
        return json.loads(page.evaluate("([ms, n, s]) => window.__benchStream.finish(ms, n, s)",
                                        [timeout_s * 1000, stable_frames, end_stamp]))

    def stamped(self, page, label: str, wait_s: float = STAMPS_WAIT_S) -> dict | None:
        """The metrics stamped under label, or None if they did not come within wait_s."""
        deadline = time.monotonic() + wait_s
        while label not in self._stamps and time.monotonic() < deadline:
            page.wait_for_timeout(10)  # lets Playwright dispatch the event
        metrics = self._stamps.pop(label, None)
        self._stamps.clear()  # older stamps are never asked for
        return metrics

    def forget(self) -> None:
        self._cdp = None
        self._stamps.clear()
