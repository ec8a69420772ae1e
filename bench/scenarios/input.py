"""Input scenario: a person types and sends, on a calm page and while messages arrive.

Definitions in docs/input.md. Per phase (calm, then busy: messages injected
at --rate through the target's injection path, as the burst scenario does),
`sends` times: type "<text> <n>" into the profile's [input] box with real
key events (Playwright keyboard: keydown, keypress, keyup, as a keyboard
makes them) at a human pace with seeded jitter, then run the [input] send
actions and wait for the message to come back through the server and be
painted in the list.

Metrics, per phase P in calm | busy:
  input.P.key_to_paint_ms   per keystroke (bench/probes/input.py)
  input.P.input_delay_ms, input.P.processing_ms
  input.P.inp_ms            INP of the phase's keystrokes (bench/stats/inp.py, web-vitals' rule)
  input.P.send_to_echo_ms   the send action's input event -> the echo painted
  input.P.keystrokes, input.P.fast_keystrokes (no Event Timing entry: under 16 ms)
  input.P.long_frames       long animation frames that overlapped a slow keystroke
and input.inp_ms: INP of the whole visit (both phases), one per repetition.
Records: "input" (one per keystroke), "input_sends", "input_long_frames".
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import numpy as np
from playwright.sync_api import Error as PlaywrightError

from ..errors import TargetError, UsageError
from ..stats.inp import inp
from ..probes.input import PROBE_SOURCE, InputProbe, keystrokes, overlapping_long_frames
from ..results.records import ScenarioOutput
from .page import PageSession
from .message_stream import MessageStream, make_stream, wait_until

NAME = "input"
PHASES = ("calm", "busy")
DEFAULT_RATE = 20.0        # msgs/s while busy when --rate is not given
SLOW_MS = 50               # a keystroke this slow is matched with long animation frames (their own threshold)
PREROLL_S = 0.25           # messages arrive for this long before the first key of the busy phase
SETTLE_S = 3.0             # at most this long for the last keystrokes' frames once typing ends
POLL_MS = 20               # how often the echo is looked for while messages keep arriving
JITTER = 0.5               # key intervals are uniform in (1 +- JITTER) / keys_per_s
TYPABLE = {chr(c) for c in range(32, 127)}  # what Playwright types as real key events (US layout)


@dataclass
class InputConfig:
    keys_per_s: float = 8.0
    text: str = "see you soon"
    sends: int = 1             # per phase
    rate: float | None = None  # msgs/s while busy; None: DEFAULT_RATE
    seed: int = 1
    phases: tuple = PHASES     # which of calm, busy (in this order)

    def validate(self) -> None:
        if not self.phases or any(p not in PHASES for p in self.phases):
            raise UsageError(f"--input-phases {','.join(self.phases)!r}: choose from {', '.join(PHASES)}")
        if self.keys_per_s <= 0:
            raise UsageError(f"--keys-per-s must be positive (got {self.keys_per_s})")
        if self.sends < 1:
            raise UsageError(f"--input-sends must be at least 1 (got {self.sends})")
        if not self.text.strip():
            raise UsageError("--input-text must not be empty")
        odd = sorted(set(self.text) - TYPABLE)
        if odd:
            raise UsageError(f"--input-text: {odd[0]!r} has no key on a US keyboard; type printable ASCII "
                             f"(other text would arrive without key events)")
        if self.rate is not None and self.rate <= 0:
            raise UsageError(f"--rate must be positive (got {self.rate})")

    @property
    def busy_rate(self) -> float:
        return self.rate or DEFAULT_RATE


def add_arguments(group) -> None:
    group.add_argument("--keys-per-s", type=float, default=8.0, metavar="N",
                       help="typing pace, keys per second, jittered +-50%% (default 8); while busy, "
                            "messages arrive at --rate (default 20 msgs/s for this scenario)")
    group.add_argument("--input-text", default="see you soon", metavar="TEXT",
                       help="what is typed (printable ASCII); each send adds ' N' (default 'see you soon')")
    group.add_argument("--input-phases", default=",".join(PHASES), metavar="LIST",
                       help="calm, busy or both (default calm,busy): typing on a quiet page, and while "
                            "messages arrive at --rate")
    group.add_argument("--input-sends", type=int, default=1, metavar="N",
                       help="messages typed and sent per phase, calm and busy (default 1)")


def from_args(args) -> "InputScenario":
    return InputScenario(InputConfig(keys_per_s=args.keys_per_s, text=args.input_text, sends=args.input_sends,
                                     rate=args.rate, seed=getattr(args, "seed", 1),
                                     phases=tuple(p.strip() for p in args.input_phases.split(",") if p.strip())))


class InputScenario:
    name = NAME

    def __init__(self, config: InputConfig):
        config.validate()
        self.config = config
        self.probe = InputProbe()
        self._sent = 0

    def expected_messages(self) -> int:
        if "busy" not in self.config.phases:
            return 0
        per_send = (len(self.config.text) + 4) / self.config.keys_per_s
        return int(self.config.busy_rate * (PREROLL_S + self.config.sends * per_send))

    def run(self, session: PageSession, record: Callable[[ScenarioOutput], None],
            advance: Callable[[int], None] = lambda n: None) -> None:
        target, page = session.target, session.page
        if not target.input_box:
            raise UsageError(f"profile {target.name!r} has no [input] table (box and send; docs/input.md)")
        self.probe.install(page)
        self._check_box(session)
        self._warm_up(session)
        support = self.probe.arm(page)
        rng = np.random.default_rng(self.config.seed)
        latencies = []
        for phase in self.config.phases:
            out, phase_latencies = self._phase(session, phase, rng, support)
            latencies += phase_latencies
            record(out)
            if phase == "busy":
                advance(self.expected_messages())
        record(ScenarioOutput(metrics={"input.inp_ms": ("ms", [v for v in [inp(latencies)] if v is not None])}))
        page.evaluate("() => window.__benchInput.disarm()")

    def _box(self, session: PageSession):
        return session.page.locator(session.target.input_box).first

    def _check_box(self, session: PageSession) -> None:
        box, selector = self._box(session), session.target.input_box
        try:
            box.wait_for(state="visible", timeout=session.timeout_s * 1000)
        except PlaywrightError:
            raise TargetError(f"input.box {selector!r} matched nothing visible within {session.timeout_s:g} s") from None
        try:
            editable = box.is_editable()
        except PlaywrightError:  # not an input, textarea, select or contenteditable element
            editable = False
        if not editable:
            raise TargetError(f"input.box {selector!r} is not editable (disabled, read-only or not a text field)")

    def _warm_up(self, session: PageSession) -> None:
        """One key and its deletion before measuring: the first input of a page pays one-off costs."""
        self._box(session).focus()
        session.page.keyboard.type("a")
        session.page.keyboard.press("Backspace")
        session.page.wait_for_timeout(100)

    def _phase(self, session: PageSession, phase: str, rng, support: dict) -> tuple[ScenarioOutput, list]:
        page = session.page
        stream = None
        if phase == "busy":
            stream = make_stream(session, self.config.busy_rate)
        try:
            if stream is not None:
                wait_until(page, time.monotonic() + PREROLL_S, stream)
            sends = [self._send(session, stream, rng) for _ in range(self.config.sends)]
            messages = self._finish_stream(session, stream) if stream is not None else []
        finally:
            if stream is not None:  # also on an error or Ctrl-C: no thread left posting
                stream.stop(raise_error=False)
        # A keystroke's frame comes within a few frames; its Event Timing entry right after.
        self.probe.settle(page, min(session.timeout_s, SETTLE_S))
        data = self.probe.take(page)
        rows = keystrokes(data)
        for row in rows:
            row["phase"] = phase
        for send in sends:
            send["phase"] = phase
        out = self._output(phase, rows, sends, data["longFrames"], support)
        out.records["input_messages"] = [dict(m, phase=phase, threaded=stream.threaded) for m in messages]
        return out, \
            [r["key_to_paint_ms"] for r in rows if r["key_to_paint_ms"] is not None]

    def _send(self, session: PageSession, stream: MessageStream | None, rng) -> dict:
        page, target = session.page, session.target
        self._sent += 1
        text = f"{self.config.text} {self._sent}"
        self._box(session).focus()
        intervals = rng.uniform(1 - JITTER, 1 + JITTER, len(text)) / self.config.keys_per_s
        at = time.monotonic()
        for char, interval in zip(text, intervals):
            at += interval
            wait_until(page, at, stream)
            page.keyboard.type(char)
        wait_until(page, at + 1 / self.config.keys_per_s, stream)
        typed = self._box(session).evaluate("(el) => el.value ?? el.textContent")
        if text not in (typed or ""):
            raise TargetError(f"typing into input.box {target.input_box!r} did not put the text there "
                              f"(it holds {(typed or '')[:40]!r})")
        session.paint.expect(page, text)
        self.probe.arm_send(page)
        for i, step in enumerate(target.input_send):
            session.run_action(step, f"input.send[{i}]")
        echo = self._wait_echo(session, text, stream)
        sent_at = self.probe.send_start(page)
        return {"text": text, "send_ts": sent_at, **echo,
                "send_to_echo_ms": echo["paint"] - sent_at if sent_at is not None else None}

    def _wait_echo(self, session: PageSession, text: str, stream: MessageStream | None) -> dict:
        page, deadline = session.page, time.monotonic() + session.timeout_s
        while True:
            if stream is not None:
                stream.pump()
            left = deadline - time.monotonic()
            wait_ms = max(1.0, min(left * 1000, POLL_MS if stream is not None else left * 1000))
            state = session.paint.quiet(page, [text], wait_ms / 1000, stable_frames=0)
            if state["paint"] or left <= 0:
                break
            if state["dom"] and stream is None:
                page.wait_for_timeout(POLL_MS)
        rec = session.paint.take(page, [text])[0]
        if rec["dom"] is None or rec["paint"] is None:
            sends = ", ".join(f"{a} {v!r}" for step in session.target.input_send for a, v in step.items())
            seen = "was never painted" if rec["dom"] is not None else "never appeared in the page"
            raise TargetError(f"input.send ({sends}) sent nothing: the typed message {seen} within "
                              f"{session.timeout_s:g} s (--timeout)")
        return {"recv": rec["recv"], "dom": rec["dom"], "paint": rec["paint"]}

    def _finish_stream(self, session: PageSession, stream: MessageStream) -> list[dict]:
        """Stop the stream; the records of its messages (recv, dom, paint: when each one's work began)."""
        stream.stop()
        state = session.wait_delivered(stream.sent, session.timeout_s, stable_frames=2)
        session.injector.forget_sent(stream.sent)
        if state["sent"] and state["recv"] == 0 and not state["socketClosed"]:
            raise TargetError(f"none of {len(stream.sent)} injected messages reached the page's WebSocket "
                              f"({session.target.inject} via {session.target.ws_match!r})")
        return session.paint.take(session.page, stream.sent)

    def _output(self, phase: str, rows: list, sends: list, long_frames: list, support: dict) -> ScenarioOutput:
        out = ScenarioOutput()
        key = f"input.{phase}"
        values = lambda field: [r[field] for r in rows if r[field] is not None]  # noqa: E731
        latencies = values("key_to_paint_ms")
        out.metrics[f"{key}.key_to_paint_ms"] = ("ms", latencies)
        out.metrics[f"{key}.input_delay_ms"] = ("ms", values("input_delay_ms"))
        out.metrics[f"{key}.processing_ms"] = ("ms", values("processing_ms"))
        value = inp(latencies)
        out.metrics[f"{key}.inp_ms"] = ("ms", [value] if value is not None else [])
        out.metrics[f"{key}.send_to_echo_ms"] = ("ms", [s["send_to_echo_ms"] for s in sends
                                                        if s["send_to_echo_ms"] is not None])
        out.metrics[f"{key}.keystrokes"] = ("count", [len(rows)])
        out.metrics[f"{key}.fast_keystrokes"] = ("count", [sum(r["method"] == "frame" for r in rows)])
        blocking = overlapping_long_frames(rows, long_frames, SLOW_MS)
        for frame in blocking:
            frame["phase"] = phase
        if support.get("longFrames"):
            out.metrics[f"{key}.long_frames"] = ("count", [len({f["startTime"] for f in blocking})])
        out.records["input"] = rows
        out.records["input_sends"] = sends
        out.records["input_long_frames"] = blocking
        unpainted = sum(r["frame_ms"] is None for r in rows)
        if unpainted:
            out.notes.append(f"input ({phase}): {unpainted} keystroke(s) had no frame after them in time")
        if not support.get("eventTiming"):
            out.notes.append("input: this browser has no Event Timing; every keystroke timed by its frame")
        culprit = _top_script(blocking)
        if culprit:
            out.notes.append(f"input ({phase}): slow keystrokes overlapped {len(blocking)} long animation "
                             f"frame(s); most script time in {culprit}")
        return out


def _top_script(frames: list[dict]) -> str | None:
    """The script (invoker, source) with the most time in these long animation frames."""
    time_by = Counter()
    for frame in frames:
        for script in frame.get("scripts", []):
            if PROBE_SOURCE in (script.get("sourceURL") or ""):
                continue  # the probe's own listeners: not what blocked the page
            where = script.get("sourceFunctionName") or ""
            source = script.get("sourceURL") or ""
            label = f"{script.get('invoker') or '?'} ({source.rsplit('/', 1)[-1]}{':' + where if where else ''})"
            time_by[label] += script.get("duration") or 0
    return max(time_by, key=time_by.get) if time_by else None


# For the registry (bench.scenarios.MODULES): the config dataclass and the scenario it drives.
CONFIG, SCENARIO = InputConfig, InputScenario
