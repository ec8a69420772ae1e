"""The chat history's heap cost per message, measured while a scenario fills a fresh page anyway.

A later scenario (cycles) reports heap.bytes_per_message. The first scenario
of a repetition that fills the freshly loaded page (the bursts, or the
scroll preload when it runs first) takes a GC'd heap sample before its first
message and after its last, so the later scenario needs no burst of its own.
Heap reads force a GC and are never inside a timed window.
"""

from __future__ import annotations

from ..probes.heap import HeapProbe


class HistoryCost:
    """Start before the fill; add() each part of it as it is delivered; finish(source) once the page is quiet."""

    def __init__(self, session):
        self.session = session
        page = session.page
        wanted = (session.history_wanted and session.history is None
                  and page.locator(session.target.message_selector).count() == 0)
        self.heap = HeapProbe(session.cdp) if wanted else None
        self.before = self.heap.sample() if self.heap is not None else None
        self.messages = self.in_dom = 0

    def add(self, messages: int, in_dom: int) -> None:
        """A part of the fill: how many messages were sent, and how many of them reached the DOM."""
        self.messages += messages
        self.in_dom += in_dom

    def finish(self, source: str) -> None:
        """Record session.history when every message of the fill reached the DOM (else the cost is unknown).

        The probes' per-message records must be freed first (PaintProbe.take
        or forget), or they would count as history.
        """
        messages = self.messages
        if self.heap is None or not messages or self.in_dom != messages:
            return
        after = self.heap.sample()
        self.session.history = {
            "messages": messages, "source": source,
            "bytes": (after["used_bytes"] - self.before["used_bytes"]) / messages,
            "nodes": (after["nodes"] - self.before["nodes"]) / messages,
        }
