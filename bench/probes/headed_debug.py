"""Headed debugging for `bench ui --headed`: --overlay, --pause-on-jank MS, --keep-open.

- overlay: Chromium's own FPS meter and paint flashing (CDP
  Overlay.setShowFPSCounter / Overlay.setShowPaintRects), drawn by the
  compositor on the window, set again after every navigation (a reload starts
  a new document whose overlay settings are fresh).
- pause-on-jank: the jank watcher (probes/jank.js) reports a frame longer
  than MS through a binding; bench then opens the Playwright inspector with
  page.pause(). Playwright runs a binding's callback beside the script, not
  in its place, so the script would go on while the inspector is open: the
  runner therefore calls checkpoint() after every measurement it records,
  which holds the run until the inspector's Resume. One pause per
  measurement (a burst, a scroll pass, a cycle): with jank in every frame,
  Resume goes on to the next measurement instead of pausing again at once.
- keep-open: after the run (and the trace passes), the browser stays open
  with the last measured page until Enter; a pause still open then is
  resumed first, and none comes after.

Numbers from such a run are for looking, not for comparing: the overlay
and the watcher's rAF loop cost frames (the run's env says headed).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from playwright.sync_api import Error as PlaywrightError

from ..errors import UsageError
from . import probe_script

POLL_MS = 250  # checkpoint's wait while paused (each wait shows in the inspector's log)


@dataclass
class DebugOptions:
    headed: bool = False
    overlay: bool = False
    pause_on_jank_ms: float | None = None
    keep_open: bool = False

    @property
    def active(self) -> bool:
        return self.overlay or self.pause_on_jank_ms is not None or self.keep_open

    def validate(self) -> None:
        for flag, used in (("--overlay", self.overlay), ("--pause-on-jank", self.pause_on_jank_ms is not None),
                           ("--keep-open", self.keep_open)):
            if used and not self.headed:
                raise UsageError(f"{flag} needs --headed (it is for watching the browser window)")
        if self.pause_on_jank_ms is not None and self.pause_on_jank_ms <= 0:
            raise UsageError(f"--pause-on-jank must be a positive number of ms (got {self.pause_on_jank_ms:g})")


def add_arguments(parser) -> None:
    g = parser.add_argument_group("headed debugging (with --headed)")
    g.add_argument("--overlay", action="store_true",
                   help="show Chromium's FPS meter and paint flashing on the page (CDP Overlay)")
    g.add_argument("--pause-on-jank", type=float, metavar="MS",
                   help="when a frame takes longer than MS, pause in the Playwright inspector with the page as "
                        "it is (Resume there to go on; once per burst, scroll pass or cycle)")
    g.add_argument("--keep-open", action="store_true",
                   help="leave the browser open at the end, with the last page, until Enter")


def options_from_args(args) -> DebugOptions:
    options = DebugOptions(headed=args.headed, overlay=args.overlay, pause_on_jank_ms=args.pause_on_jank,
                           keep_open=args.keep_open)
    options.validate()
    return options


class HeadedDebug:
    """The runner's debugging hooks: attach(session) before a page opens, checkpoint() after each
    measurement, hold_open() at the end."""

    def __init__(self, options: DebugOptions, out=None, stdin=None):
        self.options = options
        self.out = out or sys.stderr
        self.stdin = stdin or sys.stdin
        self.paused = False      # the inspector is open
        self.armed = True        # a long frame may pause (again after the next checkpoint)
        self.long_frames: list[dict] = []
        self.last_page = None    # the page --keep-open leaves open

    @property
    def keep_open(self) -> bool:
        return self.options.keep_open

    def attach(self, session) -> None:
        self.last_page = session.page
        if self.options.overlay:
            session.after_open.append(show_overlay)
        if self.options.pause_on_jank_ms is not None:
            page = session.page
            install_jank_watcher(page, self.options.pause_on_jank_ms, lambda frame: self._on_long_frame(page, frame))

    def _on_long_frame(self, page, frame: dict) -> None:
        self.long_frames.append(frame)
        if self.paused or not self.armed:
            return
        self.armed, self.paused = False, True
        print(f"bench: a {frame['duration']:.1f} ms frame (--pause-on-jank {self.options.pause_on_jank_ms:g}) "
              f"at {frame['end']:.0f} ms on the page clock: paused in the Playwright inspector; press Resume "
              f"there to go on (Ctrl-C stops the run, keeping the results so far)", file=self.out, flush=True)
        try:
            page.pause()
        finally:
            self.paused = False
        print("bench: resumed", file=self.out, flush=True)

    def checkpoint(self, session) -> None:
        """After a measurement: wait while the inspector is open, then re-arm the pause."""
        while self.paused:
            session.page.wait_for_timeout(POLL_MS)
        self.armed = True

    def hold_open(self) -> None:
        if not self.keep_open:
            return
        # The run is over: a long frame in the page left open pauses no more, and a pause that came before
        # this point is waited out here. While bench waits for Enter it makes no Playwright call, so nothing
        # would process the inspector's Resume: a pause then could only end with Enter (seen in CI).
        self.armed = False
        try:
            while self.paused and self.last_page is not None and not self.last_page.is_closed():
                self.last_page.wait_for_timeout(POLL_MS)
        except PlaywrightError:
            return  # the window was closed while paused: nothing is left to keep open
        if self.options.overlay and self.last_page is not None:
            # The measured session's CDP connection is closed by now, and its overlay with it.
            cdp = self.last_page.context.new_cdp_session(self.last_page)
            for method, params in OVERLAY_COMMANDS:
                cdp.send(method, params)
        print("bench: --keep-open: the browser stays open with the last page; press Enter to close it",
              file=self.out, flush=True)
        try:
            self.stdin.readline()
        except (EOFError, KeyboardInterrupt, OSError):
            pass


def install_jank_watcher(page, threshold_ms: float, on_long_frame) -> None:
    """probes/jank.js in every document of `page`; on_long_frame({start, end, duration}) per frame over threshold."""
    page.expose_binding("__benchJank", lambda source, frame: on_long_frame(frame))
    page.add_init_script(script=f"window.__benchJankThresholdMs = {float(threshold_ms)!r};\n" + probe_script("jank.js"))


OVERLAY_COMMANDS = (("Overlay.setShowFPSCounter", {"show": True}), ("Overlay.setShowPaintRects", {"result": True}))


def show_overlay(session) -> None:
    """Chromium's FPS meter and paint flashing on this page, drawn by the compositor on the window.

    They last as long as the CDP session that asked for them.
    """
    for method, params in OVERLAY_COMMANDS:
        session.cdp.send(method, params)
