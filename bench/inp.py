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


def busy_fraction(rate_per_s: float, work_ms: float) -> float:
    """The share of the time the main thread spends on messages: rate x work (must stay below 1)."""
    return rate_per_s * work_ms / 1000.0


def predicted_delay(quantile, rate_per_s: float, work_ms: float, tasks: int = 2):
    """The input delay at `quantile` of keystrokes when messages of work_ms arrive at rate_per_s.

    Model: each of a keystroke's `tasks` input tasks (press, release) arrives
    at a moment unrelated to the messages, so it lands inside a message's work
    with probability p = rate x work (the busy fraction), and then waits for
    the rest of that work, uniform on [0, W] (the residual of a fixed service
    time seen at a uniformly random moment within it). One task's delay has
    CDF G(d) = (1 - p) + p d / W on [0, W]; the keystroke's is the longest of
    its tasks, CDF G(d)^tasks, so its quantile q is
    d_q = W (q^(1/tasks) - (1 - p)) / p, and 0 while q^(1/tasks) <= 1 - p.
    """
    p = busy_fraction(rate_per_s, work_ms)
    if not 0 < p < 1:
        raise ValueError(f"busy fraction {p:.2f} must lie in (0, 1)")
    q = np.asarray(quantile, dtype=float) ** (1.0 / tasks)
    return np.clip(work_ms * (q - (1 - p)) / p, 0.0, work_ms)
