"""Who may use the CPU while a test measures time: a readers-writer lock across pytest-xdist workers.

`make test` runs the suite in two pytest-xdist workers on a 2-core machine.
Most tests can share the machine: they count, parse, compare, or check
exit codes. A test that measures time (a paint latency, a frame rate, a
main-thread share, a server's latency) cannot: a second Chromium in the
other worker takes a core from it and changes what it measures. Such a test
is marked `@pytest.mark.timing`; while it runs (setup, call and teardown,
so module and session fixtures that measure are covered too) it holds the
lock exclusively and the other worker waits. A worker keeps the lock from
one timing test to the next when they follow each other, so a module of
timing tests waits once for the other worker's test, not once per test. Every other test holds it
shared, so unmarked tests run two at a time.

The lock is two flock(2) files in a directory the xdist controller makes
for the run and removes after it (tests/conftest.py hands it to the workers),
so two suites on one machine do not wait for each other. A turnstile file gives writers priority: a reader passes
through it on the way in, and a waiting writer holds it, so a stream of
short shared tests in the other worker cannot starve a timing test (Linux
flock has no writer preference of its own). The kernel drops a crashed
worker's locks with its file descriptors.

Without xdist there is one process and nothing to share: no lock is taken.

BENCH_CPU_SHARE_LOG=PATH appends one JSON line per test (worker, node id,
mode, monotonic start and end, the machine's busy CPU seconds meanwhile) so a
run can show what overlapped, and a run in one process what each test costs.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

from bench.browser import host_load


class CpuShare:
    def __init__(self, directory: str):
        flags = os.O_RDWR | os.O_CREAT
        self._turnstile = os.open(Path(directory) / "turnstile", flags, 0o600)
        self._lock = os.open(Path(directory) / "lock", flags, 0o600)
        self._held: str | None = None

    @contextmanager
    def hold(self, exclusive: bool):
        """The lock for the duration of the block: exclusive (alone on the machine) or shared."""
        previous = self._held
        wanted = "exclusive" if exclusive else "shared"
        if previous == "exclusive" or previous == wanted:
            yield  # already held as strongly as asked (a fixture inside a marked test)
            return
        self.acquire(exclusive)  # from shared: let go, then queue as a writer (flock cannot upgrade atomically)
        try:
            yield
        finally:
            self.release()
            if previous == "shared":
                self.acquire(False)

    def acquire(self, exclusive: bool) -> None:
        """Hold the lock in this mode; a no-op when it is held so already (a run of timing tests)."""
        wanted = "exclusive" if exclusive else "shared"
        if self._held == wanted:
            return
        if self._held:
            self.release()
        self._acquire(exclusive)

    def release(self) -> None:
        if self._held:
            self._release()

    def _acquire(self, exclusive: bool) -> None:
        fcntl.flock(self._turnstile, fcntl.LOCK_EX)
        if exclusive:
            fcntl.flock(self._lock, fcntl.LOCK_EX)  # waits for the other worker's shared test to end
            self._held = "exclusive"  # the turnstile stays held: no new shared test starts meanwhile
        else:
            fcntl.flock(self._lock, fcntl.LOCK_SH)
            fcntl.flock(self._turnstile, fcntl.LOCK_UN)
            self._held = "shared"

    def _release(self) -> None:
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        if self._held == "exclusive":
            fcntl.flock(self._turnstile, fcntl.LOCK_UN)
        self._held = None


class NoShare:
    """One process, nobody to share with."""

    @contextmanager
    def hold(self, exclusive: bool):
        yield

    def acquire(self, exclusive: bool) -> None:
        pass

    def release(self) -> None:
        pass


@contextmanager
def logged(nodeid: str, worker: str, exclusive: bool):
    """The block's span as a JSON line in $BENCH_CPU_SHARE_LOG, if set (after the lock is held)."""
    path = os.environ.get("BENCH_CPU_SHARE_LOG")
    start = time.monotonic()
    cpu = _machine_cpu_s() if path else 0.0
    try:
        yield
    finally:
        if path:
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps({"worker": worker, "test": nodeid, "exclusive": exclusive,
                                    "start": start, "end": time.monotonic(),
                                    "machine_cpu_s": round(_machine_cpu_s() - cpu, 2)}) + "\n")


def _machine_cpu_s() -> float:
    """CPU seconds the whole machine has been busy (bench.browser.host_load): the difference over a test
    run alone (one process, no -n) is what that test costs, Chromium and all."""
    return host_load.busy_ticks() / os.sysconf("SC_CLK_TCK") if host_load.available() else 0.0
