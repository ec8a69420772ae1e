"""Where the browser comes from: launched here, served by a Playwright server, or attached over CDP.

    local              bench launches Chromium itself (bench.browser.launch.launch)
    remote-playwright  a browser served by `playwright run-server` (or any
                       server speaking Playwright's protocol): chromium.connect
    remote-cdp         a running Chromium's DevTools endpoint: chromium.connect_over_cdp

A Playwright server launches a fresh browser for each connection, with the
launch options the client sends in the x-playwright-launch-options header.
It keeps `headless` but drops `args` and `executablePath` unless it was
started with --unsafe; then bench's stable flags are missing. A CDP-attached
browser runs with whatever its owner started it with. So for a remote browser
the environment is read back from the browser itself (chrome://version:
command line, user agent; navigator.hardwareConcurrency), never assumed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from ..errors import TargetError, UsageError, first_line

LOCAL = "local"
REMOTE_PLAYWRIGHT = "remote-playwright"
REMOTE_CDP = "remote-cdp"
LOCATIONS = (LOCAL, REMOTE_PLAYWRIGHT, REMOTE_CDP)

CONNECT_TIMEOUT_MS = 30_000  # a server launches the browser on connect: allow for a slow start


@dataclass(frozen=True)
class BrowserSource:
    location: str = LOCAL
    endpoint: str | None = None

    @property
    def remote(self) -> bool:
        return self.location != LOCAL

    @property
    def shown_endpoint(self) -> str | None:
        """The endpoint without credentials, query or fragment (grids put tokens there)."""
        return redact(self.endpoint) if self.endpoint else None

    def describe(self) -> str:
        return self.location if not self.remote else f"{self.location} at {self.shown_endpoint}"


def redact(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def source_from(connect: str | None = None, cdp_endpoint: str | None = None) -> BrowserSource:
    """--connect WS_ENDPOINT / --cdp-endpoint URL -> a BrowserSource (UsageError on bad input)."""
    if connect and cdp_endpoint:
        raise UsageError("--connect and --cdp-endpoint: choose one browser source")
    if connect:
        if urlsplit(connect).scheme not in ("ws", "wss"):
            raise UsageError(f"--connect {connect!r}: expected a ws:// or wss:// endpoint "
                             f"(what `playwright run-server` prints)")
        return BrowserSource(REMOTE_PLAYWRIGHT, connect)
    if cdp_endpoint:
        if urlsplit(cdp_endpoint).scheme not in ("http", "https", "ws", "wss"):
            raise UsageError(f"--cdp-endpoint {cdp_endpoint!r}: expected http://HOST:PORT or the "
                             f"ws://.../devtools/browser/... URL Chromium prints")
        return BrowserSource(REMOTE_CDP, cdp_endpoint)
    return BrowserSource()


def launch_options_header(headless: bool, args: list[str], executable_path: str | None) -> dict:
    """The launch options a Playwright server applies to the browser it starts for us."""
    options = {"headless": headless, "args": list(args)}
    if executable_path:
        options["executablePath"] = executable_path  # honoured by a server started with --unsafe
    return {"x-playwright-launch-options": json.dumps(options)}


def connect(playwright, source: BrowserSource, headless: bool, args: list[str],
            executable_path: str | None, slowmo_ms: float = 0):
    """A remote browser; a failure is one TargetError line naming the endpoint."""
    slow_mo = slowmo_ms or None
    try:
        if source.location == REMOTE_PLAYWRIGHT:
            return playwright.chromium.connect(
                source.endpoint, headers=launch_options_header(headless, args, executable_path),
                slow_mo=slow_mo, timeout=CONNECT_TIMEOUT_MS)
        return playwright.chromium.connect_over_cdp(source.endpoint, slow_mo=slow_mo,
                                                    timeout=CONNECT_TIMEOUT_MS)
    except Exception as exc:  # Playwright's Error, with a long log after the first line
        hint = ""
        if "Executable doesn't exist" in str(exc):
            hint = (" (the server has no browser of its own: run `playwright install chromium` there, "
                    "or start it with --unsafe and pass --browser-path)")
        raise TargetError(f"cannot use the browser at {source.shown_endpoint} ({source.location}): "
                          f"{first_line(exc)}{hint}") from None


VERSION_PAGE_JS = """() => ({
  commandLine: (document.querySelector('#command_line') || {}).innerText || null,
  userAgent: navigator.userAgent,
  cpus: navigator.hardwareConcurrency,
})"""


def browser_facts(browser) -> dict:
    """What a browser really runs with, read from itself in a throwaway context.

    {"command_line": str | None, "headless": bool, "cpu_count": int}; headless
    from the user agent ("HeadlessChrome", also in Chromium's new headless mode).
    """
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto("chrome://version")
        facts = page.evaluate(VERSION_PAGE_JS)
    finally:
        context.close()
    return {"command_line": facts["commandLine"], "headless": "HeadlessChrome" in facts["userAgent"],
            "cpu_count": facts["cpus"]}


def flags_in(command_line: str | None, wanted: list[str]) -> tuple[list[str], list[str]]:
    """(wanted flags on the command line, wanted flags missing from it)."""
    words = set((command_line or "").split())
    present = [f for f in wanted if f in words]
    return present, [f for f in wanted if f not in words]


def remote_env(browser, source: BrowserSource, wanted_flags: list[str]) -> dict:
    """env fields of a remote browser as it really is (flags_missing: asked for, not there)."""
    facts = browser_facts(browser)
    present, missing = flags_in(facts["command_line"], wanted_flags)
    return {
        "browser_location": source.location,
        "browser_endpoint": source.shown_endpoint,
        "headless": facts["headless"],
        "flags": present,
        "flags_missing": missing,
        "browser_cpu_count": facts["cpu_count"],
    }


MISSING_FLAGS_WHY = {
    REMOTE_PLAYWRIGHT: "a Playwright server drops launch args unless it runs with --unsafe",
    REMOTE_CDP: "its owner started it without them",
    LOCAL: "it was launched without them; with pytest-playwright, add bench.browser.STABLE_FLAGS "
           "to browser_type_launch_args (examples/conftest.py)",
}


def env_notes(env: dict) -> list[str]:
    """Lines for the report where the browser is not what bench asked for."""
    missing = env.get("flags_missing")
    if not missing:
        return []
    why = MISSING_FLAGS_WHY.get(env.get("browser_location"), MISSING_FLAGS_WHY[LOCAL])
    return [f"the browser runs without bench's flags {' '.join(missing)} ({why}); env.flags lists "
            f"the ones it has"]


def add_arguments(parser) -> None:
    """--connect / --cdp-endpoint: the one definition, for `bench ui`, `bench calibrate`, `bench profile
    check` and `bench profile init` (source_from_args reads them back)."""
    g = parser.add_argument_group("browser elsewhere (env.browser_location records it; bench compare "
                                  "refuses local vs remote without --force)")
    g.add_argument("--connect", metavar="WS_ENDPOINT",
                   help="use a browser served by `playwright run-server` (Playwright's protocol, e.g. "
                        "ws://grid:3000/); the server launches it with bench's headless mode and flags "
                        "(flags and --browser-path only when the server runs with --unsafe)")
    g.add_argument("--cdp-endpoint", metavar="URL",
                   help="attach to a running Chromium over CDP (http://HOST:PORT of "
                        "--remote-debugging-port, or its ws://.../devtools/browser/... URL); it keeps "
                        "its own flags and headless mode, which bench reads back")


def source_from_args(args) -> BrowserSource:
    source = source_from(getattr(args, "connect", None), getattr(args, "cdp_endpoint", None))
    if source.location == REMOTE_CDP and getattr(args, "browser_path", None):
        raise UsageError("--browser-path does not apply to --cdp-endpoint: that browser is already running")
    return source
