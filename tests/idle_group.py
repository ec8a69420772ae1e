"""A pytest worker's processes in an idle CPU cgroup while a timing test runs in another worker, and back.

A cgroup whose `cpu.idle` is 1 (Linux 5.15+) is scheduled as SCHED_IDLE
(sched(7)) against its siblings: its processes run only on a core that no
other process wants, and one that wakes on its core preempts them at once.
So the other worker's tests can use the core a timing test leaves idle (a
timing test keeps about one core of two busy: 90 CPU-seconds in 98 s,
measured) without taking CPU from the test that measures.

Why a cgroup and not the SCHED_IDLE policy on each thread: Chromium starts
in a session of its own (Playwright launches it detached), and Linux's
autogroups then schedule that session as a group against the others at
equal weight, whatever its threads' policy. Tried: the other worker's
Chromium at SCHED_IDLE still raised a timing test's renderer's run-queue
wait from 3 % to 21 %. A process in a cgroup of its own is not autogrouped,
and what it starts stays in the cgroup, new sessions too.

Making the cgroup needs write access to the CPU controller's hierarchy
(root, or a delegated cgroup): cgroup v1's `cpu` hierarchy, or v2 where this
process sits in the root cgroup and the CPU controller is enabled for its
children. Where neither holds `make` gives None, and the suite waits for
timing tests instead, as it did before. The worker removes its cgroup when
it ends; one that was killed cannot, so `make` first removes every empty
`bench-pytest-*` cgroup whose name ends in the pid of a process that is
gone (a cgroup with a process in it cannot be removed).
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.linux_proc import process_tree

PREFIX = "bench-pytest-"


def available() -> bool:
    """Whether an idle cgroup can be made here (the CPU controller's hierarchy, writable)."""
    return _own_cpu_cgroup() is not None


def make(name: str) -> "IdleGroup | None":
    """A new idle cgroup beside this process's own, or None where none can be made here. End `name` with
    the pid of the process that will remove it, so a later run can tell it was left behind (_sweep)."""
    parent = _own_cpu_cgroup()
    if parent is None:
        return None
    _sweep(parent)
    path = parent / (PREFIX + name)
    try:
        path.mkdir()
    except OSError:
        return None
    try:
        (path / "cpu.idle").write_text("1")
    except OSError:
        path.rmdir()
        return None
    return IdleGroup(path)


class IdleGroup:
    def __init__(self, path: Path):
        self.path = path

    def enter(self) -> None:
        """This process and every live descendant into the group; what they start later is born in it.

        Two passes: a process started by one not yet moved in the first pass
        was born outside, and the second pass finds it.
        """
        for _ in range(2):
            for pid in process_tree():
                self.move_in(pid)

    def move_in(self, pid: int) -> None:
        """One process (all its threads) into the group; what it starts later is born in it."""
        _move(pid, self.path)

    def leave(self) -> None:
        """Every process in the group back to the parent cgroup, orphans included (a member that
        forks meanwhile is found by the next pass)."""
        for _ in range(5):
            members = self.members()
            if not members:
                return
            for pid in members:
                _move(pid, self.path.parent)

    def inside(self, pid: int | None = None) -> bool:
        return (pid or os.getpid()) in self.members()

    def members(self) -> list[int]:
        try:
            return [int(line) for line in (self.path / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def remove(self) -> None:
        self.leave()
        try:
            self.path.rmdir()
        except OSError:
            pass


def _sweep(parent: Path) -> None:
    """The idle cgroups left by processes that are gone (a worker killed before it removed its own)."""
    for path in parent.glob(PREFIX + "*"):
        owner = path.name.rsplit("-", 1)[-1]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            try:
                path.rmdir()
            except OSError:
                pass  # a process is still in it (EBUSY): not left behind after all


def _move(pid: int, group: Path) -> None:
    try:
        (group / "cgroup.procs").write_text(str(pid))
    except OSError:
        pass  # exited meanwhile


def _own_cpu_cgroup() -> Path | None:
    """The directory of this process's cgroup in the hierarchy that holds the CPU controller, if it has
    `cpu.idle` and this process may write there."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        number, controllers, path = line.split(":", 2)
        if number != "0" and "cpu" in controllers.split(","):  # v1
            for mount in (Path("/sys/fs/cgroup") / controllers, Path("/sys/fs/cgroup/cpu")):
                candidate = mount / path.lstrip("/")
                if (candidate / "cpu.idle").exists() and os.access(candidate, os.W_OK):
                    return candidate
            return None
    for line in lines:
        number, _, path = line.split(":", 2)
        root = Path("/sys/fs/cgroup")
        if number == "0" and path == "/" and "cpu" in _read(root / "cgroup.controllers").split():
            # v2, this process in the root cgroup (a child of a non-root cgroup that holds processes
            # could not get the CPU controller: no internal processes), the controller already handed
            # down to the root's children (enabling it would change the whole machine)
            if "cpu" in _read(root / "cgroup.subtree_control").split() and os.access(root, os.W_OK):
                return root
            return None
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
