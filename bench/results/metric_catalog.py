"""What bench knows about each metric name: which way is better, and whether it is gated.

Budgets and compare work on metric names alone (docs/architecture.md). Metric
names that scenarios produce are listed in KNOWN_METRICS, so a typo in a
budget file is caught before a run instead of being reported as "not
measured". A scenario that adds a metric adds its name here (one line).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from ..stats.difference import HIGHER, LOWER, NONE

# name -> which way is better. From docs/metrics.md and the open issues,
# including metrics other scenarios are still being built for.
KNOWN_METRICS: dict[str, str] = {
    # message-to-paint (burst scenario)
    "paint.latency_ms": LOWER,      # t_recv -> the frame that shows the message (Element Timing); on-screen only
    "paint.presented_ms": LOWER,    # t_recv -> the first frame presented after it entered the DOM; every message
    "paint.recv_to_dom_ms": LOWER,
    "paint.dom_to_paint_ms": LOWER,
    "paint.injected": NONE,
    "paint.unpainted": LOWER,
    "paint.no_socket": LOWER,  # not injected: the page had no socket open (docs/protocols.md)
    "burst.settle_ms": LOWER,
    # scroll smoothness
    "scroll.fps": HIGHER,
    "scroll.frame_ms": LOWER,
    "scroll.dropped_pct": LOWER,
    "scroll.long_frames": LOWER,
    "scroll.refresh_ms": NONE,
    # memory trend
    "heap.used_bytes": LOWER,
    "heap.slope_bytes_per_cycle": LOWER,
    "heap.listeners_per_cycle": LOWER,
    "heap.nodes_per_cycle": LOWER,
    "heap.documents_per_cycle": LOWER,
    "heap.bytes_per_message": LOWER,
    "heap.verdict": LOWER,  # a word: stable is good (GOOD_WORDS)
    "heap.listeners": LOWER,
    "heap.nodes": LOWER,
    "heap.documents": LOWER,
    "heap.renderer_private_bytes": LOWER,
    "heap.reconnect_ms": NONE,                       # how fast the app reconnects: context, not gated
    "heap.slope_ci95_low_bytes_per_cycle": NONE,     # the slope's CI bounds: read with the slope
    "heap.slope_ci95_high_bytes_per_cycle": NONE,
    "heap.suspects": NONE,
    # where the time goes (render cost, bench/probes/render_cost.py): per burst, and per scroll pass.
    # Not gated by default: diagnostics of a latency or frame-rate change, and
    # main-thread wall times stretch with the machine's load; gate them with
    # --gate 'render.*' where the machine is quiet.
    "render.main_busy_pct": LOWER,
    "render.script_ms": LOWER,
    "render.style_ms": LOWER,
    "render.layout_ms": LOWER,
    "render.paint_ms": LOWER,
    "render.other_ms": LOWER,
    "render.layouts_per_message": LOWER,
    "render.style_recalcs_per_message": LOWER,
    "render.renderer_cpu_pct": LOWER,
    "render.renderer_rss_mb": LOWER,
    # Other processes' share of the machine's CPUs during a repetition (bench.browser.host_load): context.
    "host.other_cpu_pct": NONE,
    # The renderer main thread's wait for a CPU, bench's and the browser's processes included (context).
    "render.cpu_wait_pct": NONE,
    "render.scroll.cpu_wait_pct": NONE,
    "render.stream.cpu_wait_pct": NONE,
    "render.scroll.main_busy_pct": LOWER,
    "render.scroll.script_ms": LOWER,
    "render.scroll.style_ms": LOWER,
    "render.scroll.layout_ms": LOWER,
    "render.scroll.other_ms": LOWER,
    "render.scroll.layouts_per_frame": LOWER,
    "render.scroll.style_recalcs_per_frame": LOWER,
    "render.scroll.renderer_cpu_pct": LOWER,
    "render.scroll.renderer_rss_mb": LOWER,
    # streamed replies (stream scenario): definitions in docs/streaming.md
    "stream.first_chunk_ms": LOWER,
    "stream.first_paint_ms": LOWER,
    "stream.chunk_to_paint_ms": LOWER,
    "stream.chunk_to_dom_ms": LOWER,
    "stream.reply_ms": LOWER,
    "stream.frame_ms": LOWER,
    "stream.fps": HIGHER,
    "stream.dropped_pct": LOWER,
    "stream.render_growth": LOWER,
    "stream.chunks": NONE,
    "stream.unpainted": LOWER,
    "stream.reply_chars": NONE,
    "stream.refresh_ms": NONE,
    "render.stream.main_busy_pct": LOWER,
    "render.stream.script_ms": LOWER,
    "render.stream.style_ms": LOWER,
    "render.stream.layout_ms": LOWER,
    "render.stream.other_ms": LOWER,
    "render.stream.layouts_per_chunk": LOWER,
    "render.stream.style_recalcs_per_chunk": LOWER,
    "render.stream.renderer_cpu_pct": LOWER,
    "render.stream.renderer_rss_mb": LOWER,
    # server side
    "throughput.msgs_per_s": HIGHER,
    "throughput.latency_ms": LOWER,
    "throughput.delivery_ratio": HIGHER,
    "throughput.errors": LOWER,
    "throughput.max_sustainable_msgs_per_s": HIGHER,
    "throughput.offered_msgs_per_s": NONE,       # what was asked for
    "throughput.sent_msgs_per_s": NONE,          # what the generator managed
    "connections.stability_pct": HIGHER,
    "connections.disconnects": LOWER,
    "connections.heartbeats_sent": NONE,
    "connections.heartbeats_answered": NONE,
    "connections.rtt_ms": LOWER,
    "connections.connect_ms": LOWER,
    "connections.connect_errors": LOWER,
    "connections.server_bytes_per_connection": LOWER,
    "connections.server_rss_bytes": LOWER,
    "connections.clients": NONE,
    "connections.generator_lag_ms": NONE,        # the load generator's own health
    # bench calibrate
    "page.refresh_ms": NONE,
    # input responsiveness (docs/input.md); per phase, calm and busy (messages arriving)
    "input.inp_ms": LOWER,
    **{f"input.{phase}.{name}": direction for phase in ("calm", "busy") for name, direction in (
        ("key_to_paint_ms", LOWER), ("input_delay_ms", LOWER), ("processing_ms", LOWER), ("inp_ms", LOWER),
        ("send_to_echo_ms", LOWER), ("keystrokes", NONE), ("fast_keystrokes", NONE), ("long_frames", LOWER))},
}

# For metrics whose value is a word: the words that are fine.
GOOD_WORDS: dict[str, frozenset[str]] = {"heap.verdict": frozenset({"stable"})}

# Gated by default (issue 5): every latency, fps, dropped-frame and heap metric.
DEFAULT_GATE = ("*latency*", "*.fps", "*dropped*", "heap.*", "*key_to_paint*")

# Smallest change that counts, in the metric's unit, where a relative
# threshold alone is meaningless because the baseline sits near zero.
ABSOLUTE_FLOORS: dict[str, float] = {
    "scroll.dropped_pct": 1.0,            # one percentage point of frames
    "scroll.long_frames": 1.0,            # one long frame
    "heap.listeners_per_cycle": 0.5,      # a leak adds whole listeners per cycle
    "heap.nodes_per_cycle": 0.5,
    "heap.documents_per_cycle": 0.5,
    "heap.slope_bytes_per_cycle": 16384,  # 16 KiB a cycle: below the GC's own jitter
    "paint.unpainted": 1.0,
    "input.calm.long_frames": 1.0,
    "input.busy.long_frames": 1.0,
    # Event Timing rounds durations to 8 ms: a change smaller than one step is not one.
    "input.inp_ms": 8.0,
    "input.calm.inp_ms": 8.0,
    "input.busy.inp_ms": 8.0,
    # One CPU clock tick (10 ms) over a default burst of ~100 ms is 10 points.
    "render.renderer_cpu_pct": 10.0,
    "render.scroll.renderer_cpu_pct": 10.0,
    "render.main_busy_pct": 2.0,
    "render.scroll.main_busy_pct": 2.0,
    "render.layouts_per_message": 0.1,        # a layout per 10 messages
    "render.style_recalcs_per_message": 0.1,
    "render.scroll.layouts_per_frame": 0.1,
    "render.scroll.style_recalcs_per_frame": 0.1,
    "render.renderer_rss_mb": 2.0,            # allocator pages come and go by the MiB
    "render.scroll.renderer_rss_mb": 2.0,
    "stream.unpainted": 1.0,
    "stream.dropped_pct": 1.0,
    "stream.render_growth": 1.0,              # ms per 1000 characters: a slope near 0 is noise
    "render.stream.main_busy_pct": 2.0,
}

# Name patterns for metrics not (yet) listed above, checked in order.
_DIRECTION_PATTERNS = (
    ("*fps*", HIGHER), ("*per_s", HIGHER), ("*stability*", HIGHER),
    ("*latency*", LOWER), ("*_ms", LOWER), ("*dropped*", LOWER), ("heap.*", LOWER), ("*bytes*", LOWER),
)


# A results file of a pytest session (bench.pytest_plugin) keeps each test's
# metrics apart as "<test id>::<metric>", e.g.
# "tests/test_chat.py::test_burst[chromium]::paint.latency_ms". What is known
# about a metric holds for it under any test: lookups use the part after the
# last "::" (metric names never contain "::").
QUALIFIER_SEPARATOR = "::"


def base_metric(name: str) -> str:
    """'tests/t.py::test_x::paint.latency_ms' -> 'paint.latency_ms'; a plain name is itself."""
    return name.rpartition(QUALIFIER_SEPARATOR)[2]


def good_words(name: str) -> frozenset[str]:
    return GOOD_WORDS.get(base_metric(name), frozenset())


@dataclass(frozen=True)
class MetricInfo:
    name: str
    direction: str  # LOWER | HIGHER | NONE: which way is better
    floor: float    # absolute noise floor in the metric's unit


def direction_of(name: str) -> str:
    name = base_metric(name)
    if name in KNOWN_METRICS:
        return KNOWN_METRICS[name]
    for pattern, direction in _DIRECTION_PATTERNS:
        if fnmatch.fnmatchcase(name, pattern):
            return direction
    return NONE


def info(name: str) -> MetricInfo:
    return MetricInfo(name, direction_of(name), ABSOLUTE_FLOORS.get(base_metric(name), 0.0))


def is_gated(name: str, patterns) -> bool:
    """Gated when a pattern matches (the name, or its metric without the test id) and the
    metric has a better direction (counts never are)."""
    names = {name, base_metric(name)}
    return direction_of(name) != NONE and any(fnmatch.fnmatchcase(n, p) for p in patterns for n in names)


def parse_gate(text: str) -> tuple[str, ...]:
    """--gate 'paint.latency_ms,scroll.*' -> patterns; 'none' or '' -> nothing gated."""
    patterns = tuple(p.strip() for p in text.split(",") if p.strip())
    return () if patterns == ("none",) else patterns
