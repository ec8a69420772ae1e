"""Who may use the CPU while a test measures time: a readers-writer lock across pytest-xdist workers.

`make test` runs the suite in three pytest-xdist workers on a 2-core machine.
Most tests can share the machine: they count, parse, compare, or check
exit codes. A test that measures time (a paint latency, a frame rate, a
main-thread share, a server's latency) cannot share it on equal terms: a
second Chromium in another worker would take CPU from it and change what
it measures. Such a test is marked `@pytest.mark.timing`; while it runs
(setup, call and teardown, so module and session fixtures that measure are
covered too) it holds the lock exclusively. A worker keeps the lock from one
timing test to the next when they follow each other, and lends it to the
setup of a shared test whose fixtures measure first (the first test of a
module in MEASURING_ALONE_MODULES): the lock turns shared when that
measurement says it is over (`settle`, from `run_bench_measuring_alone`) or
at the test's call, so the measurement does not wait for the tests the
other workers would start in between. Every other test holds
it shared, so unmarked tests run as many at a time as there are workers.

A test marked `@pytest.mark.background` asserts nothing that less CPU could
change and starts no browser (statistics on seeded samples, parsers,
reports; Python servers and clients that assert counts with no clock in
them: starved for seconds, it must still pass). While a timing
test holds the machine, such a test does not wait: it runs "in the
background": the worker and its descendants move
into an idle CPU cgroup (tests/idle_group.py), scheduled as SCHED_IDLE
against the timing test, so it gets only the CPU the timing test leaves idle,
about one core of two. At its next test that finds the machine free, or that
is not marked, the worker's processes move back. Where no such cgroup can be
made (no write access to the CPU controller), or with
BENCH_SUITE_BACKGROUND=0, it waits like any other test. An unmarked test
always waits: one that counts frames or bounds a time, starved, fails, and a
Chromium in the idle cgroup still delays a timing test's threads (measured:
docs/suite-speed.md).

`@pytest.mark.quiet` is a timing test that reads the whole machine's CPU
(bench.browser.host_load): a background test would be "other processes" to
it, so it also waits for the background test in progress and lets none
start.

The locks are flock(2) files in a directory the xdist controller makes for
the run and removes after it (tests/conftest.py hands it to the workers), so
two suites on one machine do not wait for each other. Turnstile files give
writers priority: a reader passes through one on the way in, and a waiting
writer holds it, so a stream of short shared tests in the other workers cannot
starve a timing test (Linux flock has no writer preference of its own). The
kernel drops a crashed worker's locks with its file descriptors.

Without xdist there is one process and nothing to share: no lock is taken.

BENCH_CPU_SHARE_LOG=PATH appends one JSON line per test (worker, node id,
mode, monotonic start and end, the machine's and the worker tree's CPU seconds meanwhile) so a
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
from tests.idle_group import IdleGroup


class _ReadersWriter:
    """A readers-writer lock on two flock(2) files: `lock`, and a `turnstile` that gives writers priority.

    A reader passes through the turnstile on the way in, and a waiting writer
    holds it, so a stream of readers cannot starve a writer (Linux flock has
    no writer preference of its own).
    """

    def __init__(self, directory: str, name: str):
        flags = os.O_RDWR | os.O_CREAT
        self._turnstile = os.open(Path(directory) / f"{name}turnstile", flags, 0o600)
        self._lock = os.open(Path(directory) / f"{name}lock", flags, 0o600)

    def read(self, wait: bool = True) -> bool:
        """Hold it shared; with wait=False, only if no writer holds it or waits for it (else False)."""
        try:
            fcntl.flock(self._turnstile, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        fcntl.flock(self._lock, fcntl.LOCK_SH)  # no writer is in: it would hold the turnstile
        fcntl.flock(self._turnstile, fcntl.LOCK_UN)
        return True

    def write(self) -> None:
        fcntl.flock(self._turnstile, fcntl.LOCK_EX)
        fcntl.flock(self._lock, fcntl.LOCK_EX)  # waits for the readers inside to leave
        # the turnstile stays held: no new reader comes in meanwhile

    def unlock(self, writer: bool) -> None:
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        if writer:
            fcntl.flock(self._turnstile, fcntl.LOCK_UN)


class CpuShare:
    """This worker's side of the machine: shared, exclusive (a timing test), quiet, or in the background.

    - shared: a test that may run beside another (the machine lock, read);
      one that may run in the background asks for "background", and gets
      "shared" when the machine is free;
    - exclusive: a timing test (the machine lock, written);
    - quiet: a timing test that reads the whole machine's CPU (exclusive, and
      the background lock written: no test runs beside it at all);
    - background: a test marked so that finds a timing test holding the machine
      runs anyway, with this worker's processes in its idle cgroup
      (tests/idle_group.py), holding the background lock read. Only where
      the worker has one (`idle`); else it waits.
    """

    def __init__(self, directory: str, idle: IdleGroup | None = None):
        self._machine = _ReadersWriter(directory, "")
        self._background = _ReadersWriter(directory, "background-")
        self._idle = idle
        self._held: str | None = None
        self._lent = False

    @property
    def held(self) -> str | None:
        return self._held

    @contextmanager
    def hold(self, exclusive: bool):
        """The lock for the duration of the block: exclusive (alone on the machine) or shared."""
        previous = self._held
        wanted = "exclusive" if exclusive else "shared"
        if previous in ("exclusive", "quiet") or previous == wanted:
            yield  # already held as strongly as asked (a fixture inside a marked test)
            return
        self.acquire(wanted)  # from shared: let go, then queue as a writer (flock cannot upgrade atomically)
        try:
            yield
        finally:
            self.release()
            if previous in ("shared", "background"):
                self.acquire("shared")

    def lend(self) -> None:
        """Keep an exclusive hold into the next (shared) test's setup, until `settle`."""
        self._lent = self._held == "exclusive"

    def settle(self) -> None:
        """A lent hold becomes the shared hold its test asked for (no-op when nothing is lent)."""
        if self._lent:
            self._lent = False
            self.acquire("shared")

    def acquire(self, mode: str) -> None:
        """Hold the lock in this mode ("shared", "background", "exclusive" or "quiet"). A "background"
        request comes out "background" when a timing test holds the machine (with an idle cgroup), else
        "shared". A no-op when it is held so already (a run of timing tests); a background hold is let go
        and decided again at each test (a quiet test may be waiting)."""
        if self._held == mode and mode != "background":
            return
        self.release()
        if mode in ("shared", "background"):
            background = mode == "background" and self._idle is not None
            if not self._machine.read(wait=not background):
                self._background.read()  # waits only while a quiet test runs
                if not self._machine.read(wait=False):  # (the machine may be free after one)
                    if not self._idle.inside():  # (still inside from the last test: all it starts is born there)
                        self._idle.enter()
                    self._held = "background"
                    return
                self._background.unlock(writer=False)
            mode = "shared"
        else:
            self._machine.write()
            if mode == "quiet":
                self._background.write()  # waits for the other workers' background tests to end
        if self._idle is not None and self._idle.inside():
            self._idle.leave()
        self._held = mode

    def close(self) -> None:
        """At the worker's end: its processes out of the idle cgroup, and the cgroup gone."""
        if self._idle is not None:
            self._idle.remove()

    def release(self) -> None:
        held, self._held, self._lent = self._held, None, False
        if held in ("exclusive", "quiet"):
            self._machine.unlock(writer=True)
            if held == "quiet":  # after the machine: a test let in here finds the machine free
                self._background.unlock(writer=True)
        elif held == "shared":
            self._machine.unlock(writer=False)
        elif held == "background":
            self._background.unlock(writer=False)  # the processes stay in the idle cgroup until the next test decides


class NoShare:
    """One process, nobody to share with."""

    @contextmanager
    def hold(self, exclusive: bool):
        yield

    held = None

    def acquire(self, mode: str) -> None:
        pass

    def lend(self) -> None:
        pass

    def settle(self) -> None:
        pass

    def release(self) -> None:
        pass

    def close(self) -> None:
        pass


@contextmanager
def logged(nodeid: str, worker: str, mode: str):
    """The block's span as a JSON line in $BENCH_CPU_SHARE_LOG, if set (after the lock is held), with the whole
    machine's busy CPU seconds (host_load.snapshot) meanwhile: over a test run alone (one process, no -n),
    what that test costs, Chromium and all. (No longer the worker's own process tree's: it missed processes
    killed rather than reaped, read negative for some tests, and nothing read it.)"""
    path = os.environ.get("BENCH_CPU_SHARE_LOG")
    start = time.monotonic()
    before = host_load.snapshot() if path else None
    try:
        yield
    finally:
        if path:
            after, tick = host_load.snapshot(), os.sysconf("SC_CLK_TCK")
            # busy_s: the machine's busy CPU seconds since boot at the span's start and end, so that a reader
            # (scripts/suite_timeline.py) has how busy the machine was over any stretch of the run.
            cpu = {"machine_cpu_s": round((after.busy_ticks - before.busy_ticks) / tick, 2),
                   "busy_s": [round(before.busy_ticks / tick, 2), round(after.busy_ticks / tick, 2)]
                   } if before and after else {}
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps({"worker": worker, "test": nodeid, "mode": mode,
                                    "start": start, "end": time.monotonic(), **cpu}) + "\n")
