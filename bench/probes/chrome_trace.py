"""Chrome performance trace (JSON) of an unmeasured pass, for DevTools' Performance panel and Perfetto UI.

Tracing costs the page time (every task, frame and JS sample is written out),
so bench never traces a measured run: the trace comes from a separate pass
(bench/run/unmeasured.py). The JSON is Chromium's own trace format, as Playwright's
browser.stop_tracing() returns it: DevTools > Performance > Load profile, or
https://ui.perfetto.dev, open it as is.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from .trace_frames import CLOCK_SYNC_MARK, TRACE_CATEGORIES

# What DevTools' Performance panel records (devtools-frontend TimelineController):
# tasks and frames, JS samples with stacks (v8.cpu_profiler: the flame chart),
# console and user timing marks, loading, input latency; target-rundown names
# the frames and processes. Plus what bench.probes.trace_frames reads (cc, benchmark).
DEVTOOLS_CATEGORIES = [
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "disabled-by-default-devtools.timeline.frame",
    "disabled-by-default-devtools.timeline.stack",
    "disabled-by-default-devtools.target-rundown",
    "disabled-by-default-v8.cpu_profiler",
    "v8.execute",
    "blink.console",
    "blink.user_timing",
    "loading",
    "latencyInfo",
]
CATEGORIES = list(dict.fromkeys(TRACE_CATEGORIES + DEVTOOLS_CATEGORIES))


@contextlib.contextmanager
def chrome_trace(browser, page, path: str | Path):
    """Trace everything inside the block into `path`; the page clock is tied to it by CLOCK_SYNC_MARK.

    The one recorder of bench's Chrome traces: `bench ui --trace`'s pass (bench/run/unmeasured.py)
    and the pytest plugin's `--bench-trace` rerun (bench/plugin/chat_bench.py) both record with it.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    browser.start_tracing(page=page, categories=CATEGORIES)
    try:
        page.evaluate("(name) => performance.mark(name)", CLOCK_SYNC_MARK)
        yield
    finally:
        data = browser.stop_tracing()
        Path(path).write_bytes(data)
