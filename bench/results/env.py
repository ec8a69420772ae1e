"""The environment a result was measured in: everything that changes the numbers."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from importlib import metadata

from .. import __version__
from ..browser import features, renderer_process
from ..browser.launch import DEVICE_SCALE_FACTOR, VIEWPORT, BrowserOptions
from ..browser.source import remote_env


def git_revision(cwd: str | None = None) -> str | None:
    """Short revision of the git checkout we run in, with "-dirty" if modified."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, timeout=5)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return rev.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def host_env() -> dict:
    """The machine and software, without a browser (server-side commands)."""
    return {
        "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "bench_version": __version__,
        "git_revision": git_revision(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "aiohttp_version": _version("aiohttp"),
    }


def collect_env(browser, options: BrowserOptions, browser_path: str | None, host: dict | None = None) -> dict:
    """The run's environment; a remote browser's headless mode and flags are read from it.

    host: host_env() if already gathered (bench ui gathers it while the browser starts).
    """
    env = {
        **(host if host is not None else host_env()),
        "playwright_version": _version("playwright"),
        "chromium_version": browser.version,
        "browser_path": browser_path,
        "browser_location": "local",
        "headless": options.headless,
        "flags": options.args,
        "viewport": dict(VIEWPORT),
        "device_scale_factor": DEVICE_SCALE_FACTOR,
        "cpu_throttle": options.cpu_throttle,
        "slowmo_ms": options.slowmo_ms,
        "renderer_process": renderer_process.method(),  # how render.renderer_* are read
    }
    if options.source.remote:
        env.update(remote_env(browser, options.source, options.args))
    else:  # what launch() passes, merged into Playwright's own --disable-features (bench.browser.features)
        env["features_off"] = features.off_in(features.launch_args(options.args)[0])
    return env
