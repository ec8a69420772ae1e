"""What the render-cost probe costs the page it measures (docs/suite-speed.md, "Targets": at most 0.3 ms a message).

Per burst the probe does one Performance.getMetrics round trip before the
first message and the page does one console.timeStamp after the frame that
shows the last one (its Performance.metrics event); the harness also reads
/proc twice. Measured here on the bundled app, each by the renderer's own
accounting where it runs on the renderer main thread:

- getMetrics: K calls back to back; the main-thread time they took is the
  TaskDuration difference between the first and the last, over K.
- the stamp: K console.timeStamp calls timed inside the page (performance.now()).
- the harness: Python wall time of a read() + arm() + stamped() cycle, /proc included
  (it runs before and after the window, so it is not in the page's numbers).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CALLS = 50
DEFAULT_BURST = 100  # messages: `bench ui`'s default burst size


def measure() -> tuple[float, dict]:
    sys.path.insert(0, str(REPO))
    from playwright.sync_api import sync_playwright

    from bench.browser.launch import BrowserOptions, launch, new_context
    from bench.targets.messages import MessageSource
    from bench.targets.server_process import BundledServer
    from bench.scenarios.page import PageSession
    from bench.targets.profile import bundled_target

    started = time.monotonic()
    with BundledServer() as server, sync_playwright() as playwright:
        browser = launch(playwright, BrowserOptions())
        try:
            session = PageSession(new_context(browser).new_page(), bundled_target(server.url), MessageSource(seed=1))
            session.prepare()
            session.open()
            probe = session.render
            probe.prepare(session)
            first = probe.read(session)
            for _ in range(CALLS - 2):
                probe.read(session)
            last = probe.read(session)
            get_metrics_ms = (last.metrics["TaskDuration"] - first.metrics["TaskDuration"]) * 1000 / (CALLS - 1)
            stamp_ms = session.page.evaluate(
                "(k) => { const t = performance.now(); for (let i = 0; i < k; i++) console.timeStamp('cost'); "
                "return (performance.now() - t) / k; }", CALLS)
            t = time.monotonic()
            for _ in range(CALLS):
                probe.read(session)
                label = probe.arm(session)
                session.page.evaluate("(label) => console.timeStamp(label)", label)
                probe.stamped(session, label)
            harness_ms = (time.monotonic() - t) * 1000 / CALLS
            session.close()
        finally:
            browser.close()
    per_burst = get_metrics_ms + stamp_ms
    detail = {"getmetrics_main_thread_ms": get_metrics_ms, "stamp_main_thread_ms": stamp_ms,
              "main_thread_ms_per_burst": per_burst, "per_message_ms_at_default_burst": per_burst / DEFAULT_BURST,
              "harness_ms_per_burst": harness_ms,
              "verdict": f"{per_burst:.2f} ms of main thread a burst ({per_burst / DEFAULT_BURST * 1000:.1f} us "
                         f"a message at {DEFAULT_BURST}); harness {harness_ms:.1f} ms a burst"}
    if per_burst / DEFAULT_BURST > 0.3:
        raise RuntimeError(f"the render probe costs {per_burst / DEFAULT_BURST:.3f} ms a message, over 0.3 ms")
    return time.monotonic() - started, detail
