"""Scenarios do something to the page and say when it is done.

Each scenario module provides NAME, add_arguments(group) for its CLI options,
CONFIG (its config dataclass) and SCENARIO (its class, built from a CONFIG),
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
# The default run (`--scenario default`): what a chat UI is measured by on every
# commit, kept within its 10 s speed target. `all` adds stream and input, each
# where the profile has its table ([stream], [input]).
DEFAULT = ("burst", "scroll", "cycles")
GROUPS = {"default": DEFAULT, "all": NAMES}


def expand(spec: str) -> list[str]:
    """--scenario LIST -> scenario names; `default` and `all` stand for their groups."""
    names: list[str] = []
    for part in (p.strip() for p in spec.split(",")):
        if part:
            names.extend(GROUPS.get(part, (part,)))
    return list(dict.fromkeys(names))


def by_name(spec: str, name: str) -> bool:
    """Whether --scenario named this scenario itself (not through a group): then a missing table is an error."""
    return name in (p.strip() for p in spec.split(","))


def applicable(names: list[str], profile: str | None, chosen: bool = False) -> list[str]:
    """Of these scenarios, those the profile can drive: input needs an [input] table.

    All scenarios (the default): input is left out without one. Chosen by
    name (chosen=True): a profile without one is a usage error, before any run.
    """
    from ..errors import UsageError
    from ..targets.profile import BUNDLED_PROFILE, load_profile

    if input.NAME not in names:
        return names
    target = load_profile(profile or BUNDLED_PROFILE)
    if target.input_box is not None:
        return names
    if chosen:
        raise UsageError(f"--scenario input: profile {target.name!r} has no [input] table "
                         f"(box and send; docs/input.md)")
    return [n for n in names if n != input.NAME]
