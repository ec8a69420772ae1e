"""Runs scenarios in a fresh browser context per repetition and gathers Results."""

from __future__ import annotations

import contextlib
import dataclasses
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..browser import watchdog
from ..browser.interrupt import interruptible_playwright
from ..browser.launch import BrowserOptions, browser_path, launch, new_context
from ..browser.source import env_notes
from ..results.env import collect_env, host_env
from ..errors import UsageError
from ..targets.messages import MessageSource
from ..progress import Progress
from ..results.records import Results
from ..targets.server_process import BundledServer
from ..scenarios.page import PageSession
from ..targets.profile import resolve_target
from ..targets.target import INJECT_MODES


@dataclass
class UiConfig:
    scenarios: list = field(default_factory=list)  # scenario objects (bench.scenarios)
    profile: str | None = None      # None: the bundled app's profile
    url: str | None = None          # None: the profile's url; bundled app: start one
    app_query: str = ""
    inject: str | None = None       # None: the profile's
    repeat: int = 1
    seed: int = 1
    timeout_s: float = 30

    def validate(self) -> None:
        if not self.scenarios:
            raise UsageError("no scenario chosen")
        if self.inject is not None and self.inject not in INJECT_MODES:
            raise UsageError(f"--inject {self.inject!r}: choose from {', '.join(INJECT_MODES)}")
        if self.repeat < 1:
            raise UsageError(f"--repeat must be at least 1 (got {self.repeat})")
        if self.timeout_s <= 0:
            raise UsageError(f"--timeout must be positive (got {self.timeout_s})")

    def to_json(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "scenarios"}
        out["scenarios"] = {s.name: dataclasses.asdict(s.config) for s in self.scenarios}
        return out


@dataclass
class Variant:
    """One configuration measured in the same browser as others: its own knobs and scenarios."""

    name: str
    app_query: str
    scenarios: list
    url: str | None = None  # another URL of the same kind of page (an interleaved baseline); None: the target's


def interleaved(variants: list, repetition: int) -> list:
    """The order of the variants in one repetition: all of them, rotated by one each repetition.

    Rep by rep (A B C, B C A, C A B, ...), so slow drift of the machine (other
    load, thermal state) spreads over every variant instead of landing on the
    one measured last, and no variant always runs first after another.
    """
    shift = repetition % len(variants)
    return variants[shift:] + variants[:shift]


class UiRun:
    """`bench ui`: results fill in as measurements complete, so an interrupted run keeps them.

    With several variants (bench calibrate), each repetition runs every
    variant in a fresh context, in interleaved order; variant_results holds
    one Results per variant. `until(run)`, if given, is asked after each
    repetition once `repeat` are done, and more repetitions run until it
    says True (auto-sampling).

    `debug` (bench.probes.headed_debug.HeadedDebug) attaches to every measured
    page, is asked to checkpoint() after each measurement recorded, and with
    keep_open holds the last page open until hold_open() returns.
    `at_end(run, browser, target)` runs once all repetitions are done, in the
    same browser (the trace passes of bench.cli.evidence).
    """

    def __init__(self, config: UiConfig, browser: BrowserOptions, progress: bool | None = None,
                 variants: list[Variant] | None = None, until=None, debug=None, at_end=None):
        config.validate()
        self.config = config
        self.browser_options = browser
        self.progress_enabled = progress
        self.variants = variants or [Variant("", config.app_query, config.scenarios)]
        self.until = until
        self.debug = debug
        self.at_end = at_end
        self.complete = False  # every repetition done (what comes after is not measuring)
        self._held_context = None  # --keep-open: the last measured page's context
        self.results: Results | None = None
        self.variant_results: dict[str, Results] = {}
        self.repetitions_done = 0

    def execute(self) -> Results:
        target = resolve_target(self.config.profile, self.config.url, "", self.config.inject)
        with contextlib.ExitStack() as stack:
            server = None
            if not target.url:  # the bundled app, not running yet: it starts while the browser does
                server = BundledServer()
                server.spawn()
                stack.callback(server.stop)
            for scenario in {id(s): s for v in self.variants for s in v.scenarios}.values():
                getattr(scenario, "warm_imports", lambda: None)()  # imports it will need, in a thread
            # The host's facts (git revision: two git processes) are gathered while the browser starts.
            pool = stack.enter_context(ThreadPoolExecutor(max_workers=1, thread_name_prefix="host-env"))
            host = pool.submit(host_env)
            playwright = stack.enter_context(interruptible_playwright())
            stack.enter_context(watchdog.armed(self.config.timeout_s, self.browser_options.source.location))
            path = browser_path(playwright, self.browser_options)
            browser = launch(playwright, self.browser_options)
            stack.callback(watchdog.close, browser)  # remote: closes the served browser, or detaches from a CDP one
            if server is not None:
                target = target.with_url(server.wait_ready())
                stack.callback(server.signal_stop)  # runs first: the server exits while the browser closes
            # Each variant is the same target with its own knobs in the query.
            targets = {v.name: target.with_url(v.url or target.url, v.app_query) for v in self.variants}
            env = collect_env(browser, self.browser_options, path, host.result())
            for variant in self.variants:
                self.variant_results[variant.name] = Results(env=env, config=self._config(variant, targets),
                                                             notes=env_notes(env))
            self.results = self.variant_results[self.variants[0].name]
            total = self.config.repeat * sum(s.expected_messages() for v in self.variants for s in v.scenarios)
            progress = Progress(total, "starting", self.progress_enabled)
            stack.callback(progress.close)
            stack.callback(self._close_held_context)
            while True:
                for variant in interleaved(self.variants, self.repetitions_done):
                    self._repetition(browser, targets[variant.name], variant, self.repetitions_done, progress)
                self.repetitions_done += 1
                for results in self.variant_results.values():
                    results.config["repetitions_done"] = self.repetitions_done
                if self.repetitions_done >= self.config.repeat and (self.until is None or self.until(self)):
                    break
            self.complete = True
            progress.close()
            if self.at_end is not None:
                self.at_end(self, browser, targets[self.variants[0].name])
            if self.debug is not None:
                self.debug.hold_open()
        return self.results

    def _config(self, variant: Variant, targets: dict) -> dict:
        config = self.config.to_json()
        config["app_query"] = variant.app_query
        config["scenarios"] = {s.name: dataclasses.asdict(s.config) for s in variant.scenarios}
        config["target"] = dataclasses.asdict(targets[variant.name])
        if variant.name:
            config["variant"] = variant.name
        return config

    def _repetition(self, browser, target, variant: Variant, repetition: int, progress: Progress) -> None:
        context = new_context(browser)
        results = self.variant_results[variant.name]
        try:
            page = context.new_page()
            scenarios = variant.scenarios
            label = f"{variant.name} " if variant.name else ""
            progress.describe(f"{label}{'+'.join(s.name for s in scenarios)} {repetition + 1}/{self.config.repeat}")
            session = PageSession(page, target, MessageSource(seed=self.config.seed), self.config.timeout_s,
                                  browser_location=self.browser_options.source.location)
            session.throttle_cpu(self.browser_options.cpu_throttle)
            if self.debug is not None:
                self.debug.attach(session)

            def sink(output) -> None:
                results.add(repetition, output)
                if self.debug is not None:
                    self.debug.checkpoint(session)

            session.run(scenarios, sink, progress.advance)
        finally:
            if self.debug is not None and self.debug.keep_open:
                self._close_held_context()
                self._held_context = context
            else:
                with contextlib.suppress(Exception):
                    context.close()

    def _close_held_context(self) -> None:
        if self._held_context is not None:
            with contextlib.suppress(Exception):
                self._held_context.close()
            self._held_context = None
