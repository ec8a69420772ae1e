"""`python -m bench ARGS` with the tool's memory and CPU written to $BENCH_PEAKS at exit (for growth.py).

    BENCH_PEAKS=out.json python benchmarks/bench_with_peaks.py ui --scenario burst ...

The peak that grows with the messages is the one above the level the tool
had when it started on them, not the process's lifetime peak: imports and
startup leave a transient peak that a small run never exceeds, so lifetime
peaks stay flat for small runs and then rise, which a fit reads as faster
than linear growth. So when the burst scenario starts (the browser is up and
the page open), the resident set of this process and of the Playwright
driver (node, its child) is noted and their peaks reset (Linux: writing 5 to
/proc/PID/clear_refs sets VmHWM to the current RSS). At exit this process
writes its own VmHWM (peak since then, results writing included) and
getrusage figures; the driver's VmHWM is read by the caller while it runs,
since it exits first.
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import runpy
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def status_kib(pid: int | str, field: str) -> int | None:
    """A kB field (VmRSS, VmHWM) of /proc/<pid>/status, or None when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    """Direct children of pid (every thread's /proc/<pid>/task/<tid>/children)."""
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


def driver_of(pid: int) -> int | None:
    """The Playwright driver (node ... run-driver) among pid's children."""
    for child in children(pid):
        try:
            if b"run-driver" in Path(f"/proc/{child}/cmdline").read_bytes():
                return child
        except OSError:
            continue
    return None


def reset_peak(pid: int | str) -> int | None:
    """The process's RSS now (KiB), after resetting its VmHWM to it."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return status_kib(pid, "VmRSS")


def main() -> None:
    sys.path.insert(0, str(REPO))
    from bench.targets import inject

    marks: dict = {}
    original_send = inject.InterceptInjector.send

    def send(self, messages):
        if not marks:
            marks["python_start_kib"] = reset_peak("self")
            driver = driver_of(os.getpid())
            if driver is not None:
                marks.update(driver_pid=driver, driver_start_kib=reset_peak(driver))
        return original_send(self, messages)

    inject.InterceptInjector.send = send

    def report() -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        figures = {"lifetime_peak_kib": usage.ru_maxrss, "cpu_s": usage.ru_utime + usage.ru_stime,
                   "python_peak_kib": status_kib("self", "VmHWM"), **marks}
        Path(os.environ["BENCH_PEAKS"]).write_text(json.dumps(figures))

    atexit.register(report)
    sys.argv[0] = "bench"
    runpy.run_module("bench", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
