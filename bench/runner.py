"""Runs scenarios in a fresh browser context per repetition and gathers Results."""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field

from playwright.sync_api import sync_playwright

from .browser import BrowserOptions, find_chromium, launch, new_context
from .env import collect_env
from .errors import UsageError
from .messages import MessageSource
from .progress import Progress
from .results import Results
from .server_process import BundledServer
from .session import PageSession
from .profile import resolve_target
from .target import INJECT_MODES


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


class UiRun:
    """`bench ui`: results fill in as measurements complete, so an interrupted run keeps them."""

    def __init__(self, config: UiConfig, browser: BrowserOptions, progress: bool | None = None):
        config.validate()
        self.config = config
        self.browser_options = browser
        self.progress_enabled = progress
        self.results: Results | None = None

    def execute(self) -> Results:
        target = resolve_target(self.config.profile, self.config.url, self.config.app_query,
                                self.config.inject)
        with contextlib.ExitStack() as stack:
            if not target.url:  # the bundled app, not running yet
                server = stack.enter_context(BundledServer())
                target = target.with_url(server.url, self.config.app_query)
            playwright = stack.enter_context(sync_playwright())
            path = find_chromium(self.browser_options.path, playwright)
            browser = launch(playwright, self.browser_options)
            stack.callback(browser.close)
            config = self.config.to_json()
            config["target"] = dataclasses.asdict(target)
            self.results = Results(env=collect_env(browser, self.browser_options, path), config=config)
            total = self.config.repeat * sum(s.expected_messages() for s in self.config.scenarios)
            progress = Progress(total, "starting", self.progress_enabled)
            stack.callback(progress.close)
            for repetition in range(self.config.repeat):
                self._repetition(browser, target, repetition, progress)
        return self.results

    def _repetition(self, browser, target, repetition: int, progress: Progress) -> None:
        context = new_context(browser)
        try:
            page = context.new_page()
            scenarios = self.config.scenarios
            progress.describe(f"{'+'.join(s.name for s in scenarios)} {repetition + 1}/{self.config.repeat}")
            session = PageSession(page, target, MessageSource(seed=self.config.seed), self.config.timeout_s)
            if self.browser_options.cpu_throttle != 1:
                session.cdp.send("Emulation.setCPUThrottlingRate", {"rate": self.browser_options.cpu_throttle})
            session.run(scenarios, lambda out: self.results.add(repetition, out), progress.advance)
        finally:
            with contextlib.suppress(Exception):
                context.close()
