"""Probes observe the page. Each owns its in-page JavaScript, a .js file beside it."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

# A line `/* include: NAME.js */` in a probe's script stands for that file's
# text: helpers several probes need (presentation.js) live once, and each
# probe stays one self-contained init script with its own scope.
_INCLUDE = re.compile(r"^[ \t]*/\* include: ([\w.-]+\.js) \*/[ \t]*$", re.M)


@cache
def probe_script(name: str) -> str:
    text = (Path(__file__).parent / name).read_text(encoding="utf-8")
    return _INCLUDE.sub(lambda m: probe_script(m.group(1)).rstrip("\n"), text)
