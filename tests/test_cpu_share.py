"""The CPU lock that keeps a timing test alone (tests/cpu_share.py): real processes, real flock(2).

Each holder runs in a process of its own and keeps the lock until the test
releases it; a holder that waits is seen waiting in /proc/locks (a blocked
request is listed with "->"), so nothing here depends on timing.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path

import pytest

from tests.conftest import BENCH_CPU_SHARE_DIR
from tests.cpu_share import CpuShare
from tests.scheduling import ALONE, read_alone, scope_of, write_alone

# spawn, not fork: a pytest worker has threads (Playwright's), and a forked child of a threaded process
# may inherit a lock held by another thread.
CONTEXT = multiprocessing.get_context("spawn")


def _hold(directory: str, exclusive: bool, inside, release) -> None:
    with CpuShare(directory).hold(exclusive):
        inside.set()
        release.wait(30)


class Holder:
    def __init__(self, directory: str, exclusive: bool):
        self.inside, self.release = CONTEXT.Event(), CONTEXT.Event()
        self.process = CONTEXT.Process(target=_hold, args=(directory, exclusive, self.inside, self.release))
        self.process.start()

    def waiting(self) -> bool:
        """Blocked in flock: /proc/locks lists its request with '->'."""
        return any("->" in line and f" {self.process.pid} " in line
                   for line in Path("/proc/locks").read_text().splitlines())

    def wait_until(self, condition, timeout_s: float = 20) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline and self.process.is_alive()
            time.sleep(0.01)

    def done(self) -> None:
        self.release.set()
        self.process.join(30)
        assert self.process.exitcode == 0


def test_shared_holders_overlap_and_an_exclusive_one_waits_for_all_of_them(tmp_path):
    run = str(tmp_path)
    first, second = Holder(run, False), Holder(run, False)
    first.wait_until(first.inside.is_set)
    second.wait_until(second.inside.is_set)  # two shared at once
    alone = Holder(run, True)
    alone.wait_until(alone.waiting)
    first.done()
    time.sleep(0.2)
    assert not alone.inside.is_set() and alone.waiting()  # one shared holder is still in
    second.done()
    alone.wait_until(alone.inside.is_set)
    alone.done()


def test_a_waiting_exclusive_holder_goes_before_a_later_shared_one(tmp_path):
    # Without the turnstile a stream of shared holders could keep a timing test waiting for ever.
    run = str(tmp_path)
    shared = Holder(run, False)
    shared.wait_until(shared.inside.is_set)
    alone = Holder(run, True)
    alone.wait_until(alone.waiting)
    later = Holder(run, False)
    later.wait_until(later.waiting)  # queued behind the exclusive request, though only shared holds
    shared.done()
    alone.wait_until(alone.inside.is_set)
    assert not later.inside.is_set()
    alone.done()
    later.wait_until(later.inside.is_set)
    later.done()


def test_a_shared_holder_can_ask_for_exclusive_inside_and_gets_shared_back(tmp_path):
    share = CpuShare(str(tmp_path))
    with share.hold(False):
        with share.hold(True):
            assert share._held == "exclusive"
        assert share._held == "shared"
    assert share._held is None


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
