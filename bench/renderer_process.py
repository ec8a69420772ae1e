"""The renderer process behind a page, and its memory as the OS counts it.

Which process: a short CDP trace (a few hundred ms) whose
TracingStartedInBrowser event lists each frame with its renderer processId;
the page's main frame id comes from Page.getFrameTree. CDP has no call that
maps a page to a pid directly (SystemInfo.getProcessInfo lists renderers
without saying whose they are) and none that reads a process's memory.

How much: /proc/<pid>/smaps_rollup (Linux): private bytes (Private_Clean +
Private_Dirty) are what this renderer alone holds, close to the "memory
footprint" Chrome's task manager shows; Rss and Pss are kept beside them.
Elsewhere it is "not available", never a guess.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError

TRACE_CATEGORY = "disabled-by-default-devtools.timeline"
TRACE_TIMEOUT_S = 10


def main_frame_id(cdp) -> str:
    return cdp.send("Page.getFrameTree")["frameTree"]["frame"]["id"]


def renderer_pid(cdp, page) -> int | None:
    """The pid of the renderer that runs the page's main frame, or None.

    None also when another trace is running (Chromium traces one session at a
    time: "Tracing has already been started"), e.g. bench's own Chrome trace
    pass (bench/unmeasured.py).
    """
    events, done = [], []
    on_data = lambda e: events.extend(e["value"])  # noqa: E731
    on_done = lambda e: done.append(True)  # noqa: E731
    cdp.on("Tracing.dataCollected", on_data)
    cdp.on("Tracing.tracingComplete", on_done)
    try:
        try:
            cdp.send("Tracing.start", {"traceConfig": {"includedCategories": [TRACE_CATEGORY],
                                                       "excludedCategories": ["*"]}})
        except PlaywrightError:
            return None
        cdp.send("Tracing.end")
        deadline = time.monotonic() + TRACE_TIMEOUT_S
        while not done and time.monotonic() < deadline:
            page.wait_for_timeout(10)  # lets Playwright dispatch the trace events
    finally:
        cdp.remove_listener("Tracing.dataCollected", on_data)
        cdp.remove_listener("Tracing.tracingComplete", on_done)
    frame = main_frame_id(cdp)
    for event in events:
        if event.get("name") != "TracingStartedInBrowser":
            continue
        for f in event.get("args", {}).get("data", {}).get("frames", []):
            if f.get("frame") == frame and f.get("processId"):
                return int(f["processId"])
    return None


def unavailable_reason(pid: int | None) -> str | None:
    """Why process memory cannot be read here, or None when it can."""
    if not sys.platform.startswith("linux"):
        return f"renderer memory not available: it is read from /proc (Linux), this is {sys.platform}"
    if pid is None:
        return ("renderer memory not available: no trace named the page's renderer process "
                "(or another trace was running)")
    if not Path(f"/proc/{pid}/smaps_rollup").exists():
        return f"renderer memory not available: /proc/{pid}/smaps_rollup cannot be read"
    return None


def process_memory(pid: int) -> dict:
    """rss, pss and private bytes of a process, from /proc/<pid>/smaps_rollup (kB there)."""
    kb = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == "kB":
            kb[parts[0].rstrip(":")] = int(parts[1])
    return {"rss_bytes": kb["Rss"] * 1024, "pss_bytes": kb["Pss"] * 1024,
            "private_bytes": (kb["Private_Clean"] + kb["Private_Dirty"]) * 1024}
