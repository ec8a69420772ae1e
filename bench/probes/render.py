"""The render-cost probe: the renderer main thread's own time accounting, read around a burst.

CDP Performance (Performance.enable, timeDomain "timeTicks") keeps running
totals on the renderer main thread: TaskDuration (wall time inside tasks),
ScriptDuration, V8CompileDuration, RecalcStyleDuration, LayoutDuration,
DevToolsCommandDuration (seconds, nested work excluded from the outer
kind), LayoutCount, RecalcStyleCount, ThreadTime (main-thread CPU time),
ProcessTime, and Timestamp (the renderer's monotonic clock). A reading
counts the task running at that moment up to that moment, so the difference
of two readings is exactly the work between them.

Two ways to read:
- read(): Performance.getMetrics, one CDP round trip (before a burst);
- arm() + stamped(): the page calls console.timeStamp(label), and CDP sends
  the same metrics as a Performance.metrics event, taken inside the page at
  that moment (the end of a burst; bench/probes/paint.js stampAfterFrame).
Beside each, the renderer process's CPU ticks (and at the end its memory)
are read from /proc when the process is known (bench/browser/renderer_process.py).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

from ..browser.renderer_process import Renderer, cpu_ticks, main_thread_sched_ms, process_memory

STAMP_PREFIX = "bench-render-"
STAMP_WAIT_S = 2.0  # the stamp precedes quiet()'s stable frames, so it is normally already here


@dataclass
class Reading:
    """One snapshot of the renderer: CDP Performance metrics, and /proc figures where readable."""

    metrics: dict[str, float]          # name -> value (durations in seconds, as CDP gives them)
    wall_s: float                      # time.monotonic() when /proc was read (same clock as Timestamp)
    cpu_ticks: int | None = None       # renderer utime + stime
    memory: dict | None = None         # process_memory(): rss/pss/private bytes
    sched_ms: tuple[float, float] | None = None  # its main thread's (on a CPU, waiting for one), ms
    problems: list[str] = field(default_factory=list)

    @property
    def page_ms(self) -> float:
        """The reading's moment on the page clock (performance.now() of the page it was taken on).

        performance.now() counts from the document's time origin, which for a
        navigated page is its NavigationStart; both metrics are on the same
        monotonic clock.
        """
        return (self.metrics["Timestamp"] - self.metrics["NavigationStart"]) * 1000


def _metrics(raw: list[dict]) -> dict[str, float]:
    return {m["name"]: m["value"] for m in raw}


class RenderProbe:
    """Readings of one page's renderer; enabled on the session's CDP session at first use."""

    name = "render"

    def __init__(self):
        self._cdp = None
        self._labels = itertools.count(1)
        self._armed: dict[str, Renderer] = {}
        self._stamps: dict[str, Reading] = {}

    def _attach(self, session) -> None:
        cdp = session.cdp
        if self._cdp is cdp:
            return
        cdp.send("Performance.enable", {"timeDomain": "timeTicks"})
        cdp.on("Performance.metrics", self._on_metrics)
        self._cdp = cdp
        self._armed.clear()
        self._stamps.clear()

    def prepare(self, session) -> None:
        """Enable CDP Performance and find the renderer (a short trace) before anything is measured."""
        self._attach(session)
        session.renderer  # noqa: B018 (found once and kept by the session)

    def forget(self) -> None:
        """The session's CDP session is gone (page closed)."""
        self._cdp = None
        self._armed.clear()
        self._stamps.clear()

    def read(self, session, memory: bool = False) -> Reading:
        """Now: Performance.getMetrics (one round trip), then /proc CPU ticks (and memory)."""
        self._attach(session)
        renderer = session.renderer
        metrics = _metrics(self._cdp.send("Performance.getMetrics")["metrics"])
        return self._reading(metrics, renderer, memory)

    def counters(self, session) -> Reading:
        """Now: Performance.getMetrics only (no renderer process lookup, no /proc)."""
        self._attach(session)
        return Reading(_metrics(self._cdp.send("Performance.getMetrics")["metrics"]), time.monotonic())

    def arm(self, session) -> str:
        """A fresh console.timeStamp label; its Performance.metrics event becomes a Reading."""
        self._attach(session)
        label = f"{STAMP_PREFIX}{next(self._labels)}"
        self._armed[label] = session.renderer
        return label

    def stamped(self, session, label: str, wait_s: float = STAMP_WAIT_S) -> Reading | None:
        """The Reading the page stamped under label, or None if it never came."""
        deadline = time.monotonic() + wait_s
        while label not in self._stamps and time.monotonic() < deadline:
            session.page.wait_for_timeout(10)  # lets Playwright dispatch the event
        self._armed.pop(label, None)
        return self._stamps.pop(label, None)

    def _on_metrics(self, event: dict) -> None:
        # Runs as Playwright dispatches the event, while the harness waits in
        # quiet(): /proc is read here, a few ms after the page stamped.
        renderer = self._armed.get(event.get("title"))
        if renderer is not None:
            self._stamps[event["title"]] = self._reading(_metrics(event["metrics"]), renderer, memory=True)

    def _reading(self, metrics: dict, renderer: Renderer, memory: bool) -> Reading:
        reading = Reading(metrics, time.monotonic())
        if not renderer.available:
            return reading
        try:
            reading.cpu_ticks = cpu_ticks(renderer.pid)
            reading.sched_ms = main_thread_sched_ms(renderer.pid)
            if memory:
                reading.memory = process_memory(renderer.pid)
        except (OSError, KeyError, ValueError, IndexError):
            reading.problems.append(f"renderer CPU or memory not available: /proc/{renderer.pid} could not "
                                    f"be read (did the renderer exit?)")
        return reading
