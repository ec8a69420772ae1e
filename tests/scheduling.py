"""Which worker runs what: every test that needs the machine alone goes to one worker, first.

`make test` runs `pytest -n 3 --dist loadscope`, which sends whole modules to
the workers, so a module's fixtures are set up once. Here one more unit is
made, "alone": every timing test, and every test of a module whose fixtures
measure alone (`measuring_alone`), in one worker, ahead of the modules.

Why: a timing test holds the CPU lock exclusively (tests/cpu_share.py), and
before it can start it waits, a core idle, for the tests the other workers
are in. Spread over the run, the timing tests paid that wait each time the
lock changed hands (about 30 times, up to 25 s for a long fixture), and the
suite ran 1.7 tests at a time where the machine could run 2. In one unit on
one worker, in a row, the lock changes hands a few times: the other workers
run shared tests whenever the unit's own are shared, and wait otherwise.

The controller schedules from node ids alone (it collects nothing), so the
workers, which know the marks, write the unit's node ids to a file in the
run's lock directory as they finish collecting; the controller reads it when
it makes the units, after every worker has reported its collection.
(pytest-xdist's own `--dist loadgroup` cannot carry this: with pytest 9 the
group it writes into a node id is lost.)
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from xdist.scheduler import LoadScopeScheduling

ALONE = "alone"
_FILE = "alone.json"


def scope_of(nodeid: str, alone: set[str]) -> str:
    """The unit of a test: ALONE, or its module (as --dist loadscope scopes a test: by its first '::')."""
    return ALONE if nodeid in alone else nodeid.split("::", 1)[0]


def read_alone(directory: str) -> set[str]:
    path = Path(directory) / _FILE
    return set(json.loads(path.read_text())) if path.exists() else set()


def write_alone(directory: str, nodeids: list[str]) -> None:
    """The unit's node ids, for the controller (each worker writes the same list; rename is atomic)."""
    fd, tmp = tempfile.mkstemp(dir=directory)
    with os.fdopen(fd, "w") as f:
        json.dump(nodeids, f)
    os.replace(tmp, Path(directory) / _FILE)


class AloneFirstScheduling(LoadScopeScheduling):
    """loadscope's module units, plus the unit "alone" made of the node ids the workers wrote."""

    def __init__(self, config, log, directory: str):
        super().__init__(config, log)
        self._directory = directory
        self._alone: set[str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self._alone is None:  # first called by schedule(), after every worker's collection
            self._alone = read_alone(self._directory)
        return scope_of(nodeid, self._alone)
