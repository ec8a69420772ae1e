"""The burst scenario's pure parts on known records: what each paint.* metric counts, and the frame phases."""

from __future__ import annotations

import random

import pytest

from bench.results.records import ScenarioOutput
from bench.scenarios.burst import burst_output, stratified_phases

# No browser, no server, no clock: may run beside a timing test, in the background (tests/cpu_share.py).
pytestmark = pytest.mark.background


def rec(token, recv, dom, paint, presented):
    return {"token": token, "recv": recv, "dom": dom, "paint": paint, "presented": presented}


def test_burst_metrics_count_every_message_once_in_its_place():
    records = [
        rec("a", 100.0, 100.5, 116.0, 116.0),   # painted on screen
        rec("b", 101.0, 101.2, None, 132.0),    # scrolled away before any frame: presented, not painted
        rec("c", 102.0, None, None, None),      # received, never in the DOM
        rec("d", None, None, None, None),       # lost with a closed socket
    ]
    out = burst_output(records, no_socket={"d"})
    m = {name: samples for name, (_, samples) in out.metrics.items()}
    assert m["paint.latency_ms"] == [16.0]
    assert m["paint.presented_ms"] == [16.0, 31.0]          # every message in the DOM, on screen or not
    assert m["paint.recv_to_dom_ms"] == pytest.approx([0.5, 0.2])
    assert m["paint.dom_to_paint_ms"] == [15.5]
    assert m["burst.settle_ms"] == [16.0]                   # first arrival to the last on-screen paint
    assert m["paint.injected"] == [3] and m["paint.unpainted"] == [2]  # d counted apart
    assert m["paint.no_socket"] == [1]
    assert out.tallies["message(s) never reached the DOM (counted as unpainted)"] == 1
    assert [r["token"] for r in out.records["paint"]] == ["a", "b", "c"]


def test_without_lost_messages_there_is_no_no_socket_metric():
    out = burst_output([rec("a", 1.0, 1.1, 17.0, 17.0)])
    assert "paint.no_socket" not in out.metrics and out.notes == [] and out.tallies == {}


def test_counted_notes_are_summed_over_the_run():
    """Ten bursts with 100 messages each that never reached the DOM: one note, of 1000 (it said 100: the
    ten equal notes were kept once). A later count updates the note where it stands."""
    from bench.results.records import Results

    results = Results(env={}, config={})
    lost = burst_output([rec(str(i), 1.0, None, None, None) for i in range(100)])
    results.add(0, ScenarioOutput(notes=["first"]))
    for repetition in range(10):
        results.add(repetition // 5, lost)
    results.add(1, ScenarioOutput(notes=["last"]))
    results.add(1, burst_output([rec("x", 1.0, None, None, None)]))
    assert results.notes == ["first", "1001 message(s) never reached the DOM (counted as unpainted)", "last"]
    assert results.to_json()["notes"] == results.notes


@pytest.mark.parametrize("count", [1, 7, 10])
def test_stratified_phases_put_one_phase_in_each_stratum(count):
    phases = stratified_phases(count, random.Random(3))
    assert len(phases) == count and all(0 <= p < 1 for p in phases)
    assert sorted(int(p * count) for p in phases) == list(range(count))
