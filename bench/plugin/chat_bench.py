"""The `chat_bench` fixture's object: measure the page of a user's own pytest-playwright test.

    def test_burst(page, chat_bench):
        result = chat_bench.burst(page, profile="fixtures/profiles/mychat.toml", size=100)
        assert result["paint.latency_ms"].p95 < 100

Probes before navigation: bench's WebSocket route and its init scripts must
be in place before the page's own scripts run (docs/measurement.md, "Known pitfalls"). So a
page bench has not prepared is (re)loaded after they are installed: at the
profile's url, the url= given, the url the test already opened, or the bundled
app. A test that must open the page itself (log in, pick a room) calls
chat_bench.prepare(page, ...) first, then page.goto(...); bench then does not
reload it, and waits only for the ready selector and the chat socket.

Each call returns a MeasuredResults, the same results dict `bench ui --json`
writes (schema bench/1). Budgets are checked after each call; failures are
collected and fail the test when its body ends (bench.pytest_plugin).
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..browser import watchdog
from ..browser.source import env_notes
from ..gate.budgets import FAIL, BudgetResult, BudgetSet, check_all
from ..errors import UsageError
from ..gate.verdict import number
from ..targets.messages import MessageSource
from .metric_view import MeasuredResults
from ..targets.profile import resolve_target
from .page_env import page_env
from ..results.records import Results, ScenarioOutput
from ..scenarios import MODULES as SCENARIO_MODULES
from ..scenarios.page import PageSession
from ..probes.chrome_trace import chrome_trace

# The scenarios chat_bench offers (its burst, scroll and cycles methods), from the runner's registry.
OFFERED = ("burst", "scroll", "cycles")
BLANK_URLS = ("", "about:blank")


def make_scenario(name: str, options: dict):
    """A scenario from keyword options named like its config fields (BurstConfig: bursts, size, ...)."""
    if name not in OFFERED:
        raise UsageError(f"chat_bench.measure(): no scenario {name!r} (offered: {', '.join(OFFERED)})")
    module = SCENARIO_MODULES[name]
    fields = [f.name for f in dataclasses.fields(module.CONFIG)]
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise UsageError(f"chat_bench.{name}(): unknown option {unknown[0]!r} (options: {', '.join(fields)})")
    return module.SCENARIO(module.CONFIG(**options))


@dataclass
class PreparedPage:
    session: PageSession
    wanted: tuple            # (profile, url, app_query, inject) it was prepared for
    test_navigates: bool     # prepare(): the test opens the page itself
    opened_url: str | None = None  # page.url when bench last saw it ready


@dataclass(frozen=True)
class BudgetFailure:
    result: BudgetResult
    unit: str
    where: str               # e.g. "burst, call 1"

    def line(self) -> str:
        b, r = self.result.budget, self.result
        ci = f" (95% CI {number(r.ci[0], self.unit)} to {number(r.ci[1], self.unit)})" if r.ci else ""
        return f"  {b.key}: measured {number(r.measured, self.unit)}, limit {b.rule()}{ci} [{self.where}]"


class ChatBench:
    """One test's measurements. `hooks` is the plugin's session state (bench.pytest_plugin)."""

    def __init__(self, request, hooks):
        self.request = request
        self.hooks = hooks
        self.test_key = request.node.nodeid
        self.results: list[MeasuredResults] = []
        self.budget_failures: list[BudgetFailure] = []
        self.budget_source: str | None = None
        self.bench_traces: list[Path] = []
        self._pages: dict[int, PreparedPage] = {}

    # -- the API -----------------------------------------------------------
    def prepare(self, page, profile: str | None = None, url: str | None = None, *, app_query: str = "",
                inject: str | None = None, seed: int = 1, timeout: float = 30) -> str:
        """Install bench's route and probes before the test opens the page; returns the URL to open."""
        with self.hooks.one_line_errors():
            prepared = self._prepared(page, (profile, url, app_query, inject), seed, timeout, test_navigates=True)
            return prepared.session.target.url

    def burst(self, page, profile: str | None = None, url: str | None = None, **options) -> MeasuredResults:
        """Bursts of messages: paint.latency_ms and the rest (options: bursts, size, rate, warmup)."""
        return self.measure("burst", page, profile, url, **options)

    def scroll(self, page, profile: str | None = None, url: str | None = None, **options) -> MeasuredResults:
        """Scroll smoothness: scroll.fps and the rest (options: messages, speed, distance, repeat,
        list_selector)."""
        return self.measure("scroll", page, profile, url, **options)

    def cycles(self, page, profile: str | None = None, url: str | None = None, **options) -> MeasuredResults:
        """Memory across reconnects: heap.* and heap.verdict (options: cycles, warmup, messages,
        history_messages, reconnect_timeout_s, threshold_kb, heap_snapshots, snapshot_dir)."""
        out_dir = self.hooks.output_dir(self.request)
        options.setdefault("snapshot_dir", str(out_dir / "heapsnapshots"))
        try:
            return self.measure("cycles", page, profile, url, **options)
        finally:
            with contextlib.suppress(OSError):
                out_dir.rmdir()  # only if empty: no snapshot was kept

    def measure(self, scenario_name: str, page, profile: str | None = None, url: str | None = None, *,
                app_query: str = "", inject: str | None = None, seed: int = 1, timeout: float = 30,
                cpu_throttle: float = 1.0, name: str | None = None, **options) -> MeasuredResults:
        self.hooks.require_chromium(page)
        with self.hooks.one_line_errors():
            if cpu_throttle <= 0:
                raise UsageError(f"cpu_throttle must be positive (got {cpu_throttle:g})")
            scenario = make_scenario(scenario_name, options)
            prepared = self._prepared(page, (profile, url, app_query, inject), seed, timeout, test_navigates=False)
            key = self.test_key + (f"::{name}" if name else "")
            env = {**self.hooks.browser_env(self.request, page.context.browser), **page_env(page),
                   "cpu_throttle": cpu_throttle}
            call_number = len(self.results) + 1
            config = {"test": self.test_key, "name": name, "call": call_number, "seed": seed, "timeout_s": timeout,
                      "target": dataclasses.asdict(prepared.session.target),
                      "scenarios": {scenario.name: dataclasses.asdict(scenario.config)}}
            call = Results(env=env, config=config)
            session_sink = self.hooks.session_results.start_call(key, scenario.name, env, config)

            def sink(output) -> None:
                call.add(0, output)
                session_sink(output)

            sink(ScenarioOutput(notes=env_notes(env)))  # e.g. the suite launched without bench's flags
            try:
                self._run(prepared, scenario, sink, cpu_throttle)
            except BaseException:
                self.hooks.session_results.mark_partial(key)
                raise
            result = MeasuredResults(call.to_json())
            self.results.append(result)
            self._check_budgets(result, f"{scenario.name}, call {call_number}")
            if self.hooks.trace_mode != "off":
                self._trace_again(prepared, scenario_name, options, cpu_throttle, call_number)
        return result

    # -- pages -------------------------------------------------------------
    def _prepared(self, page, wanted: tuple, seed: int, timeout: float, test_navigates: bool) -> PreparedPage:
        prepared = self._pages.get(id(page))
        if prepared is not None:
            asked = [(a, b) for a, b in zip(wanted, prepared.wanted) if a not in (None, "")]
            if any(a != b for a, b in asked):
                raise UsageError("this page is already prepared for another target (profile, url, app_query "
                                 "or inject differ); measure another target on a new page")
            return prepared
        profile, url, app_query, inject = wanted
        location = self.hooks.browser_env(self.request, page.context.browser)["browser_location"]
        session = PageSession(page, self._target(page, profile, url, app_query, inject), MessageSource(seed=seed),
                              timeout, browser_location=location)
        session.prepare()
        prepared = PreparedPage(session, wanted, test_navigates)
        self._pages[id(page)] = prepared
        return prepared

    def _target(self, page, profile, url, app_query, inject):
        opened = None if page.url in BLANK_URLS else page.url
        target = resolve_target(self.hooks.profile_path(profile), url or opened, app_query, inject)
        if not target.url:  # the bundled app: started once per test session
            target = target.with_url(self.hooks.bundled_app_url(), app_query)
        return target

    def _run(self, prepared: PreparedPage, scenario, sink, cpu_throttle: float) -> None:
        session, page = prepared.session, prepared.session.page
        if prepared.opened_url is None and (not prepared.test_navigates or page.url in BLANK_URLS):
            session.open()  # (re)load with the probes in place
        elif prepared.opened_url != page.url:  # the test opened (or moved) the page itself
            session.wait_ready(setup=False)
            session.target = session.target.with_url(page.url)
        prepared.opened_url = page.url
        session.throttle_cpu(cpu_throttle)
        try:
            with _watched(session):
                scenario.run(session, sink)
        finally:
            with contextlib.suppress(Exception):
                session.throttle_cpu(1)
        prepared.opened_url = page.url

    # -- budgets and traces --------------------------------------------------
    def _check_budgets(self, result: MeasuredResults, where: str) -> None:
        budgets: BudgetSet | None = self.hooks.budgets()
        if budgets is None:
            return
        self.budget_source = budgets.source
        for outcome in check_all(budgets, result.data):
            if outcome.status == FAIL:
                unit = result.data["metrics"][outcome.budget.metric].get("unit", "")
                self.budget_failures.append(BudgetFailure(outcome, unit, where))

    def _trace_again(self, prepared: PreparedPage, scenario_name: str, options: dict, cpu_throttle: float,
                     call_number: int) -> None:
        """The same scenario again, unmeasured, under a Chrome performance trace: tracing costs time,
        so it never runs during the measurement (docs/measurement.md, "Rules of measurement")."""
        out_dir = self.hooks.output_dir(self.request)
        path = out_dir / f"bench-trace-{call_number}.json"
        rerun_options = dict(options)
        scratch = None
        if scenario_name == "cycles":  # its heap snapshots are not part of the trace
            scratch = out_dir / f"bench-trace-{call_number}-snapshots"
            rerun_options["snapshot_dir"] = str(scratch)
        scenario = make_scenario(scenario_name, rerun_options)
        browser = prepared.session.page.context.browser
        try:  # the recorder of `bench ui --trace`: same categories, same clock-sync mark
            with chrome_trace(browser, prepared.session.page, path):
                self._run(prepared, scenario, lambda output: None, cpu_throttle)
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        self.bench_traces.append(path)

    def failure_message(self, playwright_trace: str | None) -> str:
        lines = [f"bench budget(s) failed ({self.budget_source}):"]
        lines += [f.line() for f in self.budget_failures]
        if playwright_trace:
            lines.append(f"Playwright trace: {playwright_trace} (written as the test ends; "
                         f"python -m playwright show-trace {playwright_trace})")
        for trace in self.bench_traces:
            lines.append(f"Chrome performance trace (unmeasured rerun; DevTools > Performance): "
                         f"{self.hooks.shown_path(trace)}")
        return "\n".join(lines)

    def close(self) -> None:
        for prepared in self._pages.values():
            with contextlib.suppress(Exception):
                prepared.session.close()
        self._pages.clear()


@contextlib.contextmanager
def _watched(session):
    """A page that stops answering fails the test in one line instead of hanging the session: only its
    renderer is killed (bench/browser/watchdog.py), so pytest-playwright's browser serves the next test.
    Where the renderer is not this machine's (a remote browser), the page is not watched."""
    renderer = session.renderer  # found while the page answers (a short trace), once per page
    if not renderer.available:
        yield
        return
    try:
        with watchdog.watching(session.page, session.timeout_s, renderer, f"timeout={session.timeout_s:g}"):
            yield
    except watchdog.PageUnresponsive:
        session.crashed = True  # its renderer is gone: closing the session must not wait on it
        raise
