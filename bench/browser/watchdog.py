"""A page that stops answering ends the run with one line (exit 3), instead of a run that waits for ever.

A page whose main thread never finishes a task (an endless loop in a message
handler) answers no evaluate, and Playwright's evaluate has no timeout: bench
would hang in the middle of a measurement. So while a run is armed, every page
bench opens beats: an init script calls a binding every quarter of the limit
(the run's --timeout; at least 0.25 s apart, at most 5 s), a timer task and a
binding call of about 0.7 ms of the page's main thread each (0.014 % of it at
the default 30 s). A thread looks at the time of the last beat every CHECK_S;
when none came for the limit it signals bench's main thread. If bench is then
waiting inside a Playwright call (beats are taken in only while it waits),
twice in a row, a local browser's processes are killed (kill_local_browser:
a hung page cannot be closed, nor its context, nor the browser, as Playwright
turns Chromium's hang monitor off; killed, everything that waits on it fails
at once; with a remote browser, bench's own Playwright driver is killed
instead: kill_playwright_driver) and the call is abandoned with
PageUnresponsive, thrown into bench's code as Ctrl-C is
(bench/browser/interrupt.py): the run stops as a TargetError, with what it
had measured kept.

Only where a signal can be handled (the main thread) and only while armed
(`bench ui`, `bench profile check` and `init`, and the pytest plugin's
measurements: watching()). The plugin measures on pytest-playwright's
browser, which later tests still need: there only the hung page's renderer
is killed (kill_renderer, its pid found before the measurement began, as a
hung renderer cannot answer the trace that finds it), and only where that
pid is this machine's.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from pathlib import Path

from ..linux_proc import process_tree
from ..errors import TargetError
from .interrupt import in_playwright_call, throw_in_caller
from .renderer_process import Renderer, not_in_browser_tree

BINDING = "__benchAlive"
CHECK_S = 1.0
SIGNAL = signal.SIGUSR1


def beat_ms(limit_s: float) -> int:
    """How often a watched page beats: four beats to the limit, 0.25 to 5 s apart."""
    return round(min(max(limit_s / 4, 0.25), 5.0) * 1000)


def beat_js(limit_s: float) -> str:
    return (f"(() => {{ // bench's watchdog (bench/browser/watchdog.py): a beat while the main thread is free\n"
            f"  const beat = window[{BINDING!r}];\n"
            f"  if (typeof beat === 'function') setInterval(() => beat(), {beat_ms(limit_s)});\n}})();")


class PageUnresponsive(TargetError):
    pass


class _Watchdog:
    def __init__(self, limit_s: float, kill, option: str = "--timeout"):
        self.limit_s = limit_s
        self.kill = kill  # what is killed when the page is given up, so that what waits on it fails at once
        self.option = option  # how the limit was set, for the message
        self.last_beat: float | None = None  # None: no page watched (between pages nothing is expected)
        self.strikes = 0
        self.stop = threading.Event()
        self.gave_up = False  # the page was abandoned: its renderer, its browser (local) or our driver killed

    def beat(self, *_args) -> None:
        self.last_beat = time.monotonic()
        self.strikes = 0

    def on_signal(self, signum, frame) -> None:
        if self.last_beat is None or time.monotonic() - self.last_beat < self.limit_s:
            return
        if not in_playwright_call():
            self.strikes = 0  # bench's own code runs: beats wait for its next call to be taken in
            return
        self.strikes += 1
        if self.strikes >= 2:  # a call that only just began takes in the beats that waited within CHECK_S
            self.last_beat = None
            self.gave_up = True
            self.kill()  # what waits on the page, and every clean-up after, then fails at once
            throw_in_caller(PageUnresponsive(
                f"the page stopped answering: its main thread has not been free for {self.limit_s:g} s "
                f"({self.option}), an endless loop or one very long task"))

    def loop(self, main_id: int) -> None:
        while not self.stop.wait(CHECK_S):
            last = self.last_beat
            if last is not None and time.monotonic() - last >= self.limit_s:
                signal.pthread_kill(main_id, SIGNAL)


_armed: _Watchdog | None = None


@contextlib.contextmanager
def armed(limit_s: float, location: str = "local", renderer: Renderer | None = None, option: str = "--timeout"):
    """Watch the pages opened inside the block (watch()); a no-op off the main thread. location: where
    the browser runs (bench.browser.source); a local one is killed when a page stops answering, or only
    renderer if given (a local page's, Renderer.available); option: how the limit was set (for the
    message)."""
    global _armed
    if threading.current_thread() is not threading.main_thread() or _armed is not None:
        yield
        return
    if renderer is not None:
        kill = lambda: kill_renderer(renderer)  # noqa: E731
    else:
        kill = kill_local_browser if location == "local" else kill_playwright_driver
    dog = _Watchdog(limit_s, kill, option)
    previous = signal.signal(SIGNAL, dog.on_signal)
    thread = threading.Thread(target=dog.loop, args=(threading.main_thread().ident,), daemon=True,
                              name="page-watchdog")
    _armed = dog
    thread.start()
    try:
        yield
    finally:
        _armed = None
        dog.stop.set()
        thread.join()
        signal.signal(SIGNAL, previous)


def watch(page, loaded: bool = False) -> None:
    """Make page beat, if a run is armed: an init script and a binding, before it loads; loaded: the
    page's document is already there, and starts beating now too. The beats go to whichever watchdog is
    armed when they come (the pytest plugin arms one per measurement on the same page); a page watched
    for a longer limit before gets a faster beat added."""
    dog = _armed
    if dog is None:
        return
    period = beat_ms(dog.limit_s)
    watched = getattr(page, "_bench_beat_ms", None)
    if watched is None:
        page.expose_binding(BINDING, _beat)
        page.on("close", _closed)
    if watched is None or period < watched:
        page.add_init_script(script=beat_js(dog.limit_s))
        if loaded:
            page.evaluate(beat_js(dog.limit_s))
        page._bench_beat_ms = period
    dog.beat()  # from now on: the page is loading, or known to be free


def _beat(*_args) -> None:
    if _armed is not None:
        _armed.beat()


def _closed(_page) -> None:
    if _armed is not None:
        _armed.last_beat = None  # between pages nothing is expected


@contextlib.contextmanager
def watching(page, limit_s: float, renderer: Renderer, option: str):
    """A loaded page watched while the block runs, only its renderer killed if it stops answering (the
    pytest plugin's measurements: the browser is pytest-playwright's, later tests need it)."""
    with armed(limit_s, "local", renderer, option):
        watch(page, loaded=True)
        yield


def kill_local_browser() -> None:
    """SIGKILL the browser bench launched: every process under its Playwright driver (the browser, its
    renderers and helpers, whatever the browser's name: Chromium, Chrome, Edge). A browser whose page does
    not answer does not close either: it waits on the page's renderer for ever (Playwright turns its hang
    monitor off). Playwright then sees the browser gone, and what waited on it fails at once."""
    for driver in _drivers():
        for pid in process_tree(driver):
            if pid != driver:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)


def kill_renderer(renderer: Renderer) -> None:
    """SIGKILL the page's renderer process, if it still is one of the browser's renderers (its page
    crashes; the browser and its other pages live on, and the crashed page's context closes)."""
    if not_in_browser_tree(renderer.pid, renderer.browser_pid) is None:
        with contextlib.suppress(OSError):
            os.kill(renderer.pid, signal.SIGKILL)


def kill_playwright_driver() -> None:
    """SIGKILL the Playwright driver this process started (a remote browser is not ours to kill). Its
    graceful stop, like every close before it, would close in the remote browser what bench made there,
    and that waits on the hung page for ever. Killed, every Playwright call fails at once; the remote
    browser keeps its page (a CDP-attached one also keeps the context bench made)."""
    for driver in _drivers():
        with contextlib.suppress(OSError):
            os.kill(driver, signal.SIGKILL)
    logging.getLogger("asyncio").addFilter(_DriverDeath())


def _drivers() -> list[int]:
    """The Playwright drivers under this process (`node .../cli.js run-driver`: one per sync_playwright)."""
    drivers = []
    for pid in process_tree():
        with contextlib.suppress(OSError):
            if pid != os.getpid() and b"run-driver" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
                drivers.append(pid)
    return drivers


def close(browser) -> None:
    """browser.close(), left out once the watchdog gave the page up: the browser is dead, or our driver is
    and the close would fail ("Playwright connection closed"), hiding the one line that says why the run
    stopped."""
    if _armed is None or not _armed.gave_up:
        browser.close()


class _DriverDeath(logging.Filter):
    """Drops asyncio's "Future exception was never retrieved" for the driver we killed: Playwright keeps
    the pipe's end as a future nobody reads, and its log at exit would follow bench's one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (exc is not None and str(exc) == "Connection closed while reading from the driver")
