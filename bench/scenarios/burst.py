"""Burst scenario: B bursts of N messages, back to back or at a fixed rate.

Metrics (docs/message-to-paint.md): paint.latency_ms (on screen),
paint.presented_ms (every message), paint.recv_to_dom_ms, paint.dom_to_paint_ms, burst.settle_ms, and the counts
paint.injected / paint.unpainted, so painted + unpainted = injected. With render_cost, each
measured burst also gets the render.* metrics of bench/probes/render_cost.py
(where the main thread's time went, the renderer process's CPU and memory).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable

from ..errors import TargetError, UsageError
from ..probes.render_cost import measure_window
from ..results.records import ScenarioOutput
from .history_cost import HistoryCost
from .page import PageSession

NAME = "burst"
# Between bursts (after quiet) the page is left alone until its main thread
# is idle (requestIdleCallback), at most this long, so one burst's work ends
# before the next begins.
IDLE_GAP_MS = 100


def stratified_phases(count: int, rng: random.Random) -> list[float]:
    """Frame phases (fractions of the refresh interval) for `count` bursts: stratified random sampling.

    One phase uniform within each of `count` equal strata of [0, 1), in a
    random order: a burst's p50 depends on where in the refresh cycle it
    arrives, and back-to-back bursts of one run otherwise fall at nearly the
    same phase (each starts a fixed delay after a frame), so a run's bursts
    shared a phase a second run would not. Stratified, every run covers the
    whole cycle evenly and its blocks represent what another run would see;
    the block bootstrap's CI then holds the phase's share of the noise.
    """
    phases = [(i + rng.random()) / count for i in range(count)]
    rng.shuffle(phases)
    return phases


@dataclass
class BurstConfig:
    bursts: int = 10
    size: int = 100
    rate: float | None = None  # msgs/s; None = back to back
    warmup: int = 1
    render_cost: bool = True  # render.* per burst (two CDP Performance readings a burst)

    def validate(self) -> None:
        if self.bursts < 1 or self.size < 1:
            raise UsageError(f"--bursts and --burst-size must be at least 1 (got {self.bursts}, {self.size})")
        if self.warmup < 0:
            raise UsageError(f"--warmup must not be negative (got {self.warmup})")
        if self.rate is not None and self.rate <= 0:
            raise UsageError(f"--rate must be positive (got {self.rate})")


def burst_output(records: list[dict], no_socket=frozenset()) -> ScenarioOutput:
    """Metrics of one burst from its per-message records (page-clock ms).

    no_socket: tokens not delivered because the page had no socket open
    then (paced bursts across a reconnect) or the socket closed under them;
    counted apart (paint.no_socket), not as unpainted.
    """
    skipped = [r for r in records if r["token"] in no_socket]
    if skipped:
        records = [r for r in records if r["token"] not in no_socket]
    painted = [r for r in records if r["recv"] is not None and r["paint"] is not None]
    in_dom = [r for r in records if r["recv"] is not None and r["dom"] is not None]
    out = ScenarioOutput()
    out.metrics["paint.latency_ms"] = ("ms", [r["paint"] - r["recv"] for r in painted])
    # Every message that reached the DOM, on screen or not: t_recv to the first
    # frame presented after its text entered the DOM (the probe's frame sentinel).
    presented = [r for r in records if r["recv"] is not None and r.get("presented") is not None]
    out.metrics["paint.presented_ms"] = ("ms", [r["presented"] - r["recv"] for r in presented])
    out.metrics["paint.recv_to_dom_ms"] = ("ms", [r["dom"] - r["recv"] for r in in_dom])
    out.metrics["paint.dom_to_paint_ms"] = ("ms", [r["paint"] - r["dom"] for r in painted
                                                   if r["dom"] is not None])
    received = [r["recv"] for r in records if r["recv"] is not None]
    if painted and received:
        out.metrics["burst.settle_ms"] = ("ms", [max(r["paint"] for r in painted) - min(received)])
    out.metrics["paint.injected"] = ("count", [len(records)])
    out.metrics["paint.unpainted"] = ("count", [len(records) - len(painted)])
    if skipped:
        out.metrics["paint.no_socket"] = ("count", [len(skipped)])
        out.tallies["message(s) not delivered: the page had no socket open, or its socket closed under them "
                    "(paint.no_socket)"] = len(skipped)
    missing = len(records) - len(in_dom)
    if missing:
        out.tallies["message(s) never reached the DOM (counted as unpainted)"] = missing
    unpresented = len(in_dom) - len(presented)
    if unpresented:
        out.tallies["message(s) reached the DOM but no presented frame was reported for them "
                    "(no paint.presented_ms sample)"] = unpresented
    out.records["paint"] = records
    return out


def add_arguments(group) -> None:
    group.add_argument("--bursts", type=int, default=10, help="measured bursts (default 10)")
    group.add_argument("--burst-size", type=int, default=100, metavar="N",
                       help="messages per burst (default 100)")
    group.add_argument("--rate", type=float, metavar="MSGS_PER_S",
                       help="deliver each burst at this rate instead of back to back")
    group.add_argument("--warmup", type=int, default=1, metavar="BURSTS",
                       help="warm-up bursts per repetition, not counted (default 1)")


def from_args(args) -> "BurstScenario":
    return BurstScenario(BurstConfig(bursts=args.bursts, size=args.burst_size, rate=args.rate,
                                     warmup=args.warmup,
                                     render_cost=not getattr(args, "no_render_cost", False)))


class BurstScenario:
    name = NAME

    def __init__(self, config: BurstConfig):
        self.config = config
        config.validate()

    def expected_messages(self) -> int:
        return self.config.bursts * self.config.size

    def run(self, session: PageSession, record: Callable[[ScenarioOutput], None],
            advance: Callable[[int], None] = lambda n: None) -> None:
        if self.config.render_cost:
            session.render.prepare(session)
        # The chat history's cost per message for a later scenario (cycles), over
        # every message of this run's bursts on the fresh page; heap reads are not timed.
        history = HistoryCost(session)
        # Bursts in a row whose messages reached the page's socket and none its DOM: counted on this page
        # only (the scenario object serves every repetition, each on a fresh page).
        self._blind = 0
        for _ in range(self.config.warmup):
            records, _ = self._burst(session)
            history.add(len(records), sum(r["dom"] is not None for r in records))
        # A fresh generator per run (seeded from the OS): runs must differ as two runs would.
        phases = stratified_phases(self.config.bursts, random.Random())
        for index in range(self.config.bursts):
            phase = session.paint.at_frame_phase(session.page, IDLE_GAP_MS, phases[index])
            records, cost = self._burst(session, index)
            for r in records:
                r["burst"] = index
                r["phase_ms"] = phase["phaseMs"]
            out = burst_output(records, session.injector.no_socket)
            if cost is not None:
                received = [r["recv"] for r in records if r["recv"] is not None]
                painted = [r["paint"] for r in records if r["paint"] is not None]
                for r in cost.records.get("render", []):
                    # The settle window on the page clock, beside the render window.
                    r.update(burst=index, first_recv_ms=min(received, default=None),
                             last_paint_ms=max(painted, default=None))
                out.extend(cost)
            record(out)
            advance(len(records))
            history.add(len(records), sum(r["dom"] is not None for r in records))
        history.finish("bursts")

    def _burst(self, session: PageSession, index: int | None = None) -> tuple[list[dict], ScenarioOutput | None]:
        """One burst: its per-message records, and its render cost (None: warm-up or render_cost off)."""
        page, probe = session.page, session.paint
        messages = session.messages.take(self.config.size)
        tokens = [m.token for m in messages]
        measured = self.config.render_cost and index is not None
        # The window: from a reading right before the first message to the
        # page's stamp after the frame that shows the last one.
        start = session.render.read(session) if measured else None
        stamp = session.render.arm(session) if measured else None
        self._deliver(session, messages)
        state = session.wait_delivered(tokens, session.timeout_s + self._delivery_s(), stamp=stamp)
        if state["sent"] and state["recv"] == 0 and not state["socketClosed"]:
            raise TargetError(f"none of {len(tokens)} injected messages reached the page's WebSocket "
                              f"({session.target.inject} via {session.target.ws_match!r})")
        blind = bool(state["recv"]) and state["dom"] == 0 and state["timedOut"] and not state["socketClosed"]
        self._blind = self._blind + 1 if blind else 0
        if self._blind == 2:
            # A page that shows nothing would cost the whole wait again in every burst (11 x --timeout at
            # the defaults: 5.5 minutes), to measure that it shows nothing. Two in a row, not one: a list
            # that renders only the rows in view (virtualized) and was scrolled away may miss one burst.
            raise TargetError(f"none of the messages the page's WebSocket received in two bursts in a row reached "
                              f"its DOM within {session.timeout_s + self._delivery_s():g} s each: the page does not "
                              f"render them, or not as text bench can see (a canvas, a closed shadow root, an "
                              f"iframe); is websocket.frame what the app expects?")
        cost = None
        if measured:
            cost = measure_window(start, session.render.stamped(session, stamp), len(tokens), session.renderer,
                                  "burst", f"burst {index}")
        records = probe.take(page, tokens)
        # Injected into a socket that closed before delivering them: lost with it, not unpainted.
        missing = [r["token"] for r in records if r["recv"] is None]
        if missing:
            session.injector.no_socket.update(session.injector.lost_with_socket(missing))
        session.injector.forget_sent(tokens)
        if index is None:  # warm-up; a measured burst waits its gap in at_frame_phase
            session.paint.idle(page, IDLE_GAP_MS)
        return records, cost

    def _delivery_s(self) -> float:
        return self.config.size / self.config.rate if self.config.rate else 0.0

    def _deliver(self, session: PageSession, messages) -> None:
        if not self.config.rate:
            session.injector.send(messages)
            return
        # Paced: each message at its scheduled time from the start, so drift
        # does not accumulate; waiting through Playwright lets the sends flush.
        start = time.monotonic()
        for i, message in enumerate(messages):
            wait_ms = (start + i / self.config.rate - time.monotonic()) * 1000
            if wait_ms > 1:
                session.page.wait_for_timeout(wait_ms)
            session.injector.send([message], wait=False)


# For the registry (bench.scenarios.MODULES): the config dataclass and the scenario it drives.
CONFIG, SCENARIO = BurstConfig, BurstScenario
