"""`bench baseline`: every row present, each read from a metric measured in the same run."""

from __future__ import annotations

import json

import pytest

from bench.baseline import FAIL, INFO, MB, NOT_MEASURED, PASS, ROWS, baseline_rows, evaluate, with_targets
from bench.errors import UsageError

from tests.conftest import run_bench
from tests.test_cli import marked_env  # noqa: F401 (fixture)


def test_baseline_end_to_end_every_row_from_this_run(tmp_path, marked_env):
    env, _ = marked_env
    out, md = tmp_path / "baseline.json", tmp_path / "summary.md"
    # An impossible throughput target makes that row FAIL, so the exit code is 1.
    proc = run_bench("baseline", "--connections-duration", "1", "--throughput-duration", "1",
                     "--throughput-rate", "200", "--receivers", "3", "--bursts", "2", "--burst-size", "10",
                     "--target", "throughput=1000000", "--json", str(out), "--markdown", str(md),
                     "--no-progress", env=env)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    data = json.loads(out.read_text())
    assert data["schema"] == "bench/1" and data["partial"] is False
    table = {r["key"]: r for r in data["records"]["baseline"]}
    assert list(table) == [r.key for r in ROWS]
    metrics = data["metrics"]
    for row in ROWS:
        got = table[row.key]
        m = metrics.get(row.metric)
        if not m or not m["samples"]:
            assert got["status"] == NOT_MEASURED and got["value"] is None, row.key
            continue
        if row.statistic == "verdict":
            assert got["value"] in ("stable", "leak")
        else:
            assert got["value"] == pytest.approx(m[row.statistic] / row.scale), row.key
        assert got["status"] in (PASS, FAIL, INFO)
    # The server side and message-to-paint are measured in every build.
    for key in ("throughput", "latency_p50", "latency_p95", "stability", "memory_per_connection",
                "message_shown"):
        assert table[key]["value"] is not None, key
    assert table["throughput"]["status"] == FAIL and table["throughput"]["target"] == "> 1e+06 msg/s"
    assert metrics["throughput.latency_ms"]["n"] == 3 * 200
    assert metrics["paint.injected"]["sum"] == 20
    assert metrics["connections.heartbeats_sent"]["sum"] == 10 * 2
    assert data["config"]["throughput"]["rate"] == 200 and data["env"]["chromium_version"]
    text = md.read_text()
    assert text.startswith("## Production baseline") and "| Metric" in text
    for row in ROWS:
        assert row.label in text and row.label in proc.stdout
    assert "bench baseline took" in proc.stdout


def test_rows_judge_and_say_not_measured():
    metrics = {
        "throughput.msgs_per_s": {"samples": [49.0], "p50": 49.0},
        "connections.server_bytes_per_connection": {"samples": [2.5 * MB], "p50": 2.5 * MB},
        "heap.verdict": {"samples": [0.0, 1.0]},          # numeric: 1 = leak
        "paint.latency_ms": {"samples": [], "p95": None},  # ran, measured nothing
    }
    rows = {r.key: evaluate(r, metrics) for r in ROWS}
    assert rows["throughput"]["status"] == FAIL          # 49 is not > 50
    assert rows["memory_per_connection"]["status"] == PASS and rows["memory_per_connection"]["value"] == 2.5
    assert rows["memory_growth"]["value"] == "leak" and rows["memory_growth"]["status"] == FAIL
    assert rows["message_shown"]["status"] == NOT_MEASURED
    assert rows["scroll_fps"]["status"] == NOT_MEASURED and "scroll scenario" in rows["scroll_fps"]["reason"]
    words = evaluate(next(r for r in ROWS if r.key == "memory_growth"), {"heap.verdict": {"samples": ["stable"]}})
    assert words["status"] == PASS


def test_targets_can_be_overridden_and_bad_ones_are_usage_errors():
    rows = {r.key: r for r in with_targets(ROWS, ["latency_p95=<20", "throughput=1000", "scroll_fps=>=30"])}
    assert (rows["latency_p95"].op, rows["latency_p95"].target) == ("<", 20)
    assert (rows["throughput"].op, rows["throughput"].target) == (">", 1000)
    assert (rows["scroll_fps"].op, rows["scroll_fps"].target) == (">=", 30)
    table = baseline_rows({"metrics": {"throughput.latency_ms": {"samples": [30.0], "p50": 30.0, "p95": 30.0}}},
                          tuple(rows.values()))
    assert {r["key"]: r["status"] for r in table}["latency_p95"] == FAIL
    with pytest.raises(UsageError, match="KEY=VALUE"):
        with_targets(ROWS, ["nonsense=1"])
    with pytest.raises(UsageError, match="not a number"):
        with_targets(ROWS, ["throughput=fast"])
