"""Where the bundled data lives, and loading the Python modules among it.

The bundled data (reference chat app, message corpus, the bundled profile, the relay
server) is package data under bench/targets/data/, so an installed wheel has it as a
clone does; docs/bundled-app.md describes it. (Not pytest fixtures: those are in tests/.)
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

FIXTURES_DIR = Path(__file__).resolve().parent / "data"


def fixture_path(relative: str) -> Path:
    return FIXTURES_DIR / relative


def load_fixture_module(relative: str) -> ModuleType:
    """Import a fixture's Python file (e.g. "chat/server.py") once, by path."""
    path = fixture_path(relative)
    name = "bench_fixture_" + relative.removesuffix(".py").replace("/", "_")
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load fixture module {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
