"""Render-cost arithmetic (bench/probes/render_cost.py, bench/probes/trace_render.py) on readings with a known answer.

Readings are built as CDP Performance gives them (durations in seconds,
Timestamp and NavigationStart on the renderer's monotonic clock); the
Chromium side is proven in tests/test_render_cost.py.
"""

from __future__ import annotations

import pytest

from bench.probes.render import Reading
from bench.probes.render_cost import measure_window
from bench.browser.renderer_process import Renderer
from bench.report.time_spent import where_time_goes
from bench.results.records import Results
from bench.probes.trace_render import phase_ms

# No browser, no server, no clock: may run beside a timing test, in the background (tests/cpu_share.py).
pytestmark = pytest.mark.background

LOCAL = Renderer(pid=4242, browser_pid=4000)
REMOTE = Renderer(pid=None, reason="renderer process not available: the browser is remote, so ...")


def reading(t_s: float, task=0.0, script=0.0, style=0.0, layout=0.0, devtools=0.0, layouts=0, recalcs=0,
            ticks=None, wall=None, rss=None, nav=100.0) -> Reading:
    metrics = {"Timestamp": t_s, "NavigationStart": nav, "TaskDuration": task, "ScriptDuration": script,
               "V8CompileDuration": 0.0, "RecalcStyleDuration": style, "LayoutDuration": layout,
               "DevToolsCommandDuration": devtools,
               "TaskOtherDuration": task - script - style - layout - devtools,
               "ThreadTime": task, "ProcessTime": (ticks or 0) / 100, "LayoutCount": layouts,
               "RecalcStyleCount": recalcs}
    memory = None if rss is None else {"rss_bytes": rss, "pss_bytes": rss // 2, "private_bytes": rss // 4}
    return Reading(metrics, t_s if wall is None else wall, ticks, memory)


def test_a_burst_of_20_messages_over_2_s_half_busy() -> None:
    start = reading(101.0, task=5.0, script=3.0, style=0.5, layout=0.5, devtools=0.1, layouts=10, recalcs=10,
                    ticks=700)
    # 2 s later: 1 s of tasks, of which 0.8 s script, 0.02 s style, 0.04 s
    # layout, 0.03 s DevTools; 25 layouts; 1.2 s of CPU (120 ticks).
    end = reading(103.0, task=6.0, script=3.8, style=0.52, layout=0.54, devtools=0.13, layouts=35, recalcs=30,
                  ticks=820, rss=150 * 2 ** 20)
    out = measure_window(start, end, 20, LOCAL, "burst", "burst 0")
    m = {name: samples[0] for name, (unit, samples) in out.metrics.items()}
    assert m["render.main_busy_pct"] == pytest.approx(50)
    assert m["render.script_ms"] == pytest.approx(40)          # 800 ms / 20
    assert m["render.style_ms"] == pytest.approx(1)
    assert m["render.layout_ms"] == pytest.approx(2)
    assert m["render.other_ms"] == pytest.approx((1000 - 800 - 20 - 40 - 30) / 20)
    assert m["render.layouts_per_message"] == pytest.approx(25 / 20)
    assert m["render.style_recalcs_per_message"] == pytest.approx(1)
    assert m["render.renderer_cpu_pct"] == pytest.approx(60)    # 1.2 s of CPU in 2 s
    assert m["render.renderer_rss_mb"] == pytest.approx(150)
    assert out.metrics["render.script_ms"][0] == "ms/message"
    record = out.records["render"][0]
    assert record["window_ms"] == pytest.approx(2000) and record["devtools_ms"] == pytest.approx(30)
    assert record["start_page_ms"] == pytest.approx(1000) and record["end_page_ms"] == pytest.approx(3000)
    assert not out.notes


def test_a_scroll_pass_is_per_frame_under_its_own_names() -> None:
    out = measure_window(reading(101.0), reading(103.0, task=0.5, script=0.24, layouts=0), 120, LOCAL,
                         "scroll", "scroll pass 0")
    assert out.metrics["render.scroll.script_ms"] == ("ms/frame", [pytest.approx(2)])
    assert out.metrics["render.scroll.main_busy_pct"] == ("%", [pytest.approx(25)])
    assert "render.scroll.layouts_per_frame" in out.metrics
    assert not any(name.startswith("render.") and not name.startswith("render.scroll.") for name in out.metrics)


def test_no_renderer_process_means_no_cpu_or_memory_and_the_reason() -> None:
    out = measure_window(reading(101.0), reading(102.0, task=0.2), 10, REMOTE, "burst", "burst 0")
    assert "render.main_busy_pct" in out.metrics
    assert "render.renderer_cpu_pct" not in out.metrics and "render.renderer_rss_mb" not in out.metrics
    assert out.notes == [REMOTE.reason]
    assert out.records["render"][0]["renderer_reason"] == REMOTE.reason


@pytest.mark.parametrize("end, reason", [
    (None, "the page's end-of-window stamp never arrived"),
    (reading(102.0, nav=200.0), "the page navigated inside the window"),
    (reading(100.5), "the counters went backwards"),
])
def test_readings_that_do_not_bracket_one_document_give_a_note_not_a_number(end, reason) -> None:
    out = measure_window(reading(101.0, task=1.0), end, 10, LOCAL, "burst", "burst 3")
    assert not out.metrics
    assert out.notes[0].startswith("render: burst 3: not measured: ") and reason in out.notes[0]


def test_where_the_time_goes_block_from_results() -> None:
    results = Results(env={}, config={})
    for i in range(3):
        start = reading(101.0 + 3 * i, task=1.0, script=0.5, devtools=0.05, ticks=100)
        end = reading(102.0 + 3 * i, task=1.5, script=0.7, layout=0.01, devtools=0.07, layouts=10, recalcs=10,
                      ticks=150, rss=100 * 2 ** 20)
        results.add(0, measure_window(start, end, 100, LOCAL, "burst", f"burst {i}"))
    block = where_time_goes(results.to_json())
    assert block[0] == "" and block[1] == "where the time goes: burst (medians of 3 bursts)"
    assert block[2] == ("  main thread busy  50.0 % of each burst (first injection to the end of the frame "
                        "that shows its last message)")
    assert "script 2.00 ms, style 0.00 ms, layout 0.10 ms" in block[3]
    assert "bench's CDP commands 0.20 ms" in block[3]
    assert "0.10 layouts, 0.10 style recalcs" in block[4]
    assert block[5] == "  renderer process  CPU 50 % of one core (all its threads), RSS 100.0 MiB"
    assert where_time_goes({"metrics": {}, "records": {}}) == []


def trace_with(events: list[dict]) -> list[dict]:
    meta = {"ph": "M", "name": "thread_name", "pid": 7, "tid": 1, "args": {"name": "CrRendererMain"}}
    other = {"ph": "M", "name": "thread_name", "pid": 7, "tid": 2, "args": {"name": "Compositor"}}
    return [meta, other, *({"ph": "X", "pid": 7, "tid": 1, **e} for e in events)]


def test_trace_phases_count_nested_events_once_and_clip_to_the_window() -> None:
    trace = trace_with([
        {"name": "Paint", "ts": 1000, "dur": 300},           # the document...
        {"name": "Paint", "ts": 1010, "dur": 200},           # ...and a layer inside it: 300 us, not 500
        {"name": "PrePaint", "ts": 900, "dur": 100},
        {"name": "Commit", "ts": 1400, "dur": 1000},         # half of it after the window's end
        {"name": "Layout", "ts": 500, "dur": 200},           # before the window
        {"name": "UpdateLayoutTree", "ts": 950, "dur": 10},
        {"name": "Paint", "ts": 1200, "dur": 500, "tid": 2},  # another thread: not counted
    ])
    phases = phase_ms(trace, 7, 800, 1900)
    assert phases == {"style": pytest.approx(0.01), "layout": 0, "paint": pytest.approx(0.4),
                      "commit": pytest.approx(0.5)}
    with pytest.raises(ValueError, match="no CrRendererMain thread for pid 8"):
        phase_ms(trace, 8, 0, 1)


def test_cpu_wait_is_the_main_threads_run_queue_wait_over_the_time_it_wanted_a_cpu() -> None:
    start, end = reading(101.0, task=5.0), reading(103.0, task=6.0)
    start.sched_ms, end.sched_ms = (1000.0, 50.0), (1300.0, 150.0)  # ran 300 ms, waited 100 ms
    out = measure_window(start, end, 20, LOCAL, "scroll", "pass 0")
    assert out.metrics["render.scroll.cpu_wait_pct"][1] == [pytest.approx(25.0)]
    assert out.records["render"][0]["main_thread_wait_ms"] == pytest.approx(100)
    start.sched_ms = None  # no schedstat on this kernel: no figure, never a guess
    assert "render.scroll.cpu_wait_pct" not in measure_window(start, end, 20, LOCAL, "scroll", "pass 0").metrics
