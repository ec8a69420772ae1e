"""stream.* from known records, the growth fit on known lines, and the [stream] profile table (no browser)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.errors import UsageError
from bench.targets.profile import parse_profile
from bench.scenarios.stream_metrics import QUADRATIC_MS_PER_KCHAR, growth_fit, growth_note, reply_output

# No browser, no server, no clock: may run beside a timing test, in the background (tests/cpu_share.py).
pytestmark = pytest.mark.background

BASE = {"name": "x", "url": "http://127.0.0.1:1/"}
START = [{"fill": ["#p", "{text}"]}, {"click": "#send"}]


def test_growth_fit_finds_a_known_slope_through_noise_and_preemptions():
    rng = np.random.default_rng(7)
    lengths = np.arange(10, 1010, 10)
    costs = 1.0 + 20 * lengths / 1000 + rng.normal(0, 0.3, lengths.size)
    costs[[5, 40, 77]] += [60, 35, 90]  # a preemption or a GC inside three chunks
    growth = growth_fit(lengths, costs)
    assert growth.slope == pytest.approx(20, abs=0.5)
    assert growth.ci[0] < 20 < growth.ci[1]
    assert growth.outliers == 3 and growth.n == lengths.size - 3
    assert "quadratic" in growth_note(growth, "r")


def test_flat_cost_has_no_growth_and_no_note():
    rng = np.random.default_rng(3)
    lengths = np.arange(10, 500, 7)
    growth = growth_fit(lengths, 2 + rng.normal(0, 0.2, lengths.size))
    assert abs(growth.slope) < QUADRATIC_MS_PER_KCHAR
    assert growth_note(growth, "r") is None


def test_a_growth_too_small_to_matter_over_the_reply_is_not_named():
    # Known answer: 3 ms per 1000 characters, certain (no noise), over a reply of 190 characters: the
    # end of the reply costs 0.57 ms more per chunk than its start, under MATERIAL_GROWTH_MS. The same
    # slope over 1000 characters adds 3 ms: named.
    short = growth_fit(np.arange(10, 200, 7), 1 + 3 * np.arange(10, 200, 7) / 1000)
    assert short.slope == pytest.approx(3) and short.ci[0] > QUADRATIC_MS_PER_KCHAR
    assert short.span_kchars == pytest.approx(0.189)
    assert growth_note(short, "r") is None
    long = growth_fit(np.arange(10, 1010, 10), 1 + 3 * np.arange(10, 1010, 10) / 1000)
    assert "quadratic" in growth_note(long, "r")


def test_too_few_points_or_one_length_is_no_fit():
    assert growth_fit([1, 2], [1, 2]) is None
    assert growth_fit([5, 5, 5, 5], [1, 2, 3, 4]) is None


def chunk(t, dom, length, paint):
    return {"t": t, "size": 10, "dom": dom, "len": length, "grow": 0, "paint": paint, "paintRaw": paint}


def test_reply_output_from_a_known_record():
    record = {
        "request": {"t": 1000.0, "kind": "sse", "url": "/s"}, "kind": "sse", "ended": {"t": 1400, "how": "closed"},
        "length": 30, "grew": [],
        "chunks": [chunk(1100, 1101, 10, 1110), chunk(1200, 1202, 20, 1215), chunk(1300, 1303, 30, None),
                   chunk(1301, None, None, None)],  # the last: [DONE], no text
        "frames": [1100 + 16.7 * i for i in range(14)],
    }
    out, pairs = reply_output(record, refresh_ms=16.7)
    m = {name: samples for name, (_, samples) in out.metrics.items()}
    assert m["stream.first_chunk_ms"] == [100]
    assert m["stream.first_paint_ms"] == [110]
    assert m["stream.chunk_to_paint_ms"] == [10, 15]
    assert m["stream.chunk_to_dom_ms"] == [1, 2, 3]
    assert "stream.reply_ms" not in m  # the last chunk with text was never painted: not guessed
    assert m["stream.unpainted"] == [1] and m["stream.chunks"] == [4]
    assert out.records["stream"][0]["textless_chunks"] == 1
    assert pairs == [(20, 2), (30, 3)]  # the first chunk with text is not in the fit
    assert m["stream.dropped_pct"] == [0.0]
    assert m["stream.frame_ms"] == pytest.approx([16.7] * 6)
    assert m["stream.fps"] == pytest.approx([1000 / 16.7])


def test_preamble_chunks_are_textless_and_the_first_chunk_is_the_first_with_text():
    # Control events before the first token (the AI SDK's start/text-start):
    # the probe marks them preamble and gives them no DOM time.
    record = {
        "request": {"t": 1000.0, "kind": "fetch", "url": "/api/chat"}, "kind": "fetch",
        "ended": {"t": 1400, "how": "closed"}, "length": 20, "grew": [],
        "chunks": [{**chunk(1005, None, None, None), "preamble": True},
                   chunk(1300, 1301, 10, 1316), chunk(1330, 1331, 20, 1349)],
        "frames": [1005 + 16.7 * i for i in range(22)],
    }
    out, _ = reply_output(record, refresh_ms=16.7)
    m = {name: samples for name, (_, samples) in out.metrics.items()}
    assert m["stream.first_chunk_ms"] == [300]  # not 5: the response's first bytes carried no text
    assert m["stream.chunk_to_paint_ms"] == [16, 19]
    assert out.records["stream"][0]["preamble_chunks"] == 1
    assert out.records["stream"][0]["textless_chunks"] == 1
    assert len(m["stream.frame_ms"]) == 2  # frames from the first chunk with text on


@pytest.mark.parametrize("stream, message", [
    ({"start": START}, "[stream] needs 'reply'"),
    ({"reply": ".r"}, "[stream] needs 'start'"),
    ({"start": [], "reply": ".r"}, "stream.start is empty"),
    ({"start": [{"click": "#send"}], "reply": ".r"}, "stream.start has no {text} placeholder"),
    ({"start": START, "reply": ".r", "transport": "grpc"}, "stream.transport 'grpc': choose from"),
    ({"start": [{"tap": "#send"}], "reply": ".r"}, "stream.start[0]: unknown action 'tap'"),
    ({"start": START, "reply": ".r", "dnoe": "x"}, "unknown key 'stream.dnoe' (did you mean 'done'?)"),
])
def test_bad_stream_tables_are_one_line_usage_errors(stream, message):
    with pytest.raises(UsageError) as caught:
        parse_profile({**BASE, "stream": stream}, "p.toml")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_stream_table_parses_with_defaults():
    target = parse_profile({**BASE, "stream": {"start": START, "reply": ".r"}}, "p.toml")
    assert target.stream == {"start": START, "reply": ".r", "transport": "auto", "done": None}
    assert parse_profile(BASE, "p.toml").stream is None
