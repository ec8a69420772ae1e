"""The renderer process behind a page, and its memory and CPU time as the OS counts it.

Which process: a short CDP trace (a few hundred ms) whose
TracingStartedInBrowser event lists each frame with its renderer processId;
the page's main frame id comes from Page.getFrameTree. CDP has no call that
maps a page to a pid directly (SystemInfo.getProcessInfo lists renderers
without saying whose they are) and none that reads a process's memory.
The pid is then checked in the process tree: /proc/<pid>/cmdline says
--type=renderer and its parents lead to the browser process (the pid that
wrote TracingStartedInBrowser), so a pid from another machine or pid
namespace (a remote browser) is not taken for a local process that happens
to have the same number.

How much: /proc/<pid>/smaps_rollup (Linux): private bytes (Private_Clean +
Private_Dirty) are what this renderer alone holds, close to the "memory
footprint" Chrome's task manager shows; Rss and Pss are kept beside them.
CPU: utime + stime of /proc/<pid>/stat (every thread of the process, live
and exited), in clock ticks of os.sysconf("SC_CLK_TCK"), usually 100 a
second, so a reading is truncated to 10 ms.
Elsewhere it is "not available", never a guess; so is a browser that runs
elsewhere (--connect, --cdp-endpoint): its renderer's pid names a process on
another machine (or in a container), and /proc here would describe whatever
local process happens to have that number.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError

from ..linux_proc import schedstat_ns, stat_fields
from .cdp_trace import CdpTrace

TRACE_CATEGORY = "disabled-by-default-devtools.timeline"
TRACE_TIMEOUT_S = 10


def main_frame_id(cdp) -> str:
    return cdp.send("Page.getFrameTree")["frameTree"]["frame"]["id"]


# How the numbers are found, for the results' env (the issue asks for the method there).
METHOD = {
    "process": "renderer pid from a short CDP trace (TracingStartedInBrowser: main frame -> processId), "
               "checked in /proc: --type=renderer, a descendant of the browser pid the trace names",
    "cpu": "/proc/<pid>/stat utime+stime deltas (all threads), clock ticks from os.sysconf('SC_CLK_TCK')",
    "cpu_wait": "/proc/<pid>/schedstat deltas of the main thread: time on a CPU, time waiting on a run queue (ns)",
    "memory": "/proc/<pid>/smaps_rollup (Rss, Pss, Private_Clean+Private_Dirty)",
}
MAX_TREE_DEPTH = 8  # renderer -> zygote -> browser is 2 steps; a few more for launchers


@dataclass(frozen=True)
class Renderer:
    """The page's renderer process, or why its CPU and memory cannot be read here."""

    pid: int | None
    reason: str | None = None       # None: /proc/<pid> is the page's renderer, readable
    browser_pid: int | None = None  # the process that wrote TracingStartedInBrowser

    @property
    def available(self) -> bool:
        return self.reason is None

    def to_json(self) -> dict:
        return {"pid": self.pid, "browser_pid": self.browser_pid, "available": self.available,
                "reason": self.reason}


def method() -> dict:
    """METHOD plus this machine's clock tick, for env."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else None
    return {**METHOD, "clock_ticks_per_s": ticks, "platform": sys.platform}


def find_renderer(cdp, page, location: str = "local") -> Renderer:
    """The renderer of the page's main frame, checked in this machine's process tree.

    location "remote": the browser runs elsewhere, so no pid it reports names
    a process here; nothing is looked up.
    """
    if location != "local":
        return Renderer(None, f"renderer process not available: the browser is {location}, so its "
                              f"processes are not on this machine")
    try:
        pid, browser_pid = trace_processes(cdp, page)
    except PlaywrightError as exc:  # e.g. a trace of the whole browser is being recorded
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Renderer(None, f"renderer process not available: the short trace that finds it could not "
                              f"run ({first})")
    reason = unavailable_reason(pid) or not_in_browser_tree(pid, browser_pid)
    return Renderer(pid, reason, browser_pid)


def trace_processes(cdp, page) -> tuple[int | None, int | None]:
    """(renderer pid of the page's main frame, browser pid), from a short trace; None where unnamed."""
    trace = CdpTrace(cdp, [TRACE_CATEGORY])
    if not trace.start():  # another trace is running (Chromium traces one at a time)
        return None, None
    events = trace.stop(page, TRACE_TIMEOUT_S)
    frame = main_frame_id(cdp)
    for event in events:
        if event.get("name") != "TracingStartedInBrowser":
            continue
        for f in event.get("args", {}).get("data", {}).get("frames", []):
            if f.get("frame") == frame and f.get("processId"):
                return int(f["processId"]), event.get("pid")
    return None, None


def parent_pid(pid: int) -> int:
    return int(stat_fields(pid)[1])


def not_in_browser_tree(pid: int, browser_pid: int | None) -> str | None:
    """Why pid is not (provably) the browser's renderer on this machine, or None when it is."""
    try:
        # Chromium rewrites its argv into one space-separated string (setproctitle).
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
        if b"--type=renderer" not in cmdline:
            return f"renderer process not available: pid {pid} here is not a Chromium renderer"
        seen, current = [], pid
        for _ in range(MAX_TREE_DEPTH):
            current = parent_pid(current)
            seen.append(current)
            if current == browser_pid:
                return None
            if current <= 1:
                break
    except (OSError, ValueError, IndexError):
        return f"renderer process not available: /proc/{pid} cannot be read"
    return (f"renderer process not available: pid {pid} does not descend from the browser "
            f"(pid {browser_pid}; its parents: {', '.join(map(str, seen))})")


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (os.sysconf('SC_CLK_TCK') a second)."""
    fields = stat_fields(pid)
    return int(fields[11]) + int(fields[12])  # stat fields 14 and 15


def main_thread_sched_ms(pid: int) -> tuple[float, float] | None:
    """(time on a CPU, time waiting on a run queue) of the process's main thread, in ms, or None.

    For a renderer, its main thread. The wait is time it was ready to run
    while every CPU ran something else, bench's and the browser's own
    processes included (docs/render-cost.md). None where the kernel keeps no schedstat.
    """
    ns = schedstat_ns(pid)
    return None if ns is None else (ns[0] / 1e6, ns[1] / 1e6)


def unavailable_reason(pid: int | None) -> str | None:
    """Why process memory and CPU cannot be read here, or None when they can."""
    if not sys.platform.startswith("linux"):
        return (f"renderer process not available: its memory and CPU are read from /proc (Linux), "
                f"this is {sys.platform}")
    if pid is None:
        return ("renderer process not available: no trace named the page's renderer process "
                "(or another trace was running)")
    if not Path(f"/proc/{pid}/smaps_rollup").exists():
        return f"renderer process not available: /proc/{pid}/smaps_rollup cannot be read"
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
