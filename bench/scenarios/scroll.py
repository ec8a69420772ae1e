"""Scroll scenario: a long conversation scrolled by a browser-driven gesture.

Metrics (docs/metrics.md, "scroll smoothness"; definitions in
bench/stats/smoothness.py): scroll.refresh_ms (one per repetition), and per gesture
pass scroll.fps, scroll.frame_ms (every frame interval), scroll.dropped_pct,
scroll.long_frames (Long Animation Frames over 50 ms). Records: "scroll" (one
per pass: distance asked and moved, frames, expected, dropped) and
"long_frames" (one per long frame, with its script attribution).

Steps: at least M messages in the list, quiet: an earlier scenario's list of
M to 2M messages as it is, else the list is emptied (page reloaded) if an
earlier scenario filled it, and M messages are preloaded through the
target's injection path and the page waits until they are in the DOM and
painting stopped (preload()); the idle refresh
interval is measured; then R times: a gesture up by D px from the newest
message, and one back down by D px, each with CDP Input.synthesizeScrollGesture
over the list at a fixed speed and without fling. With render_cost, each pass
also gets render.scroll.* (bench/probes/render_cost.py) from CDP Performance readings
right before and right after the gesture, per frame drawn between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import TargetError, UsageError
from ..probes.frames import FramesProbe
from ..probes.render_cost import measure_window
from ..results.records import ScenarioOutput
from .history_cost import HistoryCost
from .page import PageSession
from .selectors import check_css
from ..stats.smoothness import gesture_window, overlapping, pass_smoothness, refresh_interval_ms

NAME = "scroll"
NOMINAL_REFRESH_HZ = 60
MIN_PASS_FRAMES = 120      # expected frames per pass at NOMINAL_REFRESH_HZ
# rAF deltas for the refresh interval (0.2 s at 60 Hz). A median: it stays
# the refresh interval while fewer than half the deltas are a dropped or
# late frame (5 of 12); 30 deltas cost 0.3 s more of every run for nothing.
IDLE_FRAMES = 12
DISTANCE_TOLERANCE = 0.05  # a pass that moves scrollTop off by more gets a note
# An earlier scenario's list of M to REUSE_FACTOR x M messages is scrolled as it is (preload()).
REUSE_FACTOR = 2


@dataclass
class ScrollConfig:
    messages: int = 1000
    speed: float = 2000      # px/s
    distance: float = 4000   # px, each way
    # Up-and-down cycles per repetition. 1: part of a run's scroll.fps spread
    # comes from run to run (machine load, frame phase), which more passes do
    # not reduce, so a second cycle narrowed it by 9-21 % (not the 29 % of
    # sqrt 2) for 4.4 s more (docs/scroll.md, "How many passes"); --repeat
    # narrows it, --scroll-repeat 2 still adds passes.
    repeat: int = 1
    list_selector: str | None = None  # None: the target's list selector
    render_cost: bool = True  # render.scroll.* per pass (two CDP Performance readings a pass)

    @property
    def pass_s(self) -> float:
        return self.distance / self.speed

    def validate(self) -> None:
        if self.messages < 1:
            raise UsageError(f"--scroll-messages must be at least 1 (got {self.messages})")
        if self.speed <= 0 or self.distance <= 0:
            raise UsageError(f"--scroll-speed and --scroll-distance must be positive "
                             f"(got {self.speed:g}, {self.distance:g})")
        if self.repeat < 1:
            raise UsageError(f"--scroll-repeat must be at least 1 (got {self.repeat})")
        if round(self.pass_s * NOMINAL_REFRESH_HZ) < MIN_PASS_FRAMES:
            raise UsageError(
                f"--scroll-distance {self.distance:g} at --scroll-speed {self.speed:g} px/s is a "
                f"{self.pass_s:.2f} s pass; a pass needs at least {MIN_PASS_FRAMES} frames "
                f"({MIN_PASS_FRAMES / NOMINAL_REFRESH_HZ:g} s at {NOMINAL_REFRESH_HZ} Hz)")


def add_arguments(group) -> None:
    group.add_argument("--scroll-messages", type=int, default=1000, metavar="M",
                       help="messages in the list before scrolling: preloaded, or the earlier scenarios' "
                            "when they left M to 2M (default 1000)")
    group.add_argument("--scroll-speed", type=float, default=2000, metavar="PX_PER_S",
                       help="gesture speed, fixed, no fling (default 2000 px/s)")
    group.add_argument("--scroll-distance", type=float, default=4000, metavar="PX",
                       help="each pass scrolls this far, up from the newest message, then back "
                            "down; distance/speed must give 120 frames at 60 Hz (default 4000)")
    group.add_argument("--scroll-repeat", type=int, default=1, metavar="R",
                       help="up-and-down cycles per repetition (default 1)")
    group.add_argument("--scroll-list", metavar="SELECTOR",
                       help="the scrolling message list (default: the profile's dom.list; #messages on the "
                            "bundled app)")


def from_args(args) -> "ScrollScenario":
    return ScrollScenario(ScrollConfig(messages=args.scroll_messages, speed=args.scroll_speed,
                                       distance=args.scroll_distance, repeat=args.scroll_repeat,
                                       list_selector=args.scroll_list,
                                       render_cost=not getattr(args, "no_render_cost", False)))


@dataclass(frozen=True)
class GestureSpot:
    """The list a gesture scrolls, and the viewport point (CSS px) where it starts."""

    selector: str
    x: float
    y: float


class ScrollScenario:
    name = NAME

    def __init__(self, config: ScrollConfig):
        self.config = config
        config.validate()
        self.probe = FramesProbe()
        # The list a repetition's passes scroll: how many messages, and "preload" or "earlier scenarios".
        self.list_messages: int | None = None
        self.list_from: str | None = None
        self.preload_in_dom: int | None = None  # of a preload, how many the paint probe saw in the DOM

    def expected_messages(self) -> int:
        return self.config.messages

    def run(self, session: PageSession, sink: Callable[[ScenarioOutput], None],
            advance: Callable[[int], None] = lambda n: None) -> None:
        self.preload(session)
        advance(self.config.messages)
        spot = self.locate(session)
        if self.config.render_cost:
            session.render.prepare(session)
        refresh_ms = self.measure_refresh(session, sink)
        long_frames_measured = self.probe.supports_long_frames(session.page)
        if not long_frames_measured:
            sink(ScenarioOutput(notes=["scroll: this browser has no Long Animation Frames API, so "
                                       "scroll.long_frames is not measured"]))
        index = 0
        for cycle in range(self.config.repeat):
            for direction in ("up", "down"):
                out = self.scroll_pass(session, spot, direction, refresh_ms, index, cycle)
                if not long_frames_measured:
                    del out.metrics["scroll.long_frames"]  # unknown, not zero
                sink(out)
                index += 1

    # -- steps, public so a test can trace one pass ---------------------------

    def preload(self, session: PageSession) -> None:
        """At least M messages in the list, then quiet: the earlier scenarios' or M preloaded.

        When the bursts of this repetition left between M and REUSE_FACTOR x M
        messages in the list (the default run: 1,100 after 1,000), the gesture
        scrolls those, and the page is not reloaded and refilled: the list is
        as long and made of the same corpus, and the page is quiet (the
        bursts end with the paint probe's quiet). Otherwise an earlier
        scenario's list is emptied by a reload and exactly M messages are
        preloaded through the target's injection path. The scroll records say
        which (list_messages, list_from).
        """
        page = session.page
        present = page.locator(session.target.message_selector).count()
        if self.config.messages <= present <= REUSE_FACTOR * self.config.messages:
            self.list_messages, self.list_from, self.preload_in_dom = present, "earlier scenarios", None
            return
        if present > 0:
            session.open()  # an earlier scenario filled the list: start from an empty one
        messages = session.messages.take(self.config.messages)
        tokens = [m.token for m in messages]
        history = HistoryCost(session)  # when a later scenario wants it and nothing measured it yet
        session.injector.send(messages)
        state = session.wait_delivered(tokens, session.timeout_s)
        session.injector.forget_sent(tokens)
        session.paint.forget(page, tokens)  # not measured here; frees the probe's records
        history.add(len(tokens), state["dom"])
        history.finish("scroll preload")
        if state["recv"] == 0:
            raise TargetError(f"scroll: none of {len(tokens)} preloaded messages reached the page's "
                              f"WebSocket ({session.target.inject} via {session.target.ws_match!r})")
        self.preload_in_dom = state["dom"]
        self.list_messages, self.list_from = self.config.messages, "preload"

    def locate(self, session: PageSession) -> GestureSpot:
        """The list, scrolled to its newest message; missing or too short a list is an error."""
        page = session.page
        selector = self.config.list_selector or session.target.list_selector
        if self.config.list_selector:  # dom.list was checked as the page opened (selectors.check_target)
            check_css(page, "--scroll-list", selector)
        self.probe.install(page)
        state = self.probe.list_state(page, selector)
        where = f"scroll: list {selector!r} on {session.target.url}"
        if not state["found"]:
            raise TargetError(f"{where} matched nothing (set the list selector with --scroll-list)")
        if state["scrollHeight"] <= state["clientHeight"]:
            seen = ("" if self.preload_in_dom is None
                    else f", {self.preload_in_dom} of them seen in the page's DOM")
            raise TargetError(f"{where} cannot scroll: scrollHeight {state['scrollHeight']} <= clientHeight "
                              f"{state['clientHeight']} with {self.list_messages} message(s){seen} "
                              f"(raise --scroll-messages, or point --scroll-list at the scrolling element)")
        room = state["scrollHeight"] - state["clientHeight"]
        if room < self.config.distance:
            raise TargetError(f"{where} scrolls only {room} px with {self.config.messages} messages, less "
                              f"than --scroll-distance {self.config.distance:g}; raise --scroll-messages")
        visible = state["visible"]
        if visible["width"] < 1 or visible["height"] < 1:
            raise TargetError(f"{where} is outside the viewport, where no gesture can reach it")
        self.probe.to_end(page, selector)
        return GestureSpot(selector, visible["x"], visible["y"])

    def measure_refresh(self, session: PageSession, sink: Callable[[ScenarioOutput], None]) -> float:
        """The idle refresh interval (median rAF delta), recorded as scroll.refresh_ms."""
        page = session.page
        refresh_ms = refresh_interval_ms(self.probe.idle_timestamps(page, IDLE_FRAMES + 1))
        notes = []
        if round(self.config.pass_s * 1000 / refresh_ms) < MIN_PASS_FRAMES:
            notes.append(f"scroll: the refresh interval is {refresh_ms:.1f} ms, so a pass is under "
                         f"{MIN_PASS_FRAMES} frames; raise --scroll-distance")
        sink(ScenarioOutput(metrics={"scroll.refresh_ms": ("ms", [refresh_ms])}, notes=notes))
        return refresh_ms

    def scroll_pass(self, session: PageSession, spot: GestureSpot, direction: str, refresh_ms: float,
                    index: int = 0, cycle: int = 0) -> ScenarioOutput:
        """One gesture, up or down by the configured distance, and its metrics."""
        page = session.page
        if self.config.render_cost:
            session.render.prepare(session)  # once per page; its short trace stays out of the pass
        self.probe.start(page, spot.selector)
        # yDistance > 0 scrolls up (towards older messages). "mouse": wheel
        # events with exact pixel deltas on every platform.
        y_distance = self.config.distance if direction == "up" else -self.config.distance
        before = session.render.read(session) if self.config.render_cost else None
        session.cdp.send("Input.synthesizeScrollGesture", {
            "x": spot.x, "y": spot.y, "yDistance": y_distance, "speed": self.config.speed,
            "preventFling": True, "gestureSourceType": "mouse",
        })  # returns once the gesture is over
        after = session.render.read(session, memory=True) if self.config.render_cost else None
        recorded = self.probe.stop(page)
        tops = [top for _, top in recorded["frames"]]
        window = gesture_window(tops)
        if window is None:
            raise TargetError(f"scroll: the gesture over {spot.selector!r} did not move it (scrollTop "
                              f"stayed {tops[0] if tops else '?'}); is another element covering it?")
        first, last = window
        stamps = [t for t, _ in recorded["frames"][first:last + 1]]
        smooth = pass_smoothness(stamps, refresh_ms)
        long_frames = [{"pass": index, "direction": direction, **f}
                       for f in overlapping(recorded["longFrames"], stamps[0], stamps[-1])]
        moved = (tops[first] - tops[last]) * (1 if direction == "up" else -1)

        out = ScenarioOutput()
        out.metrics["scroll.fps"] = ("fps", [smooth.fps])
        out.metrics["scroll.frame_ms"] = ("ms", smooth.frame_ms)
        out.metrics["scroll.dropped_pct"] = ("%", [smooth.dropped_pct])
        out.metrics["scroll.long_frames"] = ("count", [len(long_frames)])
        out.records["scroll"] = [{
            "pass": index, "cycle": cycle, "direction": direction,
            "list_messages": self.list_messages, "list_from": self.list_from,
            "distance_px": self.config.distance, "moved_px": moved,
            "scroll_top_start": tops[first], "scroll_top_end": tops[last],
            "frames": len(smooth.frame_ms), "expected_frames": smooth.expected_frames,
            "dropped_frames": smooth.dropped_frames, "duration_ms": smooth.duration_ms,
            "refresh_ms": refresh_ms, "start_ms": stamps[0], "end_ms": stamps[-1],
        }]
        out.records["long_frames"] = long_frames
        if before is not None:
            out.extend(self.render_cost(session, before, after, recorded["frames"], index, direction))
        if abs(moved - self.config.distance) > DISTANCE_TOLERANCE * self.config.distance:
            out.notes.append(f"scroll: pass {index} ({direction}) moved scrollTop {moved:g} px of "
                             f"{self.config.distance:g} asked")
        return out

    @staticmethod
    def render_cost(session: PageSession, before, after, frames: list, index: int, direction: str) -> ScenarioOutput:
        """render.scroll.* of one pass: per frame the page drew between the two readings."""
        drawn = sum(1 for t, _ in frames if before.page_ms < t <= after.page_ms)
        out = measure_window(before, after, drawn, session.renderer, "scroll", f"scroll pass {index}")
        for r in out.records.get("render", []):
            r.update({"pass": index, "direction": direction})
        return out


# For the registry (bench.scenarios.MODULES): the config dataclass and the scenario it drives.
CONFIG, SCENARIO = ScrollConfig, ScrollScenario
