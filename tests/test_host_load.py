"""Other processes' share of the CPUs during a run (bench.browser.host_load), and the note compare makes of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from bench.browser import host_load
from bench.browser.host_load import CpuSnapshot
from bench.gate.compare import machine_load_note


def test_other_cpu_is_the_busy_time_that_is_not_ours_over_all_cpus():
    start, end = CpuSnapshot(10.0, 1000, 300), CpuSnapshot(12.0, 1250, 350)  # 2 s, 250 ticks busy, 50 ours
    assert host_load.other_cpu_pct(start, end, cpus=2, ticks_per_s=100) == pytest.approx(50.0)
    assert host_load.other_cpu_pct(start, start, cpus=2, ticks_per_s=100) is None  # no time passed
    quiet = CpuSnapshot(13.0, 1260, 370)  # ours grew more than the total (tick rounding): 0, not negative
    assert host_load.other_cpu_pct(end, quiet, cpus=2, ticks_per_s=100) == 0.0


def results(*other_pct):
    return {"metrics": {"host.other_cpu_pct": {"samples": list(other_pct)}}}


def test_compare_notes_a_much_busier_or_quieter_machine_and_nothing_else():
    assert "busier" in machine_load_note(results(1.0, 2.0), results(40.0, 45.0))
    assert "quieter" in machine_load_note(results(50.0), results(3.0))
    assert machine_load_note(results(1.0), results(15.0)) is None  # within the gap
    assert machine_load_note(results(1.0), {"metrics": {}}) is None  # an older results file


@pytest.mark.quiet  # the other worker's tests, even at SCHED_IDLE, would be "other processes" too
@pytest.mark.skipif(not host_load.available(), reason="reads /proc (Linux)")
def test_one_busy_process_outside_our_tree_is_its_share_of_the_cpus():
    # The shell starts the busy loop in the background and exits: the loop is
    # then nobody's child of ours, as another CI job's process would be.
    spin = subprocess.run(["sh", "-c", f"{sys.executable} -c 'while True: pass' >/dev/null 2>&1 & echo $!"],
                          capture_output=True, text=True, check=True)
    pid = int(spin.stdout)
    try:
        time.sleep(0.2)
        start = host_load.snapshot()
        time.sleep(1.0)
        end = host_load.snapshot()
    finally:
        os.kill(pid, signal.SIGKILL)
    other = host_load.other_cpu_pct(start, end)
    share = 100 / os.cpu_count()
    print(f"\none busy process on {os.cpu_count()} CPUs: other {other:.1f} % (its share {share:.0f} %)")
    assert 0.6 * share <= other <= 1.3 * share
