"""Interaction to Next Paint as the web-vitals library computes it, and what per-message work predicts.

Pure functions, no I/O (docs/input.md).
"""

from __future__ import annotations

import numpy as np

# web-vitals (onINP.ts / InteractionManager): it keeps the 10 longest
# interactions and reports the one at index min(len - 1, floor(count / 50)),
# count being every interaction of the page: the worst one below 50
# interactions, the second worst from 50, ... an estimate of the 98th
# percentile that needs no more than 10 kept.
MAX_INTERACTIONS_TO_CONSIDER = 10
INTERACTIONS_PER_STEP = 50


def inp(latencies: list[float], interaction_count: int | None = None) -> float | None:
    """INP of these interaction latencies (ms); None when there was no interaction.

    interaction_count: how many interactions the page had (default: one per
    latency); web-vitals takes it from performance.interactionCount.
    """
    if not latencies:
        return None
    count = len(latencies) if interaction_count is None else interaction_count
    longest = sorted(latencies, reverse=True)[:MAX_INTERACTIONS_TO_CONSIDER]
    return float(longest[min(len(longest) - 1, count // INTERACTIONS_PER_STEP)])


def predicted_delay(quantile, busy: float, work_ms: float):
    """The input delay at `quantile` of keystrokes when a share `busy` of the time goes to messages of work_ms.

    Model: a key press arrives at a moment unrelated to the messages, so it
    lands inside a message's work with probability p = busy (rate x work
    when messages do not queue), and then waits for the rest of that work,
    uniform on [0, W] (the residual of a fixed service time seen at a
    uniformly random moment within it). Its delay has CDF
    G(d) = (1 - p) + p d / W on [0, W], so the quantile q is
    d_q = W (q - (1 - p)) / p, and 0 while q <= 1 - p: the delay rises from
    0 at the percentile 100 (1 - p) to W at the 100th.
    """
    if not 0 < busy < 1:
        raise ValueError(f"busy fraction {busy:.2f} must lie in (0, 1)")
    q = np.asarray(quantile, dtype=float)
    return np.clip(work_ms * (q - (1 - busy)) / busy, 0.0, work_ms)


def covered_fraction(starts, work_ms: float, begin: float, end: float) -> float:
    """The share of [begin, end] inside some [start, start + work_ms]: the measured busy fraction."""
    spans = sorted((max(s, begin), min(s + work_ms, end)) for s in starts if s < end and s + work_ms > begin)
    covered, reach = 0.0, begin
    for lo, hi in spans:
        lo = max(lo, reach)
        if hi > lo:
            covered += hi - lo
            reach = hi
    return covered / (end - begin) if end > begin else 0.0
