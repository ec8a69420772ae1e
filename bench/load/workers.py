"""The coordinator's side of the worker processes: start, command, always stop.

Worker processes (multiprocessing, spawn: no inherited event loop or
browser state) run agent.worker_main. Connections are dealt round-robin
over the workers. A worker that fails a command answers with one line,
raised here as a TargetError; a worker that dies is reported the same way.
Stopping is ordered (stop command, join), then forced (terminate, kill), so
no worker outlives the command, even on Ctrl-C.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Sequence

from ..errors import TargetError, UsageError

JOIN_S = 3.0


def default_workers() -> int:
    return os.cpu_count() or 1


def deal(items: Sequence, workers: int) -> list[list]:
    """Round-robin: item i goes to worker i % workers."""
    return [list(items[w::workers]) for w in range(workers)]


class WorkerPool:
    def __init__(self, count: int):
        if count < 1:
            raise UsageError(f"--workers must be at least 1 (got {count})")
        self.count = count
        self.processes: list[multiprocessing.Process] = []
        self.pipes: list = []

    def __enter__(self) -> "WorkerPool":
        from .agent import worker_main  # aiohttp: only the processes that hold sockets need it

        ctx = multiprocessing.get_context("spawn")
        for index in range(self.count):
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(theirs, index), name=f"bench-load-{index}",
                               daemon=True)
            proc.start()
            theirs.close()
            self.processes.append(proc)
            self.pipes.append(ours)
        return self

    def __exit__(self, exc_type, *exc) -> None:
        # After a failure or Ctrl-C a worker may be mid-command for seconds:
        # end it now (the OS closes its sockets) rather than wait for it.
        self.stop(graceful=exc_type is None)

    def call(self, command: str, args_per_worker: Sequence[dict | None], timeout_s: float) -> list:
        """Send command to every worker with args (None: skip that worker); gather replies in order."""
        asked = [w for w, args in enumerate(args_per_worker) if args is not None]
        for w in asked:
            self.pipes[w].send((command, args_per_worker[w]))
        replies, error = {}, None
        for w in asked:
            status, value = self._reply(w, command, timeout_s)
            if status == "error" and error is None:
                error = value
            replies[w] = value
        if error is not None:
            raise TargetError(error)
        return [replies.get(w) for w in range(self.count)]

    def _reply(self, w: int, command: str, timeout_s: float):
        pipe = self.pipes[w]
        try:
            if not pipe.poll(timeout_s):
                raise TargetError(f"load worker {w} did not finish {command!r} within {timeout_s:g} s")
            return pipe.recv()
        except (EOFError, OSError):
            code = self.processes[w].exitcode
            raise TargetError(f"load worker {w} died during {command!r} (exit code {code})") from None

    def stop(self, graceful: bool = True) -> None:
        for pipe, proc in zip(self.pipes, self.processes):
            if proc.is_alive():
                try:
                    pipe.send(("stop", None))
                except OSError:
                    pass
        for proc in self.processes:
            if graceful:
                proc.join(JOIN_S)
            if proc.is_alive():
                proc.terminate()
                proc.join(JOIN_S)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for pipe in self.pipes:
            pipe.close()
        self.processes, self.pipes = [], []
