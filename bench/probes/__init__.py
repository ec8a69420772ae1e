"""Probes observe the page. Each owns its in-page JavaScript, a .js file beside it."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def probe_script(name: str) -> str:
    return (Path(__file__).parent / name).read_text(encoding="utf-8")
