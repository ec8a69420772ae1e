"""The message-to-paint probe: t_recv, t_dom, t_paint per token (paint.js)."""

from __future__ import annotations

import json

from . import probe_script


class PaintProbe:
    """method "auto": Element Timing, with the sentinel estimate for shadow-DOM
    text; "sentinel": the estimate for every message (to check it against
    Element Timing on the same page)."""

    name = "paint"

    def __init__(self, method: str = "auto"):
        self.method = method

    def install(self, page) -> None:
        """Before the page's scripts run; after any route_web_socket (pitfall 7)."""
        script = probe_script("paint.js")
        if self.method != "auto":
            script = f"window.__benchPaintMethod = {self.method!r};\n" + script
        page.add_init_script(script=script)

    def open_sockets(self, page) -> int:
        return page.evaluate("() => window.__bench ? window.__bench.openSockets() : 0")

    def quiet(self, page, tokens: list[str], timeout_s: float, stable_frames: int = 6,
              stamp: str | None = None, closed_grace_s: float | None = None,
              socket_ids: list[int | None] | None = None) -> dict:
        """Wait until the tokens are in the DOM and their paints stopped arriving (or all painted).

        Paints stopped: no new paint or presentation for stable_frames frames,
        or for 2 frames once every token was presented and those not painted
        are out of view (no frame can paint them until something scrolls).
        The state's "ended" says which: "painted", "out-of-view", "stable",
        "timeout".

        stamp: a console.timeStamp label the page stamps once the frame that
        shows the last token has done its main-thread work (RenderProbe).
        closed_grace_s: return early (socketClosed: true) once no page socket
        has been open this long. socket_ids (beside tokens: the page's id of
        the socket each was injected into): a token its socket closed before
        receiving is not waited for (socketClosed: true).
        """
        grace_ms = None if closed_grace_s is None else closed_grace_s * 1000
        return page.evaluate(
            "([tokens, ms, frames, stamp, grace, ids]) => window.__bench.quiet(tokens, ms, frames, stamp, grace, ids)",
            [tokens, timeout_s * 1000, stable_frames, stamp, grace_ms, socket_ids],
        )

    def idle(self, page, timeout_ms: float) -> None:
        """Wait until the page's main thread is idle (requestIdleCallback), at most timeout_ms."""
        page.evaluate("(ms) => window.__bench.idle(ms)", timeout_ms)

    def at_frame_phase(self, page, gap_ms: float, fraction: float) -> dict:
        """Wait until the main thread is idle (at most gap_ms), then until `fraction` (0..1) of a refresh
        interval after a frame began."""
        return page.evaluate("([gap, f]) => window.__bench.atFramePhase(gap, f)", [gap_ms, fraction])

    def take(self, page, tokens: list[str]) -> list[dict]:
        """The tokens' records ({token, recv, dom, paint, paintRaw, method, socket}); the page forgets them."""
        return json.loads(page.evaluate("(tokens) => window.__bench.take(tokens)", tokens))

    def forget(self, page, tokens: list[str]) -> int:
        """Drop the tokens' records unread (messages not measured); how many the page held."""
        return page.evaluate("(tokens) => window.__bench.forget(tokens)", tokens)

    def expect(self, page, text: str) -> None:
        """Watch for `text` (no token in it: a message the page sends itself) like a token."""
        page.evaluate("(text) => window.__bench.expect(text)", text)
