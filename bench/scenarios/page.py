"""One page under measurement: its target, the injection path and the probes."""

from __future__ import annotations

import os
import time

from playwright.sync_api import Error as PlaywrightError

from ..errors import TargetError, first_line
from ..targets.inject import InterceptInjector, make_injector
from ..targets.messages import MessageSource
from ..probes.paint import PaintProbe
from ..results.records import ScenarioOutput
from ..probes.render import RenderProbe
from ..browser import host_load, watchdog
from ..browser.renderer_process import Renderer, find_renderer
from ..targets.target import Target
from .selectors import check_target

# With a scenario that runs without a WebSocket (stream), how long to wait for
# the page's socket before the scenarios that need one are skipped.
OPTIONAL_SOCKET_WAIT_S = 5.0


ROUTE_WAIT_MS = 200


WORKER_GRACE_S = 3.0  # a page with workers but no socket of its own after this: its socket is in a worker


class PageSession:
    """Prepare (before navigation), open (navigate, wait until ready), then measure."""

    # Set by run(): whether a scenario needs the page's WebSocket, whether one
    # runs without it (then a page with none skips the others), and whether
    # the page turned out to have none.
    socket_needed = True
    socket_optional = False
    no_socket = False
    socket_wait_s = 0.0

    def __init__(self, page, target: Target, messages: MessageSource, timeout_s: float = 30,
                 browser_location: str = "local"):
        self.page = page
        self.target = target
        self.messages = messages
        self.timeout_s = timeout_s
        self.injector = make_injector(target)
        self.paint = PaintProbe()
        self.render = RenderProbe()
        # Where the browser runs (bench.browser.source): only a local one's processes can be
        # read from this machine's /proc; elsewhere the renderer's CPU and memory are "not
        # available" (bench/browser/renderer_process.py).
        self.browser_location = browser_location
        self._cpu_throttle = 1.0
        self._cdp = None
        self._renderer: Renderer | None = None
        self.crashed = False  # its renderer died (killed by the watchdog): a CDP detach would wait for ever
        # Called with this session after every open() (a reload too), e.g. headed debugging overlays.
        self.after_open: list = []
        # Chat history's cost measured by a scenario that fills a fresh page anyway
        # ({"messages", "bytes", "nodes", "source"} per message; the scroll preload),
        # for a later scenario that reports heap.bytes_per_message (cycles).
        # history_wanted: some scenario of this run would use it.
        self.history: dict | None = None
        self.history_wanted = False

    @property
    def cdp(self):
        """A CDP session on this page (Chromium only), made on first use."""
        if self._cdp is None:
            self._cdp = self.page.context.new_cdp_session(self.page)
        return self._cdp

    def throttle_cpu(self, rate: float) -> None:
        """Slow this page's CPU down by rate (CDP Emulation.setCPUThrottlingRate); 1 = none.

        Every page driver (bench ui, the trace passes, the pytest fixture) throttles
        through here, so a run and its unmeasured passes are slowed alike."""
        if rate != self._cpu_throttle:
            self.cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
            self._cpu_throttle = rate

    @property
    def renderer(self) -> Renderer:
        """The page's renderer process (found once, by a short trace), or why it cannot be read."""
        if self._renderer is None:
            self._renderer = find_renderer(self.cdp, self.page, self.browser_location)
        return self._renderer

    def prepare(self) -> None:
        watchdog.watch(self.page)  # a page that stops answering ends the run, not hangs it (bench ui)
        # Order matters: the route first, then the WebSocket wrapper (docs/measurement.md, "Known pitfalls").
        self.injector.attach(self.page)
        if self.socket_needed:
            # The message probe. A run of socket-free scenarios only (stream) has no use for it, and
            # it costs each streamed chunk's task a little (docs/streaming.md#what-it-costs).
            self.paint.install(self.page)

    def open(self) -> None:
        """Navigate, wait for the ready selector, run setup steps, wait for the chat socket."""
        url, ms = self.target.url, self.timeout_s * 1000
        try:
            self.page.goto(url, wait_until="load", timeout=ms)
        except PlaywrightError as exc:
            hint = (" (nothing listens there: start the chat app first, or give its address with --url)"
                    if "ERR_CONNECTION_REFUSED" in str(exc) else "")
            raise TargetError(f"cannot load {url}: {first_line(exc)}{hint}") from None
        check_target(self.page, self.target)
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
        if self.socket_needed:
            socket_ms = min(ms, OPTIONAL_SOCKET_WAIT_S * 1000) if self.socket_optional else ms
            self.socket_wait_s = socket_ms / 1000
            # A page socket, or a worker (whose socket Playwright cannot see).
            try:
                self.page.wait_for_function("() => { const w = window.__bench.workers(); "
                                            "return window.__bench.openSockets() > 0 || w.dedicated + w.shared > 0; }",
                                            timeout=socket_ms)
                if not self.page.evaluate("() => window.__bench.openSockets()"):
                    # Workers only, so far: give the page a moment to open a socket of its own.
                    self.page.wait_for_function("() => window.__bench.openSockets() > 0",
                                                timeout=min(socket_ms, WORKER_GRACE_S * 1000))
            except PlaywrightError:
                workers = self.page.evaluate("() => window.__bench.workers()")
                if workers["dedicated"] or workers["shared"]:
                    if self.target.inject == "server":
                        return self._opened()
                    raise TargetError(f"{url}: the page opened no WebSocket of its own but started "
                                      f"{workers['dedicated']} Worker(s) and {workers['shared']} SharedWorker(s): "
                                      "a socket inside a worker cannot be routed by Playwright; "
                                      "use inject = \"server\" (--inject server), which still works") from None
                if not self.socket_optional:
                    # An assistant page streams its replies without one: say where its measurement is.
                    hint = ("; the profile has a [stream] table: for a page without a socket, run "
                            "--scenario stream (or all, which skips what needs a socket)") if self.target.stream else ""
                    raise TargetError(f"{url}: the page opened no WebSocket within {self.timeout_s:g} s{hint}") from None
                self.no_socket = True
        if self.no_socket or not self.socket_needed:
            return self._opened()
        # The route handler runs as Playwright dispatches the socket's creation:
        # give it up to ROUTE_WAIT_MS, checking every 10 ms.
        waited = 0
        while isinstance(self.injector, InterceptInjector) and not self.injector.connected and waited < ROUTE_WAIT_MS:
            self.page.wait_for_timeout(10)
            waited += 10
        if isinstance(self.injector, InterceptInjector) and not self.injector.connected:
            seen = ", ".join(s["url"] for s in self.page.evaluate("() => window.__bench.sockets()"))
            raise TargetError(f"{url}: no page WebSocket matched {self.target.ws_match!r} (saw {seen})")
        self._opened()

    def _opened(self) -> None:
        for hook in self.after_open:
            hook(self)

    def _run_setup(self) -> None:
        """The profile's page.setup steps (log in, pick a room, ...)."""
        self.run_actions(self.target.setup, "page.setup")

    def run_actions(self, steps: list[dict], where: str) -> None:
        """Page actions of a profile (page.setup, stream.start); a failed one is a TargetError naming it."""
        for i, step in enumerate(steps):
            self.run_action(step, f"{where}[{i}]")

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
            raise TargetError(f"{where} {action} {arg!r} failed: {first_line(exc)}") from None

    def run(self, scenarios, sink, advance=lambda n: None) -> None:
        """Prepare, open, then run each scenario; `sink` receives outputs as they come.

        Scenarios with needs_socket = False (stream) run on a page with no
        WebSocket; the others are then skipped with a note.
        """
        socketless = [s for s in scenarios if not getattr(s, "needs_socket", True)
                      and not (hasattr(s, "skipped") and s.skipped(self.target))]
        self.socket_needed = any(getattr(s, "needs_socket", True) for s in scenarios)
        self.socket_optional = bool(socketless)
        self.prepare()
        for scenario in scenarios:
            if hasattr(scenario, "before_open"):
                scenario.before_open(self)  # init scripts, before the page's own
        self.open()
        self.plan(scenarios)
        # The rest of the machine's load while this page is measured (bench.browser.host_load).
        load_start = host_load.snapshot() if self.browser_location == "local" else None
        try:
            for scenario in scenarios:
                if self.no_socket and getattr(scenario, "needs_socket", True):
                    sink(ScenarioOutput(notes=[f"{scenario.name}: skipped: the page opened no WebSocket "
                                               f"within {self.socket_wait_s:g} s"]))
                    continue
                started = time.monotonic()
                scenario.run(self, sink, advance)
                sink(ScenarioOutput(timings={scenario.name: time.monotonic() - started}))
            load_end = host_load.snapshot() if load_start is not None else None
            other = host_load.other_cpu_pct(load_start, load_end) if load_end is not None else None
            if other is not None:
                sink(ScenarioOutput(metrics={"host.other_cpu_pct": ("%", [other])}, records={"host_load": [{
                    "other_cpu_pct": other, "seconds": load_end.wall_s - load_start.wall_s,
                    "cpus": os.cpu_count()}]}))
        finally:
            if self.injector.notes:  # how injection reached the page (e.g. after a Socket.IO upgrade)
                sink(ScenarioOutput(notes=list(self.injector.notes)))
            self.close()

    def plan(self, scenarios) -> None:
        """What the scenarios about to run on this page share: whether one wants the history's cost."""
        self.history_wanted = any(getattr(s, "uses_history", False) for s in scenarios)

    @property
    def closed_grace_s(self) -> float | None:
        """How long a wait for messages may go on with no page socket open (None: not watched)."""
        return self.injector.grace_s if isinstance(self.injector, InterceptInjector) else None

    def wait_delivered(self, tokens: list[str], timeout_s: float, stable_frames: int = 6,
                       stamp: str | None = None) -> dict:
        """PaintProbe.quiet on the injected tokens, following the page's socket.

        Tokens that were never sent (no socket was open: injector.no_socket)
        are not waited for, nor those whose socket closed before the page
        received them (whatever socket the page is on by then). If a socket
        the tokens went to closed, or some were not sent, the page must have
        a live socket again within the grace period (else TargetError);
        state["socketClosed"] says whether one closed under them.
        """
        sent = [t for t in tokens if t not in self.injector.no_socket]
        state = self.paint.quiet(self.page, sent, timeout_s, stable_frames=stable_frames, stamp=stamp,
                                 closed_grace_s=self.closed_grace_s, socket_ids=self.injector.sockets_of(sent))
        state["socketClosed"] = self.check_socket(state)
        if len(sent) < len(tokens) and not state["socketClosed"]:
            self.injector.ensure_socket()
        state["sent"] = len(sent)
        return state

    def check_socket(self, state: dict) -> bool:
        """After PaintProbe.quiet: whether the socket the messages went to closed first.

        A page socket that died and did not come back is a TargetError.
        """
        if state.get("socketClosed"):
            self.injector.ensure_socket()
            return True
        return False

    def close(self) -> None:
        self.injector.close()
        if self._cdp is not None and not self.crashed:
            try:
                self._cdp.detach()
            except PlaywrightError:
                pass  # page already closed
        self._cdp = None
        self.render.forget()
