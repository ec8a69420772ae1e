"""One load run's surroundings: worker processes, the server under load, progress, env.

`with load_session(server, workers, config, progress, "connecting") as s:`
gives s.pool, s.progress and s.results (empty, with env and config), and
stops everything when the block ends, in reverse order, even on Ctrl-C.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator

from ..results.env import host_env
from ..progress import Progress
from ..results.records import Results
from .procfs import cpu_pressure_pct
from .server import ServerUnderLoad
from .workers import WorkerPool


@dataclass
class LoadSession:
    pool: WorkerPool
    server: ServerUnderLoad
    progress: Progress
    results: Results


@contextlib.contextmanager
def load_session(server: ServerUnderLoad, workers: int, config: dict, progress: bool | None,
                 description: str) -> Iterator[LoadSession]:
    with contextlib.ExitStack() as stack:
        # Workers first: they start up (import aiohttp) while the server does.
        pool = stack.enter_context(WorkerPool(workers))
        stack.enter_context(server)
        bar = Progress(0, description, progress)
        stack.callback(bar.close)
        # CPU pressure before we add our own load: how busy others kept the machine.
        env = {**host_env(), "workers": workers, "server": server.description,
               "cpu_pressure_pct": cpu_pressure_pct()}
        yield LoadSession(pool, server, bar, Results(env=env, config={**config, "ws_url": server.ws_url}))
