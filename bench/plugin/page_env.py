"""The environment of a browser pytest-playwright made, as bench's env (bench/results/env.py).

pytest-playwright launches the browser from its browser_type_launch_args
fixture (--headed, --slowmo, --browser-channel and a user's conftest end up
there) or connects with connect_options. bench reads those back instead of
assuming its own launch settings, so the env of a pytest measurement says
what the test's browser really was: its flags (bench's stable flags only if
the suite passes them), channel, headless mode, and where it runs.
"""

from __future__ import annotations

import pytest

from ..browser import features
from ..browser.launch import STABLE_FLAGS, BrowserOptions
from ..browser.source import REMOTE_PLAYWRIGHT, BrowserSource
from ..results.env import collect_env


def _fixture(request, name: str):
    """A pytest-playwright fixture's value, or None without pytest-playwright."""
    try:
        return request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        return None


def pytest_browser_env(request, browser) -> dict:
    """env of the session's browser; the page's viewport and the throttle are added per call."""
    launch_args = _fixture(request, "browser_type_launch_args") or {}
    connect_options = _fixture(request, "connect_options") or {}
    # BrowserType.connect's argument: "endpoint" (Playwright >= 1.57), "ws_endpoint" before.
    endpoint = connect_options.get("endpoint") or connect_options.get("ws_endpoint")
    source = BrowserSource(REMOTE_PLAYWRIGHT, endpoint) if endpoint else BrowserSource()
    args = list(launch_args.get("args") or [])
    options = BrowserOptions(path=launch_args.get("executable_path") or launch_args.get("executablePath"),
                             headless=launch_args.get("headless", True),
                             slowmo_ms=launch_args.get("slow_mo") or 0,
                             extra_args=[a for a in args if a not in STABLE_FLAGS], source=source)
    channel = launch_args.get("channel")
    path = options.path
    if path is None and not channel and not source.remote:
        path = browser.browser_type.executable_path  # Playwright's own Chromium
    env = collect_env(browser, options, path)  # remote: headless and flags read from the browser
    env["browser_channel"] = channel
    env["harness"] = "pytest"
    if not source.remote:
        # The --disable-features switch (examples/conftest.py's, holding Playwright's list and any of the
        # user's) is recorded apart, as bench ui records it: features_off.
        env["flags"] = [a for a in args if not a.startswith(features.SWITCH)]
        env["flags_missing"] = [f for f in STABLE_FLAGS if f not in args]
        env["features_off"] = features.off_in(args)
    return env


def page_env(page) -> dict:
    """What the test's context set for this page (pytest-playwright's browser_context_args)."""
    return {"viewport": page.viewport_size,
            "device_scale_factor": page.evaluate("() => window.devicePixelRatio")}
