"""Known answers for the memory-trend statistics and the heap snapshot reader (no browser)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from bench.stats import heap_trend
from bench.probes.heap_snapshot import HeapSnapshot, read_snapshot, suspects

# No browser, no server, no clock: may run beside a timing test, in the background (tests/cpu_share.py).
pytestmark = pytest.mark.background


def test_trend_of_an_exact_line_is_its_slope_with_a_zero_width_ci() -> None:
    trend = heap_trend.linear_trend([1000 + 2048 * i for i in range(8)])
    assert trend.slope == pytest.approx(2048)
    assert trend.ci_low == pytest.approx(2048) and trend.ci_high == pytest.approx(2048)


def test_trend_ci_is_the_t_interval_of_the_least_squares_slope() -> None:
    y = [10.0, 12.5, 13.0, 17.5, 18.0, 21.5, 22.0]
    fit = stats.linregress(np.arange(7), y)
    half = stats.t.ppf(0.975, 5) * fit.stderr
    trend = heap_trend.linear_trend(y)
    assert (trend.slope, trend.ci_low, trend.ci_high) == pytest.approx((fit.slope, fit.slope - half, fit.slope + half))
    with pytest.raises(ValueError):
        heap_trend.linear_trend([1.0, 2.0])


@pytest.mark.parametrize("seed", range(5))
def test_trend_matches_scipy_on_heap_sized_series(seed) -> None:
    # Heap-sized numbers (MB, KB-scale noise, a 200 KB/cycle slope or none),
    # 3 to 12 points: numpy.polyfit + scipy.special.stdtrit give linregress's
    # slope and its t interval.
    rng = np.random.default_rng(seed)
    for n in (3, 5, 8, 12):
        y = 4e6 + (seed % 2) * 204800 * np.arange(n) + rng.normal(0, 20000, n)
        fit = stats.linregress(np.arange(n), y)
        half = stats.t.ppf(0.975, n - 2) * fit.stderr
        trend = heap_trend.linear_trend(y)
        assert (trend.slope, trend.ci_low, trend.ci_high, trend.intercept) == pytest.approx(
            (fit.slope, fit.slope - half, fit.slope + half, fit.intercept), rel=1e-9, abs=1e-6)


def test_trend_of_a_constant_series_is_exactly_zero() -> None:
    # A stable page repeats its DOM counters after GC; the per-cycle slope the
    # results report for them must be 0, not rounding noise.
    for n in (3, 8):
        trend = heap_trend.linear_trend([9300] * n)
        assert (trend.slope, trend.ci_low, trend.ci_high, trend.intercept) == (0, 0, 0, 9300)


def _series(used, listeners=None, nodes=None, documents=None) -> dict:
    n = len(used)
    return {"used_bytes": used, "listeners": listeners or [37] * n, "nodes": nodes or [56] * n,
            "documents": documents or [1] * n}


def test_verdict_fires_on_heap_growth_above_the_threshold_only_when_the_ci_clears_it() -> None:
    grows = [2_000_000 + 200 * 1024 * i for i in range(8)]
    result = heap_trend.verdict(_series(grows))
    assert result["verdict"] == "leak" and "heap grows 200.0 KiB/cycle" in result["reasons"][0]
    # 4 KB/cycle (what the plain app shows) is under the 64 KB threshold.
    result = heap_trend.verdict(_series([2_000_000 + 4096 * i for i in range(8)]))
    assert result["verdict"] == "stable" and not result["signals"]["heap"]["fired"]
    # Mean growth above the threshold but too noisy to establish: not a leak.
    noisy = [0, 400_000, 0, 600_000, 100_000, 700_000, 100_000, 900_000]
    result = heap_trend.verdict(_series(noisy))
    assert result["signals"]["heap"]["slope"] > 64 * 1024 and result["verdict"] == "stable"


def test_verdict_fires_when_a_counter_grows_in_every_cycle() -> None:
    used = [2_000_000] * 8
    result = heap_trend.verdict(_series(used, listeners=[37 + i for i in range(8)]))
    assert result["verdict"] == "leak"
    # Sequential: decided once the listeners rose in each of the first 5 cycles.
    assert result["reasons"] == ["listeners grew in every one of 5 cycles (+5 in all, +1/cycle)"]
    assert result["decided"] and result["decided_at"] == 5
    # Growth in 6 of 7 cycles is not "every cycle".
    result = heap_trend.verdict(_series(used, nodes=[56, 57, 58, 58, 59, 60, 61, 62]))
    assert result["verdict"] == "stable"


def test_expected_history_growth_is_taken_out_before_the_verdict() -> None:
    per_message_bytes, per_message_nodes, k = 10_000.0, 9.0, 20
    used = [2_000_000 + k * per_message_bytes * i for i in range(6)]
    nodes = [56 + int(k * per_message_nodes) * i for i in range(6)]
    assert heap_trend.verdict(_series(used, nodes=nodes))["verdict"] == "leak"
    result = heap_trend.verdict(_series(used, nodes=nodes), expected_bytes_per_cycle=k * per_message_bytes,
                                expected_nodes_per_cycle=k * per_message_nodes)
    assert result["verdict"] == "stable"
    assert result["signals"]["heap"]["slope"] == pytest.approx(0, abs=1e-6)


# -- the sequential test's error rates (Monte Carlo, seeded) -----------------
KB = 1024
THRESHOLD = heap_trend.DEFAULT_THRESHOLD_BYTES


def _decisions(slope: float, noise, runs: int, seed: int, cycles: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """The sequential verdict on `runs` simulated pages: a line of `slope` bytes/cycle plus noise(rng, n)."""
    rng = np.random.default_rng(seed)
    words, looks = [], []
    for _ in range(runs):
        used = 4e6 + slope * np.arange(cycles + 1) + noise(rng, cycles + 1)
        result = heap_trend.verdict(_series(list(used)), THRESHOLD, max_cycles=cycles)
        words.append(result["verdict"] if result["signals"]["heap"]["look"]["decided"] or result["verdict"] == "leak"
                     else "undecided")
        looks.append(result["decided_at"])
    return np.array(words), np.array(looks)


def test_spending_gives_out_exactly_alpha_and_beta_over_the_looks() -> None:
    plan = heap_trend.SequentialPlan(7)
    assert plan.looks() == [3, 4, 5, 6, 7]
    spent = np.array([plan.spent(k) for k in plan.looks()])
    assert spent.sum(axis=0) == pytest.approx([heap_trend.ALPHA, heap_trend.BETA])
    # rho = 1: each look's share is its share of the slope's information n(n^2-1)/12.
    info = np.array([(k + 1) * ((k + 1) ** 2 - 1) for k in plan.looks()], dtype=float)
    assert spent[:, 0] == pytest.approx(heap_trend.ALPHA * np.diff(np.concatenate([[0], info])) / info[-1])


def test_at_the_threshold_false_leaks_and_early_stables_stay_within_alpha_and_beta() -> None:
    # Growth exactly at the threshold, the hardest case for both errors:
    # P(leak) <= alpha = 2.5 % and P(stopped as stable early) <= beta = 2.5 %.
    # 1,000 runs: the binomial standard error at 2.5 % is 0.5 %, so 4 % is
    # 3 standard errors above the stated rate.
    words, _ = _decisions(THRESHOLD, lambda rng, n: rng.normal(0, 8 * KB, n), 1000, seed=1)
    assert np.mean(words == "leak") <= 0.04
    assert np.mean(words == "stable") <= 0.04


@pytest.mark.parametrize("noise_name", ["normal", "gc_jumps", "uniform_400kb"])
def test_no_growth_is_never_called_a_leak_even_with_noisy_heap(noise_name) -> None:
    # A clean page whose heap is noisy: GC timing leaves ~250 KB more in 15 %
    # of samples (seen after burst+scroll), or a level that wanders 0..400 KB.
    noise = {"normal": lambda rng, n: rng.normal(0, 8 * KB, n),
             "gc_jumps": lambda rng, n: rng.normal(0, 5 * KB, n) + (rng.random(n) < 0.15) * 250 * KB,
             "uniform_400kb": lambda rng, n: rng.uniform(0, 400 * KB, n)}[noise_name]
    words, _ = _decisions(4 * KB, noise, 400, seed=2)
    assert np.mean(words == "leak") <= 0.01  # the bound is 2.5 % at the threshold; far below it, ~0


def test_a_quiet_clean_page_and_a_big_leak_are_decided_at_the_first_look() -> None:
    words, looks = _decisions(4 * KB, lambda rng, n: rng.normal(0, 3 * KB, n), 100, seed=3)
    assert np.all(words == "stable") and np.all(looks == 3)
    words, looks = _decisions(200 * KB, lambda rng, n: rng.normal(0, 3 * KB, n), 100, seed=4)
    assert np.all(words == "leak") and np.all(looks == 3)


def test_a_small_leak_just_above_the_threshold_is_found() -> None:
    # 80 KB/cycle, 16 KB above the threshold, with the plain app's few KB of noise.
    words, looks = _decisions(80 * KB, lambda rng, n: rng.normal(0, 5 * KB, n), 200, seed=5)
    assert np.all(words == "leak")  # never stopped early as stable


def test_a_counter_of_exchangeable_values_rarely_rises_five_times_in_a_row() -> None:
    # Without a trend, the chance that the first 6 values rise strictly is
    # 1/6! = 0.14 %; with three counters 0.42 %. Small integers with ties
    # (a page whose node count wobbles) only lower it.
    rng = np.random.default_rng(6)
    plan = heap_trend.SequentialPlan(7)
    fired = [heap_trend.counter_state(rng.integers(50, 60, 8), plan) == "leak" for _ in range(5000)]
    assert np.mean(fired) <= 1 / 720 + 0.0015
    assert heap_trend.counter_state([37, 38, 39, 40, 41, 42], plan) == "leak"
    assert heap_trend.counter_state([37, 38, 39], plan) is None  # not yet decided
    assert heap_trend.counter_state([37, 38, 38], plan) == "ruled_out"


def _snapshot(path, nodes, edges) -> str:
    """A .heapsnapshot in V8's format. nodes: [(type, name, self_size)]; edges: {from: [(type, to)]}."""
    strings = sorted({name for _, name, _ in nodes} | {"e"})
    types = ["hidden", "array", "string", "object", "code", "closure", "regexp", "number", "native"]
    edge_types = ["context", "element", "property", "internal", "hidden", "shortcut", "weak"]
    flat_nodes, flat_edges = [], []
    for i, (kind, name, size) in enumerate(nodes):
        out = edges.get(i, [])
        flat_nodes += [types.index(kind), strings.index(name), i * 2 + 1, size, len(out), 0]
        for etype, to in out:
            flat_edges += [edge_types.index(etype), strings.index("e"), to * 6]
    data = {"snapshot": {"meta": {
        "node_fields": ["type", "name", "id", "self_size", "edge_count", "detachedness"],
        "node_types": [types, "string", "number", "number", "number", "number"],
        "edge_fields": ["type", "name_or_index", "to_node"],
        "edge_types": [edge_types, "string_or_number", "node"]},
        "node_count": len(nodes), "edge_count": len(flat_edges) // 3},
        "nodes": flat_nodes, "edges": flat_edges, "strings": strings}
    path.write_text(json.dumps(data))
    return str(path)


def test_retained_sizes_come_from_the_dominator_tree(tmp_path) -> None:
    # root -> window -> holder -> buffer (owned), window -> a, a and holder -> shared;
    # a weak edge from window to `weakly` does not retain it.
    nodes = [("hidden", "(root)", 0), ("object", "Window", 10), ("object", "Holder", 20),
             ("array", "(array)", 1000), ("object", "A", 30), ("object", "Shared", 400),
             ("object", "Weakly", 50)]
    edges = {0: [("element", 1)], 1: [("property", 2), ("property", 4), ("weak", 6)],
             2: [("internal", 3), ("property", 5)], 4: [("property", 5)]}
    snap = HeapSnapshot(_snapshot(tmp_path / "s.heapsnapshot", nodes, edges))
    assert snap.class_stats()["Holder"].count == 1
    # Holder retains the buffer but not Shared (A reaches it too); Window retains all but Weakly.
    assert snap.retained_by_class(["Holder", "A", "Window", "Shared"]) == {
        "Holder": 1020, "A": 30, "Window": 10 + 20 + 1000 + 30 + 400, "Shared": 400}


def test_suspects_are_classes_grown_by_a_multiple_of_the_cycles(tmp_path) -> None:
    def snap(name, holders, others):
        nodes = [("hidden", "(root)", 0), ("object", "Window", 10)]
        edges = {0: [("element", 1)], 1: []}
        for cls, count, size in (("Holder", holders, 100), ("Other", others, 8)):
            for _ in range(count):
                nodes.append(("object", cls, size))
                edges[1].append(("property", len(nodes) - 1))
        return HeapSnapshot(_snapshot(tmp_path / name, nodes, edges))

    found = suspects(snap("a", 2, 5), snap("b", 2 + 14, 5 + 6), cycles=7)
    assert [s["constructor"] for s in found] == ["Holder"]  # Other grew by 6, not a multiple of 7
    assert found[0]["per_cycle"] == 2 and found[0]["retained_size_growth_bytes"] == 1400


def test_snapshot_arrays_read_by_numpy_equal_jsons(tmp_path) -> None:
    # V8 writes nodes and edges as long integer arrays split over lines; numpy
    # reads them, json the rest. Same numbers as json.loads, and a file whose
    # arrays do not match its meta's counts is read by json alone.
    text = ('{"snapshot":{"meta":{"node_fields":["type","name"],"edge_fields":["type","to_node"]},'
            '"node_count":3,"edge_count":2},\n"nodes":[0,1\n,3,0\n,2,2],\n"edges":[1,2\n,0,4],\n'
            '"strings":["a","\\"nodes\\":[9]","c"]}')
    data, nodes, edges = read_snapshot(text)
    reference = json.loads(text)
    assert nodes.tolist() == reference["nodes"] and edges.tolist() == reference["edges"]
    assert data["strings"] == reference["strings"] and data["snapshot"] == reference["snapshot"]
    short = text.replace('"node_count":3', '"node_count":4')
    data, nodes, edges = read_snapshot(short)
    assert nodes.tolist() == reference["nodes"] and data["nodes"] == reference["nodes"]  # the json path
