"""Shared fixtures: pytest-playwright pointed at the Chromium the harness finds.

A user's pytest-playwright habits work on this suite: --headed, --slowmo,
--tracing retain-on-failure, --browser-channel (which then wins over the
found Chromium).

What a new test should reuse (docs/suite-speed.md, "Writing a test"):
- `browser` (pytest-playwright, one per session and xdist worker), `context` /
  `page` (a fresh context on it per test), `chat_server` (the bundled app, one
  per session and worker), `app_page` (the bundled app open in a fresh context
  with a bench PageSession), `measure` (scenarios on a page -> results JSON);
- `run_bench(...)` for `python -m bench` as a user runs it, `bench_popen(...)`
  for one a test interrupts (SIGINT at its default disposition);
- `@pytest.mark.timing` on a test (or `pytestmark` on a module) that measures
  time: it then runs with no other test of the suite beside it as an equal (tests/cpu_share.py;
  `@pytest.mark.quiet` when nothing at all may run beside it).
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from bench.browser.launch import DEVICE_SCALE_FACTOR, STABLE_FLAGS, VIEWPORT, find_chromium, new_context
from bench.targets.messages import MessageSource
from bench.probes.paint import PaintProbe
from bench.results.records import Results
from bench.targets.server_process import BundledServer
from bench.scenarios.page import PageSession
from bench.targets.profile import bundled_target, resolve_target
from tests import idle_group
from tests.cpu_share import CpuShare, NoShare, logged
from tests.scheduling import AloneFirstScheduling, write_alone

REPO = Path(__file__).resolve().parent.parent
TEST_FIXTURES = REPO / "fixtures"  # test data (chat UIs bench did not shape, protocol servers), not package data
UIS_DIR = TEST_FIXTURES / "uis"
_CPU_SHARE = pytest.StashKey()  # this process's side of the lock (tests/cpu_share.py)
BENCH_CPU_SHARE_DIR = _CPU_SHARE_DIR = "bench_cpu_share_dir"  # workerinput key: the run's lock directory


def pytest_configure(config):
    # The `timing` marker (pyproject.toml) is honoured here: see pytest_runtest_protocol.
    worker = getattr(config, "workerinput", None)
    if worker:  # an idle cgroup, for its `background` tests beside a timing test (tests/cpu_share.py)
        run = Path(worker[_CPU_SHARE_DIR]).name.removeprefix(idle_group.PREFIX)
        wanted = os.environ.get("BENCH_SUITE_BACKGROUND") != "0"
        idle = idle_group.make(f"{run}-{worker['workerid']}-{os.getpid()}") if wanted else None
        config.stash[_CPU_SHARE] = CpuShare(worker[_CPU_SHARE_DIR], idle)
    else:
        config.stash[_CPU_SHARE] = NoShare()



@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist controller: one lock directory for this run's workers, removed when the run ends."""
    config = node.config
    if _CPU_SHARE_DIR not in config.stash:
        config.stash[_CPU_SHARE_DIR] = tempfile.mkdtemp(prefix="bench-pytest-cpu-")
    node.workerinput[_CPU_SHARE_DIR] = config.stash[_CPU_SHARE_DIR]


def pytest_unconfigure(config):
    share = config.stash.get(_CPU_SHARE, None)
    if share is not None:
        share.close()
    directory = config.stash.get(_CPU_SHARE_DIR, None)
    if directory and not hasattr(config, "workerinput"):
        shutil.rmtree(directory, ignore_errors=True)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadscope` (the Makefile's): its module units, and the unit "alone" first (tests/scheduling.py)."""
    if config.getvalue("dist") == "loadscope" and _CPU_SHARE_DIR in config.stash:
        return AloneFirstScheduling(config, log, config.stash[_CPU_SHARE_DIR])
    return None


# Modules whose fixtures run a measurement with the CPU alone (measuring_alone): the whole module goes
# to the unit "alone", so those fixtures are set up once, in the worker that runs the timing tests.
MEASURING_ALONE_MODULES = {"test_evidence.py", "test_gate_e2e.py", "test_remote_browser.py"}


# Timing modules whose files belong to branches still open while this marker lands (issue 17's
# paint-truth and gate work); the lead moves each into its file as `pytestmark` at merge.
TIMING_MODULES = {"test_paint.py", "test_paint_truth.py"}


# The costliest modules (docs/suite-speed.md), longest first. Under `--dist loadscope
# --no-loadscope-reorder` a worker takes whole modules in collection order; see the ordering below.
# test_stats.py leads: it is what the worker without the unit "alone" starts with, in the background
# beside the first timing tests (its first test takes no time, so where there is no idle cgroup the first
# timing test does not wait for a long shared one). test_evidence.py is the first module that measures alone
# (MEASURING_ALONE_MODULES) after the timing tests: its two runs then measure in the hold the last timing test
# lends it (_lends); it has no timing test of its own, as test_gate_e2e.py and test_remote_browser.py do
# (theirs end the row of timing tests).
SLOW_FIRST = ["test_stats.py", "test_evidence.py", "test_pytest_xdist.py", "test_gate_e2e.py", "test_remote_browser.py", "test_pytest_plugin.py",
              "test_scroll.py", "test_remote_commands.py", "test_headed.py",
              "test_load_throughput.py", "test_any_ui.py", "test_paint.py", "test_load_connections.py",
              "test_render_cost.py", "test_profile.py", "test_cycles.py", "test_socketio_ui.py", "test_msgpack.py",
              "test_stream.py", "test_history.py", "test_input.py", "test_load_protocols.py", "test_locust.py"]


@pytest.hookimpl(trylast=True)  # after pytest's own reordering by fixture, so this order stands
def pytest_collection_modifyitems(config, items):
    """The unit "alone" first, then the other modules, slowest first.

    - The unit "alone" (tests/scheduling.py): the timing tests first, so one
      worker takes them in a row and holds the CPU lock once for all of them
      while the others wait (tests/cpu_share.py); the quiet ones lead, before
      another worker has a test in the background for them to wait for (one
      waited 17 s), and the timing tests of the modules that measure alone in
      fixtures (MEASURING_ALONE_MODULES) close the row, so their fixtures
      measure in that hold too; then those modules' other tests, which share
      the machine (their fixtures are session-scoped: set up once, though the
      module's tests are not in a row).
    - Then the modules marked `background`, which the other workers run
      beside the timing tests, in an idle CPU cgroup (tests/cpu_share.py).
    - Then the other modules, slowest first (SLOW_FIRST), so the short ones
      fill both workers at the end.
    The order of the tests inside a module is left as pytest made it (its
    module-scoped parametrized fixtures depend on it).
    """
    for item in items:
        if item.path.name in TIMING_MODULES:
            item.add_marker(pytest.mark.timing)
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: (not _alone(item), _measuring_alone(item) and not _timing(item),
                                 _measuring_alone(item), _mode(item) != "quiet", _mode(item) != "background",
                                 rank.get(item.path.name, len(rank))))  # stable
    worker = getattr(config, "workerinput", None)
    if worker:
        write_alone(worker[_CPU_SHARE_DIR], [item.nodeid for item in items if _alone(item)])


def _alone(item) -> bool:
    return _timing(item) or _measuring_alone(item)


def _measuring_alone(item) -> bool:
    return item.path.name in MEASURING_ALONE_MODULES


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """The CPU lock around setup, call and teardown, so module and session fixtures that a timing
    test sets up (and measure in) are held alone too."""
    mode = _mode(item)
    worker = getattr(item.config, "workerinput", {}).get("workerid", "")
    share = item.config.stash[_CPU_SHARE]
    if mode == "shared" and share.held == "exclusive":
        share.lend()  # kept for its fixtures' measurement (_lends); shared at its call or when that ends
    else:
        share.acquire(mode)
    try:
        with logged(item.nodeid, worker, mode if mode == "shared" else share.held or mode):
            return (yield)
    finally:
        if not (_timing(item) and nextitem is not None and (_mode(nextitem) == mode or _lends(item, nextitem))):
            share.release()  # kept through a run of timing tests: the other workers decide once


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item):
    item.config.stash[_CPU_SHARE].settle()  # a hold lent to this test's setup is shared by its call
    return (yield)


def _lends(item, nextitem) -> bool:
    """Whether a timing test keeps its exclusive hold for the next test, a shared one: the first of a module
    whose fixtures measure alone (MEASURING_ALONE_MODULES), so that measurement needs no hand-over, in
    which it would wait for the tests the other workers started meanwhile (seen: 18 s, two cores idle)."""
    return _measuring_alone(nextitem) and nextitem.path != item.path and _mode(nextitem) == "shared"


def _timing(item) -> bool:
    return _mode(item) in ("exclusive", "quiet")


def _mode(item) -> str:
    """How a test holds the machine (tests/cpu_share.py): "quiet", "exclusive" (timing), "background"
    (shared, or beside a timing test in the idle cgroup) or "shared"."""
    if item.get_closest_marker("quiet"):
        return "quiet"
    if item.get_closest_marker("timing"):
        return "exclusive"
    return "background" if item.get_closest_marker("background") else "shared"


def measuring_alone(request):
    """`with measuring_alone(request):` in a fixture that measures time while the tests that read its
    results need not (they parse files, open viewers): only the measurement holds the CPU alone."""
    return request.config.stash[_CPU_SHARE].hold(True)


@pytest.fixture(scope="session")
def chromium_path(playwright) -> str:
    return find_chromium(None, playwright)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, chromium_path):
    args = {**browser_type_launch_args}
    if not args.get("channel"):
        args["executable_path"] = chromium_path
    args["args"] = [*args.get("args", []), *STABLE_FLAGS]
    return args


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": VIEWPORT, "device_scale_factor": DEVICE_SCALE_FACTOR}


@pytest.fixture(scope="session")
def chat_server():
    """The bundled reference chat app, one per test session."""
    with BundledServer() as server:
        yield server


class AppPage:
    """The bundled app open in a fresh context (its own renderer), with bench's PageSession on it."""

    def __init__(self, browser, server_url: str, query: str = "", inject: str = "intercept", seed: int = 1,
                 timeout_s: float = 30):
        self.context = new_context(browser)
        self.page = self.context.new_page()
        self.session = PageSession(self.page, bundled_target(server_url, query, inject), MessageSource(seed=seed),
                                   timeout_s)
        self.results = Results(env={}, config={"app_query": query})

    def sink(self, out) -> None:
        self.results.add(0, out)

    def open(self) -> "AppPage":
        self.session.prepare()
        self.session.open()
        return self

    def run(self, *scenarios) -> dict:
        """Each scenario on this page, in turn; the results so far as the results file holds them."""
        self.session.plan(scenarios)
        for scenario in scenarios:
            scenario.run(self.session, self.sink)
        return self.results.to_json()

    def close(self) -> None:
        try:
            self.session.close()
        finally:
            self.context.close()


@pytest.fixture
def app_page(browser, chat_server):
    """app_page(query="", inject="intercept") -> an open AppPage; every one is closed after the test."""
    opened = []

    def open_(query: str = "", inject: str = "intercept", **options) -> AppPage:
        opened.append(AppPage(browser, chat_server.url, query, inject, **options))
        return opened[-1].open()

    yield open_
    for app in opened:
        app.close()


@pytest.fixture
def measure(chat_server):
    """measure(page, scenarios, query="") -> results dict, on the bundled app; or, with profile= and
    url=, on that chat UI as `bench ui --profile P --url U` measures it (in this process, on the
    test's page, without a bench process and a browser launch of its own)."""

    def run(page, scenarios, query: str = "", inject: str | None = None, timeout_s: float = 30,
            paint_method: str = "auto", profile: str | None = None, url: str | None = None) -> dict:
        target = resolve_target(profile, url or chat_server.url, query, inject)
        results = Results(env={}, config={"app_query": query})
        session = PageSession(page, target, MessageSource(seed=1), timeout_s)
        session.paint = PaintProbe(paint_method)
        session.run(scenarios, lambda out: results.add(0, out))
        return results.to_json()

    return run


def in_fresh_thread(function, *args, **kwargs):
    """function(*args, **kwargs) in a thread of its own; its result, or its exception raised here.

    For code that calls asyncio.run(): once a test has used pytest-playwright's
    fixtures, its sync Playwright (session-scoped) keeps an event loop marked
    running in the main thread, and asyncio.run() there raises "cannot be
    called from a running event loop", so a test's result would depend on
    which tests ran before it.
    """
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args, **kwargs).result()


def asyncio_run(coroutine):
    """asyncio.run(coroutine), safe after Playwright tests (in_fresh_thread)."""
    return in_fresh_thread(asyncio.run, coroutine)


def open_session(page, target, seed: int = 1, timeout_s: float = 15) -> PageSession:
    """A bench PageSession on page for target, its probes installed and the page opened (socket ready)."""
    session = PageSession(page, target, MessageSource(seed=seed), timeout_s)
    session.prepare()
    session.open()
    return session


def bench_in_process(*args: str) -> subprocess.CompletedProcess:
    """bench's CLI called in this process, its output captured, as run_bench returns it: for input that
    bench refuses before it starts anything (a usage error, a results file it cannot read). Its
    imports are already here, so it costs a few ms where a `python -m bench` costs about 0.5 s of CPU.
    What only a real process shows (the interpreter's start, signals, what is left running) stays with
    run_bench, as do the test_cli usage errors that prove the `python -m bench` path itself."""
    from bench.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    handler, cwd = signal.getsignal(signal.SIGTERM), os.getcwd()
    try:
        os.chdir(REPO)  # where run_bench runs it, for relative paths
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's --help
                code = exc.code or 0
    finally:
        os.chdir(cwd)
        signal.signal(signal.SIGTERM, handler)  # main() routes SIGTERM to its cleanup
    return subprocess.CompletedProcess(["bench", *args], code, out.getvalue(), err.getvalue())


def run_bench(*args: str, timeout: float = 180, **kwargs) -> subprocess.CompletedProcess:
    """`python -m bench ARGS` as a user would run it."""
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, preexec_fn=default_sigint_then(kwargs.pop("preexec_fn", None)),
                          **kwargs)


def default_sigint() -> None:
    """In the child, before exec: SIGINT back to its default disposition.

    A suite started as a background job by a non-interactive shell (`make test &`,
    CI runners) inherits SIGINT ignored; an ignored signal stays ignored across
    exec, and Python installs its KeyboardInterrupt handler only when SIGINT is
    not ignored at start-up. So a child must get SIG_DFL back before exec, or
    the SIGINT a test sends it is silently dropped.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def default_sigint_then(preexec=None):
    """A preexec_fn: default_sigint(), then preexec (another test's own set-up) if given."""
    def before_exec() -> None:
        default_sigint()
        if preexec:
            preexec()

    return before_exec


def run_bench_measuring_alone(request, until: str, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """run_bench(*args) holding the CPU alone (measuring_alone) only until the child writes a line starting
    with `until` on stderr: what it does after (unmeasured trace passes, reports) shares the machine.
    A child that never writes it holds the CPU alone to its end."""
    return run_measuring_alone(request.config.stash[_CPU_SHARE], until, [sys.executable, "-m", "bench", *args],
                               timeout)


def run_measuring_alone(share, until: str, argv: list[str], timeout: float = 180) -> subprocess.CompletedProcess:
    """argv (SIGINT at its default disposition) with `share` (tests/cpu_share.py) held exclusive until the
    child's stderr has a line starting with `until`, or it ends; then shared, as the test asked, while
    the child runs on. A hold lent to the test's setup (CpuShare.lend) ends there too."""
    proc = popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stderr: list[str] = []
    measured = threading.Event()

    def read_stderr() -> None:
        for line in proc.stderr:
            stderr.append(line)
            if line.startswith(until):
                measured.set()
        measured.set()  # the child closed stderr: it has ended

    with ThreadPoolExecutor(2) as pool:
        out, err = pool.submit(proc.stdout.read), pool.submit(read_stderr)
        try:
            with share.hold(True):
                measured.wait(timeout)
            share.settle()  # a hold lent to this test's setup is over too
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        finally:
            err.result(), out.result()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out.result(), "".join(stderr))


def bench_popen(*args: str, **kwargs) -> subprocess.Popen:
    """`python -m bench ARGS` started for a test to signal (SIGINT at its default disposition)."""
    return popen([sys.executable, "-m", "bench", *args], **kwargs)


def popen(argv: list[str], **kwargs) -> subprocess.Popen:
    """argv started from the repository (unless cwd=), SIGINT at its default disposition (default_sigint)."""
    return subprocess.Popen(argv, cwd=kwargs.pop("cwd", REPO),
                            preexec_fn=default_sigint_then(kwargs.pop("preexec_fn", None)), **kwargs)


def interrupted_results(proc, out) -> dict:
    """A bench command sent SIGINT (bench_popen with pipes): exit 130, one line, and its results file,
    marked partial."""
    import json

    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert f"partial results: {out}" in stdout and "PARTIAL RESULTS" in stdout, stdout
    data = json.loads(out.read_text())
    assert data["partial"] is True
    return data
