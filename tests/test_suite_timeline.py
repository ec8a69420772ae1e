"""scripts/suite_timeline.py on logs whose answer is known: the overlaps the CPU lock forbids, the
timing phase and the workers' idle gaps."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from scripts import suite_timeline
from tests.conftest import REPO
from tests.cpu_share import logged

pytestmark = pytest.mark.background


def row(worker: str, mode: str, start: float, end: float, cpu: float = 0.0, test: str = "") -> dict:
    return {"worker": worker, "test": test or f"t_{worker}_{start:g}", "mode": mode, "start": start, "end": end,
            "machine_cpu_s": cpu}


def test_beside_a_timing_test_only_background_tests_may_run_and_beside_a_quiet_one_none():
    rows = [row("gw0", "exclusive", 10, 20), row("gw1", "background", 12, 15), row("gw2", "shared", 19, 25),
            row("gw0", "quiet", 30, 40), row("gw1", "background", 39, 41), row("gw2", "shared", 40, 45),
            row("gw0", "exclusive", 50, 60), row("gw0", "shared", 60, 70)]  # the same worker: no overlap
    found = [(a["start"], b["start"]) for a, b in suite_timeline.forbidden_overlaps(rows)]
    # the shared test 19-25 beside the timing test 10-20, the background one 39-41 beside the quiet 30-40;
    # 40-45 only touches the quiet test's end.
    assert found == [(10, 19), (30, 39)]


def test_the_timing_phase_its_busy_cores_and_each_workers_gaps():
    rows = [row("gw0", "quiet", 100, 110, cpu=10), row("gw0", "exclusive", 110, 140, cpu=45),
            row("gw1", "background", 101, 120), row("gw1", "shared", 140, 160),
            row("gw0", "shared", 140, 150)]
    s = suite_timeline.summary(rows)
    assert s["busy_cores"] == {"timing phase": None, "after it": None}  # rows without busy_s: not read
    assert s["wall_s"] == 60 and s["tests"] == 5
    assert s["timing_tests"] == 2 and s["timing_s"] == 40 and s["timing_phase_end_s"] == 40
    assert s["background_tests"] == 1
    assert s["workers"]["gw0"] == {"busy_s": 50, "end_s": 50, "gaps": []}
    assert s["workers"]["gw1"]["gaps"] == [(20, 20)]  # idle from 120 to 140 while the timing test ran
    assert s["workers"]["gw1"]["end_s"] == 60


def test_busy_cores_from_the_machines_busy_seconds_read_at_each_tests_start_and_end():
    rows = [dict(row("gw0", "exclusive", 0, 10), busy_s=[1000, 1011]),   # 1.1 cores from 0 to 10
            dict(row("gw1", "shared", 10, 20), busy_s=[1011, 1030]),     # 1.9 from 10 to 20
            dict(row("gw2", "shared", 12, 18), busy_s=[1014.8, 1026.2])]
    assert suite_timeline.busy_cores(rows, 0, 10) == pytest.approx(1.1)
    assert suite_timeline.busy_cores(rows, 10, 20) == pytest.approx(1.9)
    assert suite_timeline.busy_cores(rows, 0, 20) == pytest.approx(1.5)
    assert suite_timeline.busy_cores(rows, 12, 18) == pytest.approx(11.4 / 6)  # the readings inside the stretch
    assert suite_timeline.busy_cores(rows, 1, 9) is None  # no reading inside
    s = suite_timeline.summary(rows)
    assert s["busy_cores"] == {"timing phase": pytest.approx(1.1), "after it": pytest.approx(1.9)}


def test_the_cpu_after_the_timing_phase_is_split_among_the_tests_running_by_module():
    # 0-10 a timing test alone (10 CPU-s); 10-20 two shared tests of different modules beside each other (16
    # CPU-s: 8 each); 20-30 one of them alone (6 CPU-s). Readings at every start and end, as the log has them.
    rows = [dict(row("gw0", "exclusive", 0, 10, test="tests/test_a.py::t"), busy_s=[100, 110]),
            dict(row("gw0", "shared", 10, 30, test="tests/test_b.py::t1"), busy_s=[110, 132]),
            dict(row("gw1", "shared", 10, 20, test="tests/test_c.py::t[x]"), busy_s=[110, 126])]
    spent = suite_timeline.summary(rows)["cpu_after_timing_phase"]
    assert spent == {"tests/test_b.py": pytest.approx(8 + 6), "tests/test_c.py": pytest.approx(8)}
    whole = suite_timeline.cpu_by_module(rows, 0, 30)
    assert whole["tests/test_a.py"] == pytest.approx(10) and sum(whole.values()) == pytest.approx(32)
    # Between readings, linear: half of the first piece.
    assert suite_timeline.cpu_by_module(rows, 0, 5) == {"tests/test_a.py": pytest.approx(5)}
    assert suite_timeline.cpu_by_module([row("gw0", "shared", 0, 1)], 0, 1) == {}  # a log without busy_s


def test_a_span_logged_around_a_busy_loop_reads_at_least_that_core_busy(tmp_path, monkeypatch):
    # The log as tests/cpu_share.py writes it, read back: a loop that keeps one core busy for 0.6 s makes the
    # machine at least ~one core busy over its span (other processes only add; if they starve the loop, the
    # core is busy with them).
    log = tmp_path / "share.jsonl"
    monkeypatch.setenv("BENCH_CPU_SHARE_LOG", str(log))
    with logged("busy", "gw0", "exclusive"):
        deadline = time.monotonic() + 0.6
        while time.monotonic() < deadline:
            pass
    [r] = suite_timeline.load(log)
    assert r["busy_s"][1] - r["busy_s"][0] == pytest.approx(r["machine_cpu_s"], abs=0.011)
    assert 0.8 <= suite_timeline.busy_cores([r], r["start"], r["end"]) <= os.cpu_count() + 0.2


def test_the_command_exits_1_on_a_forbidden_overlap_and_2_on_a_bad_log(tmp_path, capsys):
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text("".join(json.dumps(r) + "\n" for r in [row("gw0", "exclusive", 0, 5), row("gw1", "background", 1, 2)]))
    bad.write_text("".join(json.dumps(r) + "\n" for r in [row("gw0", "exclusive", 0, 5), row("gw1", "shared", 1, 2)]))
    assert suite_timeline.main([str(good)]) == 0
    assert "forbidden overlaps: 0" in capsys.readouterr().out
    assert suite_timeline.main([str(bad)]) == 1
    assert "beside exclusive t_gw0_0: shared t_gw1_1" in capsys.readouterr().out
    (tmp_path / "empty.jsonl").write_text("")
    assert suite_timeline.main([str(tmp_path / "empty.jsonl")]) == 2
    assert suite_timeline.main([str(tmp_path / "missing.jsonl")]) == 2
    (tmp_path / "torn.jsonl").write_text('{"worker": ')
    assert suite_timeline.main([str(tmp_path / "torn.jsonl")]) == 2
    assert capsys.readouterr().err.count("\n") == 3  # one line each


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    # `suite_timeline.py LOG | head -1`: the reader is gone before the command writes; it ends by SIGPIPE, as a
    # Unix tool does, not with a BrokenPipeError traceback.
    log = tmp_path / "share.jsonl"
    log.write_text(json.dumps(row("gw0", "exclusive", 0, 5)) + "\n")
    read, write = os.pipe()
    os.close(read)
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "suite_timeline.py"), str(log)], stdout=write,
                          stderr=subprocess.PIPE, text=True, timeout=60)
    os.close(write)
    assert proc.returncode == -signal.SIGPIPE and proc.stderr == ""
