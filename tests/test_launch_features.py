"""The features a local launch turns off, merged into Playwright's own --disable-features (bench.browser.features)."""

from __future__ import annotations

import pytest

from bench.browser import features
from bench.browser.launch import BrowserOptions, launch
from bench.linux_proc import process_tree

JOINED = '"--disable-features=" + disabledFeatures.join(",")'


def source(array: str) -> str:
    return f"var disabledFeatures;\n    disabledFeatures = [\n{array}\n    ].filter(Boolean);\n  x = [{JOINED}];"


def test_playwrights_list_is_read_only_when_it_is_plain_names():
    plain = '      // why\n      "PaintHolding",\n      // See https://example.com/a,b\n      "MediaRouter"'
    assert features.playwright_list(source(plain)) == ("PaintHolding", "MediaRouter")
    # Anything that is not a plain name: bench could not repeat the list exactly, so it adds nothing.
    assert features.playwright_list(source('"PaintHolding",\n process.env.X ? "A" : ""')) is None
    assert features.playwright_list(source('"PaintHolding", `A${b}`')) is None
    assert features.playwright_list(source("")) is None
    assert features.playwright_list(source('"A"').replace(JOINED, '"--x"')) is None  # not joined into the switch
    assert features.playwright_list(source('"A"') + source('"B"')) is None  # two lists: which one?
    assert features.playwright_list(source('"A", // see [1]\n "B"')) is None  # read only up to the first "]"


def test_what_a_launch_has_off_is_read_from_its_last_switch():
    # Chromium keeps only the last --disable-features: so does the record of what a browser had off.
    merged = features.SWITCH + "PaintHolding," + ",".join(features.OFF)
    assert features.off_in(["--no-first-run", merged]) == list(features.OFF)
    assert features.off_in([merged, features.SWITCH + "PaintHolding"]) == []
    assert features.off_in(["--no-first-run"]) == []


def test_the_installed_playwright_is_read():
    # If this fails, Playwright changed how it writes its list, and launches keep the omnibox preload.
    theirs = features.installed_playwright_list()
    assert theirs is not None and "PaintHolding" in theirs
    args, leave_out = features.launch_args(["--no-first-run"])
    assert leave_out == [features.SWITCH + ",".join(theirs)]
    assert args == ["--no-first-run", features.SWITCH + ",".join([*theirs, *features.OFF])]


def test_a_disable_features_of_the_users_own_is_folded_into_the_one_switch():
    # Chromium keeps only the last switch: appended after the user's, bench's would drop the user's list.
    theirs = features.installed_playwright_list()
    assert theirs is not None
    args, _ = features.launch_args([features.SWITCH + "Mine,PaintHolding", "--no-first-run",
                                    features.SWITCH + "Also"])
    switches = [a for a in args if a.startswith(features.SWITCH)]
    assert args[0] == "--no-first-run" and len(switches) == 1
    names = switches[0][len(features.SWITCH):].split(",")
    assert names == [*theirs, *(n for n in ("Mine", "Also") if n not in theirs), *features.OFF]
    assert len(names) == len(set(names))  # PaintHolding, in both lists, once


def omnibox_targets(browser) -> list[str]:
    session = browser.new_browser_cdp_session()
    try:
        urls = [t["url"] for t in session.send("Target.getTargets")["targetInfos"]]
    finally:
        session.detach()
    return [u for u in urls if "omnibox-popup" in u]


@pytest.mark.browser
def test_a_local_launch_has_one_switch_with_playwrights_list_and_no_omnibox(playwright, browser, chromium_path):
    # The control: the session's browser, launched by pytest-playwright as Playwright launches it. A full
    # Chromium preloads the omnibox popup there; Playwright's headless shell has none to preload.
    page = browser.new_page()
    page.goto("about:blank")
    control = omnibox_targets(browser)
    page.close()
    if "headless_shell" not in chromium_path:
        assert control, "a full Chromium preloads its omnibox popup: without it this test shows nothing"
    before = {pid for pid, _ in _browser_processes()}
    ours = launch(playwright, BrowserOptions(path=chromium_path))
    try:
        page = ours.new_page()
        page.goto("about:blank")
        page.wait_for_timeout(500)  # the preload starts with the first window; give it time to show
        assert omnibox_targets(ours) == []
        new = [cmd for pid, cmd in _browser_processes() if pid not in before]
    finally:
        ours.close()
    assert len(new) == 1, new
    switches = [arg for arg in new[0] if arg.startswith(features.SWITCH)]
    assert len(switches) == 1, switches  # Chromium would keep only the last one
    names = set(switches[0][len(features.SWITCH):].split(","))
    assert set(features.installed_playwright_list()) | set(features.OFF) <= names
    print(f"\nomnibox targets: {len(control)} as Playwright launches it, none as bench does")


def _browser_processes():
    """(pid, command line) of the browser processes under this test process (Playwright talks to each
    over a pipe; their renderers and helpers have no such switch)."""
    out = []
    for pid in process_tree():
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(arg.startswith("--remote-debugging-pipe") for arg in cmd):
            out.append((pid, cmd))
    return out
