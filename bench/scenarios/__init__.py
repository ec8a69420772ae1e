"""Scenarios do something to the page and say when it is done.

Each scenario module provides NAME, add_arguments(group) for its CLI options,
and from_args(args) -> a scenario object with
    name, config (a dataclass, recorded in results), expected_messages(),
    run(session, sink, advance)
where sink(ScenarioOutput) records metrics as soon as they are measured and
advance(n) moves the progress bar. Register a new module in MODULES.
"""

from __future__ import annotations

from . import burst, cycles, scroll, stream

MODULES = {module.NAME: module for module in (burst, scroll, cycles, stream)}
NAMES = tuple(MODULES)
