"""Scroll smoothness in real Chromium against the bundled app's scroll knobs (known answers).

Headless Chromium draws on a synthetic 60 Hz clock (docs/measurement.md, "Known pitfalls"), so
the refresh interval is known: 16.67 ms. Sizes are small (300 messages,
2,000 px passes at 1,000 px/s: 2 s, 120 frames at 60 Hz) to keep the tests
short. The machine is a shared 2-core box where other Chromium runs can
steal the CPU at any moment: every band below says how it allows for that.
"""

from __future__ import annotations

import json
import statistics

import pytest

from bench.probes import trace_frames
from bench.scenarios.burst import BurstConfig, BurstScenario
from bench.scenarios.cycles import CyclesConfig, CyclesScenario
from bench.scenarios.scroll import ScrollConfig, ScrollScenario
from bench.targets.profile import bundled_target
from tests.conftest import AppPage, bench_in_process, run_bench

pytestmark = pytest.mark.browser

HEADLESS_REFRESH_MS = 1000 / 60
SMALL = dict(messages=300, distance=2000, speed=1000)


@pytest.fixture(scope="module")
def measured(browser, chat_server):
    """measured(query, scenario...) -> results JSON; each call on a fresh page, closed after."""

    def run(query: str, *scenarios) -> dict:
        m = AppPage(browser, chat_server.url, query).open()
        try:
            return m.run(*scenarios)
        finally:
            m.close()

    return run


MAX_PLAIN_PASSES = 8


def as_smooth_as_the_refresh_rate(fps: float, dropped_pct: float, refresh_ms: float) -> bool:
    """The known answer for the plain app: fps within 10 % of the refresh rate, under 5 % dropped."""
    return abs(fps - 1000 / refresh_ms) <= 0.10 * 1000 / refresh_ms and dropped_pct < 5


@pytest.fixture(scope="module")
def plain(browser, chat_server) -> dict:
    """Up-and-down passes on the plain app until one is as smooth as the refresh rate allows.

    The plain app's frames cost a few ms, so on an idle machine every pass
    makes every frame (measured here: 0-2 % dropped). On this shared 2-core
    box other Chromium runs take the CPU for 100-200 ms at a time (seen as
    long animation frames with no script, the renderer waiting to run), and
    with a load average of 7 every pass of four can be hit. So passes go on,
    in up/down pairs, until one shows the known answer or MAX_PLAIN_PASSES
    ran: a metric that is wrong (frames double counted, a wrong window, a
    wrong refresh interval) or an app that is slow fails every pass.
    """
    m = AppPage(browser, chat_server.url).open()
    try:
        scenario = ScrollScenario(ScrollConfig(**SMALL))
        scenario.preload(m.session)
        spot = scenario.locate(m.session)
        refresh_ms = scenario.measure_refresh(m.session, m.sink)
        for index in range(MAX_PLAIN_PASSES):
            out = scenario.scroll_pass(m.session, spot, ("up", "down")[index % 2], refresh_ms, index)
            out.records["scroll"][0]["smooth"] = as_smooth_as_the_refresh_rate(
                out.metrics["scroll.fps"][1][0], out.metrics["scroll.dropped_pct"][1][0], refresh_ms)
            m.sink(out)
            if index % 2 and any(p["smooth"] for p in m.results.records["scroll"]):
                break
    finally:
        m.close()
    return m.results.to_json()


@pytest.fixture(scope="module")
def scroll_work_40(measured) -> dict:
    return measured("scroll_work_ms=40", ScrollScenario(ScrollConfig(**SMALL, repeat=1)))


def passes(results: dict) -> list[dict]:
    return results["records"]["scroll"]


def show(label: str, results: dict) -> None:
    fps = results["metrics"]["scroll.fps"]["samples"]
    dropped = results["metrics"]["scroll.dropped_pct"]["samples"]
    print(f"\n{label}: refresh {results['metrics']['scroll.refresh_ms']['p50']:.2f} ms, fps per pass "
          f"{[round(f, 1) for f in fps]}, dropped % {[round(d, 1) for d in dropped]}")


@pytest.mark.timing
def test_refresh_interval_is_headless_60_hz(plain) -> None:
    # The median of 30 idle rAF deltas: one stolen time slice cannot move it.
    assert plain["metrics"]["scroll.refresh_ms"]["p50"] == pytest.approx(HEADLESS_REFRESH_MS, abs=0.5)


@pytest.mark.timing
def test_plain_app_scrolls_at_the_refresh_rate(plain) -> None:
    # See the `plain` fixture: passes until one is smooth, at most 8 (all printed).
    show("plain", plain)
    assert any(p["smooth"] for p in passes(plain)), passes(plain)
    # Each pass spans the gesture: 2 s at 60 Hz is 120 refresh slots (+-2 for the window's edges).
    for p in passes(plain):
        assert 118 <= p["expected_frames"] <= 124, p


@pytest.mark.timing
def test_gesture_scrolls_the_distance_asked_and_back(plain) -> None:
    # Mouse-wheel gestures carry exact pixel deltas and the plain list has
    # no anchoring adjustments, so 2% is room for rounding only.
    records = passes(plain)
    assert len(records) % 2 == 0
    assert [p["direction"] for p in records] == ["up", "down"] * (len(records) // 2)
    for p in records:
        assert p["moved_px"] == pytest.approx(SMALL["distance"], rel=0.02), p
    for up, down in zip(records[::2], records[1::2]):
        assert down["scroll_top_end"] == pytest.approx(up["scroll_top_start"], abs=1), (up, down)


@pytest.mark.timing
def test_scroll_work_40_ms_cannot_hold_60_fps(scroll_work_40) -> None:
    # Arithmetic: Chromium dispatches at most one scroll event per frame, and
    # every frame that scrolls runs the 40 ms handler before it can draw, so a
    # frame takes at least 40 ms: fps <= 1000 / 40 = 25, and of the 60 slots a
    # second at least 35 are missed: dropped_pct >= 100 * (1 - 25 / 60) = 58.3.
    # Frames are drawn on vsync, so a 40 ms frame plus style/layout/paint
    # lands on the 3rd slot or, when its begin time is late, the 2nd: about
    # 1000 / (40 + a few ms) = 22-24 fps expected here. Bands: the upper
    # bound allows 5% for the window's first interval (begun before the
    # first scroll event, so without the handler); a loaded machine only
    # lowers fps, down to 12 fps (two 40 ms handlers' worth per frame)
    # before the test calls it wrong.
    show("scroll_work_ms=40", scroll_work_40)
    fps = scroll_work_40["metrics"]["scroll.fps"]["samples"]
    dropped = scroll_work_40["metrics"]["scroll.dropped_pct"]["samples"]
    assert all(f <= 25 * 1.05 for f in fps), fps
    assert all(d >= 100 * (1 - 25 * 1.05 / 60) for d in dropped), dropped
    assert statistics.median(fps) >= 12, fps
    assert statistics.median(dropped) <= 100 * (1 - 12 / 60), dropped
    assert scroll_work_40["metrics"]["scroll.frame_ms"]["p50"] >= 2 * HEADLESS_REFRESH_MS - 1


# Not `timing`: they assert which list the scenario takes and where the history's cost came from (bytes
# and nodes after a forced GC), not how fast anything was. The gestures are the plain tests' business.
def test_after_bursts_scroll_takes_their_list_and_the_bursts_give_the_history_cost(browser, chat_server) -> None:
    # The default run's order. The bursts leave 150 warm-up + 2 x 150 = 450
    # messages, between M = 300 and 2M: the scroll scenario takes that list
    # (no reload, no preload), and the cycles' heap.bytes_per_message is the
    # bursts' fill of the fresh page (GC'd samples before the first and after
    # the last), which the cycles scenario then uses instead of a burst of its own.
    m = AppPage(browser, chat_server.url).open()
    try:
        scroll = ScrollScenario(ScrollConfig(**SMALL))
        cycles = CyclesScenario(CyclesConfig(cycles=3, warmup=0))
        m.session.plan([scroll, cycles])
        BurstScenario(BurstConfig(bursts=2, size=150, render_cost=False)).run(m.session, m.sink)
        scroll.preload(m.session)
        assert (scroll.list_from, scroll.list_messages) == ("earlier scenarios", 450)
        cycles.run(m.session, m.sink)
        [history] = m.results.to_json()["records"]["heap.bytes_per_message"]
        assert (history["source"], history["messages"]) == ("bursts", 450)
        # The bundled app holds a message in about 10 KiB and 9 DOM nodes (the scroll preload's figure).
        assert 2 * 1024 < history["bytes"] < 40 * 1024 and 5 <= history["nodes"] <= 15, history
    finally:
        m.close()


def test_after_bursts_that_left_more_than_2m_messages_scroll_reloads_and_preloads_m(browser, chat_server) -> None:
    m = AppPage(browser, chat_server.url).open()
    try:
        BurstScenario(BurstConfig(bursts=1, size=610, warmup=0, render_cost=False)).run(m.session, m.sink)
        scroll = ScrollScenario(ScrollConfig(**SMALL))
        scroll.preload(m.session)
        assert (scroll.list_from, scroll.list_messages) == ("preload", 300)
        assert m.page.locator(m.session.target.message_selector).count() == 300  # the page was reloaded
    finally:
        m.close()


# Not `timing` (nor the layout-thrash test below): load only makes a frame with an 80 ms handler
# longer, and the known answer is which script the long frames name, not how long they were.
def test_long_frames_name_the_janky_scroll_handler(measured) -> None:
    # 80 ms per scroll event: every frame that scrolls is a long animation
    # frame (> 50 ms), and its script attribution is the fixture's listener.
    results = measured("scroll_work_ms=80", ScrollScenario(ScrollConfig(**SMALL, repeat=1)))
    long_frames = results["records"]["long_frames"]
    counts = results["metrics"]["scroll.long_frames"]["samples"]
    frames = [p["frames"] for p in passes(results)]
    print(f"\nscroll_work_ms=80: long frames per pass {counts}, frames per pass {frames}")
    assert counts == [sum(f["pass"] == i for f in long_frames) for i in range(len(counts))]
    # Nearly every frame of the pass is long (the window's first one has no handler yet).
    for count, n in zip(counts, frames):
        assert count >= n - 2, (count, n)
    named = [f for f in long_frames
             if any(s["sourceFunctionName"] == "burnScrollWork" and s["sourceURL"].endswith("/static/app.js")
                    and s["invokerType"] == "event-listener" and s["invoker"].endswith(".onscroll")
                    and s["duration"] >= 79 for s in f["scripts"])]
    print(f"attributed to burnScrollWork: {len(named)} of {len(long_frames)}; e.g. "
          f"{json.dumps(long_frames[0]['scripts'][0]) if long_frames and long_frames[0]['scripts'] else '-'}")
    assert len(named) >= 0.9 * len(long_frames) > 0


def test_layout_thrash_shows_as_forced_layout_in_thrashlayout(browser, chat_server) -> None:
    # layout_thrash=1 writes a style and reads layout for each message in
    # view on every scroll event: one forced layout per message, each over
    # the whole list (so 1,000 messages). Its cost depends on the machine
    # (here about 20 ms a frame unthrottled, 85 ms at 4x), so the CPU is
    # slowed 6x after the preload to make those frames long (> 50 ms) on a
    # machine twice as fast too; the known answer is the attribution:
    # script thrashLayout, with forced style and layout time.
    m = AppPage(browser, chat_server.url, "layout_thrash=1").open()
    try:
        # A 4 s pass (SMALL's 2 s held 5-6 thrash frames, 5 with two busy loops beside it; 3 are needed).
        scenario = ScrollScenario(ScrollConfig(**{**SMALL, "messages": 1000, "distance": 4000}, repeat=1))
        scenario.preload(m.session)
        spot = scenario.locate(m.session)
        m.session.cdp.send("Emulation.setCPUThrottlingRate", {"rate": 6})
        refresh_ms = scenario.measure_refresh(m.session, m.sink)
        out = scenario.scroll_pass(m.session, spot, "up", refresh_ms)
    finally:
        m.close()
    scripts = [s for f in out.records["long_frames"] for s in f["scripts"]
               if s["sourceFunctionName"] == "thrashLayout"]
    print(f"\nlayout_thrash=1 at 6x CPU: {len(out.records['long_frames'])} long frames, "
          f"{len(scripts)} with thrashLayout; forced layout ms "
          f"{[round(s['forcedStyleAndLayoutDuration'], 1) for s in scripts[:8]]}")
    # Not every frame of the window runs the handler: at 6x, a 300-500 ms
    # frame that ran it is often followed by a short one that did not (the
    # scroll moved but no scroll event fired in it; seen in CI: 5 long
    # frames of 8, 7 of 12, the long ones 15-40 ms apart). So the known
    # answer is the attribution: several long frames, all thrashLayout's with
    # forced style and layout time, but for at most one (the window's first
    # frame can carry the page's other work).
    frames = [(round(f["startTime"]), round(f["duration"]), [s["sourceFunctionName"] for s in f["scripts"]])
              for f in out.records["long_frames"]]
    assert len(scripts) >= 3, (out.records["scroll"][0], frames)
    assert len([f for f in frames if "thrashLayout" not in f[2]]) <= 1, frames
    assert all(s["sourceURL"].endswith("/static/app.js") for s in scripts)
    assert all(s["forcedStyleAndLayoutDuration"] > 0 for s in scripts)


@pytest.mark.timing
def test_raf_frames_agree_with_presented_frames_in_a_trace(browser, chat_server) -> None:
    # Ground truth: the compositor's presented frames in a Chrome trace of the
    # same gesture (tracing slows the page, so this pass is not a measurement).
    # A rAF frame is a main-thread frame begun; the trace counts frames
    # presented with a main-thread update (PipelineReporter
    # STATE_PRESENTED_ALL) whose Commit lies in the rAF window. They differ by
    # the window's edges (one frame each end) and by main-thread frames that
    # committed but were never presented (dropped under load): allowed
    # 2 frames + 5 %.
    m = AppPage(browser, chat_server.url).open()
    try:
        scenario = ScrollScenario(ScrollConfig(**SMALL, repeat=1))
        scenario.preload(m.session)
        spot = scenario.locate(m.session)
        browser.start_tracing(page=m.page, categories=trace_frames.TRACE_CATEGORIES)
        try:
            m.page.evaluate("(name) => performance.mark(name)", trace_frames.CLOCK_SYNC_MARK)
            out = scenario.scroll_pass(m.session, spot, "up", HEADLESS_REFRESH_MS)
        finally:
            trace = json.loads(browser.stop_tracing())
    finally:
        m.close()
    record = out.records["scroll"][0]
    clock = trace_frames.page_clock(trace)
    start, end = clock.to_trace_us(record["start_ms"]), clock.to_trace_us(record["end_ms"])
    presented = [f for f in trace_frames.presented_frames(trace, clock.pid)
                 if f.commit_us is not None and start <= f.commit_us < end]
    raf = record["frames"]
    late = sum(ms > 1.5 * HEADLESS_REFRESH_MS for ms in out.metrics["scroll.frame_ms"][1])
    detail = (f"rAF frames {raf}, presented frames with a main-thread commit {len(presented)}, "
              f"apart by {raf - len(presented)} ({100 * (raf - len(presented)) / raf:.1f} %); "
              f"{late} rAF intervals over 1.5 refresh intervals")
    print("\n" + detail)
    assert abs(raf - len(presented)) <= 2 + 0.05 * raf, detail


def test_virtual_list_keeps_few_rows_and_still_paints_new_messages(browser, chat_server) -> None:
    m = AppPage(browser, chat_server.url, "render=virtual").open()
    try:
        page = m.session.page
        scenario = ScrollScenario(ScrollConfig(**SMALL, repeat=1))
        scenario.preload(m.session)
        page.wait_for_timeout(300)  # rows kept for Element Timing (100 ms) are gone by now
        rows_in_dom = page.locator("#messages .message").count()
        spot = scenario.locate(m.session)
        out = scenario.scroll_pass(m.session, spot, "up", HEADLESS_REFRESH_MS)
        back = scenario.scroll_pass(m.session, spot, "down", HEADLESS_REFRESH_MS)
        # New messages after scrolling back down: still painted, list follows them.
        results = m.run(BurstScenario(BurstConfig(bursts=2, size=20, warmup=0)))
        newest_in_view = page.evaluate("""() => {
            const list = document.querySelector('#messages');
            const rows = list.querySelectorAll('.message');
            const last = rows[rows.length - 1].getBoundingClientRect();
            const view = list.getBoundingClientRect();
            return last.bottom <= view.bottom + 1 && last.top >= view.top;
        }""")
        last_token_in_dom = page.evaluate("() => document.querySelector('#messages').textContent")
    finally:
        m.close()
    print(f"\nrender=virtual: {rows_in_dom} of 300 messages in the DOM; passes moved "
          f"{out.records['scroll'][0]['moved_px']} / {back.records['scroll'][0]['moved_px']} px")
    # A 688 px list shows about 10 rows; 5 overscan rows either side.
    assert rows_in_dom <= 40
    # Row heights not yet measured are estimated, and scroll anchoring corrects
    # scrollTop as they are: it moves by the distance within 10 %.
    assert out.records["scroll"][0]["moved_px"] == pytest.approx(SMALL["distance"], rel=0.10)
    paint = results["records"]["paint"]
    assert results["metrics"]["paint.latency_ms"]["n"] >= 0.9 * len(paint)
    assert all(r["dom"] is not None for r in paint)
    assert paint[-1]["paint"] is not None and newest_in_view
    assert paint[-1]["token"] in last_token_in_dom


def test_scroll_knobs_parse_and_bad_values_show_the_banner(page, chat_server) -> None:
    page.goto(bundled_target(chat_server.url, "scroll_work_ms=12.5&layout_thrash=1&render=virtual").url)
    knobs = page.evaluate("() => ({...window.chatApp.knobs})")
    assert (knobs["scroll_work_ms"], knobs["layout_thrash"], knobs["render"]) == (12.5, True, "virtual")
    assert page.locator("#banner").is_hidden()
    page.goto(bundled_target(chat_server.url, "scroll_work_ms=-1&layout_thrash=yes&render=windowed").url)
    knobs = page.evaluate("() => ({...window.chatApp.knobs})")
    assert (knobs["scroll_work_ms"], knobs["layout_thrash"], knobs["render"]) == (0, False, "append")
    banner = page.locator("#banner").inner_text()
    assert 'knob "scroll_work_ms"' in banner and 'knob "layout_thrash"' in banner and "expected 0 or 1" in banner
    assert "virtual" in banner  # the render choices listed
    # Both scripts of the page report into one banner: the assistant's bad knob does not hide the chat's.
    page.goto(bundled_target(chat_server.url, "work_ms=-1&assistant=carrier-pigeon").url)
    banner = page.locator("#banner").inner_text()
    assert 'knob "work_ms"' in banner and 'knob "assistant"' in banner, banner


# --- the command line: bad targets are one line, exit 3 --------------------------------

SMALL_CLI = ["--scroll-distance", "2000", "--scroll-speed", "1000", "--scroll-repeat", "1", "--no-progress"]


def test_cli_list_selector_matching_nothing_is_one_line_exit_3() -> None:
    proc = run_bench("ui", "--scenario", "scroll", "--scroll-messages", "50", "--scroll-list", "#no-such-list",
                     *SMALL_CLI)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "'#no-such-list'" in proc.stderr and "matched nothing" in proc.stderr


def test_cli_list_that_cannot_scroll_is_one_line_exit_3() -> None:
    proc = run_bench("ui", "--scenario", "scroll", "--scroll-messages", "1", *SMALL_CLI)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "cannot scroll" in proc.stderr and "fps" not in proc.stdout


def test_cli_pass_too_short_for_120_frames_is_a_usage_error() -> None:
    proc = bench_in_process("ui", "--scenario", "scroll", "--scroll-distance", "1000", "--scroll-speed", "1000")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "120 frames" in proc.stderr


