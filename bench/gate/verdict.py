"""The CI gate: a run's comparison with a baseline and its budgets -> one verdict and an exit code.

Exit 1 (EXIT_FAILED_GATE) when a gated metric is `slower` than the baseline
or a budget FAILs; budgets that were not measured and `unsure` verdicts do
not fail the gate. No baseline and no budgets: nothing to gate, exit 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .budgets import FAIL, NOT_MEASURED, PASS, BudgetResult, BudgetSet, check_all
from .compare import Comparison
from ..errors import EXIT_FAILED_GATE, EXIT_OK


@dataclass
class GateOutcome:
    results: dict                                  # the run being judged
    comparison: Comparison | None = None           # with a baseline
    baseline: dict | None = None
    baseline_label: str | None = None              # e.g. its path
    env_differences: list[str] = field(default_factory=list)  # compared anyway (--force)
    budgets: BudgetSet | None = None
    budget_results: list[BudgetResult] = field(default_factory=list)
    sampling: str | None = None                    # how auto-sampling ended, for the report

    @property
    def regressions(self):
        return self.comparison.regressions if self.comparison else []

    @property
    def failed_budgets(self) -> list[BudgetResult]:
        return [r for r in self.budget_results if r.status == FAIL]

    @property
    def failed(self) -> bool:
        return bool(self.regressions or self.failed_budgets)

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED_GATE if self.failed else EXIT_OK

    def verdict_line(self) -> str:
        """One line that says it all: PASS/FAIL and why."""
        parts = []
        if self.comparison is not None:
            parts.append(self._comparison_summary())
        if self.budgets is not None:
            parts.append(self._budget_summary())
        if not parts:
            return "no gate: no baseline and no budgets given"
        return f"{'FAIL' if self.failed else 'PASS'}: " + "; ".join(parts)

    def _comparison_summary(self) -> str:
        if self.regressions:
            names = ", ".join(f"{r.name} ({_change_text(r)})" for r in self.regressions)
            return f"{len(self.regressions)} gated metric(s) slower than the baseline: {names}"
        gated = self.comparison.gated
        counts = {}
        for row in gated:
            counts[row.verdict] = counts.get(row.verdict, 0) + 1
        detail = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
        return f"no gated metric slower than the baseline ({len(gated)} gated" + (f": {detail})" if detail else ")")

    def _budget_summary(self) -> str:
        if self.failed_budgets:
            names = ", ".join(f"{r.budget.key} {r.budget.rule()} (measured {number(r.measured)})"
                              for r in self.failed_budgets)
            return f"{len(self.failed_budgets)} budget(s) failed: {names}"
        passed = sum(r.status == PASS for r in self.budget_results)
        unmeasured = sum(r.status == NOT_MEASURED for r in self.budget_results)
        return f"{passed} budget(s) pass" + (f", {unmeasured} not measured" if unmeasured else "")


def judge(results: dict, *, comparison: Comparison | None = None, baseline: dict | None = None,
          baseline_label: str | None = None, env_differences=(), budgets: BudgetSet | None = None,
          sampling: str | None = None) -> GateOutcome:
    return GateOutcome(results, comparison, baseline, baseline_label, list(env_differences), budgets,
                       check_all(budgets, results) if budgets else [], sampling)


def number(value, unit: str = "") -> str:
    """A measured value as every report prints it: one decimal, the unit unless it is a count."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    text = f"{value:.1f}" if abs(value) < 1e5 else f"{value:.3g}"
    return f"{text} {unit}".rstrip() if unit and unit != "count" else text


def _change_text(row) -> str:
    d = row.difference
    if d is None:
        return f"{row.words[0]} -> {row.words[1]}" if row.words else row.verdict
    relative = d.relative(d.change_p50)
    if relative is None:
        return f"p50 {d.change_p50:+.4g} {row.unit}"
    return f"p50 {relative * 100:+.1f} %"
