"""Scenarios do something to the page and say when it is done.

Each scenario module provides NAME, add_arguments(group) for its CLI options,
and from_args(args) -> a scenario object with
    name, config (a dataclass, recorded in results), expected_messages(),
    run(session, sink, advance)
where sink(ScenarioOutput) records metrics as soon as they are measured and
advance(n) moves the progress bar. Register a new module in MODULES.
"""

from __future__ import annotations

from . import burst, cycles, input, scroll

MODULES = {module.NAME: module for module in (burst, scroll, cycles, input)}
NAMES = tuple(MODULES)


def applicable(names: list[str], profile: str | None) -> list[str]:
    """Of all scenarios (the default), those the profile can drive: input needs an [input] table."""
    from ..profile import BUNDLED_PROFILE, load_profile

    if input.NAME in names and load_profile(profile or BUNDLED_PROFILE).input_box is None:
        names = [n for n in names if n != input.NAME]
    return names
