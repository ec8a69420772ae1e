"""One page under measurement: its target, the injection path and the probes."""

from __future__ import annotations

import time

from playwright.sync_api import Error as PlaywrightError

from .errors import TargetError
from .inject import InterceptInjector, make_injector
from .messages import MessageSource
from .probes.paint import PaintProbe
from .results import ScenarioOutput
from .probes.render import RenderProbe
from .renderer_process import Renderer, find_renderer
from .target import Target


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class PageSession:
    """Prepare (before navigation), open (navigate, wait until ready), then measure."""

    # Where the browser runs (bench.browser_source): only a local one's
    # processes can be read from this machine's /proc.
    browser_location = "local"

    def __init__(self, page, target: Target, messages: MessageSource, timeout_s: float = 30):
        self.page = page
        self.target = target
        self.messages = messages
        self.timeout_s = timeout_s
        self.injector = make_injector(target)
        self.paint = PaintProbe()
        self.render = RenderProbe()
        # "remote": the browser's processes are not on this machine, so the
        # renderer's CPU and memory are "not available" (bench/renderer_process.py).
        self.browser_location = "local"
        self._cdp = None
        self._renderer: Renderer | None = None
        # Called with this session after every open() (a reload too), e.g. headed debugging overlays.
        self.after_open: list = []

    @property
    def cdp(self):
        """A CDP session on this page (Chromium only), made on first use."""
        if self._cdp is None:
            self._cdp = self.page.context.new_cdp_session(self.page)
        return self._cdp

    @property
    def renderer(self) -> Renderer:
        """The page's renderer process (found once, by a short trace), or why it cannot be read."""
        if self._renderer is None:
            self._renderer = find_renderer(self.cdp, self.page, self.browser_location)
        return self._renderer

    def prepare(self) -> None:
        # Order matters: the route first, then the WebSocket wrapper (DESIGN.md section 7).
        self.injector.attach(self.page)
        self.paint.install(self.page)

    def open(self) -> None:
        """Navigate, wait for the ready selector, run setup steps, wait for the chat socket."""
        url, ms = self.target.url, self.timeout_s * 1000
        try:
            self.page.goto(url, wait_until="load", timeout=ms)
        except PlaywrightError as exc:
            raise TargetError(f"cannot load {url}: {_first_line(exc)}") from None
        self.wait_ready()

    def wait_ready(self, setup: bool = True) -> None:
        """On a loaded page: the ready selector, the setup steps (if setup), the chat socket."""
        url, ms = self.target.url, self.timeout_s * 1000
        try:
            self.page.wait_for_selector(self.target.ready_selector, state="attached", timeout=ms)
        except PlaywrightError:
            raise TargetError(f"{url}: ready selector {self.target.ready_selector!r} matched nothing "
                              f"within {self.timeout_s:g} s") from None
        if setup:
            self._run_setup()
        try:
            self.page.wait_for_function("() => window.__bench.openSockets() > 0", timeout=ms)
        except PlaywrightError:
            raise TargetError(f"{url}: the page opened no WebSocket within {self.timeout_s:g} s") from None
        if isinstance(self.injector, InterceptInjector) and not self.injector.connected:
            # The route handler runs as Playwright dispatches the socket's creation.
            self.page.wait_for_timeout(200)
        if isinstance(self.injector, InterceptInjector) and not self.injector.connected:
            seen = ", ".join(s["url"] for s in self.page.evaluate("() => window.__bench.sockets()"))
            raise TargetError(f"{url}: no page WebSocket matched {self.target.ws_match!r} (saw {seen})")
        for hook in self.after_open:
            hook(self)

    def _run_setup(self) -> None:
        """The profile's page.setup steps (log in, pick a room, ...)."""
        for i, step in enumerate(self.target.setup):
            self.run_action(step, f"page.setup[{i}]")

    def run_action(self, step: dict, where: str) -> None:
        """One profile action ({click = sel}, {fill = [sel, text]}, {press = [sel, key]}, ...)."""
        ms = self.timeout_s * 1000
        (action, arg), = step.items()
        try:
            if action == "click":
                self.page.click(arg, timeout=ms)
            elif action == "fill":
                self.page.fill(arg[0], arg[1], timeout=ms)
            elif action == "press":
                self.page.press(arg[0], arg[1], timeout=ms)
            elif action == "wait_for":
                self.page.wait_for_selector(arg, state="attached", timeout=ms)
            elif action == "wait_ms":
                self.page.wait_for_timeout(arg)
        except PlaywrightError as exc:
            raise TargetError(f"{where} {action} {arg!r} failed: {_first_line(exc)}") from None

    def run(self, scenarios, sink, advance=lambda n: None) -> None:
        """Prepare, open, then run each scenario; `sink` receives outputs as they come."""
        self.prepare()
        self.open()
        try:
            for scenario in scenarios:
                started = time.monotonic()
                scenario.run(self, sink, advance)
                sink(ScenarioOutput(timings={scenario.name: time.monotonic() - started}))
        finally:
            self.close()

    def close(self) -> None:
        self.injector.close()
        if self._cdp is not None:
            try:
                self._cdp.detach()
            except PlaywrightError:
                pass  # page already closed
            self._cdp = None
        self.render.forget()
