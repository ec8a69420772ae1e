"""Shared fixtures: pytest-playwright pointed at the Chromium the harness finds.

A user's pytest-playwright habits work on this suite: --headed, --slowmo,
--tracing retain-on-failure, --browser-channel (which then wins over the
found Chromium).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bench.browser import DEVICE_SCALE_FACTOR, STABLE_FLAGS, VIEWPORT, find_chromium
from bench.messages import MessageSource
from bench.probes.paint import PaintProbe
from bench.results import Results
from bench.server_process import BundledServer
from bench.session import PageSession
from bench.target import bundled_target

REPO = Path(__file__).resolve().parent.parent


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


@pytest.fixture
def measure(chat_server):
    """measure(page, scenarios, query="") -> results dict, on the bundled app."""

    def run(page, scenarios, query: str = "", inject: str = "intercept", timeout_s: float = 30,
            paint_method: str = "auto") -> dict:
        target = bundled_target(chat_server.url, query, inject)
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


def run_bench(*args: str, timeout: float = 180, **kwargs) -> subprocess.CompletedProcess:
    """`python -m bench ARGS` as a user would run it."""
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, **kwargs)
