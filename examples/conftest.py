"""pytest-playwright set up for measuring with bench: copy beside your tests, or merge into your conftest.py.

- bench's stable Chromium flags (no background networking, precise memory
  info, ...), the features it turns off (a local browser), and the fixed
  viewport and scale bench measures with, so your numbers compare with
  `bench ui`'s;
- the Chromium bench finds ($BENCH_CHROMIUM, Playwright's own, chromium on
  PATH), unless you pass --browser-channel;
- a browser served elsewhere when PLAYWRIGHT_WS_ENDPOINT is set
  (`playwright run-server`; pytest-playwright connects through connect_options,
  bench records it as remote-playwright). The server must run with --unsafe
  to apply the flags; it uses its own Playwright browser unless
  BENCH_CHROMIUM names one on its machine. Several endpoints, comma-separated,
  spread pytest-xdist workers over them (`pytest -n 2`: gw0 takes the first,
  gw1 the second, ...), so parallel tests do not share one machine's CPUs.

pytest's own options still work: --headed, --slowmo MS, --browser-channel
NAME, --tracing retain-on-failure; and bench's: --bench-json DIR,
--bench-trace on|off|retain-on-failure, --bench-budgets FILE|PRESET|none.
"""

from __future__ import annotations

import os

import pytest

from bench.browser.features import launch_args
from bench.browser.launch import DEVICE_SCALE_FACTOR, STABLE_FLAGS, VIEWPORT, find_chromium


@pytest.fixture(scope="session")
def connect_options():
    endpoints = [e for e in os.environ.get("PLAYWRIGHT_WS_ENDPOINT", "").split(",") if e]
    if not endpoints:
        return None
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")  # pytest-xdist's gw0, gw1, ...; unset without -n
    return {"endpoint": endpoints[int(worker[2:]) % len(endpoints)]}  # BrowserType.connect(endpoint=...)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, playwright, connect_options):
    args = {**browser_type_launch_args, "args": [*browser_type_launch_args.get("args", []), *STABLE_FLAGS]}
    if args.get("channel"):
        return args
    if connect_options:
        # pytest-playwright sends these to the server as JSON launch options, which use
        # Playwright's own (camelCase) names; the path is one on the server's machine.
        if os.environ.get("BENCH_CHROMIUM"):
            args["executablePath"] = os.environ["BENCH_CHROMIUM"]
    else:
        args["executable_path"] = find_chromium(None, playwright)
        # The WebUI omnibox preload off, Playwright's own --disable-features and yours kept, as `bench ui`
        # launches (docs/ui.md): one switch with every list in place of Playwright's.
        args["args"], leave_out = launch_args(args["args"])
        if leave_out:
            args["ignore_default_args"] = leave_out
    return args


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": VIEWPORT, "device_scale_factor": DEVICE_SCALE_FACTOR}
