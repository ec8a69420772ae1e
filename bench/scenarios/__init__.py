"""Scenarios do something to the page and say when it is done.

Each scenario module provides NAME, add_arguments(group) for its CLI options,
and from_args(args) -> a scenario object with
    name, config (a dataclass, recorded in results), expected_messages(),
    run(session, sink, advance)
where sink(ScenarioOutput) records metrics as soon as they are measured and
advance(n) moves the progress bar. Register a new module in MODULES.
"""

from __future__ import annotations

from . import burst, cycles, input, scroll, stream

MODULES = {module.NAME: module for module in (burst, scroll, cycles, stream, input)}
NAMES = tuple(MODULES)


def applicable(names: list[str], profile: str | None, chosen: bool = False) -> list[str]:
    """Of these scenarios, those the profile can drive: input needs an [input] table.

    All scenarios (the default): input is left out without one. Chosen by
    name (chosen=True): a profile without one is a usage error, before any run.
    """
    from ..errors import UsageError
    from ..profile import BUNDLED_PROFILE, load_profile

    if input.NAME not in names:
        return names
    target = load_profile(profile or BUNDLED_PROFILE)
    if target.input_box is not None:
        return names
    if chosen:
        raise UsageError(f"--scenario input: profile {target.name!r} has no [input] table "
                         f"(box and send; docs/input.md)")
    return [n for n in names if n != input.NAME]
