"""What Linux /proc says: a server process's resident memory, and how busy the CPUs are.

Elsewhere these are "not available" with the reason, never a guess.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..linux_proc import schedstat_ns


class NotAvailable(Exception):
    """The reason, as one line for the report."""


def rss_bytes(pid: int | None) -> int:
    """VmRSS of pid from /proc/PID/status (Linux). Raises NotAvailable with the reason."""
    if pid is None:
        raise NotAvailable("the server's process is not known (give --server-pid)")
    if not sys.platform.startswith("linux"):
        raise NotAvailable(f"reading a process's memory needs /proc (Linux); this is {sys.platform}")
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        raise NotAvailable(f"server process {pid} is gone") from None
    except OSError as exc:
        raise NotAvailable(f"cannot read /proc/{pid}/status: {exc.strerror or exc}") from None
    for line in status.splitlines():
        if line.startswith("State:") and "Z" in line.split()[1]:
            raise NotAvailable(f"server process {pid} has exited")
        if line.startswith("VmRSS:"):
            value, unit = line.split()[1:3]
            assert unit == "kB", line  # the kernel always reports kB here
            return int(value) * 1024
    raise NotAvailable(f"/proc/{pid}/status has no VmRSS (a kernel thread?)")


def cpu_pressure_pct() -> float | None:
    """Share of the last 10 s in which some runnable task waited for a CPU (Linux PSI), or None.

    A load generator and a server on a busy machine both wait: a high value
    says the latencies include that wait, whoever's processes caused it.
    """
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]  # "some avg10=.. avg60=.."
    except (OSError, IndexError):
        return None
    fields = dict(part.split("=") for part in line.split()[1:])
    return float(fields["avg10"])


def sched_seconds() -> tuple[float, float] | None:
    """(on a CPU, runnable but waiting for one) in seconds, for this process's main thread.

    /proc/self/schedstat (Linux): the time the scheduler ran us, and the time
    we were ready to run but another task had the CPU. Waiting time is what
    tells a starved process from an idle one; None where it cannot be read.
    """
    ns = schedstat_ns("thread-self")
    return None if ns is None else (ns[0] / 1e9, ns[1] / 1e9)
