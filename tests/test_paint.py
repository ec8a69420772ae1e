"""Known answers for message-to-paint (docs/metrics.md), in real Chromium."""

from __future__ import annotations

import statistics

import pytest

from bench.scenarios.burst import BurstConfig, BurstScenario

FRAME_MS = 1000 / 60  # headless Chromium presents on a synthetic 60 Hz clock


def burst(**config) -> BurstScenario:
    return BurstScenario(BurstConfig(**config))


# Paced messages 6.1 frames apart (~102 ms): a 50 ms handler finishes long
# before the next message, so every message is isolated and waits only for
# its own frame; and each message lands 0.1 frame later in the refresh cycle
# than the one before, so PACED_SIZE of them cover the cycle's phases evenly
# and their p50 hardly depends on the phase the first one landed at (at
# 8 msgs/s, 7.5 frames apart, they took two phases only, and one run's p50
# swung with the start phase).
PACED_INTERVAL_MS = 6.1 * FRAME_MS
PACED_SIZE = 12


def paced(page, measure, work_ms: int, warmup: int = 1, **options) -> dict:
    """PACED_SIZE isolated messages on a fresh page; warmup=0 where the first message's JIT and first layout
    (often a few ms slower) cannot matter: a bound far from the p50, or message-by-message agreement."""
    return measure(page, [burst(bursts=1, size=PACED_SIZE, rate=1000 / PACED_INTERVAL_MS, warmup=warmup)],
                   f"work_ms={work_ms}", **options)


def test_isolated_message_paints_within_one_frame(page, measure):
    m = paced(page, measure, 0, warmup=0)["metrics"]
    # A message that arrives at a random moment waits on average half a frame
    # for the next one, plus the compositor pipeline; the median stays inside one.
    assert m["paint.latency_ms"]["n"] == PACED_SIZE
    assert 0 < m["paint.latency_ms"]["p50"] <= FRAME_MS, m["paint.latency_ms"]


def where(value: float, band: tuple[float, float]) -> int:
    """-1 below the band, 0 inside it, 1 above it."""
    return -1 if value < band[0] else 1 if value > band[1] else 0


def test_work_per_message_adds_exactly_that_latency(context, measure):
    # work_ms=50 is busy work inside the message handler, between t_recv and
    # the DOM insert, so it adds 50 ms to an isolated message's latency (50 ms
    # is 3 frames: the message then waits for a frame of the same phase).
    # Tolerance max(5 ms, 10 %): frame alignment and the 4 ms paint-time
    # quantum move each p50 by a few ms (seen in 16 single rounds on a loaded
    # machine: 49.2 to 51.9). The two variants alternate in three rounds and
    # the median round decides, so a burst of load from another process
    # during one round (seen: a whole extra frame) cannot decide alone. The
    # third round runs only when the first two disagree on the verdict: where
    # both are inside the band (or both out on the same side) the median of
    # three lies between them whatever the third says, so it cannot change it.
    tolerance = max(5, 0.1 * 50)
    band = (50 - tolerance, 50 + tolerance)
    changes = []
    for _ in range(3):
        base = paced(context.new_page(), measure, 0)["metrics"]["paint.latency_ms"]["p50"]
        slow = paced(context.new_page(), measure, 50)["metrics"]["paint.latency_ms"]["p50"]
        changes.append(slow - base)
        if len(changes) == 2 and where(changes[0], band) == where(changes[1], band):
            break
    assert band[0] <= statistics.median(changes) <= band[1], changes


def test_burst_settles_no_sooner_than_its_total_work(page, measure):
    n, work = 30, 10
    m = measure(page, [burst(bursts=2, size=n, warmup=0)], f"work_ms={work}")["metrics"]
    # Back to back, the last message can only paint after all N handlers ran.
    assert min(m["burst.settle_ms"]["samples"]) >= n * work
    # ...and each handler's work shows in recv->DOM for the one it handles.
    assert m["paint.recv_to_dom_ms"]["p50"] >= work


@pytest.mark.parametrize("query", ["", "render=batched"])
def test_every_injected_message_is_accounted_for(page, measure, query):
    results = measure(page, [burst(bursts=2, size=150, warmup=0)], query)
    m, records = results["metrics"], results["records"]["paint"]
    injected, unpainted = m["paint.injected"]["sum"], m["paint.unpainted"]["sum"]
    assert injected == 300 == len(records) == len({r["token"] for r in records})
    assert m["paint.latency_ms"]["n"] + unpainted == injected
    assert all(r["recv"] is not None and r["dom"] is not None for r in records)
    painted = [r for r in records if r["paint"] is not None]
    # Causality on one clock: received, then in the DOM, then on screen
    # (the paint estimate may sit up to half the 4 ms quantum before its DOM time).
    assert all(r["recv"] <= r["dom"] <= r["paint"] + 2 for r in painted)
    assert all(r["method"] == "element-timing" for r in painted)


def test_server_injection_path_is_measured_too(page, measure):
    m = measure(page, [burst(bursts=1, size=20, warmup=0, rate=20)], inject="server")["metrics"]
    assert m["paint.injected"]["sum"] == 20
    assert m["paint.latency_ms"]["n"] == 20
    assert m["paint.latency_ms"]["p50"] < 100


def test_sentinel_estimate_agrees_with_element_timing(page, context, measure):
    # The shadow-DOM fallback times a message by the frame sentinel: the first
    # frame presented after its text entered the DOM. Every message gets that
    # same estimate as t_presented, so on a page Element Timing can see, each
    # isolated message's two times must name the same frame (within the 4 ms
    # paint-time quantum; seen: equal). Message by message on one page: two
    # pages' p50s of 12 isolated messages differ by up to a frame from run to
    # run (messages at the edge of a frame's deadline make it or miss it), a
    # comparison that failed 3 runs in 6 on a host that ran slower.
    records = paced(page, measure, 0, warmup=0)["records"]["paint"]
    assert len(records) == PACED_SIZE and all(r["method"] == "element-timing" for r in records)
    differences = [r["presented"] - r["paint"] for r in records]
    assert all(abs(d) <= 4 for d in differences), differences
    # Forced on, the fallback is where every message's paint time comes from.
    estimated = paced(context.new_page(), measure, 0, warmup=0, paint_method="sentinel")["records"]["paint"]
    assert {r["method"] for r in estimated} == {"sentinel"}
    assert all(abs(r["paint"] - r["presented"]) <= 4 for r in estimated), estimated
