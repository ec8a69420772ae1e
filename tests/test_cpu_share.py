"""The CPU lock that keeps a timing test alone (tests/cpu_share.py): real processes, real flock(2).

Each holder runs in a process of its own and keeps the lock until the test
releases it; a holder that waits is seen waiting in /proc/locks (a blocked
request is listed with "->"), so nothing here depends on timing.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import BENCH_CPU_SHARE_DIR, run_measuring_alone
from bench.browser.renderer_process import cpu_ticks
from tests import idle_group
from tests.cpu_share import CpuShare
from tests.scheduling import ALONE, read_alone, scope_of, write_alone

# spawn, not fork: a pytest worker has threads (Playwright's), and a forked child of a threaded process
# may inherit a lock held by another thread.
CONTEXT = multiprocessing.get_context("spawn")


def _hold(directory: str, modes: list[str], background: bool, held, step) -> None:
    """Acquire each mode in turn; report what came of it (and whether this process and a child it
    started before are in its idle cgroup); wait."""
    idle = idle_group.make(f"{Path(directory).name}-{os.getpid()}") if background else None
    share = CpuShare(directory, idle)
    child = subprocess.Popen(["sleep", "60"])  # a descendant started before: it must move with it
    try:
        for mode in modes:
            share.acquire(mode)
            held.put((share.held, *((idle.inside(), idle.inside(child.pid)) if idle else (False, False))))
            step.wait(30)
            step.clear()
            share.release()
    finally:
        child.kill()
        child.wait()
        share.close()


def _until(condition, timeout_s: float = 20, alive=lambda: True) -> None:
    """Until condition(), polled every 10 ms; fails after timeout_s, or at once when alive() turns false."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline and alive()
        time.sleep(0.01)


def timing_test_in(run: str) -> "Holder":
    """A holder of the machine, exclusive, once it is in."""
    alone = Holder(run, True)
    alone.wait_until(alone.inside)
    return alone


class Holder:
    def __init__(self, directory: str, exclusive: bool | str, background: bool = False, then: tuple = ()):
        mode = exclusive if isinstance(exclusive, str) else ("exclusive" if exclusive else "shared")
        self.held, self.step = CONTEXT.Queue(), CONTEXT.Event()
        self.process = CONTEXT.Process(target=_hold, args=(directory, [mode, *then], background, self.held,
                                                           self.step))
        self.process.start()
        self.report = None

    def inside(self) -> bool:
        if self.report is None and not self.held.empty():
            self.report = self.held.get()
        return self.report is not None

    def waiting(self) -> bool:
        """Blocked in flock: /proc/locks lists its request with '->'."""
        return any("->" in line and f" {self.process.pid} " in line
                   for line in Path("/proc/locks").read_text().splitlines())

    def wait_until(self, condition, timeout_s: float = 20) -> None:
        _until(condition, timeout_s, alive=self.process.is_alive)

    def next(self) -> None:
        """Let go of this hold and take the next one."""
        self.report = None
        self.step.set()

    def done(self) -> None:
        self.step.set()
        self.process.join(30)
        assert self.process.exitcode == 0


def test_shared_holders_overlap_and_an_exclusive_one_waits_for_all_of_them(tmp_path):
    run = str(tmp_path)
    first, second = Holder(run, False), Holder(run, False)
    first.wait_until(first.inside)
    second.wait_until(second.inside)  # two shared at once
    alone = Holder(run, True)
    alone.wait_until(alone.waiting)
    first.done()
    time.sleep(0.2)
    assert not alone.inside() and alone.waiting()  # one shared holder is still in
    second.done()
    alone.wait_until(alone.inside)
    alone.done()


def test_a_waiting_exclusive_holder_goes_before_a_later_shared_one(tmp_path):
    # Without the turnstile a stream of shared holders could keep a timing test waiting for ever.
    run = str(tmp_path)
    shared = Holder(run, False)
    shared.wait_until(shared.inside)
    alone = Holder(run, True)
    alone.wait_until(alone.waiting)
    later = Holder(run, False)
    later.wait_until(later.waiting)  # queued behind the exclusive request, though only shared holds
    shared.done()
    alone.wait_until(alone.inside)
    assert not later.inside()
    alone.done()
    later.wait_until(later.inside)
    later.done()


def test_a_shared_holder_can_ask_for_exclusive_inside_and_gets_shared_back(tmp_path):
    share = CpuShare(str(tmp_path))
    with share.hold(False):
        with share.hold(True):
            assert share.held == "exclusive"
        assert share.held == "shared"
    assert share.held is None


def test_a_hold_lent_to_a_shared_tests_setup_stays_exclusive_until_it_settles(tmp_path):
    # The timing test before a module whose fixtures measure alone lends its hold (tests/conftest.py _lends).
    run = str(tmp_path)
    share = CpuShare(run)
    share.acquire("exclusive")
    share.lend()
    with share.hold(True):  # the fixture's measurement: inside the lent hold, no hand-over
        assert share.held == "exclusive"
    other = Holder(run, False)  # another worker's shared test
    other.wait_until(other.waiting)
    assert share.held == "exclusive"  # still lent: a second fixture may measure next
    share.settle()
    other.wait_until(other.inside)
    assert share.held == "shared"
    share.settle()  # nothing lent: no change
    assert share.held == "shared"
    share.lend()  # a shared hold is not lent
    share.settle()
    assert share.held == "shared"
    other.done()
    share.release()


# A child that says on stderr when it has measured, then goes on until the test lets it end.
STEPPED_CHILD = """
import pathlib, sys, time
here = pathlib.Path(sys.argv[1])
def wait_for(name):
    while not (here / name).exists():
        time.sleep(0.01)
print("warming up", file=sys.stderr, flush=True)
wait_for("measure")
print(sys.argv[2], file=sys.stderr, flush=True)
(here / "printed").touch()
wait_for("end")
print("the report")
print("done", file=sys.stderr)
"""


def _measuring_alone_in_a_thread(share, tmp_path, line: str):
    """run_measuring_alone on STEPPED_CHILD in a thread (it blocks); the future of its result."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1)
    future = pool.submit(run_measuring_alone, share, "measured",
                         [sys.executable, "-c", STEPPED_CHILD, str(tmp_path), line], 60)
    pool.shutdown(wait=False)
    return future


@pytest.fixture
def child_ends(tmp_path):
    """However the test ends, the stepped child is let go (it waits for this file)."""
    yield
    (tmp_path / "end").touch()


@pytest.mark.parametrize("lent", [False, True], ids=["shared-test", "lent-hold"])
def test_a_measuring_child_holds_the_cpu_alone_until_its_line_then_shares_it(tmp_path, lent, child_ends):
    # tests/conftest.py run_bench_measuring_alone: the traced `bench ui` of test_evidence.py holds the
    # machine until its "recording the unmeasured trace passes" line, and shares it for the passes.
    run = str(tmp_path / "locks")
    os.mkdir(run)
    share = CpuShare(run)
    share.acquire("exclusive" if lent else "shared")
    if lent:
        share.lend()  # the timing test before lent its hold to this test's setup
    future = _measuring_alone_in_a_thread(share, tmp_path, "measured: the trace passes follow")
    _until(lambda: share.held == "exclusive")
    other = Holder(run, False)  # another worker's shared test
    other.wait_until(other.waiting)
    (tmp_path / "measure").touch()
    other.wait_until(other.inside)  # let in once the line came, while the child still runs
    assert not future.done() and share.held == "shared"
    (tmp_path / "end").touch()
    proc = future.result(timeout=30)
    assert proc.returncode == 0
    assert proc.stdout == "the report\n"
    assert proc.stderr == "warming up\nmeasured: the trace passes follow\ndone\n"
    assert share.held == "shared"  # as the test asked; a lent hold is over
    other.done()
    share.release()


def test_a_measuring_child_without_its_line_holds_the_cpu_alone_to_its_end(tmp_path, child_ends):
    run = str(tmp_path / "locks")
    os.mkdir(run)
    share = CpuShare(run)
    share.acquire("shared")
    future = _measuring_alone_in_a_thread(share, tmp_path, "some other line")
    _until(lambda: share.held == "exclusive")
    other = Holder(run, False)
    other.wait_until(other.waiting)
    (tmp_path / "measure").touch()
    _until((tmp_path / "printed").exists)
    time.sleep(0.3)  # time for the reader to see the line (a slow one could only hide a bug here, not fail)
    assert other.waiting() and share.held == "exclusive"
    (tmp_path / "end").touch()
    proc = future.result(timeout=30)
    assert proc.returncode == 0 and "some other line" in proc.stderr
    other.wait_until(other.inside)
    assert share.held == "shared"
    other.done()
    share.release()


BACKGROUND = pytest.mark.skipif(not idle_group.available(),
                                reason="no idle cgroup can be made here (no write access to the CPU controller)")


@BACKGROUND
def test_beside_a_timing_test_a_background_test_runs_in_the_idle_cgroup_and_comes_back_after(tmp_path):
    run, alone = str(tmp_path), timing_test_in(str(tmp_path))
    shared = Holder(run, "background", background=True, then=("background", "background"))
    shared.wait_until(shared.inside)  # not waiting for the timing test
    assert shared.report == ("background", True, True)  # the process and the child it had started
    shared.next()
    shared.wait_until(shared.inside)  # the next background test decides again: still held, still inside
    assert shared.report == ("background", True, True)
    alone.done()
    shared.next()
    shared.wait_until(shared.inside)
    assert shared.report == ("shared", False, False)  # the machine is free: back out, shared as any test
    shared.done()


@BACKGROUND
def test_an_unmarked_test_waits_for_the_timing_test_even_with_an_idle_cgroup(tmp_path):
    # Only tests marked `background` run beside a timing test: one that counts frames or bounds a time,
    # starved, would fail, and a Chromium in the idle cgroup still delays the timing test's threads.
    run, alone = str(tmp_path), timing_test_in(str(tmp_path))
    background = Holder(run, "background", background=True, then=("shared",))
    background.wait_until(background.inside)
    assert background.report == ("background", True, True)
    background.next()  # the worker's next test is not marked: out of the cgroup, and it waits
    background.wait_until(background.waiting)
    alone.done()
    background.wait_until(background.inside)
    assert background.report == ("shared", False, False)
    background.done()


@BACKGROUND
def test_a_quiet_test_waits_for_the_background_test_and_lets_none_start(tmp_path):
    run, alone = str(tmp_path), timing_test_in(str(tmp_path))
    background = Holder(run, "background", background=True)
    background.wait_until(background.inside)
    assert background.report[0] == "background"
    alone.done()
    quiet = Holder(run, "quiet")
    quiet.wait_until(quiet.waiting)  # the machine is free, but a test runs in the background
    background.done()
    quiet.wait_until(quiet.inside)
    later = Holder(run, "background", background=True)
    later.wait_until(later.waiting)  # neither shared nor in the background while the quiet test runs
    quiet.done()
    later.wait_until(later.inside)
    assert later.report == ("shared", False, False)
    later.done()


@BACKGROUND
@pytest.mark.timing  # it spins a normal process on a core for a second: not beside another test
def test_the_idle_cgroup_gets_only_the_cpu_a_normal_process_leaves():
    # Known answer: two busy loops on CPU 0, each in a session of its own (an
    # autogroup each, as Playwright's Chromium is), one of them in the idle
    # cgroup. cpu.idle weighs 3 against 1024: it gets about 0.3 % of the core.
    # (Why a cgroup and not SCHED_IDLE threads shows only beside a Chromium
    # load, not two loops: docs/suite-speed.md.)
    group = idle_group.make(f"known-answer-{os.getpid()}")
    spin = [sys.executable, "-c", "while True: pass"]
    pinned = dict(start_new_session=True, preexec_fn=lambda: os.sched_setaffinity(0, {0}))
    normal, idle = subprocess.Popen(spin, **pinned), subprocess.Popen(spin, **pinned)
    try:
        group.move_in(idle.pid)
        time.sleep(0.3)
        start = [cpu_ticks(p.pid) for p in (normal, idle)]
        time.sleep(1.0)
        used = [cpu_ticks(p.pid) - s for p, s in zip((normal, idle), start)]
    finally:
        for p in (normal, idle):
            p.kill()
            p.wait()
        group.remove()
    print(f"\nCPU 0 for one second: the normal loop {used[0]} ticks, the one in the idle cgroup {used[1]}")
    assert used[0] > 0 and used[1] <= 0.05 * used[0], used


@BACKGROUND
def test_idle_cgroups_left_by_killed_processes_are_removed_by_the_next_make():
    # A worker killed (SIGKILL) cannot remove its idle cgroup; the next one made removes it if it is
    # empty and the pid its name ends in is gone, and leaves every other one alone.
    gone = subprocess.Popen(["true"])
    gone.wait()
    inside = subprocess.Popen(["sleep", "60"])
    left = idle_group.make(f"left-behind-{gone.pid}")
    owned = idle_group.make(f"still-owned-{os.getpid()}")
    occupied = idle_group.make(f"occupied-{gone.pid}")
    occupied.move_in(inside.pid)
    sweeper = idle_group.make(f"sweeper-{os.getpid()}")
    try:
        assert not left.path.exists()
        assert owned.path.exists() and occupied.path.exists() and sweeper.path.exists()
    finally:
        inside.kill()
        inside.wait()
        for group in (left, owned, occupied, sweeper):
            group.remove()


def test_without_an_idle_cgroup_a_background_test_waits_as_before(tmp_path):
    run, alone = str(tmp_path), timing_test_in(str(tmp_path))
    shared = Holder(run, "background", background=False)
    shared.wait_until(shared.waiting)
    alone.done()
    shared.wait_until(shared.inside)
    assert shared.report == ("shared", False, False)
    shared.done()


def test_the_unit_alone_is_made_of_the_node_ids_the_workers_wrote(tmp_path):
    # tests/scheduling.py: what a worker wrote goes to one unit; everything else is scoped by module,
    # as --dist loadscope scopes it (a parametrized id holding "@" or "::" stays in its module).
    alone = ["tests/test_a.py::test_timed", "tests/test_b.py::test_measures[x@y]"]
    assert read_alone(str(tmp_path)) == set()  # nothing written (one process): every test by module
    write_alone(str(tmp_path), alone)
    read = read_alone(str(tmp_path))
    scopes = {nodeid: scope_of(nodeid, read) for nodeid in
              [*alone, "tests/test_a.py::test_counts", "tests/test_b.py::test_parses[a::b@c]"]}
    assert scopes == {alone[0]: ALONE, alone[1]: ALONE, "tests/test_a.py::test_counts": "tests/test_a.py",
                      "tests/test_b.py::test_parses[a::b@c]": "tests/test_b.py"}


def test_this_runs_unit_alone_holds_every_timing_test(request):
    # Under xdist (make test) the workers wrote this run's unit: every timing test of the session is in it.
    directory = getattr(request.config, "workerinput", {}).get(BENCH_CPU_SHARE_DIR)
    if directory is None:
        pytest.skip("runs under pytest-xdist (make test): one process writes no unit")
    written = set(json.loads((Path(directory) / "alone.json").read_text()))
    timed = {item.nodeid for item in request.session.items if item.get_closest_marker("timing")}
    assert timed and timed <= written
