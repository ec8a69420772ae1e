"""Figures of a results dict, as inline SVG text (matplotlib, no pyplot, no files, no network).

Each function takes the results JSON (bench/results/records.py) and returns a list
of Plot (title, svg, caption); an empty list when the run has nothing to
show for it. Formatting only: every number plotted is a raw sample or a
record the scenarios kept; percentiles come from numpy as everywhere else.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure

LONG_FRAME_MS = 50          # Long Animation Frames' threshold, drawn on the frame strips
MAX_PASSES_DRAWN = 8        # frame strips: the first passes, one row each
RASTERIZE_ABOVE = 3000      # more points than this become one embedded PNG (a data: URI) in the SVG
STYLE = {"svg.hashsalt": "bench", "svg.fonttype": "path", "font.size": 9, "axes.grid": True,
         "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False}
# Which scenario a metric belongs to, by name prefix (for the per-scenario distributions).
SCENARIO_OF_PREFIX = {"paint": "burst", "burst": "burst", "scroll": "scroll", "heap": "cycles"}
PRIMARY = ("paint.latency_ms", "scroll.frame_ms", "heap.reconnect_ms")


@dataclass(frozen=True)
class Plot:
    title: str
    svg: str
    caption: str


def svg_text(figure: Figure) -> str:
    """The figure as an <svg> element for inline HTML: no XML prolog, doctype or metadata block."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _ms_metrics_by_scenario(results: dict) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for name, metric in results["metrics"].items():
        if metric.get("unit") == "ms" and metric.get("n", 0) >= 2 and "p50" in metric:
            scenario = SCENARIO_OF_PREFIX.get(name.split(".")[0], name.split(".")[0])
            groups.setdefault(scenario, []).append(name)
    return groups


def latency_distributions(results: dict) -> list[Plot]:
    """Per scenario: a histogram of its main latency, and the CDF of every latency it measured."""
    plots = []
    for scenario, names in _ms_metrics_by_scenario(results).items():
        primary = next((n for n in PRIMARY if n in names), max(names, key=lambda n: results["metrics"][n]["n"]))
        with rc_context(STYLE):
            figure = _figure(9, 3.2)
            hist, cdf = figure.subplots(1, 2)
            samples = np.asarray(results["metrics"][primary]["samples"], dtype=float)
            hist.hist(samples, bins=min(60, max(10, samples.size // 10)), color="#4477aa")
            for q, style in ((50, "-"), (95, "--")):
                value = np.percentile(samples, q)
                hist.axvline(value, color="#cc3311", linestyle=style, label=f"p{q} {value:.1f} ms")
            hist.set_xlabel(f"{primary} (ms)")
            hist.set_ylabel("samples")
            hist.legend(loc="upper right")
            for name in names:
                values = np.sort(np.asarray(results["metrics"][name]["samples"], dtype=float))
                cdf.step(values, np.arange(1, values.size + 1) / values.size, where="post",
                         label=f"{name} (n={values.size})")
            cdf.set_xlabel("ms")
            cdf.set_ylabel("fraction of samples at or below")
            cdf.set_ylim(0, 1.02)
            cdf.legend(loc="lower right", fontsize=7)
            svg = svg_text(figure)
        plots.append(Plot(f"{scenario}: distribution of {primary}", svg,
                          f"Histogram of every {primary} sample (p50 and p95 marked) and the empirical CDF of "
                          f"every millisecond metric of the {scenario} scenario."))
    return plots


def burst_timeline(results: dict) -> list[Plot]:
    """Message-to-paint of every message against its arrival time, burst by burst."""
    records = [r for r in results.get("records", {}).get("paint", []) if r.get("recv") is not None]
    if not records:
        return []
    with rc_context(STYLE):
        figure = _figure(9, 3.4)
        axes = figure.subplots()
        repetitions = sorted({r.get("repetition", 0) for r in records})
        for repetition in repetitions:
            own = [r for r in records if r.get("repetition", 0) == repetition]
            origin = min(r["recv"] for r in own)
            painted = [r for r in own if r.get("paint") is not None]
            x = np.array([(r["recv"] - origin) / 1000 for r in painted])
            y = np.array([r["paint"] - r["recv"] for r in painted])
            label = f"repetition {repetition + 1}" if len(repetitions) > 1 else "one message"
            axes.scatter(x, y, s=4, alpha=0.5, label=label, rasterized=len(records) > RASTERIZE_ABOVE)
            for burst in sorted({r.get("burst") for r in painted if r.get("burst") is not None}):
                mine = [r for r in painted if r.get("burst") == burst]
                start = (min(r["recv"] for r in mine) - origin) / 1000
                end = (max(r["recv"] for r in mine) - origin) / 1000
                median = float(np.median([r["paint"] - r["recv"] for r in mine]))
                axes.plot([start, max(end, start + 0.02)], [median, median], color="black", linewidth=2)
            unpainted = [(r["recv"] - origin) / 1000 for r in own if r.get("paint") is None]
            if unpainted:
                axes.plot(unpainted, np.zeros(len(unpainted)), "|", color="#cc3311", markersize=8,
                          label=f"never painted ({len(unpainted)})")
        axes.plot([], [], color="black", linewidth=2, label="burst median")
        axes.set_xlabel("message arrival (s since the first measured message of the repetition)")
        axes.set_ylabel("paint.latency_ms")
        axes.legend(loc="upper right", fontsize=7)
        svg = svg_text(figure)
    return [Plot("burst: message-to-paint over time", svg,
                 "Each dot is one message: when it reached the page (t_recv) and how long until the frame that "
                 "painted it. Black bars: each burst's median. Red ticks at 0: messages never painted.")]


def _passes_with_frames(results: dict) -> list[tuple[dict, np.ndarray]]:
    """Each scroll pass record with its frame intervals (the scroll.frame_ms block of that pass)."""
    passes = results.get("records", {}).get("scroll", [])
    metric = results["metrics"].get("scroll.frame_ms")
    if not passes or not metric:
        return []
    bounds = np.cumsum([0, *metric["blocks"]])
    samples = np.asarray(metric["samples"], dtype=float)
    blocks = [samples[bounds[i]:bounds[i + 1]] for i in range(len(metric["blocks"]))]
    # A block is one sink() call, one pass; a mismatch means the records are not what this expects.
    if len(blocks) != len(passes) or any(len(b) != p["frames"] for b, p in zip(blocks, passes)):
        return []
    return list(zip(passes, blocks))


def frame_strips(results: dict) -> list[Plot]:
    """Frame intervals of each scroll pass over time, long animation frames shaded."""
    pairs = _passes_with_frames(results)[:MAX_PASSES_DRAWN]
    if not pairs:
        return []
    long_frames = results.get("records", {}).get("long_frames", [])
    with rc_context(STYLE):
        figure = _figure(9, 1.3 + 1.25 * len(pairs))
        axes_list = figure.subplots(len(pairs), 1, sharex=True, squeeze=False)[:, 0]
        for axes, (record, intervals) in zip(axes_list, pairs):
            ends = np.cumsum(intervals)
            axes.bar(ends - intervals, intervals, width=intervals, align="edge", color="#4477aa",
                     edgecolor="white", linewidth=0.3)
            axes.axhline(record["refresh_ms"], color="#228833", linewidth=1,
                         label=f"refresh {record['refresh_ms']:.1f} ms")
            axes.axhline(LONG_FRAME_MS, color="#cc3311", linewidth=1, linestyle="--", label=f"{LONG_FRAME_MS} ms")
            mine = [f for f in long_frames if f.get("pass") == record["pass"]
                    and f.get("repetition", 0) == record.get("repetition", 0)]
            for frame in mine:
                start = frame["startTime"] - record["start_ms"]
                axes.axvspan(start, start + frame["duration"], color="#ee7733", alpha=0.3)
            axes.set_ylabel("ms")
            axes.set_title(f"repetition {record.get('repetition', 0) + 1}, pass {record['pass']} "
                           f"({record['direction']}): {record['frames']} frames, {record['dropped_frames']} dropped, "
                           f"{len(mine)} long", fontsize=8, loc="left")
            axes.set_ylim(0, max(LONG_FRAME_MS * 1.2, float(intervals.max()) * 1.1))
        axes_list[0].legend(loc="upper right", fontsize=7)
        axes_list[-1].set_xlabel("ms since the pass's first frame")
        svg = svg_text(figure)
    return [Plot("scroll: frame times during each gesture pass", svg,
                 "One bar per frame interval (requestAnimationFrame timestamps) over the gesture window; green: "
                 "the idle refresh interval; dashed red: 50 ms; orange spans: long animation frames.")]


def heap_trends(results: dict) -> list[Plot]:
    """Heap, listeners and nodes after each reconnect cycle, with the fitted least-squares line."""
    samples = results.get("records", {}).get("heap", [])
    verdicts = {v.get("repetition", 0): v for v in results.get("records", {}).get("heap.verdict", [])}
    if not samples:
        return []
    panels = (("used_bytes", "heap used (KB)", 1 / 1024, "KB", "heap", "expected_bytes_per_cycle"),
              ("listeners", "JS event listeners", 1, "listeners", "listeners", "expected_per_cycle"),
              ("nodes", "DOM nodes", 1, "nodes", "nodes", "expected_per_cycle"))
    with rc_context(STYLE):
        figure = _figure(9, 3.0)
        axes_list = figure.subplots(1, 3)
        for axes, (field, label, scale, unit, signal, expected_key) in zip(axes_list, panels):
            for repetition in sorted({s.get("repetition", 0) for s in samples}):
                own = sorted((s for s in samples if s.get("repetition", 0) == repetition), key=lambda s: s["cycle"])
                x = np.array([s["cycle"] for s in own], dtype=float)
                y = np.array([s[field] for s in own], dtype=float) * scale
                axes.plot(x, y, "o", markersize=4, label=f"repetition {repetition + 1}")
                fit = verdicts.get(repetition, {}).get("signals", {}).get(signal)
                if fit and fit.get("slope") is not None:
                    # The fit is of the series with expected history growth taken out; add it back.
                    slope = fit["slope"] + fit.get(expected_key, 0.0)
                    axes.plot(x, (fit["intercept"] + slope * x) * scale, "-", color="#cc3311", linewidth=1,
                              label=f"fit: {slope * scale:+.2f} {unit}/cycle")
            axes.set_xlabel("cycle (0 = after warm-up)")
            axes.set_title(label, fontsize=9)
            axes.legend(loc="best", fontsize=7)
        svg = svg_text(figure)
    words = [f"repetition {r + 1}: {v.get('verdict')}" for r, v in sorted(verdicts.items())]
    return [Plot("cycles: memory after each reconnect", svg,
                 "After each far-side close and reconnect: used JS + embedder heap, listeners and DOM nodes "
                 "(after forced GC), with the least-squares line of the leak verdict. " + "; ".join(words))]


def all_plots(results: dict) -> list[Plot]:
    return [*latency_distributions(results), *burst_timeline(results), *frame_strips(results),
            *heap_trends(results)]
