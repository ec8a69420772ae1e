"""Ground truth: the paint probe's times against the presented frames in a Chrome trace.

For each message, the truth is the first presented frame (bench.probes.trace_frames)
whose Commit follows its DOM insertion (docs/message-to-paint.md). Both of the
probe's presentation times must agree with it:
- t_paint (Element Timing of the message's own element, paint.latency_ms) for
  every message a frame showed;
- t_presented (the frame sentinel, paint.presented_ms) for every message,
  including those never on screen.
"""

from __future__ import annotations

import json
import statistics

import pytest

from bench.scenarios.burst import BurstConfig, BurstScenario
from bench.targets.messages import MessageSource
from bench.results.records import Results
from bench.scenarios.page import PageSession
from bench.targets.profile import bundled_target
from bench.probes.trace_frames import (
    CLOCK_SYNC_MARK,
    TRACE_CATEGORIES,
    first_presented_after,
    page_clock,
    presented_frames,
)


@pytest.fixture(scope="module")
def traced_bursts(browser, chat_server):
    """Records of a paced and a back-to-back burst, the trace's presented frames, and its clock."""
    context = browser.new_context()
    page = context.new_page()
    session = PageSession(page, bundled_target(chat_server.url), MessageSource(seed=3))
    session.prepare()
    session.open()
    browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
    page.evaluate("(name) => performance.mark(name)", CLOCK_SYNC_MARK)
    results = Results(env={}, config={})
    # Paced and back to back both: the truth must hold when frames are busy too.
    for config in (BurstConfig(bursts=1, size=30, rate=15, warmup=0), BurstConfig(bursts=1, size=40, warmup=0)):
        BurstScenario(config).run(session, lambda out: results.add(0, out))
    trace = json.loads(browser.stop_tracing())
    session.close()
    context.close()
    clock = page_clock(trace)
    frames = presented_frames(trace, clock.pid)
    assert frames, "no presented frames in the trace"
    return results.records["paint"], frames, clock


def errors_against_trace(records, frames, clock, field: str) -> list[float]:
    """Probe time minus the truth's presentation time (ms), for every record with `field` set."""
    errors = []
    for record in records:
        if record[field] is None:
            continue
        truth = first_presented_after(frames, clock.to_trace_us(record["dom"]))
        assert truth is not None, record
        errors.append(record[field] - clock.to_page_ms(truth.presented_us))
    return errors


ROUNDING_MS = 2.2  # half the 4 ms renderTime quantum, plus clock-mark rounding
FRAME_MS = 1000 / 60  # headless Chromium presents on a synthetic 60 Hz clock


def assert_within_rounding(errors: list[float], what: str) -> None:
    absolute = sorted(abs(e) for e in errors)
    median, p95 = statistics.median(absolute), absolute[int(0.95 * (len(absolute) - 1))]
    within = sum(a < ROUNDING_MS for a in absolute) / len(absolute)
    print(f"\n{what} vs trace over {len(errors)} messages: median |error| {median:.2f} ms, "
          f"p95 {p95:.2f} ms, max {absolute[-1]:.2f} ms, mean signed {statistics.fmean(errors):+.2f} ms, "
          f"{within:.0%} within {ROUNDING_MS} ms")
    # Chromium rounds renderTime up to 4 ms; the probe takes the middle of the
    # interval, so each error is within +-2 ms (plus clock-mark rounding of
    # 0.1 ms): ROUNDING_MS. Presentation is phase-locked to the 60 Hz clock, so
    # within one run the rounding error is nearly the same for every message
    # (seen: median |error| 0.4 to 1.5 ms, mean -0.8 to +0.1 ms from run to
    # run); it averages out only across runs. So: the quantum's half for the
    # median and the mean.
    assert median < 2.0
    assert abs(statistics.fmean(errors)) < 2.0
    # A matched frame that cannot show the message is off by a whole frame
    # interval or more: no message may be. (The outliers once seen here,
    # 20-70 ms, were the trace parser's: it lost Commits and took the
    # compositor's commit for the main thread's; bench.probes.trace_frames says how.)
    assert absolute[-1] < FRAME_MS, sorted(errors)
    # On a loaded machine Chromium's presentation time for Element Timing is
    # sometimes later than the trace's presentation of the frame (seen at load
    # average 8 on 2 cores: 1.3 % of 1,400 messages, 2.8 to 13.4 ms, always
    # later, all messages of one stalled frame together, up to 9 of 70 in one
    # run). Both of the probe's times come from Element Timing, so both show
    # it; the bound leaves room for two such frames in a run.
    assert within >= 0.8, sorted(errors)
    assert min(errors) > -ROUNDING_MS, sorted(errors)


def test_element_timing_agrees_with_presented_frames(traced_bursts):
    records, frames, clock = traced_bursts
    errors = errors_against_trace(records, frames, clock, "paint")
    assert len(errors) >= 50
    assert_within_rounding(errors, "Element Timing (paint.latency_ms)")


def test_every_message_has_a_presented_frame_that_agrees_with_the_trace(traced_bursts):
    records, frames, clock = traced_bursts
    in_dom = [r for r in records if r["dom"] is not None]
    assert len(in_dom) == len(records) == 70
    missing = [r["token"] for r in in_dom if r["presented"] is None]
    assert not missing, f"no presentation time for {missing}"
    errors = errors_against_trace(in_dom, frames, clock, "presented")
    assert_within_rounding(errors, "frame sentinel (paint.presented_ms)")
    # A message shown by its first frame after insertion has both times equal;
    # one shown later (or never) has presented <= paint.
    for r in records:
        if r["paint"] is not None:
            assert r["presented"] <= r["paint"] + 0.01, r
