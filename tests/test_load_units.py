"""Pure parts of the load generator: schedule, rate search, frames, accounting. No network."""

from __future__ import annotations

import json
from array import array

import numpy as np
import pytest

from bench.errors import UsageError
from bench.load.accounting import account
from bench.load.frames import FORMATS, FrameRenderer, make_token, resolve_template, token_pattern
from bench.load.schedule import Schedule, Step, find_max_rate, phase_counts
from bench.load.throughput import cut_short
from bench.load.workers import deal

# No browser, no server, no clock: may run beside a timing test, in the background (tests/cpu_share.py).
pytestmark = pytest.mark.background


def test_schedule_is_a_fixed_rate_from_t0_shared_by_senders():
    s = Schedule(phase=0, t0=100.0, rate=50.0, count=10, warmup=2)
    assert s.at(0) == 100.0 and s.at(5) == pytest.approx(100.1) and s.last_due == pytest.approx(100.18)
    assert s.measured == 8
    shares = [list(s.seqs_for(k, 3)) for k in range(3)]
    assert sorted(x for share in shares for x in share) == list(range(10))
    assert phase_counts(200, 2.0, None, 0.5) == (500, 100)
    assert phase_counts(200, None, 30, 0.5) == (130, 100)


def capacity(limit: float, generator_limit: float = float("inf")):
    """A server that sustains up to `limit` msgs/s, and a generator that manages `generator_limit`."""

    def try_rate(rate: float) -> Step:
        if rate > generator_limit:
            return Step(rate, False, "generator", generator_limited=True)
        return Step(rate, rate <= limit, "" if rate <= limit else "too slow")

    return try_rate


def test_rate_search_doubles_then_bisects_to_within_a_fifth():
    best, steps = find_max_rate(capacity(3000), start=100, factor=2, limit=1e6, refine=2)
    assert [s.rate for s in steps[:7]] == [100, 200, 400, 800, 1600, 3200, 2263]
    assert 3000 / 2 ** 0.25 <= best <= 3000  # two bisections of a factor 2: within 2 ** (1/4)
    assert all(s.ok == (s.rate <= 3000) for s in steps)


def test_rate_search_stops_where_the_generator_does_and_at_the_limit():
    best, steps = find_max_rate(capacity(1e9, generator_limit=1000), 100, 2, 1e6, 2)
    assert best == 800 and steps[-1].generator_limited and len(steps) == 5
    best, steps = find_max_rate(capacity(1e9), 100, 2, 1000, 2)
    assert best == 800 and all(s.ok for s in steps)
    best, steps = find_max_rate(capacity(50), 100, 2, 1000, 2)
    assert best is None and len(steps) == 1


def test_frames_carry_a_token_the_receiver_finds_in_any_format():
    pattern = token_pattern("ab12cd")
    for fmt, template in FORMATS.items():
        renderer = FrameRenderer(resolve_template(fmt, None), message_bytes=64)
        frame = renderer.render(make_token("ab12cd", 3, 4711))
        match = pattern.search(frame)
        assert match and match.groups() == ("3", "4711")
        if fmt == "json":
            sent = json.loads(frame)
            assert sent["type"] == "message" and len(sent["text"]) == 64
            # The bundled server re-encodes the text into its broadcast; still found.
            assert pattern.search(json.dumps({"type": "message", "id": 9, "text": sent["text"]}))
    custom = FrameRenderer('{"op":"say","ts":{ts},"id":"{id}","body":"{text}"}', 10)
    frame = json.loads(custom.render("bench-x-0-1"))
    assert frame["id"] == "bench-x-0-1" and frame["body"] == "bench-x-0-1" and frame["ts"] > 1e12
    # A protocol whose frames differ per message (graphql-ws operation ids)
    # fills {ts} and {id} too: every frame is valid JSON carrying them.
    from bench.targets.protocols import make

    graphql = FrameRenderer('{"ts":{ts},"id":"{id}","text":"{text}"}', 10, make("graphql-ws"))
    frames = [json.loads(graphql.render(f"bench-x-0-{i}")) for i in range(2)]
    assert frames[0]["id"] != frames[1]["id"]  # an operation id per frame
    assert frames[1]["payload"]["id"] == "bench-x-0-1" and frames[1]["payload"]["ts"] > 1e12
    with pytest.raises(UsageError, match="no {text}"):
        resolve_template("json", '{"op":"say"}')
    with pytest.raises(UsageError, match="--format"):
        resolve_template("xml", None)


def test_deal_spreads_connections_round_robin():
    assert deal([("s", 0), ("r", 0), ("r", 1), ("r", 2)], 2) == [[("s", 0), ("r", 1)], [("r", 0), ("r", 2)]]
    assert deal(range(3), 5)[3:] == [[], []]


def sender_report(sender: int, seqs: list[int], rate: float, lag_s: float, failed=(),
                  skipped_from=None) -> dict:
    """A batch per message, each started lag_s after the message was due."""
    at = [s / rate + lag_s for s in seqs]
    return {"sender": sender, "failed": array("q", failed), "skipped_from": skipped_from,
            "batch_first": array("q", seqs), "batch_size": array("q", [1] * len(seqs)),
            "batch_at": array("d", at), "last_send": at[-1]}


def test_accounting_adds_up_and_times_from_the_schedule():
    # 10 messages at 10/s from t0 = 0, 2 of warm-up. Sender 0 has the even seqs,
    # sender 1 the odd ones; seq 3 failed to send; sender 1 gave up from seq 9.
    sched = Schedule(phase=0, t0=0.0, rate=10.0, count=10, warmup=2)
    senders = [sender_report(0, [0, 2, 4, 6, 8], 10.0, lag_s=0.005),
               sender_report(1, [1, 3, 5, 7], 10.0, lag_s=0.015, failed=[3], skipped_from=9)]
    # Receiver A: every sent seq 20 ms after it was due, seq 4 twice, seq 6 two seconds late.
    a_seqs = [0, 1, 2, 4, 4, 5, 6, 7, 8]
    a_times = [s / 10 + 0.02 for s in a_seqs]
    a_times[a_seqs.index(6)] += 2.0
    a_times[4] += 0.5  # the duplicate of seq 4 arrives later: only the first counts
    # Receiver B: lost seq 5 and 8.
    b_seqs = [2, 4, 6, 7]
    b_times = [s / 10 + 0.01 for s in b_seqs]
    receivers = [{"seqs": array("q", a_seqs), "times": array("d", a_times)},
                 {"seqs": array("q", b_seqs), "times": array("d", b_times)}]
    acct = account(sched, senders, receivers, late_ms=1000)
    assert (acct.scheduled, acct.sent, acct.failed, acct.skipped) == (8, 6, 1, 1)  # measured: seqs 2..9
    assert acct.expected == 12
    assert (acct.delivered, acct.late, acct.lost) == (9, 1, 2)
    assert acct.delivered + acct.late + acct.lost == acct.expected
    assert sorted(acct.latency_ms.tolist()) == pytest.approx([10] * 4 + [20] * 5 + [2020])
    assert acct.delivery_ratio == pytest.approx(9 / 14)  # the refused seq 3 was meant for both receivers
    # Send lag of every measured message tried (the failed seq 3 too, not the skipped 9).
    assert np.sort(acct.send_lag_ms).tolist() == pytest.approx([5, 5, 5, 5, 15, 15, 15])


def test_a_server_that_stops_half_way_is_not_credited_with_its_rate_before():
    # 100 messages at 100/s, no warm-up, one sender; the server dies after seq 49: every later send
    # is refused. Both receivers got 0..49, 5 ms after each was due. Known answer: half of what was
    # tried was delivered, and over the second the run asked for the server carried 50 msgs/s (it
    # ran at 100/s for half of it), not the 100/s of its arrivals' own span.
    rate = 100.0
    sched = Schedule(phase=0, t0=0.0, rate=rate, count=100, warmup=0)
    senders = [sender_report(0, list(range(100)), rate, lag_s=0.001, failed=range(50, 100))]
    got = {"seqs": array("q", range(50)), "times": array("d", [s / rate + 0.005 for s in range(50)])}
    acct = account(sched, senders, [got, got], late_ms=1000)
    assert (acct.sent, acct.failed, acct.delivered, acct.lost) == (50, 50, 100, 0)
    assert acct.delivery_ratio == pytest.approx(0.5)
    assert acct.msgs_per_s == pytest.approx(50.0)
    # The same server alive to the end: both at their full value (the window ends at the last arrival).
    senders = [sender_report(0, list(range(100)), rate, lag_s=0.001)]
    got = {"seqs": array("q", range(100)), "times": array("d", [s / rate + 0.005 for s in range(100)])}
    acct = account(sched, senders, [got, got], late_ms=1000)
    assert acct.delivery_ratio == 1.0
    assert acct.msgs_per_s == pytest.approx(100 / (0.995 + 0.01))


def test_a_phase_cut_short_ends_with_the_first_message_a_sender_did_not_try():
    # Ctrl-C in a phase of 20 messages at 10/s, 2 of warm-up: sender 0 (even seqs) tried 0..12, the
    # last two in one batch, and 12 failed; sender 1 (odd seqs) tried 1..9 (9 failed) and stopped at 11.
    # Every seq below 11 was tried: the phase is accounted as if its schedule had been 11 messages,
    # sender 0's 12 left out (its failure and its half of the batch), and so is its arrival.
    sched = Schedule(phase=0, t0=0.0, rate=10.0, count=20, warmup=2)
    even = sender_report(0, [0, 2, 4, 6, 8, 10], 10.0, lag_s=0.005, failed=[12])
    even["batch_size"][-1] = 2  # seqs 10 and 12
    odd = sender_report(1, [1, 3, 5, 7, 9], 10.0, lag_s=0.005, failed=[9])
    even["cut_from"], odd["cut_from"] = 14, 11
    cut, senders = cut_short(sched, [even, odd])
    assert (cut.count, cut.warmup, cut.measured) == (11, 2, 9)
    assert senders[0]["failed"] == [] and senders[0]["batch_size"][-1] == 1
    arrived = list(range(13))
    got = {"seqs": array("q", arrived), "times": array("d", [s / 10 + 0.02 for s in arrived])}
    acct = account(cut, senders, [got], late_ms=1000)
    assert (acct.scheduled, acct.sent, acct.failed, acct.skipped) == (9, 8, 1, 0)  # seqs 2..10, 9 failed
    assert (acct.delivered, acct.late, acct.lost) == (8, 0, 0)
    assert acct.send_lag_ms.size == 9
    # Cut in the warm-up: nothing measured, nothing to count.
    for report in (even, odd):
        report["cut_from"] = 1
    cut, senders = cut_short(sched, [even, odd])
    assert (cut.count, cut.warmup, cut.measured) == (1, 1, 0)
    acct = account(cut, senders, [got], late_ms=1000)
    assert (acct.scheduled, acct.sent, acct.expected, acct.msgs_per_s) == (0, 0, 0, None)
