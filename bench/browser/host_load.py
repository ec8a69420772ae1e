"""How busy the rest of the machine was while a page was measured: other processes' share of the CPUs.

A run measured while something else keeps the cores busy (another CI job, a
build, a second test worker) is slower for reasons that are not the page's,
and one run a side cannot see that from its own samples. So every
repetition reads, at its start and end:

- /proc/stat's first line: the time all CPUs spent busy (user + nice +
  system + irq + softirq + steal; idle and iowait are not busy), in clock
  ticks;
- the CPU time of bench's own process tree: this process (with the children
  it has waited for) and every live descendant (the browser and all its
  processes, the bundled server, Playwright's driver), utime + stime (+
  cutime + cstime) from /proc/<pid>/stat.

    other_cpu_pct = 100 * (d(busy) - d(own)) / (d(wall) * ticks per s * CPUs)

100 % means every core busy with work that is not bench's. Linux only; a
browser that runs elsewhere (--connect, --cdp-endpoint) is not bench's
child, so there the figure would count the browser itself as "other", and
it is not taken.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..linux_proc import process_tree

BUSY_FIELDS = (0, 1, 2, 5, 6, 7)  # user nice system [idle iowait] irq softirq steal


@dataclass(frozen=True)
class CpuSnapshot:
    wall_s: float
    busy_ticks: int
    own_ticks: int


def available() -> bool:
    return sys.platform.startswith("linux") and Path("/proc/stat").exists()


def busy_ticks() -> int:
    """Clock ticks all CPUs have spent busy since boot (/proc/stat's first line, BUSY_FIELDS)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    return sum(int(fields[i]) for i in BUSY_FIELDS if i < len(fields))


def _own_ticks() -> int:
    """CPU ticks of this process and its live descendants, from one pass over /proc/*/stat."""
    # utime stime cutime cstime (stat fields 14-17)
    return sum(sum(int(v) for v in fields[11:15]) for fields in process_tree().values())


def snapshot() -> CpuSnapshot | None:
    if not available():
        return None
    try:
        return CpuSnapshot(time.monotonic(), busy_ticks(), _own_ticks())
    except (OSError, ValueError, IndexError):
        return None


def other_cpu_pct(start: CpuSnapshot, end: CpuSnapshot, cpus: int | None = None,
                  ticks_per_s: int | None = None) -> float | None:
    """Other processes' share of all CPUs between two snapshots, in percent (see the module doc)."""
    cpus = cpus or os.cpu_count() or 1
    ticks_per_s = ticks_per_s or os.sysconf("SC_CLK_TCK")
    capacity = (end.wall_s - start.wall_s) * ticks_per_s * cpus
    if capacity <= 0:
        return None
    other = (end.busy_ticks - start.busy_ticks) - (end.own_ticks - start.own_ticks)
    return max(0.0, min(100.0, 100 * other / capacity))
