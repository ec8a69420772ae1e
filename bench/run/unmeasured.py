"""The unmeasured passes behind a trace archive: the same scenarios again, shorter, in fresh contexts.

Tracing costs the page time, so nothing here is a measurement and nothing
here reaches the results. Measured on this 2-core machine (interleaved
contexts, 8 bursts of 100 and a 2 s scroll pass pair, 5 runs each): a
Playwright trace with screenshots and DOM snapshots took paint.latency_ms p50
from 23 to 41 ms and scroll.dropped_pct from 1 % to 8 % (screenshots alone:
24 -> 38 ms; snapshots alone: 25 -> 29 ms). So both traces come from
separate passes after the measured repetitions, each in its own fresh
browser context:

1. Chrome trace pass: the short scenarios under browser.start_tracing
   (bench/probes/chrome_trace.py), then, with tracing stopped, one burst filmed
   through the screencast (bench/report/filmstrip.py).
2. Playwright trace pass: the short scenarios under context.tracing with
   screenshots and snapshots, so the Chrome trace does not carry Playwright's
   snapshot scripts and screencast.

Short: burst at most 3 bursts (after its warm-up); scroll one pass up (its
preload, list and refresh interval as configured); cycles at most 3 cycles,
no warm-up, no history burst, no heap snapshots kept. A scenario bench does
not know how to shorten runs as configured.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError

from ..browser.launch import new_context
from ..probes.chrome_trace import CATEGORIES, chrome_trace
from ..errors import BenchError
from ..report.filmstrip import BurstFilm, film_burst, render
from ..targets.messages import MessageSource
from ..scenarios.burst import BurstConfig
from ..scenarios.page import PageSession

SHORT_BURSTS = 3
SHORT_CYCLES = 3


class UpPassOnly:
    """The scroll scenario's own steps for a single pass up (its run() scrolls up and down R times)."""

    name = "scroll"

    def __init__(self, scenario):
        self.scenario = scenario
        self.config = dataclasses.replace(scenario.config, repeat=1)

    def run(self, session, sink, advance=lambda n: None) -> None:
        scroll = self.scenario
        scroll.preload(session)
        spot = scroll.locate(session)
        refresh_ms = scroll.measure_refresh(session, sink)
        sink(scroll.scroll_pass(session, spot, "up", refresh_ms))


def _shorter(scenario, scratch: Path):
    config = scenario.config
    if scenario.name == "burst":
        config = dataclasses.replace(config, bursts=min(config.bursts, SHORT_BURSTS))
    elif scenario.name == "scroll":
        return UpPassOnly(scenario)
    elif scenario.name == "cycles":
        config = dataclasses.replace(config, cycles=min(config.cycles, SHORT_CYCLES), warmup=0,
                                     history_messages=0, heap_snapshots=False, snapshot_dir=str(scratch))
    elif scenario.name == "stream":
        config = dataclasses.replace(config, replies=1)
    else:
        return scenario
    return type(scenario)(config)


def short_scenarios(scenarios: list, scratch: Path) -> list:
    """Shorter copies of the measured scenarios (heap snapshots, if any, go to `scratch`)."""
    return [_shorter(s, scratch) for s in scenarios]


def burst_size(scenarios: list) -> int:
    """The filmed burst is as large as a measured one (the burst scenario's, else its default)."""
    for s in scenarios:
        if s.name == "burst":
            return s.config.size
    return BurstConfig().size


def list_selector(scenarios: list) -> str | None:
    """--scroll-list if the scroll scenario was given one (else the target's list)."""
    return next((s.config.list_selector for s in scenarios if s.name == "scroll"), None)


@dataclass
class PassSettings:
    target: object           # bench.targets.target.Target, with the run's knobs
    scenarios: list          # the measured run's scenario objects
    seed: int
    timeout_s: float
    cpu_throttle: float
    scratch: Path            # where files go: traces, snapshots


@contextlib.contextmanager
def _page_session(browser, settings: PassSettings, context_setup=None):
    """A fresh context and an open PageSession on the target; closed afterwards."""
    context = new_context(browser)
    try:
        if context_setup is not None:
            context_setup(context)
        session = PageSession(context.new_page(), settings.target, MessageSource(seed=settings.seed),
                              settings.timeout_s)
        session.throttle_cpu(settings.cpu_throttle)
        session.prepare()
        session.open()
        try:
            yield session, context
        finally:
            session.close()
    finally:
        with contextlib.suppress(Exception):
            context.close()


def _run_short(session, settings: PassSettings) -> None:
    discard = lambda output: None  # noqa: E731 - unmeasured: nothing is kept
    for scenario in short_scenarios(settings.scenarios, settings.scratch / "heapsnapshots"):
        scenario.run(session, discard)


def chrome_trace_pass(browser, settings: PassSettings, trace_path: Path, filmstrip_interval_ms: float) -> BurstFilm:
    """The short scenarios under a Chrome trace, then one filmed burst; returns the film."""
    with _page_session(browser, settings) as (session, _):
        with chrome_trace(browser, session.page, trace_path):
            _run_short(session, settings)
        return film_burst(session, burst_size(settings.scenarios), filmstrip_interval_ms,
                          list_selector(settings.scenarios))


def playwright_trace_pass(browser, settings: PassSettings, trace_path: Path) -> None:
    """The short scenarios under Playwright tracing (screenshots, DOM snapshots, network, WebSocket frames)."""
    start = lambda context: context.tracing.start(title="bench: unmeasured pass", screenshots=True,  # noqa: E731
                                                  snapshots=True)
    with _page_session(browser, settings, context_setup=start) as (session, context):
        try:
            _run_short(session, settings)
        finally:
            context.tracing.stop(path=str(trace_path))


def _chrome_pass_and_filmstrip(browser, settings: PassSettings, interval_ms: float, made: dict) -> None:
    """The Chrome trace pass, then its filmed burst laid out as filmstrip.png; what it made goes in `made`."""
    film = chrome_trace_pass(browser, settings, settings.scratch / "chrome-trace.json", interval_ms)
    title = (f"{settings.target.name}: a burst of {len(film.records)} messages, a frame every {interval_ms:g} ms "
             f"from the first message's arrival (unmeasured pass)")
    image, geometry = render(film, title)
    image.save(settings.scratch / "filmstrip.png", optimize=True)
    made["filmstrip"] = {"interval_ms": interval_ms, "messages": len(film.records),
                         "frames_captured": len(film.frames), "final_frame_captured": film.final_frame_captured,
                         "start_ms": film.start_ms, "end_ms": film.end_ms,
                         "tiles": [{"at_ms": t.at_ms, "frame_ms": round(t.frame_ms, 1)} for t in film.tiles()],
                         "boxes": geometry.boxes}


def record_passes(browser, settings: PassSettings, filmstrip_interval_ms: float, log=None) -> dict:
    """Both passes into settings.scratch. Returns what was made: files by archive name, the short
    scenarios' configs, the filmstrip's tiles, seconds per pass, and errors (a failed pass is reported
    and skipped, so the archive still holds the measured run)."""
    log = log or sys.stderr
    configs = {s.name: dataclasses.asdict(s.config) for s in short_scenarios(settings.scenarios, settings.scratch)}
    for config in configs.values():
        config.pop("snapshot_dir", None)  # a temporary directory, gone with the passes
    if "scroll" in configs:
        configs["scroll"]["passes"] = "one, up"
    made: dict = {"files": {}, "errors": [], "seconds": {}, "scenarios": configs,
                  "chrome_trace_categories": CATEGORIES}
    print("trace: recording the unmeasured trace passes ...", file=log, flush=True)
    playwright_zip = settings.scratch / "playwright-trace.zip"
    steps = (("chrome", lambda: _chrome_pass_and_filmstrip(browser, settings, filmstrip_interval_ms, made)),
             ("playwright", lambda: playwright_trace_pass(browser, settings, playwright_zip)))
    for name, step in steps:
        started = time.monotonic()
        try:
            step()
        except (BenchError, PlaywrightError, ValueError) as exc:
            text = exc.message if isinstance(exc, BenchError) else (str(exc).strip().splitlines() or [repr(exc)])[0]
            made["errors"].append(f"{name} trace pass failed: {text}")
            print(f"bench: warning: the {name} trace pass failed: {text}", file=log, flush=True)
        made["seconds"][name] = round(time.monotonic() - started, 1)
    for name in ("chrome-trace.json", "filmstrip.png", "playwright-trace.zip"):
        if (settings.scratch / name).is_file():
            made["files"][name] = settings.scratch / name
    print(f"trace: the unmeasured passes took {sum(made['seconds'].values()):.1f} s "
          f"({', '.join(f'{k} {v:g} s' for k, v in made['seconds'].items())})", file=log, flush=True)
    return made
