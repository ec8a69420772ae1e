"""Stream scenario: N prompts, each answered by a reply that streams into one growing element.

Needs the profile's [stream] table (docs/streaming.md); with no such table it
is skipped with a note when it runs as part of `all`, and is a usage error
when asked for by name. It needs no WebSocket on the page.

Per reply: the stream probe (bench/probes/stream.js) is armed with the reply
selector, the profile's start actions run with {text} = the next prompt of
the corpus, and the probe reports every chunk's arrival, its text in the DOM
and the frame that painted it. Metrics: bench/scenarios/stream_metrics.py. With
render_cost, also render.stream.* (bench/probes/render_cost.py) from a CDP
Performance reading before the start actions to the page's stamp after the
frame that shows the last chunk, per chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import background_import
from ..errors import TargetError, UsageError
from ..targets.bundled import fixture_path
from ..probes.frames import FramesProbe
from ..probes.render import Reading
from ..probes.stream import StreamProbe, StreamTrace
from ..probes.render_cost import measure_window
from ..browser.renderer_process import Renderer
from ..results.records import ScenarioOutput
from ..stats.smoothness import refresh_interval_ms
from .stream_metrics import growth_fit, growth_note, reply_output

NAME = "stream"
IDLE_FRAMES = 10          # rAF deltas for the refresh interval (its median: a few suffice)
DEFAULT_PROMPTS = fixture_path("messages/prompts.txt")
NO_PROCESS_FIGURES = Renderer(None, "renderer process: not read for stream replies (their window ends in the "
                                    "page, not where /proc is read)")


def load_prompts(path: str | Path) -> list[str]:
    """One prompt per line; blank lines and # comments skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--prompts {path}: cannot read: {exc}") from None
    prompts = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not prompts:
        raise UsageError(f"--prompts {path}: no prompts in it (one per line, # for comments)")
    return prompts


@dataclass
class StreamConfig:
    replies: int = 3
    prompts: str = str(DEFAULT_PROMPTS)
    render_cost: bool = True  # render.stream.* per reply (a CDP reading before, a page stamp after)
    # Where paints and frames come from: "trace" (a Chrome trace per reply, nothing run in the page per
    # frame) or "sentinel" (the page's frame sentinel and a rAF loop; also where no trace can be recorded).
    paints: str = "trace"
    required: bool = False    # named in --scenario: a profile without [stream] is an error
    prompt_list: list[str] = field(default_factory=list, repr=False)

    def validate(self) -> None:
        if self.replies < 1:
            raise UsageError(f"--replies must be at least 1 (got {self.replies})")
        self.prompt_list = load_prompts(self.prompts)


def add_arguments(group) -> None:
    group.add_argument("--replies", type=int, default=3, metavar="N",
                       help="streamed replies measured per repetition (default 3; needs the profile's "
                            "[stream] table, docs/streaming.md)")
    group.add_argument("--prompts", default=None, metavar="FILE",
                       help="prompt corpus, one prompt per line, used in order (default: "
                            "bench/targets/data/messages/prompts.txt)")


def from_args(args) -> "StreamScenario":
    from . import by_name  # the package imports this module

    return StreamScenario(StreamConfig(replies=args.replies, prompts=args.prompts or str(DEFAULT_PROMPTS),
                                       render_cost=not getattr(args, "no_render_cost", False),
                                       required=by_name(args.scenario, NAME)))


def _substitute(step: dict, text: str) -> dict:
    (action, arg), = step.items()
    if isinstance(arg, str):
        return {action: arg.replace("{text}", text)}
    if isinstance(arg, list):
        return {action: [a.replace("{text}", text) if isinstance(a, str) else a for a in arg]}
    return step


def _failure(error: str, record: dict, target, timeout_s: float) -> str:
    """One line naming what did not happen."""
    spec = target.stream
    within = f"within {timeout_s:g} s"
    request = record.get("request") or {}
    if error == "no-request":
        return (f"stream.start triggered no request (no fetch, EventSource or WebSocket send) {within}; "
                f"check the start actions {spec['start']!r}")
    if error == "no-chunk":
        transport = spec["transport"]
        failed = f"; that request failed before any response: {request['error']}" if request.get("error") else ""
        return (f"the reply's stream delivered no chunk {within} (request: {request.get('kind')} "
                f"{request.get('url')}; transport {transport!r}){failed}")
    if error == "stream-broke":
        return (f"the reply's stream broke after {len(record['chunks'])} chunk(s) ({request.get('kind')} "
                f"{request.get('url')}): {record['ended']['error']}")
    if error == "reply-never-filled":
        return (f"stream.reply {spec['reply']!r} never filled: {len(record['chunks'])} chunk(s) arrived "
                f"but no new match of it gained text {within}")
    hint = (f"the done selector {spec['done']!r} never matched a new element" if spec.get("done")
            else "the stream never closed (a WebSocket stays open: set stream.done)")
    return f"the stream never ended {within}: {len(record['chunks'])} chunk(s), {hint}"


class StreamScenario:
    name = NAME
    needs_socket = False

    def __init__(self, config: StreamConfig):
        self.config = config
        config.validate()
        self.probe = StreamProbe()
        self._prompt = 0
        self._traced = False  # set by run(): each run (repetition) tries the trace again
        self._fallback_note: str | None = None

    def _start_trace(self, session) -> StreamTrace | None:
        """A trace for one reply, or None: paints by the page's sentinel (asked for, or no trace possible)."""
        if not self._traced:
            return None
        trace = StreamTrace(session.cdp)
        if trace.start():
            return trace
        self._traced = False
        self._fallback_note = ("stream: another Chrome trace was being recorded (Chromium records one at a "
                               "time): paints from the page's frame sentinel and frames from a rAF loop, "
                               "which cost the page more per chunk (docs/streaming.md)")
        return None

    def expected_messages(self) -> int:
        return self.config.replies

    def warm_imports(self) -> None:
        """Called as the run starts: growth_fit's scipy.stats (about 0.5 s) imports while the browser starts."""
        background_import.start("scipy.stats")

    def skipped(self, target) -> str | None:
        """Why this scenario does not run on target (None: it runs)."""
        return None if target.stream else "the profile has no [stream] table (docs/streaming.md)"

    def before_open(self, session) -> None:
        if not self.skipped(session.target):
            self.probe.install(session.page)

    def run(self, session, record: Callable[[ScenarioOutput], None],
            advance: Callable[[int], None] = lambda n: None) -> None:
        reason = self.skipped(session.target)
        if reason:
            if self.config.required:
                raise UsageError(f"--scenario stream: {reason}")
            record(ScenarioOutput(notes=[f"stream: skipped: {reason}"]))
            return
        page = session.page
        if not self.probe.ensure(page):
            record(ScenarioOutput(notes=["stream: the probe was added after the page's scripts ran; "
                                         "streams opened before it are not seen"]))
        frames = FramesProbe()
        frames.install(page)
        refresh = refresh_interval_ms(frames.idle_timestamps(page, IDLE_FRAMES))
        record(ScenarioOutput(metrics={"stream.refresh_ms": ("ms", [refresh])}))
        if self.config.render_cost:
            session.render.counters(session)  # enables CDP Performance before the first reply
        self.probe.listen(session.cdp)
        pooled: list[tuple[float, float]] = []
        self._traced = self.config.paints == "trace"  # False once a reply finds another trace recording
        for index in range(self.config.replies):
            out, pairs = self._reply(session, index, refresh)
            pooled.extend(pairs)
            record(out)
            advance(1)  # no gap before the next: finish() returned once the last chunk was painted
        growth = growth_fit(*zip(*pooled)) if len(pooled) >= 3 else None
        if growth is not None:
            note = growth_note(growth, f"{self.config.replies} replies pooled")
            record(ScenarioOutput(records={"stream_growth": [growth.record("pooled")]},
                                  notes=[note] if note else []))

    def _reply(self, session, index: int, refresh: float):
        page, spec, timeout_s = session.page, session.target.stream, session.timeout_s
        prompt = self.config.prompt_list[self._prompt % len(self.config.prompt_list)]
        self._prompt += 1
        measured = self.config.render_cost
        label = self.probe.new_label() if measured else None
        # The trace starts before the render.* window opens: starting it is the browser's work, not the page's.
        trace = self._start_trace(session)
        try:
            start = session.render.counters(session) if measured else None
            armed = self.probe.arm(page, spec["reply"], spec["transport"], spec.get("done"),
                                   frames=trace is None, paints=trace is None, timeout_s=timeout_s,
                                   end_stamp=label, trace=trace)
            if armed.get("error"):
                raise UsageError(f"profile [stream]: {armed['error']}")
            with self.probe.ending(page):
                session.run_actions([_substitute(step, prompt) for step in spec["start"]], "stream.start")
            result = self.probe.finish(page)
        finally:
            traced = trace.stop(page) if trace is not None else None
        if result.get("error"):
            raise TargetError(_failure(result["error"], result, session.target, timeout_s))
        if traced is not None:
            traced.annotate(result)
        else:
            result["paints"] = "sentinel"
        out, pairs = reply_output(result, refresh, index)
        if self._fallback_note:
            out.notes.append(self._fallback_note)
            self._fallback_note = None
        if measured:
            end = self.probe.stamped(page, label)
            # The window ends in the page (its stamp), where /proc cannot be read: no renderer CPU or memory.
            out.extend(measure_window(start, Reading(end, start.wall_s) if end else None, len(result["chunks"]),
                                      NO_PROCESS_FIGURES, "stream", f"reply {index}"))
        out.records["stream"][0]["prompt"] = prompt
        return out, pairs


# For the registry (bench.scenarios.MODULES): the config dataclass and the scenario it drives.
CONFIG, SCENARIO = StreamConfig, StreamScenario
