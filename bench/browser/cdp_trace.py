"""A Chrome trace recorded over a page's CDP session (Tracing domain), its events kept in memory.

Chromium records one trace at a time: start() says False when another is
running (a `browser.start_tracing()` of the whole browser, a second client),
and the caller does without. Events come back as Tracing.dataCollected
("ReportEvents", the default transfer mode) until Tracing.tracingComplete.
"""

from __future__ import annotations

import time

from playwright.sync_api import Error as PlaywrightError

STOP_TIMEOUT_S = 10


class CdpTrace:
    def __init__(self, cdp, categories: list[str]):
        self.cdp = cdp
        self.categories = list(categories)
        self.events: list[dict] = []
        self._done = False
        self._running = False

    def _on_data(self, event: dict) -> None:
        self.events.extend(event["value"])

    def _on_done(self, event: dict) -> None:
        self._done = True

    def start(self) -> bool:
        """Start recording only the categories asked for; False (and nothing recorded) if it cannot."""
        self.cdp.on("Tracing.dataCollected", self._on_data)
        self.cdp.on("Tracing.tracingComplete", self._on_done)
        try:
            self.cdp.send("Tracing.start", {"traceConfig": {"includedCategories": self.categories,
                                                            "excludedCategories": ["*"]}})
        except PlaywrightError:  # another trace is running
            self._detach()
            return False
        self._running = True
        return True

    def stop(self, page, timeout_s: float = STOP_TIMEOUT_S) -> list[dict]:
        """End the trace and wait (pumping Playwright's events through page) until all of it has come."""
        if not self._running:
            return self.events
        self._running = False
        try:
            self.cdp.send("Tracing.end")
            deadline = time.monotonic() + timeout_s
            while not self._done and time.monotonic() < deadline:
                page.wait_for_timeout(5)  # lets Playwright dispatch the trace events
        finally:
            self._detach()
        return self.events

    def _detach(self) -> None:
        self.cdp.remove_listener("Tracing.dataCollected", self._on_data)
        self.cdp.remove_listener("Tracing.tracingComplete", self._on_done)
