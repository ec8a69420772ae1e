"""pytest plugin (entry point pytest11 "bench"): performance assertions in a team's own suite.

Off unless used: it adds the `chat_bench` fixture and three options, and does
nothing else for a test that does not request the fixture: no browser, no
file, no change to any report. Its modules (numpy and the rest) are imported
on first use of the fixture.

    --bench-json DIR      every measurement of the session in DIR/results.json
                          (schema bench/1, metrics named "<test id>::<metric>");
                          `bench compare` reads two of them
    --bench-trace MODE    on | off | retain-on-failure: after each measurement,
                          the same scenario again, unmeasured, under a Chrome
                          performance trace, saved in the test's output folder
    --bench-budgets SRC   FILE | PRESET | none (default: [tool.bench.budgets] of
                          the rootdir's pyproject.toml)

A failed budget fails the test when its body has run (so its own assertions
run too), with one line per budget: metric, measured value, limit, and the
paths of the Playwright trace (pytest-playwright --tracing) and of bench's
Chrome trace when they are recorded.

pytest-xdist (`pytest -n N`): each worker measures its own tests and, as its
session finishes, hands its raw measurements to the controller in its
workeroutput (xdist's channel for this; it also reaches a worker on another
machine); the controller keeps each as its worker goes down
(pytest_testnodedown), merges them at its own session finish and writes the
one DIR/results.json. Without xdist these hooks are never called
(optionalhook).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest

TRACE_MODES = ("on", "off", "retain-on-failure")
RESULTS_FILE = "results.json"
WORKER_PART = "bench_measurements"  # key of an xdist worker's part in its workeroutput


def pytest_addoption(parser) -> None:
    group = parser.getgroup("bench", "bench: chat UI performance (chat_bench fixture)")
    group.addoption("--bench-json", metavar="DIR", default=None,
                    help="write every chat_bench measurement of the session to DIR/results.json "
                         "(schema bench/1; metric names '<test id>::<metric>'), for bench compare")
    group.addoption("--bench-trace", default="off", choices=TRACE_MODES,
                    help="record a Chrome performance trace of each chat_bench measurement, in a separate "
                         "unmeasured rerun, into the test's output folder (default off)")
    group.addoption("--bench-budgets", metavar="FILE|PRESET|none", default=None,
                    help="budgets chat_bench measurements must meet (default: [tool.bench.budgets] in "
                         "the rootdir's pyproject.toml; none: no budgets)")


_STATE = pytest.StashKey["BenchPluginState"]()
_BENCH = pytest.StashKey["object"]()  # the test's ChatBench, set when the fixture is used


class BenchPluginState:
    """Session-wide: options, the merged results, the bundled app, caches. Created cheaply at
    configure time; everything costly happens on the fixture's first use."""

    def __init__(self, config):
        self.config = config
        self.json_dir = config.getoption("--bench-json")
        self.trace_mode = config.getoption("--bench-trace")
        self.budgets_option = config.getoption("--bench-budgets")
        self._session_results = None
        self._budgets = None
        self._budgets_loaded = False
        self._server = None
        self._envs: dict[int, dict] = {}
        self.written: Path | None = None

    @property
    def session_results(self):
        if self._session_results is None:
            from .plugin.suite_results import SessionResults

            self._session_results = SessionResults()
        return self._session_results

    @contextlib.contextmanager
    def one_line_errors(self):
        """bench's input and target errors fail the test with their one line, no traceback."""
        from .errors import BenchError

        try:
            yield
        except BenchError as exc:
            failure = pytest.fail.Exception(f"bench: {exc.message}", pytrace=False)
            raise failure from None  # one line in the report, not the chain behind it

    def require_chromium(self, page) -> None:
        name = page.context.browser.browser_type.name if page.context.browser else "unknown"
        if name != "chromium":
            pytest.skip(f"chat_bench measures Chromium only (this run's browser: {name})")

    def browser_env(self, request, browser) -> dict:
        key = id(browser)
        if key not in self._envs:
            from .plugin.page_env import pytest_browser_env

            self._envs[key] = pytest_browser_env(request, browser)
        return self._envs[key]

    def budgets(self):
        if not self._budgets_loaded:
            from .gate.budgets import load_budgets

            option = self.budgets_option
            root = os.path.relpath(self.config.rootpath, self.config.invocation_params.dir)
            self._budgets = None if option == "none" else load_budgets(option, root)
            self._budgets_loaded = True
        return self._budgets

    def profile_path(self, profile: str | None) -> str | None:
        """A relative profile path is looked up in the working directory, then the rootdir."""
        if profile is None or Path(profile).is_absolute() or Path(profile).exists():
            return profile
        under_root = self.config.rootpath / profile
        return str(under_root) if under_root.exists() else profile

    def bundled_app_url(self) -> str:
        if self._server is None:
            from .targets.server_process import BundledServer

            self._server = BundledServer()
            self._server.start()
        return self._server.url

    def output_dir(self, request) -> Path:
        """The test's artifact folder: pytest-playwright's output_path, else test-results/<test>."""
        try:
            return Path(request.getfixturevalue("output_path"))
        except pytest.FixtureLookupError:
            safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in request.node.nodeid)
            return self.config.invocation_params.dir / "test-results" / safe

    def shown_path(self, path: Path) -> str:
        try:
            return str(Path(path).relative_to(self.config.invocation_params.dir))
        except ValueError:
            return str(path)

    def playwright_trace(self, item) -> str | None:
        """Where pytest-playwright writes this test's trace with --tracing on|retain-on-failure."""
        if self.config.getoption("--tracing", default="off") == "off":
            return None
        bench = item.stash.get(_BENCH, None)
        output = bench.hooks.output_dir(bench.request) if bench else None
        return self.shown_path(output / "trace.zip") if output else None

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def pytest_configure(config) -> None:
    config.stash[_STATE] = BenchPluginState(config)


def pytest_unconfigure(config) -> None:
    state = config.stash.get(_STATE, None)
    if state is not None:
        state.stop()


@pytest.fixture
def chat_bench(request):
    """Measure this test's page: chat_bench.burst(page, ...), .scroll(page, ...), .cycles(page, ...),
    .prepare(page, ...) before the test opens the page itself. See bench.plugin.chat_bench."""
    from .plugin.chat_bench import ChatBench

    bench = ChatBench(request, request.config.stash[_STATE])
    request.node.stash[_BENCH] = bench
    yield bench
    bench.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After the test body: failed budgets fail the test (or are added to its report when it
    failed anyway)."""
    try:
        result = yield
    except BaseException:
        bench = item.stash.get(_BENCH, None)
        if bench is not None and bench.budget_failures:
            item.add_report_section("call", "bench budgets", bench.failure_message(None))
        raise
    bench = item.stash.get(_BENCH, None)
    if bench is not None and bench.budget_failures:
        state = item.config.stash[_STATE]
        pytest.fail(bench.failure_message(state.playwright_trace(item)), pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """--bench-trace retain-on-failure: a passed test's Chrome traces are removed."""
    report = yield
    bench = item.stash.get(_BENCH, None)
    if bench is not None and report.when == "call":
        state = item.config.stash[_STATE]
        if state.trace_mode == "retain-on-failure" and report.passed:
            for path in bench.bench_traces:
                Path(path).unlink(missing_ok=True)
            bench.bench_traces.clear()
        for path in bench.bench_traces:
            report.user_properties.append(("bench_trace", state.shown_path(path)))
    return report


def pytest_sessionfinish(session, exitstatus) -> None:
    state = session.config.stash.get(_STATE, None)
    if state is None or not state.json_dir:
        return
    partial = exitstatus == pytest.ExitCode.INTERRUPTED
    if hasattr(session.config, "workerinput"):  # a pytest-xdist worker: the controller writes the file
        if state._session_results is not None and state.session_results:
            part = state.session_results.to_part(partial)
            session.config.workeroutput[WORKER_PART] = json.dumps(part)  # one string: cheap for execnet
        return
    if state._session_results is not None:
        state.session_results.absorb_workers()  # the pytest-xdist controller's workers, if any
    if state._session_results is None or not state.session_results:
        return
    from .results.records import write_json_atomic

    path = Path(state.json_dir) / RESULTS_FILE
    write_json_atomic(path, state.session_results.to_json(partial=partial))
    state.written = path


@pytest.hookimpl(optionalhook=True)
def pytest_testnodeready(node) -> None:
    """pytest-xdist, on the controller: a worker is up (counted: how many measured at once)."""
    state = node.config.stash.get(_STATE, None)
    if state is not None and state.json_dir:
        state.session_results.worker_up(node.gateway.id)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """pytest-xdist, on the controller: a worker finished (or died); keep its part for the session's end."""
    state = node.config.stash.get(_STATE, None)
    if state is None or not state.json_dir:
        return
    output = getattr(node, "workeroutput", None)
    if output is None and error:  # it died before its session finished
        text = str(error).strip()
        state.session_results.worker_down(node.gateway.id, None, text.splitlines()[0] if text
                                          else type(error).__name__)
    else:
        state.session_results.worker_down(node.gateway.id, (output or {}).get(WORKER_PART))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None or state.written is None:
        return
    results = state.session_results
    workers = f" from pytest-xdist workers ({results.workers_at_once} at once)" if results.workers else ""
    terminalreporter.write_line(f"bench: measurements of {len(results.tests)} test(s){workers} written to "
                                f"{state.shown_path(state.written)} "
                                f"(compare two sessions: python -m bench compare BASE.json NEW.json)")
    for line in results.lost:
        terminalreporter.write_line(f"bench: {line}")
