"""One page under measurement: its target, the injection path and the probes."""

from __future__ import annotations

from playwright.sync_api import Error as PlaywrightError

from .errors import TargetError
from .inject import InterceptInjector, make_injector
from .messages import MessageSource
from .probes.paint import PaintProbe
from .target import Target


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class PageSession:
    """Prepare (before navigation), open (navigate, wait until ready), then measure."""

    def __init__(self, page, target: Target, messages: MessageSource, timeout_s: float = 30):
        self.page = page
        self.target = target
        self.messages = messages
        self.timeout_s = timeout_s
        self.injector = make_injector(target)
        self.paint = PaintProbe()
        self._cdp = None
        # Called with this session after every open() (a reload too), e.g. headed debugging overlays.
        self.after_open: list = []

    @property
    def cdp(self):
        """A CDP session on this page (Chromium only), made on first use."""
        if self._cdp is None:
            self._cdp = self.page.context.new_cdp_session(self.page)
        return self._cdp

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
        try:
            self.page.wait_for_selector(self.target.ready_selector, state="attached", timeout=ms)
        except PlaywrightError:
            raise TargetError(f"{url}: ready selector {self.target.ready_selector!r} matched nothing "
                              f"within {self.timeout_s:g} s") from None
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
        ms = self.timeout_s * 1000
        for i, step in enumerate(self.target.setup):
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
                raise TargetError(f"page.setup[{i}] {action} {arg!r} failed: {_first_line(exc)}") from None

    def run(self, scenarios, sink, advance=lambda n: None) -> None:
        """Prepare, open, then run each scenario; `sink` receives outputs as they come."""
        self.prepare()
        self.open()
        try:
            for scenario in scenarios:
                scenario.run(self, sink, advance)
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
