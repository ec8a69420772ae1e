"""`bench compare` on results files with known distributions (seeded); outputs; auto-sampling logic.

The real-Chromium end-to-end checks are in test_gate_e2e.py; here the
results are built with bench.results.records.Results from seeded samples, so the
true change is known exactly.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import numpy as np
import pytest

from bench.gate.auto_sample import AutoSampler, unresolved
from bench.cli.main import main
from bench.gate.compare import Thresholds
from bench.results.records import Results, ScenarioOutput
from bench.run.runner import interleaved
from tests.conftest import bench_in_process

# No browser, no server, no clock: may run beside a timing test, in the background (tests/cpu_share.py).
pytestmark = pytest.mark.background

ENV = {"chromium_version": "156.0.8078.108", "headless": True, "cpu_throttle": 1.0,
       "browser_location": "local", "viewport": {"width": 1280, "height": 800}}


@pytest.fixture(autouse=True)
def no_calibration(tmp_path, monkeypatch):
    """No run-to-run noise stored for this machine (a `bench calibrate` run here would change the CIs)."""
    monkeypatch.setenv("BENCH_CALIBRATION", str(tmp_path / "calibration.json"))


def make_results(seed: int, latency_scale: float = 1.0, fps_scale: float = 1.0, verdict: str = "stable",
                 runs: int = 3, bursts: int = 6, env: dict | None = None) -> Results:
    """`runs` repetitions (3: fewer have the default run-to-run noise folded in, bench.stats.run_noise) of
    bursts of 20 lognormal latencies (median 20 ms x scale; each burst shares a factor, as real
    bursts share a frame phase), six fps passes, a heap verdict."""
    rng = np.random.default_rng(seed)
    results = Results(env=env or dict(ENV), config={"repeat": runs})
    for repetition in range(runs):
        for _ in range(bursts):
            burst_factor = rng.lognormal(0, 0.1)
            results.add(repetition, ScenarioOutput(metrics={
                "paint.latency_ms": ("ms", list(rng.lognormal(np.log(20), 0.2, 20) * burst_factor * latency_scale)),
                "paint.injected": ("count", [20])}))
        for _ in range(6):
            results.add(repetition, ScenarioOutput(metrics={"scroll.fps": ("fps", [rng.normal(60, 0.5) * fps_scale])}))
        results.add(repetition, ScenarioOutput(metrics={"heap.verdict": ("verdict", [verdict])}))
    return results


def write(tmp_path, name: str, results: Results) -> str:
    path = tmp_path / name
    results.write(path)
    return str(path)


def test_a_slower_latency_fails_the_gate(tmp_path, capsys):
    base = write(tmp_path, "base.json", make_results(1))
    new = write(tmp_path, "new.json", make_results(2, latency_scale=1.5))
    assert main(["compare", base, new]) == 1
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("paint.latency_ms"))
    assert "slower" in row and "yes" in row
    assert "FAIL: 1 gated metric(s) slower than the baseline: paint.latency_ms" in out
    assert "run-to-run noise from" not in out  # 3 runs a side show it themselves


def test_two_runs_a_side_fold_the_default_run_noise_in(tmp_path, capsys):
    """Two runs a side are too few for the bootstrap to show their noise: the share it cannot see of the
    default is folded in, and said; +30 % is then within it (bootstrap alone: slower, [+4, +9] ms with 3
    runs a side; [-0.3, +16.3] ms with 2 and the fold)."""
    base = write(tmp_path, "base.json", make_results(1, runs=2))
    new = write(tmp_path, "new.json", make_results(2, runs=2, latency_scale=1.3))
    assert main(["compare", base, new]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("paint.latency_ms"))
    assert "unsure" in row, row
    assert ("note: base and new have 2 runs each: the CIs include run-to-run noise from a default of 30% of p50"
            in out), out


def test_a_repetition_that_measured_nothing_is_not_a_run(tmp_path, capsys):
    """A metric's runs as the results record them, [0, n, n] (a first repetition with none of its samples):
    two runs, as the bootstrap sees them, so the default's share is folded in and the note says 2 runs."""
    def padded(seed: int, scale: float) -> str:
        data = make_results(seed, runs=2, latency_scale=scale).to_json()
        data["metrics"]["paint.latency_ms"]["runs"] = [0, *data["metrics"]["paint.latency_ms"]["runs"]]
        path = tmp_path / f"r{seed}.json"
        path.write_text(json.dumps(data))
        return str(path)

    assert main(["compare", padded(1, 1.0), padded(2, 1.3)]) == 0
    out = capsys.readouterr().out
    assert "unsure" in next(line for line in out.splitlines() if line.startswith("paint.latency_ms")), out
    assert "note: base and new have 2 runs each: the CIs include run-to-run noise from a default" in out, out


def test_no_change_passes(tmp_path, capsys):
    base = write(tmp_path, "base.json", make_results(1))
    new = write(tmp_path, "new.json", make_results(2))
    assert main(["compare", base, new]) == 0
    out = capsys.readouterr().out
    for line in out.splitlines():
        if line.startswith(("paint.latency_ms", "scroll.fps", "heap.verdict")):
            assert line.split()[-2] in ("same", "unsure") or line.split()[-1] in ("same", "unsure"), line
    assert out.strip().splitlines()[-1].startswith("PASS")


def test_fps_down_and_a_leak_are_slower(tmp_path, capsys):
    base = write(tmp_path, "base.json", make_results(1))
    new = write(tmp_path, "new.json", make_results(2, fps_scale=0.8, verdict="leak"))
    assert main(["compare", base, new]) == 1
    out = capsys.readouterr().out
    assert "2 gated metric(s) slower" in out and "heap.verdict (stable -> leak)" in out and "scroll.fps" in out


def test_gate_and_threshold_options(tmp_path, capsys):
    base = write(tmp_path, "base.json", make_results(1))
    new = write(tmp_path, "new.json", make_results(2, latency_scale=1.5))
    assert main(["compare", base, new, "--gate", "none"]) == 0        # nothing gated
    assert main(["compare", base, new, "--gate", "scroll.*"]) == 0    # latency not gated
    assert main(["compare", base, new, "--threshold", "paint.latency_ms=200"]) == 0  # +50 % is within 200 %
    capsys.readouterr()


def test_different_environments_are_refused_unless_forced(tmp_path, capsys):
    base = write(tmp_path, "base.json", make_results(1))
    headed = write(tmp_path, "headed.json", make_results(2, env={**ENV, "headless": False}))
    other_major = write(tmp_path, "major.json", make_results(2, env={**ENV, "chromium_version": "157.0.1.2"}))
    assert main(["compare", base, headed]) == 2
    assert "headless True -> False" in capsys.readouterr().err
    assert main(["compare", base, other_major]) == 2
    assert "chromium_major 156 -> 157" in capsys.readouterr().err
    assert main(["compare", base, headed, "--force"]) == 0
    assert "compared despite different environments (--force)" in capsys.readouterr().out
    patch = write(tmp_path, "patch.json", make_results(2, env={**ENV, "chromium_version": "156.0.9999.1"}))
    assert main(["compare", base, patch]) == 0  # same major version: comparable


@pytest.mark.parametrize("content, message", [
    ('{"schema": "bench/1", "metrics": {"paint.latency_ms": {"unit": "ms", "samp', "not valid JSON"),
    ('{"schema": "other/9", "metrics": {}}', "results schema 'other/9', expected 'bench/1'"),
    ('[1, 2, 3]', "results schema"),
    (b"\xff\xfe\x00binary", "not a results file (not UTF-8 text)"),
])
def test_bad_results_files_exit_2_with_one_line(tmp_path, content, message):
    base = write(tmp_path, "base.json", make_results(1))
    bad = tmp_path / "bad.json"
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    proc = bench_in_process("compare", base, str(bad))
    assert proc.returncode == 2 and proc.stdout == ""
    [line] = proc.stderr.strip().splitlines()
    assert message in line and str(bad) in line


def test_a_directory_for_a_results_file_is_one_line(tmp_path, capsys):
    base = write(tmp_path, "base.json", make_results(1))
    assert main(["compare", base, str(tmp_path)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == f"bench: error: {tmp_path}: cannot read it (Is a directory)"


def test_markdown_and_junit(tmp_path, capsys):
    base = write(tmp_path, "base.json", make_results(1))
    new = write(tmp_path, "new.json", make_results(2, latency_scale=1.5))
    budgets = tmp_path / "budgets.toml"
    budgets.write_text('"paint.latency_ms.p95" = { max = 1000 }\n"paint.latency_ms.p50" = { max = 5 }\n'
                       '"throughput.msgs_per_s.p50" = { min = 1000 }\n')
    md, junit = tmp_path / "summary.md", tmp_path / "junit.xml"
    assert main(["compare", base, new, "--budgets", str(budgets), "--markdown", str(md),
                 "--junit", str(junit)]) == 1
    capsys.readouterr()
    text = md.read_text()
    first = text.splitlines()[0]
    assert first.startswith("### :x: bench: FAIL") and "paint.latency_ms" in first  # verdict line first
    headings = [line for line in text.splitlines() if line.startswith("#### ")]
    assert [h.split(" (")[0].split(" `")[0] for h in headings] == [
        "#### Compared with baseline", "#### Budgets", "#### Metrics", "#### Environment"]
    budget_rows = [[c.strip() for c in line.split("|")[1:-1]] for line in text.splitlines()
                   if line.startswith("| paint.latency_ms.p") or line.startswith("| throughput")]
    assert ["paint.latency_ms.p50", "<= 5"] == budget_rows[1][:2] and budget_rows[1][-1] == "FAIL"
    assert budget_rows[2][-1] == "not measured"
    root = ET.parse(junit).getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert suites["bench.budgets"].get("failures") == "1" and suites["bench.budgets"].get("skipped") == "1"
    assert suites["bench.regressions"].get("failures") == "1"
    failed = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None]
    assert failed == ["paint.latency_ms.p50 <= 5", "paint.latency_ms"]


def test_markdown_appends_to_the_github_step_summary(tmp_path, capsys, monkeypatch):
    base = write(tmp_path, "base.json", make_results(1))
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["compare", base, base, "--markdown", str(summary)]) == 0
    capsys.readouterr()
    text = summary.read_text()
    assert text.startswith("earlier step\n### :white_check_mark: bench: PASS")


def test_auto_sampling_stops_when_resolved_or_out_of_time():
    wide = make_results(1, runs=1, bursts=6).to_json()
    narrow = make_results(1, runs=4, bursts=30).to_json()
    assert unresolved(wide, None, Thresholds(), ("paint.*",)) == ["paint.latency_ms"]
    assert unresolved(narrow, None, Thresholds(), ("paint.*",)) == []
    assert unresolved(wide, None, Thresholds(0.5), ("paint.*",)) == []  # a 50 % threshold is met at once

    now = [0.0]
    sampler = AutoSampler(None, Thresholds(), ("paint.*",), max_time_s=30, clock=lambda: now[0])
    run = SimpleNamespace(results=make_results(1, runs=1, bursts=6), repetitions_done=1)
    now[0] = 10
    assert sampler(run) is False           # not resolved, a 10 s repetition still fits in 30 s
    run.repetitions_done, now[0] = 2, 20
    assert sampler(run) is True            # the next one would end at 30 s: stop
    assert "stopped at --max-time after 2 repetition(s)" in sampler.status and not sampler.resolved
    done = AutoSampler(None, Thresholds(), ("paint.*",), max_time_s=30, clock=lambda: now[0])
    assert done(SimpleNamespace(results=make_results(1, runs=4, bursts=30), repetitions_done=4)) is True
    assert done.resolved and "after 4 repetition(s)" in done.status


def test_interleaved_order_rotates_each_repetition():
    assert [interleaved(["a", "b", "c"], r) for r in range(4)] == [
        ["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]]


def test_results_written_by_results_class_load_back(tmp_path):
    path = write(tmp_path, "r.json", make_results(3, runs=2))
    data = json.loads(open(path).read())
    assert data["metrics"]["paint.latency_ms"]["blocks"] == [20] * 12
