"""stream.* metrics of streamed replies from the stream probe's records: pure functions, no I/O.

Definitions (docs/streaming.md), page-clock ms, per reply:
- t_req: the first request the page made after the start actions began
  (fetch() called, an EventSource created, or a WebSocket send).
- per chunk i: t_i its arrival in the page (the page's own read of the
  stream), dom_i the end of the task that made the reply's text grow after
  it, paint_i the presentation time of the frame that painted that growth
  (the first presented frame in the trace whose main-thread commit follows
  dom_i; without a trace, the frame sentinel's Element Timing).
  A chunk that adds no text (e.g. `data: [DONE]`) is counted as textless;
  so is a preamble chunk: one that came before the chunk holding the
  reply's first text (control events such as the AI SDK's start and
  text-start, or Anthropic's message_start; the probe tells them by their
  payload, bench/probes/stream.js).
- stream.first_chunk_ms = t_0 - t_req, t_0 the first chunk that is not preamble
- stream.first_paint_ms = paint of the first chunk with text - t_req
- stream.chunk_to_paint_ms = paint_i - t_i, every chunk with text
- stream.chunk_to_dom_ms = dom_i - t_i
- stream.reply_ms = paint of the last chunk with text - t_req
- stream.frame_ms, stream.fps, stream.dropped_pct: the frames from the first
  chunk's arrival to the last chunk's paint, from Chrome's frame reports in
  the trace (presented, dropped, no update wanted; bench/stats/smoothness.py,
  reported_smoothness), or where no trace could be recorded from rAF frame
  intervals as scroll.* defines them
- main-thread cost per chunk: render.stream.* (bench/probes/render_cost.py), the
  renderer's own counters (CDP Performance) from right before the start
  actions to the end of the frame that shows the last chunk, per chunk;
  and per chunk, stream.chunk_to_dom_ms: the page's handling of it (parse,
  render) up to its text in the DOM, in the task it arrived in for a UI that
  renders as chunks come
- stream.render_growth: the least-squares slope of chunk_to_dom_ms against
  the reply's length after the chunk (ms per 1000 characters), the first
  chunk with text left out (it carries the reply element's creation), one sample
  per reply; its 95 % CI is slope +/- t(0.975, n-2) * standard error
  (scipy.stats.linregress), kept in records["stream_growth"]; points far off
  a Theil-Sen line are set aside first and counted (growth_fit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..results.records import ScenarioOutput
from ..stats.smoothness import PassSmoothness, pass_smoothness, reported_smoothness

# A slope whose whole 95 % CI lies above this many ms per 1000 characters is
# named as the re-render-everything (quadratic) pattern, when it also matters
# over the replies measured: the CI's lower bound times the span of lengths
# fitted adds at least MATERIAL_GROWTH_MS to a chunk's handling. Without the
# second rule a short appending reply (187 characters, chunks 40 ms apart,
# frames 16.7 ms: a phase pattern the t CI takes for independent noise) was
# now and then named, for a growth of 0.2 ms a chunk over the whole reply.
QUADRATIC_MS_PER_KCHAR = 1.0
MATERIAL_GROWTH_MS = 1.0


# Residuals beyond this many robust standard deviations (1.4826 * MAD) of a
# Theil-Sen line are set aside before the least-squares fit: on a loaded
# machine a chunk's task time now and then includes a preemption or a GC
# tens of ms long, and one such point moves a least-squares slope by more
# than the growth it should find.
OUTLIER_ROBUST_SDS = 3.5
# The robust SD is taken as at least this (ms): where nearly every point lies
# on the line (a deterministic renderer), a fraction of a ms of timer jitter
# is not an outlier.
MIN_SPREAD_MS = 0.5


@dataclass(frozen=True)
class Growth:
    slope: float          # ms per 1000 characters
    ci: tuple[float, float]
    n: int                # points in the least-squares fit
    outliers: int = 0     # points set aside (OUTLIER_ROBUST_SDS)
    span_kchars: float = 0.0  # longest minus shortest length fitted, in 1000 characters

    def record(self, reply) -> dict:
        """Its entry in records.stream_growth (reply: an index, or "pooled")."""
        return {"reply": reply, "slope": self.slope, "ci": list(self.ci), "n": self.n, "outliers": self.outliers,
                "span_kchars": self.span_kchars}


def growth_fit(lengths, costs) -> Growth | None:
    """Least-squares slope of cost (ms) on length (characters), per 1000 characters, with its t CI.

    Method: Theil-Sen line (scipy.stats.theilslopes); points whose residual
    from it exceeds OUTLIER_ROBUST_SDS * 1.4826 * MAD are set aside; then
    scipy.stats.linregress on the rest, CI = slope +/- t(0.975, n-2) * stderr.
    """
    from scipy import stats as scipy_stats  # here, not at the top: ~0.4 s for every command that imports this

    x = np.asarray(lengths, dtype=float) / 1000
    y = np.asarray(costs, dtype=float)
    if x.size < 3 or np.ptp(x) == 0:
        return None
    robust = scipy_stats.theilslopes(y, x)
    residuals = y - (robust.intercept + robust.slope * x)
    spread = max(float(scipy_stats.median_abs_deviation(residuals, scale="normal")), MIN_SPREAD_MS)
    keep = np.abs(residuals - np.median(residuals)) <= OUTLIER_ROBUST_SDS * spread
    if keep.sum() < 3 or np.ptp(x[keep]) == 0:
        return None
    fit = scipy_stats.linregress(x[keep], y[keep])
    half = scipy_stats.t.ppf(0.975, keep.sum() - 2) * fit.stderr
    return Growth(float(fit.slope), (float(fit.slope - half), float(fit.slope + half)), int(keep.sum()),
                  int(x.size - keep.sum()), float(np.ptp(x[keep])))


def growth_note(growth: Growth, what: str) -> str | None:
    if growth.ci[0] <= QUADRATIC_MS_PER_KCHAR or growth.ci[0] * growth.span_kchars < MATERIAL_GROWTH_MS:
        return None
    return (f"stream: {what}: main-thread cost per chunk grows with the reply's length, "
            f"{growth.slope:.2f} ms per 1000 characters (95 % CI {growth.ci[0]:.2f} to {growth.ci[1]:.2f}): "
            f"the quadratic pattern (the whole reply re-rendered on every chunk: O(n) per chunk, O(n^2) per reply)")


def window_smoothness(record: dict, first: float, last: float, refresh_ms: float) -> PassSmoothness | None:
    """Frames from the first chunk's arrival to the last chunk's paint: from the trace's frame reports
    (record["frame_reports"], paints "trace") or from the page's rAF loop (record["frames"])."""
    if "frame_reports" in record:
        return reported_smoothness([state for at, state in record["frame_reports"] if first <= at <= last],
                                   refresh_ms)
    stamps = [t for t in record["frames"] if first <= t <= last]
    if len(stamps) >= 2 and stamps[-1] > stamps[0]:
        return pass_smoothness(stamps, refresh_ms)
    return None


def reply_output(record: dict, refresh_ms: float | None,
                 index: int = 0) -> tuple[ScenarioOutput, list[tuple[float, float]]]:
    """One reply's stream.* metrics, and its (length, cost) pairs for the growth fit."""
    out = ScenarioOutput()
    t_req = record["request"]["t"]
    chunks = record["chunks"]
    texty = [c for c in chunks if c["dom"] is not None]
    painted = [c for c in texty if c["paint"] is not None]
    first_chunk = next((c for c in chunks if not c.get("preamble")), chunks[0])
    out.metrics["stream.first_chunk_ms"] = ("ms", [first_chunk["t"] - t_req])
    if texty and texty[0]["paint"] is not None:
        out.metrics["stream.first_paint_ms"] = ("ms", [texty[0]["paint"] - t_req])
    out.metrics["stream.chunk_to_paint_ms"] = ("ms", [c["paint"] - c["t"] for c in painted])
    out.metrics["stream.chunk_to_dom_ms"] = ("ms", [c["dom"] - c["t"] for c in texty])
    if texty and texty[-1]["paint"] is not None:
        out.metrics["stream.reply_ms"] = ("ms", [texty[-1]["paint"] - t_req])
    out.metrics["stream.chunks"] = ("count", [len(chunks)])
    out.metrics["stream.unpainted"] = ("count", [len(texty) - len(painted)])
    out.metrics["stream.reply_chars"] = ("chars", [record["length"]])
    if refresh_ms and painted:
        smooth = window_smoothness(record, first_chunk["t"], max(c["paint"] for c in painted), refresh_ms)
        if smooth is not None:
            out.metrics["stream.frame_ms"] = ("ms", smooth.frame_ms)
            out.metrics["stream.fps"] = ("fps", [smooth.fps])
            out.metrics["stream.dropped_pct"] = ("%", [smooth.dropped_pct])
    # The growth fit leaves out the first chunk with text: its handling
    # carries the reply element's creation and first layout, a one-off.
    pairs = [(c["len"], c["dom"] - c["t"]) for c in texty[1:]]
    growth = growth_fit(*zip(*pairs)) if len(pairs) >= 3 else None
    if growth is not None:
        out.metrics["stream.render_growth"] = ("ms/1000 chars", [growth.slope])
        out.records["stream_growth"] = [growth.record(index)]
    textless = len(chunks) - len(texty)
    out.records["stream"] = [{"reply": index, "kind": record["kind"], "request": record["request"],
                              "ended": record["ended"], "refresh_ms": refresh_ms,
                              "chunks": chunks,
                              "textless_chunks": textless,
                              "preamble_chunks": sum(1 for c in chunks if c.get("preamble")),
                              "paints": record.get("paints", "sentinel")}]
    if "frame_reports" in record:
        out.records["stream"][0]["frame_reports"] = record["frame_reports"]
    return out, pairs
