"""A pytest worker's processes at SCHED_IDLE while a timing test runs in another worker, and back.

SCHED_IDLE (sched(7)) is the kernel's policy for work that must not disturb
anything else: a thread under it runs only on a core no normal thread wants,
and a normal thread that wakes on its core preempts it at once. So the other
worker's tests can use the core a timing test leaves idle (a timing test
keeps about one of two cores busy, measured: 90 CPU-seconds in 98 s)
without taking a moment of CPU from the test that measures.

The policy is set per thread, on every thread of this worker and its live
descendants (its Chromium, its servers, the `python -m bench` runs of its
tests); threads and processes started afterwards inherit it. Going back to
SCHED_OTHER needs the right to lower a nice value (root, CAP_SYS_NICE, or an
RLIMIT_NICE that allows nice 0): `can_go_back()` tries it once on a thread
of its own, and without it the suite waits for timing tests as before.
"""

from __future__ import annotations

import os
import threading

from bench.linux_proc import process_tree

_PARAM = os.sched_param(0) if hasattr(os, "sched_param") else None


def can_go_back() -> bool:
    """Whether this process may put a thread at SCHED_IDLE and bring it back (Linux, and the right)."""
    if not hasattr(os, "SCHED_IDLE"):
        return False
    answer: list[bool] = []

    def probe() -> None:
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, _PARAM)  # 0: this thread only
            os.sched_setscheduler(0, os.SCHED_OTHER, _PARAM)
            answer.append(True)
        except OSError:
            answer.append(False)

    thread = threading.Thread(target=probe, name="bench-sched-probe")
    thread.start()
    thread.join()
    return answer == [True]


def set_tree(policy: int) -> int:
    """Every thread of this process and its live descendants under `policy`; returns how many threads.

    Two passes: a thread that a not-yet-changed thread started during the
    first pass inherited the old policy, and the second pass finds it.
    """
    changed = 0
    for _ in range(2):
        changed = 0
        for pid in process_tree():
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue  # exited
            for tid in tasks:
                try:
                    if os.sched_getscheduler(int(tid)) != policy:
                        os.sched_setscheduler(int(tid), policy, _PARAM)
                    changed += 1
                except OSError:
                    continue  # exited meanwhile
    return changed


def idle() -> bool:
    """Whether this thread runs at SCHED_IDLE."""
    return hasattr(os, "SCHED_IDLE") and os.sched_getscheduler(0) == os.SCHED_IDLE
