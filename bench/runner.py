"""Runs scenarios in a fresh browser context per repetition and gathers Results."""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field

from playwright.sync_api import sync_playwright

from .browser import BrowserOptions, find_chromium, launch, new_context
from .env import collect_env
from .errors import UsageError
from .messages import MessageSource
from .progress import Progress
from .results import Results
from .scenarios.burst import BurstConfig, BurstScenario
from .server_process import BundledServer
from .session import PageSession
from .target import INJECT_MODES, bundled_target

SCENARIOS = ("burst",)


@dataclass
class UiConfig:
    url: str | None = None          # None: start the bundled app
    app_query: str = ""
    inject: str = "intercept"
    scenarios: list[str] = field(default_factory=lambda: list(SCENARIOS))
    burst: BurstConfig = field(default_factory=BurstConfig)
    repeat: int = 1
    seed: int = 1
    timeout_s: float = 30

    def validate(self) -> None:
        unknown = [s for s in self.scenarios if s not in SCENARIOS]
        if unknown:
            raise UsageError(f"unknown scenario {unknown[0]!r}; choose from {', '.join(SCENARIOS)}")
        if self.inject not in INJECT_MODES:
            raise UsageError(f"--inject {self.inject!r}: choose from {', '.join(INJECT_MODES)}")
        for name, value in (("--bursts", self.burst.bursts), ("--burst-size", self.burst.size),
                            ("--repeat", self.repeat)):
            if value < 1:
                raise UsageError(f"{name} must be at least 1 (got {value})")
        if self.burst.warmup < 0:
            raise UsageError(f"--warmup must not be negative (got {self.burst.warmup})")
        if self.burst.rate is not None and self.burst.rate <= 0:
            raise UsageError(f"--rate must be positive (got {self.burst.rate})")
        if self.timeout_s <= 0:
            raise UsageError(f"--timeout must be positive (got {self.timeout_s})")


class UiRun:
    """`bench ui`: results fill in as bursts complete, so an interrupted run keeps them."""

    def __init__(self, config: UiConfig, browser: BrowserOptions, progress: bool | None = None):
        config.validate()
        self.config = config
        self.browser_options = browser
        self.progress_enabled = progress
        self.results: Results | None = None

    def scenarios(self) -> list:
        chosen = []
        for name in self.config.scenarios:
            if name == "burst":
                chosen.append(BurstScenario(self.config.burst))
        return chosen

    def execute(self) -> Results:
        with contextlib.ExitStack() as stack:
            url = self.config.url
            if url is None:
                url = stack.enter_context(BundledServer()).url
            target = bundled_target(url, self.config.app_query, self.config.inject)
            playwright = stack.enter_context(sync_playwright())
            path = find_chromium(self.browser_options.path, playwright)
            browser = launch(playwright, self.browser_options)
            stack.callback(browser.close)
            self.results = Results(env=collect_env(browser, self.browser_options, path),
                                   config=self._config_json(target))
            scenarios = self.scenarios()
            total = self.config.repeat * sum(s.expected_messages() for s in scenarios)
            progress = Progress(total, "starting", self.progress_enabled)
            stack.callback(progress.close)
            for repetition in range(self.config.repeat):
                self._repetition(browser, target, scenarios, repetition, progress)
        return self.results

    def _repetition(self, browser, target, scenarios, repetition: int, progress: Progress) -> None:
        context = new_context(browser)
        try:
            page = context.new_page()
            if self.browser_options.cpu_throttle != 1:
                cdp = context.new_cdp_session(page)
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": self.browser_options.cpu_throttle})
            messages = MessageSource(seed=self.config.seed)
            session = PageSession(page, target, messages, self.config.timeout_s)
            session.prepare()
            session.open()
            for scenario in scenarios:
                progress.describe(f"{scenario.name} {repetition + 1}/{self.config.repeat}")
                scenario.run(session, lambda out: self.results.add(repetition, out), progress.advance)
            session.close()
        finally:
            with contextlib.suppress(Exception):
                context.close()

    def _config_json(self, target) -> dict:
        config = asdict(self.config)
        config["target"] = asdict(target)
        return config
