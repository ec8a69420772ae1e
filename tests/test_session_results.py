"""No browser: the metric view, merging a pytest session's results, qualified metric names in compare,
and the browser source's parsing. Seeded synthetic samples, so every number is known."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.results import metric_catalog
from bench.browser.source import (
    LOCAL,
    REMOTE_CDP,
    REMOTE_PLAYWRIGHT,
    BrowserSource,
    env_notes,
    flags_in,
    launch_options_header,
    source_from,
)
from bench.gate.compare import Thresholds, compare_results
from bench.errors import UsageError
from bench.plugin.metric_view import MeasuredResults, Metric
from bench.results.records import Results, ScenarioOutput
from bench.plugin.suite_results import SessionResults, merged_env

# No browser, no server, no clock: may run beside a timing test, in the background (tests/cpu_share.py).
pytestmark = pytest.mark.background

TEST_A = "tests/test_chat.py::test_burst[chromium]"
TEST_B = "tests/test_chat.py::test_memory[chromium]"


def burst_output(samples) -> ScenarioOutput:
    return ScenarioOutput(metrics={"paint.latency_ms": ("ms", list(samples)), "paint.injected": ("count", [10])})


def test_a_metric_reads_its_results_entry_as_attributes() -> None:
    results = Results(env={}, config={})
    for burst in range(5):
        results.add(0, burst_output([10.0 + burst, 20.0, 30.0]))
    result = MeasuredResults(results.to_json())
    latency = result["paint.latency_ms"]
    assert isinstance(latency, Metric)
    assert (latency.n, latency.p50, latency.max, latency.unit) == (15, 20.0, 30.0, "ms")
    assert latency.p95 == pytest.approx(float(np.percentile(latency.samples, 95)))
    assert latency.p95_ci is not None and latency["p50"] == latency.p50  # 5 blocks: a CI
    assert result["paint.injected"].sum == 50
    assert "p95=" in repr(latency) and "paint.latency_ms" in repr(latency)
    with pytest.raises(AttributeError, match="metric 'paint.latency_ms' has no field 'p90' \\(it has: .*p95"):
        latency.p90  # noqa: B018
    with pytest.raises(KeyError, match="scroll.fps was not measured; measured: paint.injected, paint.latency_ms"):
        result["scroll.fps"]  # noqa: B018
    assert sorted(result) == ["paint.injected", "paint.latency_ms"] and len(result) == 2


def test_a_word_metric_and_an_unavailable_one() -> None:
    results = Results(env={}, config={})
    reason = "renderer memory not available: the browser is remote-cdp, so ..."
    results.add(0, ScenarioOutput(metrics={"heap.verdict": ("verdict", ["stable"])},
                                  records={"unavailable": [{"metric": "heap.renderer_private_bytes", "reason": reason}]}))
    result = MeasuredResults(results.to_json())
    assert result["heap.verdict"].value == "stable" and repr(result["heap.verdict"]).startswith("<Metric heap.verdict: stable")
    assert result.unavailable == {"heap.renderer_private_bytes": reason}
    with pytest.raises(KeyError, match="heap.renderer_private_bytes: renderer memory not available"):
        result["heap.renderer_private_bytes"]  # noqa: B018


def test_a_session_keeps_each_tests_metrics_apart_and_each_call_a_repetition() -> None:
    session = SessionResults()
    env = {"chromium_version": "156.0", "headless": True, "started_at": "t0"}
    for call in range(3):  # the same test measures three times: three repetitions
        sink = session.start_call(TEST_A, "burst", env, {"call": call})
        sink(burst_output([10.0, 11.0]))
        sink(burst_output([12.0]))
    sink = session.start_call(TEST_B, "cycles", {**env, "started_at": "t1"}, {"call": 0})
    sink(ScenarioOutput(metrics={"heap.verdict": ("verdict", ["stable"])}, notes=["heap verdict: stable"],
                        records={"heap": [{"cycle": 0}]}))
    sink = session.start_call(TEST_A + "::work50", "burst", env, {"call": 3})  # name= keeps a call apart
    sink(burst_output([50.0]))
    data = session.to_json()
    latency = data["metrics"][f"{TEST_A}::paint.latency_ms"]
    assert latency["runs"] == [3, 3, 3] and latency["blocks"] == [2, 1] * 3 and latency["n"] == 9
    assert data["metrics"][f"{TEST_A}::work50::paint.latency_ms"]["samples"] == [50.0]
    assert data["metrics"][f"{TEST_B}::heap.verdict"]["value"] == "stable"
    assert len(data["config"]["pytest"]["tests"][TEST_A]["calls"]) == 3
    assert data["records"]["heap"] == [{"test": TEST_B, "repetition": 0, "cycle": 0}]
    assert data["notes"] == [f"{TEST_B}: heap verdict: stable"]
    assert data["env"] == {**env, "started_at": "t0"} and data["schema"] == "bench/1" and not data["partial"]
    json.dumps(data)  # a results file


def _worker_session(keys: list[str], seed: int) -> SessionResults:
    rng = np.random.default_rng(seed)
    session = SessionResults()
    for key in keys:
        for call in range(2):
            sink = session.start_call(key, "burst", {"headless": True, "started_at": f"t{seed}"}, {"call": call})
            for _ in range(3):
                sink(burst_output(rng.normal(20, 2, 4)))
                sink(ScenarioOutput(records={"paint": [{"token": f"{key}-{call}"}]}, notes=["a note"]))
    return session


def test_a_workers_part_gives_the_controller_the_file_the_worker_would_write() -> None:
    """xdist: what a worker hands over (JSON text, as it travels) holds the raw samples and their
    blocks; the controller's file equals one process measuring both workers' tests."""
    one_process = _worker_session([TEST_A], 1)
    for key, results in _worker_session([TEST_B], 2).tests.items():
        one_process.tests[key] = results
    controller = SessionResults()
    controller.most_workers_at_once = 2
    controller.absorb(json.loads(json.dumps(_worker_session([TEST_A], 1).to_part())), "gw0")
    controller.absorb(json.loads(json.dumps(_worker_session([TEST_B], 2).to_part())), "gw1")
    controller.absorb(None, "gw2")  # a worker that measured nothing
    merged, expected = controller.to_json(), one_process.to_json()
    assert merged["metrics"] == expected["metrics"]  # samples, runs, blocks, percentiles, bootstrap CIs
    assert merged["metrics"][f"{TEST_A}::paint.latency_ms"]["runs"] == [12, 12]
    assert merged["records"] == expected["records"] and merged["config"]["pytest"]["tests"] == \
        expected["config"]["pytest"]["tests"]
    assert merged["notes"][1:] == expected["notes"] == [f"{TEST_A}: a note", f"{TEST_B}: a note"]
    assert merged["notes"][0].startswith("measured by pytest-xdist workers, 2 at once (gw0: 1 test(s), "
                                         "gw1: 1 test(s), gw2: 0 test(s))")
    assert merged["config"]["pytest"]["workers"] == {"gw0": [TEST_A], "gw1": [TEST_B], "gw2": []}
    assert merged["env"] == {**expected["env"], "pytest_workers": 2} and not merged["partial"]


def test_a_test_two_workers_measured_is_kept_apart_and_a_lost_worker_is_noted() -> None:
    controller = SessionResults()
    for worker, seed in (("gw0", 1), ("gw1", 2), ("gw2", 3)):  # --dist each: every worker runs TEST_A
        controller.absorb(_worker_session([TEST_A], seed).to_part(), worker)
    controller.absorb(_worker_session([TEST_B], 4).to_part(partial=True), "gw3")  # interrupted
    controller.worker_lost("gw4", "Not properly terminated")
    data = controller.to_json()
    latency = {name.rpartition("::")[0]: m for name, m in data["metrics"].items() if name.endswith("latency_ms")}
    assert set(latency) == {f"{TEST_A}@gw0", f"{TEST_A}@gw1", f"{TEST_A}@gw2", TEST_B}
    assert latency[f"{TEST_A}@gw1"]["samples"] == \
        _worker_session([TEST_A], 2).to_json()["metrics"][f"{TEST_A}::paint.latency_ms"]["samples"]
    assert data["config"]["pytest"]["workers"] == {"gw0": [f"{TEST_A}@gw0"], "gw1": [f"{TEST_A}@gw1"],
                                                   "gw2": [f"{TEST_A}@gw2"], "gw3": [TEST_B], "gw4": []}
    assert data["partial"] is True
    assert "gw4: lost" in data["notes"][0]
    assert data["notes"][1] == ("pytest-xdist worker gw4 went down (Not properly terminated) before handing over "
                                "its measurements: they are not in this file")


def test_env_fields_the_measurements_disagree_on_become_lists() -> None:
    envs = [{"cpu_throttle": 1.0, "headless": True, "started_at": "a"},
            {"cpu_throttle": 4.0, "headless": True, "started_at": "b"},
            {"cpu_throttle": 1.0, "headless": True, "started_at": "c"}]
    assert merged_env(envs) == {"cpu_throttle": [1.0, 4.0], "headless": True, "started_at": "a"}
    assert merged_env([]) == {}


def test_qualified_names_keep_what_is_known_about_their_metric() -> None:
    name = f"{TEST_A}::paint.latency_ms"
    assert metric_catalog.base_metric(name) == "paint.latency_ms"
    assert metric_catalog.direction_of(f"{TEST_A}::scroll.fps") == metric_catalog.direction_of("scroll.fps")
    assert metric_catalog.info(f"{TEST_A}::scroll.dropped_pct").floor == 1.0
    assert metric_catalog.is_gated(f"{TEST_A}::heap.used_bytes", metric_catalog.DEFAULT_GATE)
    assert not metric_catalog.is_gated(f"{TEST_A}::paint.injected", metric_catalog.DEFAULT_GATE)
    assert metric_catalog.is_gated(name, ("tests/test_chat.py::*",))  # a pattern on the test id
    assert metric_catalog.good_words(f"{TEST_B}::heap.verdict") == frozenset({"stable"})
    assert Thresholds.parse([f"{name}=20", "paint.latency_ms=10"]).for_metric(name) == 0.20
    assert Thresholds.parse(["paint.latency_ms=10"]).for_metric(name) == 0.10


def _session(shift: float, verdict: str) -> dict:
    rng = np.random.default_rng(7)
    session = SessionResults()
    for call in range(3):
        sink = session.start_call(TEST_A, "burst", {}, {})
        for _ in range(8):
            sink(burst_output(rng.lognormal(np.log(20 * shift), 0.1, 20)))
    session.start_call(TEST_B, "cycles", {}, {})(ScenarioOutput(metrics={"heap.verdict": ("verdict", [verdict])}))
    return session.to_json()


def test_compare_matches_two_sessions_metric_by_metric_and_test_by_test() -> None:
    """Known answer: the burst test's latency is 50 % higher in the new session, its memory test leaks."""
    comparison = compare_results(_session(1.0, "stable"), _session(1.5, "leak"))
    rows = {row.name: row for row in comparison.rows}
    assert set(rows) == {f"{TEST_A}::paint.latency_ms", f"{TEST_A}::paint.injected", f"{TEST_B}::heap.verdict"}
    assert rows[f"{TEST_A}::paint.latency_ms"].verdict == "slower" and rows[f"{TEST_A}::paint.latency_ms"].gated
    assert rows[f"{TEST_B}::heap.verdict"].verdict == "slower"  # stable -> leak
    assert not rows[f"{TEST_A}::paint.injected"].gated
    assert {r.name for r in comparison.regressions} == {f"{TEST_A}::paint.latency_ms", f"{TEST_B}::heap.verdict"}


def test_browser_sources_from_the_command_line() -> None:
    assert source_from() == BrowserSource(LOCAL)
    assert source_from("ws://grid:3000/") == BrowserSource(REMOTE_PLAYWRIGHT, "ws://grid:3000/")
    assert source_from(None, "http://127.0.0.1:9222").location == REMOTE_CDP
    secret = BrowserSource(REMOTE_PLAYWRIGHT, "wss://user:pw@grid.example:443/pw?token=s3cret#x")
    assert secret.shown_endpoint == "wss://grid.example:443/pw"  # no credentials or tokens in results
    with pytest.raises(UsageError, match="choose one browser source"):
        source_from("ws://a/", "http://b/")
    header = json.loads(launch_options_header(False, ["--x"], "/opt/chromium")["x-playwright-launch-options"])
    assert header == {"headless": False, "args": ["--x"], "executablePath": "/opt/chromium"}
    assert flags_in("/usr/lib/chromium --a --b=1 --c", ["--a", "--b", "--c"]) == (["--a", "--c"], ["--b"])
    assert env_notes({"browser_location": REMOTE_PLAYWRIGHT, "flags_missing": ["--a"]}) == [
        "the browser runs without bench's flags --a (a Playwright server drops launch args unless it runs "
        "with --unsafe); env.flags lists the ones it has"]
    assert env_notes({"browser_location": LOCAL, "flags_missing": []}) == []
    assert "add bench.browser.STABLE_FLAGS to browser_type_launch_args (examples/conftest.py)" in \
        env_notes({"browser_location": LOCAL, "flags_missing": ["--a"]})[0]  # a pytest suite without them
