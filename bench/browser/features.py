"""Chromium features a local launch turns off, merged into Playwright's own --disable-features.

Full Chromium builds in the new headless mode (Debian's Chromium 156 among
them) preload their WebUI omnibox popup (chrome://omnibox-popup.top-chrome,
two targets) in a renderer of its own as the first window opens: about 0.7
CPU-seconds of every launch (1.83 -> 1.11 CPU-seconds with it off, measured
on 2 cores), spent while bench opens the page it is about to measure.
Playwright's own headless shell has no omnibox, so there this changes
nothing.

Chromium keeps only the last --disable-features it is given, and Playwright
passes one of its own (PaintHolding among it, which changes when a page first
paints). So bench reads Playwright's list from the driver it ships (the
literal array `disabledFeatures` in the driver's bundle), drops Playwright's
switch (ignore_default_args matches it exactly) and passes one switch with
both lists. Where the list cannot be read as exactly that (one array of plain
names, joined into the one switch), bench adds nothing and Chromium starts as
Playwright starts it.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

SWITCH = "--disable-features="
OFF = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup")

# The driver's bundle: one file in recent Playwright; the switches module on its own in older ones.
_SOURCES = ("driver/package/lib/coreBundle.js", "driver/package/lib/server/chromium/chromiumSwitches.js")
_START = "disabledFeatures = ["  # found with str.find: a regex over the 3.6 MB bundle took 70 ms a launch
_ENDS = ("].filter(Boolean);", "];")
_JOINED = '"--disable-features=" + disabledFeatures.join(",")'
_NAME = re.compile(r'"([A-Za-z0-9_]+)"')


def playwright_list(source: str) -> tuple[str, ...] | None:
    """The names of Playwright's --disable-features in its driver's source, or None unless the source has
    exactly one literal array of plain names and joins it into the switch once."""
    start = source.find(_START)
    if start < 0 or source.find(_START, start + 1) >= 0 or source.count(_JOINED) != 1:
        return None
    start += len(_START)
    end = source.find("]", start)
    if end < 0 or not source.startswith(_ENDS, end):
        return None
    entries = [e.strip() for e in re.sub(r"//[^\n]*", "", source[start:end]).split(",")]
    names = [_NAME.fullmatch(e) for e in entries if e]
    if not names or not all(names):
        return None  # a conditional or computed entry: not a list we can repeat exactly
    return tuple(m.group(1) for m in names)


@functools.cache
def installed_playwright_list() -> tuple[str, ...] | None:
    """playwright_list() of the installed Playwright's driver, or None."""
    try:
        import playwright
    except ImportError:
        return None
    root = Path(playwright.__file__).parent
    for name in _SOURCES:
        try:
            found = playwright_list((root / name).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        if found is not None:
            return found
    return None


def launch_args(args: list[str]) -> tuple[list[str], list[str]]:
    """(the args to launch with, Playwright's switch to leave out): the args without their own
    --disable-features, plus one switch holding Playwright's list, theirs and OFF (Chromium keeps only the
    last switch, so a user's own would otherwise drop Playwright's, or ours drop the user's). The args as
    they are, and nothing to leave out, where Playwright's list cannot be read."""
    theirs = installed_playwright_list()
    if theirs is None:
        return list(args), []
    own = [name for a in args if a.startswith(SWITCH) for name in a[len(SWITCH):].split(",") if name]
    merged = list(dict.fromkeys([*theirs, *own, *OFF]))
    return [a for a in args if not a.startswith(SWITCH)] + [SWITCH + ",".join(merged)], [SWITCH + ",".join(theirs)]


def off_in(args: list[str]) -> list[str]:
    """The features of OFF that a launch with these args has off (Chromium reads the last switch only)."""
    switches = [a for a in args if a.startswith(SWITCH)]
    names = set(switches[-1][len(SWITCH):].split(",")) if switches else set()
    return [name for name in OFF if name in names]
