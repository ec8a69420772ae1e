"""The message-to-paint probe: t_recv, t_dom, t_paint per token (paint.js)."""

from __future__ import annotations

from . import probe_script


class PaintProbe:
    name = "paint"

    def install(self, page) -> None:
        """Before the page's scripts run; after any route_web_socket (pitfall 7)."""
        page.add_init_script(script=probe_script("paint.js"))

    def open_sockets(self, page) -> int:
        return page.evaluate("() => window.__bench ? window.__bench.openSockets() : 0")

    def quiet(self, page, tokens: list[str], timeout_s: float, stable_frames: int = 6) -> dict:
        """Wait until the tokens are in the DOM and their paints stopped arriving."""
        return page.evaluate(
            "([tokens, ms, frames]) => window.__bench.quiet(tokens, ms, frames)",
            [tokens, timeout_s * 1000, stable_frames],
        )

    def take(self, page, tokens: list[str]) -> list[dict]:
        return page.evaluate("(tokens) => window.__bench.take(tokens)", tokens)
