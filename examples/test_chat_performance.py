"""Performance assertions in your own pytest-playwright suite, with bench's chat_bench fixture.

Copy this file and conftest.py next to your tests. With no profile, bench
starts its bundled reference chat app; point CHAT_PROFILE at your own target
profile (`python -m bench profile init --url ...` writes one) to measure
your chat UI.

    pytest examples/ --bench-json bench-results            # add --headed to watch
    python -m bench compare base/results.json bench-results/results.json
    pytest examples/ -n 2 --bench-json bench-results       # pytest-xdist: still one results.json

Each call returns the metrics `bench ui` reports (result["paint.latency_ms"].p95,
.p50, .n, .samples, ...; docs/metrics.md). Budgets in [tool.bench.budgets]
of your pyproject.toml are checked after every call and fail the test.
The limits below suit the bundled app on a 2-core CI machine; set yours.
"""

from __future__ import annotations

import os

PROFILE = os.environ.get("CHAT_PROFILE")  # e.g. "fixtures/profiles/mychat.toml"; None: the bundled app


def test_messages_appear_within_a_few_frames(page, chat_bench):
    result = chat_bench.burst(page, profile=PROFILE, bursts=5, size=50)
    latency = result["paint.latency_ms"]
    assert latency.n > 0, result.notes
    assert latency.p95 < 200, latency  # ms from the socket's message event to the frame showing it
    assert result["paint.unpainted"].sum <= result["paint.injected"].sum / 2


def test_a_long_history_scrolls_smoothly(page, chat_bench):
    result = chat_bench.scroll(page, profile=PROFILE, messages=400, repeat=1)
    assert result["scroll.fps"].p50 >= 30, result["scroll.fps"]


def test_reconnects_do_not_leak(page, chat_bench):
    result = chat_bench.cycles(page, profile=PROFILE, cycles=5, history_messages=100)
    assert result["heap.verdict"].value == "stable", result.notes


def test_measure_after_your_own_steps(page, chat_bench):
    # prepare() installs bench's probes first; then open the page yourself
    # (log in, pick a room, ...), and bench measures it without reloading it.
    url = chat_bench.prepare(page, profile=PROFILE)
    page.goto(url)
    page.wait_for_selector("#messages")
    result = chat_bench.burst(page, bursts=3, size=20)
    assert result["paint.latency_ms"].p50 < 100
