"""Compare two results files metric by metric (bench compare, bench ui --baseline).

Works on the results JSON (schema bench/1) alone: metric names, samples and
their blocks. The statistics are in bench.stats.difference; which way is better and
what is gated in bench.results.metric_catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..results import metric_catalog
from ..stats import run_noise
from . import calibration_store
from ..stats.difference import DEFAULT_THRESHOLD, NONE, Difference, compare_runs, compare_words, noise_band
from ..errors import UsageError
from ..stats.bootstrap import Runs
from ..stats.descriptive import nest_samples

# Environment fields that make two results incomparable when they differ.
ENV_MUST_MATCH = ("chromium_major", "headless", "cpu_throttle", "browser_location")


@dataclass(frozen=True)
class Thresholds:
    """Relative noise thresholds: a default and per-metric overrides (fractions, 0.05 = 5 %)."""

    default: float = DEFAULT_THRESHOLD
    per_metric: dict[str, float] = field(default_factory=dict)

    def for_metric(self, name: str) -> float:
        return self.per_metric.get(name, self.per_metric.get(metric_catalog.base_metric(name), self.default))

    def band(self, name: str, level: float) -> float:
        """The metric's noise band around a level (stats.difference.noise_band, with its catalog floor)."""
        return noise_band(self.for_metric(name), level, metric_catalog.info(name).floor)

    @classmethod
    def parse(cls, items: list[str] | None) -> "Thresholds":
        """--threshold PCT (all metrics) and --threshold METRIC=PCT, in percent."""
        default, per_metric = DEFAULT_THRESHOLD, {}
        for item in items or []:
            name, _, pct = item.rpartition("=")
            try:
                value = float(pct) / 100
            except ValueError:
                raise UsageError(f"--threshold {item!r}: expected PCT or METRIC=PCT (percent)") from None
            if not 0 < value < 10:
                raise UsageError(f"--threshold {item!r}: percent must be above 0 and below 1000")
            if name:
                if metric_catalog.base_metric(name) not in metric_catalog.KNOWN_METRICS:
                    raise UsageError(f"--threshold {item!r}: unknown metric {name!r}")
                per_metric[name] = value
            else:
                default = value
        return cls(default, per_metric)


@dataclass(frozen=True)
class MetricComparison:
    name: str
    unit: str
    gated: bool
    verdict: str
    reason: str
    difference: Difference | None = None     # numeric metrics
    words: tuple[str | None, str | None] | None = None  # word metrics: (base, new)
    noise_source: str = ""                   # where the folded-in run-to-run noise came from


@dataclass
class Comparison:
    rows: list[MetricComparison]
    only_in_base: list[str]
    only_in_new: list[str]

    @property
    def regressions(self) -> list[MetricComparison]:
        return [r for r in self.rows if r.gated and r.verdict == "slower"]

    @property
    def gated(self) -> list[MetricComparison]:
        return [r for r in self.rows if r.gated]


def metric_runs(metric: dict) -> Runs:
    """A metric's samples as repetitions of blocks, from its "runs" and "blocks" (stats.nest_samples)."""
    samples = metric.get("samples") or []
    return nest_samples(samples, metric.get("runs") or [len(samples)], metric.get("blocks"))


def run_count(results: dict) -> int:
    """Repetitions the results hold (the most any metric has samples in)."""
    return max((sum(1 for n in m.get("runs") or [] if n) for m in results["metrics"].values()), default=0)


def run_noise_note(comparison: "Comparison") -> str | None:
    """A line saying where the run-to-run noise folded into the gated rows' CIs came from (a calibration,
    at any number of runs; else the default, where a side has fewer than run_noise.MIN_RUNS_OF_ITS_OWN),
    with the runs each side had in those rows."""
    folded = [row for row in comparison.rows if row.gated and row.noise_source and row.difference is not None]
    if not folded:
        return None
    counts = sorted({(row.difference.base_runs, row.difference.new_runs) for row in folded})
    sources = sorted({row.noise_source for row in folded})
    return (f"note: {'; '.join(_sides(base, new) for base, new in counts)}: the CIs include run-to-run noise "
            f"from {' and '.join(sources)}")


def _sides(base_runs: int, new_runs: int) -> str:
    def runs(n: int) -> str:
        return f"{n} run{'' if n == 1 else 's'}"

    if base_runs == new_runs:
        return f"base and new have {runs(base_runs)} each"
    return f"base has {runs(base_runs)} and new has {runs(new_runs)}"


# Percentage points of host.other_cpu_pct (other processes' share of the
# machine's CPUs, bench.browser.host_load) between the two sides that get a
# note. Quiet here: 0-3 %; one busy process on this 2-core machine: 50 %.
MACHINE_LOAD_GAP = 20.0


def machine_load_note(base: dict, new: dict) -> str | None:
    """A line when the rest of the machine was much busier (or quieter) in one run than in the other.

    Context, not a verdict: a latency or frame-rate change measured while
    other processes took much more of the CPUs on one side may be theirs.
    """
    name = "host.other_cpu_pct"
    samples = [(side["metrics"].get(name) or {}).get("samples") or [] for side in (base, new)]
    if not all(samples):
        return None
    b_med, n_med = (float(np.median(s)) for s in samples)
    if abs(n_med - b_med) < MACHINE_LOAD_GAP:
        return None
    state = "busier" if n_med > b_med else "quieter"
    return (f"note: other processes used {n_med:.0f} % of the machine's CPUs during the new run and "
            f"{b_med:.0f} % during the baseline ({name}): the machine was {state}, so a change in latency "
            f"or frame rate may be theirs, not the page's (docs/ci.md)")


def is_word_metric(metric: dict) -> bool:
    return "value" in metric and isinstance(metric.get("value"), str) or \
        any(isinstance(s, str) for s in metric.get("samples") or [])


def chromium_major(env: dict) -> str | None:
    version = env.get("chromium_version")
    return str(version).split(".")[0] if version else None


def env_differences(base_env: dict, new_env: dict) -> list[str]:
    """The ENV_MUST_MATCH fields that differ, as 'field base -> new'."""
    out = []
    for key in ENV_MUST_MATCH:
        base = chromium_major(base_env) if key == "chromium_major" else base_env.get(key)
        new = chromium_major(new_env) if key == "chromium_major" else new_env.get(key)
        if base != new:
            out.append(f"{key} {base} -> {new}")
    return out


def check_comparable(base: dict, new: dict, force: bool) -> list[str]:
    """Raise UsageError (exit 2) when the environments differ, unless force; return the differences."""
    differences = env_differences(base.get("env") or {}, new.get("env") or {})
    if differences and not force:
        raise UsageError(f"results are not comparable ({'; '.join(differences)}); use --force to compare anyway")
    return differences


def compare_metric(name: str, base: dict, new: dict, thresholds: Thresholds, gate,
                   stored: dict[str, float]) -> MetricComparison:
    """stored: run-to-run sds of this machine (bench.gate.calibration_store.load)."""
    info = metric_catalog.info(name)
    gated = metric_catalog.is_gated(name, gate)
    if is_word_metric(base) or is_word_metric(new):
        words = (base.get("value"), new.get("value"))
        verdict, reason = compare_words(*words, metric_catalog.good_words(name))
        return MetricComparison(name, new.get("unit", ""), gated, verdict, reason, words=words)
    base_runs, new_runs = metric_runs(base), metric_runs(new)
    # Runs with samples, as the bootstrap counts them (a repetition that measured nothing is an empty run).
    counts = (max(1, sum(1 for r in base_runs if r)), max(1, sum(1 for r in new_runs if r)))
    run_sd, source = run_noise.for_comparison(name, *counts, stored, plain_name=metric_catalog.base_metric(name))
    difference = compare_runs(base_runs, new_runs, direction=info.direction,
                              threshold=thresholds.for_metric(name), floor=info.floor,
                              run_sd=run_sd if info.direction != NONE else 0.0)
    return MetricComparison(name, new.get("unit", ""), gated and info.direction != NONE,
                            difference.verdict, difference.reason, difference=difference,
                            noise_source=source if run_sd and info.direction != NONE else "")


def compare_results(base: dict, new: dict, thresholds: Thresholds = Thresholds(),
                    gate=metric_catalog.DEFAULT_GATE) -> Comparison:
    """One MetricComparison per metric both results have, in name order."""
    base_metrics, new_metrics = base["metrics"], new["metrics"]
    shared = sorted(set(base_metrics) & set(new_metrics))
    base_env, new_env = base.get("env") or {}, new.get("env") or {}
    stored = calibration_store.load(new_env or base_env)
    rows = [compare_metric(name, base_metrics[name], new_metrics[name], thresholds, gate, stored)
            for name in shared]
    return Comparison(rows, sorted(set(base_metrics) - set(new_metrics)),
                      sorted(set(new_metrics) - set(base_metrics)))
