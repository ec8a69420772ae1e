"""The coordinator's side of the worker processes: start, command, always stop.

Worker processes (multiprocessing, spawn: no inherited event loop or
browser state) run agent.worker_main. Connections are dealt round-robin
over the workers. A worker that fails a command answers with one line,
raised here as a TargetError; a worker that dies is reported the same way.
Stopping is ordered (stop command, join, then SIGTERM), then forced (kill),
so no worker outlives the command, even on Ctrl-C.

Ctrl-C (or SIGTERM) interrupts the coordinator while it waits for a command's
replies; the workers ignore SIGINT and go on. cut() then asks those still on
the command to end it now and answer with what they have, so an interrupted
run keeps the counts gathered so far (agent.py, "cut"). A worker takes SIGTERM
(sent to the whole process group) as a cut too: a reply that says it was cut
raises Stopped, a KeyboardInterrupt, whether or not the coordinator got its own.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from multiprocessing.connection import wait
from typing import Sequence

from ..errors import TargetError, UsageError
from .cut import CUT_S

JOIN_S = 3.0


class Stopped(KeyboardInterrupt):
    """A load worker cut its command short (it got SIGTERM, agent.py): the run is being stopped, as by
    Ctrl-C, and handled as one (partial results, exit 130)."""


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
        # The call in progress, for cut(): the workers asked and not yet read, the replies read so
        # far, and the workers whose pipe an interrupt may have left in mid-message.
        self.command: str | None = None  # the last call's
        self.stopped_at: float | None = None  # ...and when a worker cut it short (Stopped)
        self._pending: list[int] = []
        self._replies: dict[int, object] = {}
        self._unsure: set[int] = set()

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
        """Send command to every worker with args (None: skip that worker); gather replies in order.

        Replies are read as they come. One that says its command was cut short (a worker that got
        SIGTERM, agent.py) raises Stopped at once, the others still on the command: cut() ends them too.
        """
        asked = [w for w, args in enumerate(args_per_worker) if args is not None]
        self.command, self._pending, self._replies, self._unsure = command, [], {}, set()
        self.stopped_at = None
        for w in asked:
            self._unsure.add(w)  # interrupted in send(): the worker may hold half a command
            self.pipes[w].send((command, args_per_worker[w]))
            self._unsure.discard(w)
            self._pending.append(w)
        errors = {}
        deadline = time.monotonic() + timeout_s
        while self._pending:
            ready = wait([self.pipes[w] for w in self._pending], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TargetError(f"load worker {self._pending[0]} did not finish {command!r} within "
                                  f"{timeout_s:g} s")
            for w in [w for w in self._pending if self.pipes[w] in ready]:
                status, value = self._reply(w, command)
                if status == "error":
                    errors[w] = value
                    continue
                if isinstance(value, dict) and value.get("cut_at") is not None:
                    self.stopped_at = min(value["cut_at"], self.stopped_at or value["cut_at"])
            if self.stopped_at is not None:
                raise Stopped()
        if errors:
            raise TargetError(errors[min(errors)])
        return self.replies()

    def cut(self, at: float | None = None, timeout_s: float = CUT_S) -> list:
        """After an interrupt in or after the last call() (of self.command): the workers still on its
        command end it now (agent.py, "cut") and answer with what they have. The call's replies in worker
        order; None for a worker not asked, or that failed, died or did not answer within timeout_s. A
        second Ctrl-C here stops the waiting. at: when the interrupt came (time.monotonic)."""
        waiting = [w for w in self._pending if w not in self._unsure]
        self._pending = []
        if self.stopped_at is not None:
            at = min(at or self.stopped_at, self.stopped_at)
        for w in list(waiting):
            try:
                self.pipes[w].send(("cut", {"at": at}))
            except OSError:
                waiting.remove(w)
        deadline = time.monotonic() + timeout_s
        for w in waiting:
            pipe = self.pipes[w]
            try:
                if not pipe.poll(max(0.0, deadline - time.monotonic())):
                    continue
                self._unsure.add(w)
                status, value = pipe.recv()
                self._unsure.discard(w)
            except (EOFError, OSError):
                continue
            if status == "ok":
                self._replies[w] = value
        return self.replies()

    def replies(self) -> list:
        """The last call's replies read so far, in worker order (None: not asked, not read, or failed)."""
        return [self._replies.get(w) for w in range(self.count)]

    def _reply(self, w: int, command: str):
        pipe = self.pipes[w]
        try:
            self._unsure.add(w)  # interrupted in recv(): the rest of the reply is still in the pipe
            status, value = pipe.recv()
            # Kept, and the worker no longer pending, before it leaves "unsure": an interrupt from here on
            # finds it answered (cut() would wait CUT_S for an answer already read).
            self._pending.remove(w)
            if status != "error":
                self._replies[w] = value
            self._unsure.discard(w)
            return status, value
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
                    proc.terminate()  # a cut (agent.py): whatever it still does ends
                    proc.join(JOIN_S)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for pipe in self.pipes:
            pipe.close()
        self.processes, self.pipes = [], []
