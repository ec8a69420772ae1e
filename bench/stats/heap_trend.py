"""Memory trend over reconnect cycles: the fitted growth per cycle and the sequential leak verdict.

Pure functions over per-cycle series (index 0 = after warm-up, then one
value per measured cycle), no I/O.

Growth per cycle is the least-squares slope of value against cycle index
(numpy.polyfit, degree 1) with its Student-t confidence interval,
slope +/- t(q, n - 2) * stderr (stderr from polyfit's covariance, the
quantile from scipy.special.stdtrit; the numbers of scipy.stats.linregress,
tests/test_heap_analysis.py checks, without importing scipy.stats, which
costs about 1 s of CPU). The reported CI is the 95 % one.

The verdict is a sequential test (docs/memory.md, "Verdict"): it is looked
at after every measured cycle and cycling stops as soon as it decides.

- Heap: a group-sequential test by repeated confidence intervals (Jennison
  and Turnbull, "Group Sequential Methods", ch. 9). At look k (k measured
  cycles, n = k + 1 points) the one-sided levels alpha_k and beta_k are
  spent from alpha = beta = 0.025 by the power-family spending function
  alpha * t^rho with rho = 1 (Kim and DeMets 1987), where t is the
  information fraction: the slope's information n(n^2 - 1)/12 (its inverse
  variance, up to sigma^2) over that of the last allowed look. Leak when
  slope - t(1 - alpha_k, n - 2) * stderr > threshold; stable when
  slope + t(1 - beta_k, n - 2) * stderr < threshold. The looks' levels are
  combined by Bonferroni (the increments sum to alpha), so whatever the
  correlation between looks: P(leak | growth <= threshold) <= alpha and
  P(stopped as stable early | growth >= threshold) <= beta, for a line with
  independent normal errors (exact t quantiles). Looks start at 3 cycles
  (a t with 1 degree of freedom decides nothing at these levels). If no
  bound is crossed by the last allowed cycle, growth is not established
  and the verdict is stable, as a fixed-length test at that cycle would say.
- Counters (DOM nodes, documents, JS event listeners): leak when the counter
  rose in every one of the first K = min(5, cycles) cycles. Under no leak
  the per-cycle values are exchangeable (no trend), and a strictly rising
  run of K + 1 exchangeable values has probability at most 1/(K + 1)!
  (ties only lower it): 1/720 for K = 5, so 3/720 < 0.5 % for the three
  counters. The event is nested (it needs the same first K cycles at every
  later look), so looking after every cycle costs nothing. A counter that
  did not rise in some cycle can no longer fire: ruled out.
- Expected growth (chat history from --cycle-messages, measured apart as
  bytes and nodes per message) is subtracted before either test.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .. import background_import

CI_LEVEL = 0.95
# Heap growth per cycle that counts as a leak. The plain bundled app's fitted
# slope stays within a few KB of zero (tests/test_cycles.py); 64 KB/cycle is
# far above that noise and far below the known 200 KB leak.
DEFAULT_THRESHOLD_BYTES = 64 * 1024
COUNTERS = ("listeners", "nodes", "documents")
ALPHA = 0.025       # one-sided: P(leak | heap growth <= threshold), over all looks
BETA = 0.025        # one-sided: P(stopped as stable early | heap growth >= threshold), over all looks
SPENDING_RHO = 1.0  # alpha * t^rho: rho = 1 spends in proportion to information (Pocock-like)
FIRST_LOOK = 3      # cycles before the heap test's first look
COUNTER_CYCLES = 5  # a counter rising in each of the first 5 cycles fires (1/720 by chance)


def preload() -> None:
    """Import scipy.special in a thread while the browser works (cycles wait on it)."""
    background_import.start("scipy.special")


@dataclass(frozen=True)
class Trend:
    slope: float
    ci_low: float
    ci_high: float
    intercept: float
    n: int
    stderr: float = 0.0


def linear_trend(values) -> Trend:
    """Least-squares slope per cycle with its t-based 95 % CI (needs 3+ points)."""
    from scipy.special import stdtrit  # not at the top: see preload()

    y = np.asarray(values, dtype=float)
    n = int(y.size)
    if n < 3:
        raise ValueError(f"a trend with a confidence interval needs 3 points, got {n}")
    x = np.arange(n, dtype=float)
    # Fitted to y - y[0] (the same slope): a series that never changes, as a
    # stable page's DOM counters do, then gives a slope of exactly 0, not 1e-15.
    (slope, intercept), cov = np.polyfit(x, y - y[0], 1, cov=True)
    stderr = float(np.sqrt(cov[0, 0]))
    half = stdtrit(n - 2, 0.5 + CI_LEVEL / 2) * stderr
    return Trend(float(slope), float(slope - half), float(slope + half), float(intercept + y[0]), n, stderr)


@dataclass(frozen=True)
class SequentialPlan:
    """When the heap test looks and how much of alpha and beta each look spends."""

    max_cycles: int
    alpha: float = ALPHA
    beta: float = BETA
    rho: float = SPENDING_RHO

    @property
    def first_look(self) -> int:
        return min(FIRST_LOOK, self.max_cycles)

    @property
    def counter_cycles(self) -> int:
        return min(COUNTER_CYCLES, self.max_cycles)

    def looks(self) -> list[int]:
        return list(range(max(self.first_look, 2), self.max_cycles + 1))

    def spent(self, cycles: int) -> tuple[float, float]:
        """(alpha_k, beta_k) of the look after `cycles` cycles: the spending function's increments."""
        looks = self.looks()
        info = np.array([(k + 1) * ((k + 1) ** 2 - 1) / 12 for k in looks], dtype=float)
        cumulative = (info / info[-1]) ** self.rho
        increments = np.diff(np.concatenate([[0.0], cumulative]))
        share = float(increments[looks.index(cycles)])
        return self.alpha * share, self.beta * share


def without_expected(values, per_cycle: float) -> np.ndarray:
    """The series with `per_cycle` growth per cycle index taken out."""
    y = np.asarray(values, dtype=float)
    return y - per_cycle * np.arange(y.size)


def grows_every_cycle(values) -> bool:
    y = np.asarray(values, dtype=float)
    return y.size >= 2 and bool(np.all(np.diff(y) >= 1))


def _kb(value: float) -> str:
    return f"{value / 1024:.1f} KiB"


def heap_look(values, threshold_bytes: float, plan: SequentialPlan) -> dict:
    """The heap test at one look (len(values) - 1 cycles): its bounds and which one, if any, is crossed."""
    from scipy.special import stdtrit

    cycles = len(values) - 1
    alpha_k, beta_k = plan.spent(cycles)
    trend = linear_trend(values)
    low = trend.slope - float(stdtrit(cycles - 1, 1 - alpha_k)) * trend.stderr
    high = trend.slope + float(stdtrit(cycles - 1, 1 - beta_k)) * trend.stderr
    decided = "leak" if low > threshold_bytes else "stable" if high < threshold_bytes else None
    return {"cycles": cycles, "alpha": alpha_k, "beta": beta_k, "bound_low": low, "bound_high": high,
            "decided": decided, "slope": trend.slope}


def counter_state(values, plan: SequentialPlan) -> str | None:
    """'leak' (rose in each of the first K cycles), 'ruled_out' (did not rise in one of them) or None."""
    y = np.asarray(values, dtype=float)
    rises = np.diff(y) >= 1
    k = plan.counter_cycles
    if not np.all(rises[:k]):
        return "ruled_out"
    return "leak" if rises.size >= k else None


def verdict(series: dict, threshold_bytes: float = DEFAULT_THRESHOLD_BYTES,
            expected_bytes_per_cycle: float = 0.0, expected_nodes_per_cycle: float = 0.0,
            max_cycles: int | None = None) -> dict:
    """The sequential test replayed over the series: leak | stable, whether and when it decided, why.

    series: {"used_bytes": [...], "listeners": [...], "nodes": [...], "documents": [...]}, index 0
    after warm-up. max_cycles: the last allowed look (default: the series' length, i.e. a run that
    went to its end). "decided": True when a bound was crossed (or the last look was reached);
    False means more cycles were allowed and would be needed (the caller keeps cycling).
    "decided_at": the look (in cycles) the test stopped at; the numbers in "signals" are of the
    series up to there.
    """
    cycles = len(series["used_bytes"]) - 1
    plan = SequentialPlan(max_cycles or cycles)
    heap_values = without_expected(series["used_bytes"], expected_bytes_per_cycle)
    counters = {name: without_expected(series[name], expected_nodes_per_cycle if name == "nodes" else 0.0)
                for name in COUNTERS}
    heap_done, look, stop = None, None, None
    for k in range(1, cycles + 1):
        states = {name: counter_state(values[:k + 1], plan) for name, values in counters.items()}
        if heap_done is None and k in plan.looks():
            look = heap_look(heap_values[:k + 1], threshold_bytes, plan)
            heap_done = look["decided"]
        if heap_done == "leak" or "leak" in states.values():
            stop = (k, "leak", states)
            break
        if (heap_done == "stable" or k == plan.max_cycles) and all(s == "ruled_out" for s in states.values()):
            stop = (k, "stable", states)
            break
        if k == plan.max_cycles:
            stop = (k, "stable", states)
            break
    decided = stop is not None
    k, word, states = stop if decided else (cycles, "stable", {name: counter_state(v, plan)
                                                               for name, v in counters.items()})
    return _describe(word, decided, k, plan, threshold_bytes, heap_values[:k + 1],
                     {name: v[:k + 1] for name, v in counters.items()}, states, look,
                     expected_bytes_per_cycle, expected_nodes_per_cycle)


def _describe(word, decided, k, plan, threshold_bytes, heap_values, counters, states, look,
              expected_bytes, expected_nodes) -> dict:
    heap = linear_trend(heap_values) if len(heap_values) >= 3 else None
    heap_fired = look is not None and look["decided"] == "leak"
    signals = {"heap": {**(asdict(heap) if heap else {}), "threshold_bytes": threshold_bytes,
                        "expected_bytes_per_cycle": expected_bytes, "fired": heap_fired,
                        "look": look}}
    reasons = []
    if heap_fired:
        reasons.append(f"heap grows {_kb(heap.slope)}/cycle (95% CI {_kb(heap.ci_low)} to {_kb(heap.ci_high)}), "
                       f"above the {_kb(threshold_bytes)}/cycle threshold (sequential test: lower bound "
                       f"{_kb(look['bound_low'])} at one-sided level {look['alpha']:.4f}, after {k} cycles)")
    for name, values in counters.items():
        trend = linear_trend(values) if len(values) >= 3 else None
        fired = states[name] == "leak"
        signals[name] = {**(asdict(trend) if trend else {}),
                         "expected_per_cycle": expected_nodes if name == "nodes" else 0.0,
                         "fired": fired, "state": states[name], "growth": float(values[-1] - values[0])}
        if fired:
            slope = trend.slope if trend else values[-1] - values[0]
            reasons.append(f"{name} grew in every one of {k} cycles "
                           f"({values[-1] - values[0]:+g} in all, {slope:+.3g}/cycle)")
    result = {"signals": signals, "decided": decided, "decided_at": k, "max_cycles": plan.max_cycles,
              "method": "group-sequential repeated CIs (alpha spending, power family rho=1, Bonferroni) "
                        "on the heap slope; first-K-cycles run on each counter",
              "alpha": plan.alpha, "beta": plan.beta, "counter_cycles": plan.counter_cycles}
    if word == "leak":
        return {"verdict": "leak", "reasons": reasons, **result}
    if heap is None:
        quiet = ["too few cycles for a trend"]
    elif look is not None and look["decided"] == "stable":
        quiet = [f"heap {_kb(heap.slope)}/cycle (95% CI {_kb(heap.ci_low)} to {_kb(heap.ci_high)}) is below "
                 f"the {_kb(threshold_bytes)}/cycle threshold (sequential test: upper bound "
                 f"{_kb(look['bound_high'])} at one-sided level {look['beta']:.4f}, after {look['cycles']} cycles)"]
    else:
        quiet = [f"heap {_kb(heap.slope)}/cycle (95% CI {_kb(heap.ci_low)} to {_kb(heap.ci_high)}) is not "
                 f"established above the {_kb(threshold_bytes)}/cycle threshold after {k} cycles"]
    quiet.append("no counter (listeners, nodes, documents) grew in every cycle")
    return {"verdict": "stable", "reasons": quiet, **result}
