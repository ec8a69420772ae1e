"""The renderer process behind a page, and its memory as the OS counts it.

Which process: a short CDP trace (a few hundred ms) whose
TracingStartedInBrowser event lists each frame with its renderer processId;
the page's main frame id comes from Page.getFrameTree. CDP has no call that
maps a page to a pid directly (SystemInfo.getProcessInfo lists renderers
without saying whose they are) and none that reads a process's memory.

How much: /proc/<pid>/smaps_rollup (Linux): private bytes (Private_Clean +
Private_Dirty) are what this renderer alone holds, close to the "memory
footprint" Chrome's task manager shows; Rss and Pss are kept beside them.
Elsewhere it is "not available", never a guess; so is a browser that runs
elsewhere (--connect, --cdp-endpoint): its renderer's pid names a process on
another machine (or in a container), and /proc here would describe whatever
local process happens to have that number.
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
    """The pid of the renderer that runs the page's main frame, or None."""
    events, done = [], []
    on_data = lambda e: events.extend(e["value"])  # noqa: E731
    on_done = lambda e: done.append(True)  # noqa: E731
    cdp.on("Tracing.dataCollected", on_data)
    cdp.on("Tracing.tracingComplete", on_done)
    try:
        cdp.send("Tracing.start", {"traceConfig": {"includedCategories": [TRACE_CATEGORY],
                                                   "excludedCategories": ["*"]}})
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


def locate_renderer(cdp, page, browser_location: str = "local") -> tuple[int | None, str | None]:
    """(pid, None) when the page's renderer memory can be read here, else (None, the reason)."""
    if browser_location != "local":
        return None, (f"renderer memory not available: the browser is {browser_location}, so its "
                      f"renderer process is not on this machine's /proc")
    try:
        pid = renderer_pid(cdp, page)
    except PlaywrightError as exc:  # e.g. a Chrome trace of the whole browser is being recorded
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"renderer memory not available: the trace that finds the renderer failed ({first})"
    reason = unavailable_reason(pid)
    return (pid if reason is None else None), reason


def unavailable_reason(pid: int | None) -> str | None:
    """Why process memory cannot be read here, or None when it can."""
    if not sys.platform.startswith("linux"):
        return f"renderer memory not available: it is read from /proc (Linux), this is {sys.platform}"
    if pid is None:
        return "renderer memory not available: the trace named no renderer process for the page"
    if not Path(f"/proc/{pid}/smaps_rollup").exists():
        return f"renderer memory not available: /proc/{pid}/smaps_rollup cannot be read"
    if not _is_renderer(pid):  # e.g. a browser elsewhere whose pid a local process also has
        return f"renderer memory not available: local process {pid} is not a Chromium renderer"
    return None


def _is_renderer(pid: int) -> bool:
    # Chromium rewrites its process title: the arguments may be one space-joined string.
    try:
        return b"--type=renderer" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def process_memory(pid: int) -> dict:
    """rss, pss and private bytes of a process, from /proc/<pid>/smaps_rollup (kB there)."""
    kb = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == "kB":
            kb[parts[0].rstrip(":")] = int(parts[1])
    return {"rss_bytes": kb["Rss"] * 1024, "pss_bytes": kb["Pss"] * 1024,
            "private_bytes": (kb["Private_Clean"] + kb["Private_Dirty"]) * 1024}
