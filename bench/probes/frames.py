"""The frames probe: rAF timestamps and scrollTop per frame, long animation frames (frames.js)."""

from __future__ import annotations

from . import probe_script


class FramesProbe:
    name = "frames"

    def install(self, page) -> None:
        """Injected into the running page before the first gesture (a second call does nothing)."""
        page.evaluate(probe_script("frames.js"))

    def list_state(self, page, selector: str) -> dict:
        """{found, scrollTop, scrollHeight, clientHeight, visible: {x, y, width, height}}."""
        return page.evaluate("(selector) => window.__benchFrames.list(selector)", selector)

    def to_end(self, page, selector: str, settle_frames: int = 3) -> float:
        return page.evaluate("([selector, n]) => window.__benchFrames.toEnd(selector, n)",
                             [selector, settle_frames])

    def idle_timestamps(self, page, count: int) -> list[float]:
        return page.evaluate("(count) => window.__benchFrames.idle(count)", count)

    def start(self, page, selector: str) -> None:
        page.evaluate("(selector) => window.__benchFrames.start(selector)", selector)

    def stop(self, page, still_frames: int = 5, max_ms: float = 1000) -> dict:
        """{frames: [[rAF timestamp ms, scrollTop], ...], longFrames: [LoAF records]}."""
        return page.evaluate("([n, ms]) => window.__benchFrames.stop(n, ms)", [still_frames, max_ms])

    def supports_long_frames(self, page) -> bool:
        return page.evaluate("() => window.__benchFrames.supportsLongFrames")
