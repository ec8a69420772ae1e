"""Finding and launching Chromium with flags that keep its numbers stable."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import features
from .source import BrowserSource, connect
from ..errors import TargetError, UsageError

# Quiet on a closed network and stable between runs (docs/measurement.md, "Rules of measurement").
STABLE_FLAGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--enable-precise-memory-info",
]

VIEWPORT = {"width": 1280, "height": 800}
DEVICE_SCALE_FACTOR = 1

PATH_NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]

INSTALL_HINT = (
    "install one: `sudo apt-get install chromium` (Debian/Ubuntu) or "
    "`python -m playwright install chromium`, or pass --browser-path / set BENCH_CHROMIUM"
)


@dataclass
class BrowserOptions:
    """Everything about the browser that changes the numbers."""

    path: str | None = None  # --browser-path
    headless: bool = True
    slowmo_ms: float = 0
    cpu_throttle: float = 1.0
    extra_args: list[str] = field(default_factory=list)
    source: BrowserSource = field(default_factory=BrowserSource)  # --connect / --cdp-endpoint

    @property
    def args(self) -> list[str]:
        return STABLE_FLAGS + self.extra_args


def _playwright_chromium(playwright) -> str | None:
    """Playwright's own Chromium, if `playwright install chromium` was run."""
    try:
        path = playwright.chromium.executable_path
    except Exception:
        return None
    return path if path and Path(path).is_file() else None


def find_chromium(explicit: str | None = None, playwright=None) -> str:
    """Chromium's path: --browser-path, $BENCH_CHROMIUM, Playwright's own, then PATH."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file() or not os.access(path, os.X_OK):
            raise UsageError(f"--browser-path {explicit}: no executable there; {INSTALL_HINT}")
        return str(path)
    env = os.environ.get("BENCH_CHROMIUM")
    if env:
        if not Path(env).is_file() or not os.access(env, os.X_OK):
            raise UsageError(f"BENCH_CHROMIUM={env}: no executable there; {INSTALL_HINT}")
        return env
    own = _playwright_chromium(playwright) if playwright is not None else None
    if own:
        return own
    for name in PATH_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise TargetError(f"no Chromium found; {INSTALL_HINT}")


def browser_path(playwright, options: BrowserOptions) -> str | None:
    """The Chromium the run uses: found here, or (remote) the path asked of the server, if any."""
    if options.source.remote:
        return options.path
    return find_chromium(options.path, playwright)


NO_DISPLAY_HINT = "no display: use headless, or run under xvfb-run, e.g. `xvfb-run -a python -m bench ui --headed`"


def display_missing(options: BrowserOptions) -> bool:
    """Headed on Linux with neither an X nor a Wayland display to show the window on."""
    return (not options.headless and sys.platform.startswith("linux")
            and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")))


def launch(playwright, options: BrowserOptions):
    """Launch Chromium through Playwright, or use the remote one options.source names.

    A failure becomes one clear line. Remote: --browser-path is a path on the
    server's machine, passed along as the launch option executablePath. Local:
    a few features more are off (bench.browser.features).
    """
    if options.source.remote:
        return connect(playwright, options.source, options.headless, options.args, options.path,
                       options.slowmo_ms)
    path = find_chromium(options.path, playwright)
    if display_missing(options):
        raise TargetError(f"--headed needs a display and neither DISPLAY nor WAYLAND_DISPLAY is set "
                          f"({NO_DISPLAY_HINT})")
    args, leave_out = features.launch_args(options.args)  # the omnibox preload off, Playwright's list kept
    try:
        return playwright.chromium.launch(
            executable_path=path,
            headless=options.headless,
            slow_mo=options.slowmo_ms or None,
            args=args,
            ignore_default_args=leave_out or None,
        )
    except Exception as exc:  # Playwright raises its own Error with a long log
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = f" ({NO_DISPLAY_HINT})" if not options.headless else ""
        raise TargetError(f"Chromium at {path} failed to start: {first}{hint}") from None


def new_context(browser):
    """A fresh context with the fixed viewport and scale (one per repetition)."""
    return browser.new_context(viewport=VIEWPORT, device_scale_factor=DEVICE_SCALE_FACTOR)
