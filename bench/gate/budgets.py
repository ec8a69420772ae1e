"""Budgets: limits on a metric's statistic, from TOML, checked against a results dict.

    "paint.latency_ms.p95" = { max = 100 }    # <metric>.<statistic>
    "scroll.fps.p50"       = { min = 58 }
    "heap.verdict"         = { equals = "stable" }   # a word metric: no statistic

Sources, first found wins: --budgets FILE (keys at the top level), the preset
--budgets baseline (bench/gate/presets/baseline.toml), or a [tool.bench.budgets]
table in ./pyproject.toml. Bad files and unknown names are UsageErrors
(exit 2) that name the line or key; a budget whose metric is absent from a
run is "not measured", not failed (scenarios may not have run).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, as the tomli package (pyproject declares it)
    import tomli as tomllib

from ..results import metric_catalog
from ..errors import UsageError

PRESETS_DIR = Path(__file__).parent / "presets"
# "value": a metric measured once per run (input.inp_ms): its median over the runs (p50).
STATISTICS = ("n", "mean", "min", "p50", "p95", "p99", "max", "stdev", "cv", "sum", "value")
OPERATORS = ("min", "max", "equals")
PASS, FAIL, NOT_MEASURED = "PASS", "FAIL", "not measured"


@dataclass(frozen=True)
class Budget:
    key: str                 # as written, e.g. "paint.latency_ms.p95"
    metric: str              # paint.latency_ms
    statistic: str | None    # p95; None for a word metric's value
    min: float | None = None
    max: float | None = None
    equals: object = None

    def rule(self) -> str:
        parts = []
        if self.min is not None:
            parts.append(f">= {self.min:g}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        if self.equals is not None:
            parts.append(f"== {self.equals}")
        return " and ".join(parts)


@dataclass(frozen=True)
class BudgetResult:
    budget: Budget
    status: str              # PASS | FAIL | not measured
    measured: object = None  # the value the rule was checked against
    ci: list[float] | None = None  # its 95 % CI, for p50/p95

    @property
    def failed(self) -> bool:
        return self.status == FAIL


@dataclass(frozen=True)
class BudgetSet:
    source: str              # where they came from, for the report
    budgets: tuple[Budget, ...]


def _line_of(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(rf"""\s*["']?{re.escape(key)}["']?\s*=""", line):
            return number
    return None


def _where(source: str, text: str, key: str) -> str:
    line = _line_of(text, key)
    return f"{source}, line {line}" if line else source


def parse_key(key: str, where: str) -> tuple[str, str | None]:
    """'paint.latency_ms.p95' -> ('paint.latency_ms', 'p95'); 'heap.verdict' -> ('heap.verdict', None)."""
    if key in metric_catalog.GOOD_WORDS:
        return key, None
    metric, _, statistic = key.rpartition(".")
    if metric in metric_catalog.GOOD_WORDS:
        raise UsageError(f"{where}: budget {key!r}: {metric!r} is a word metric; write {metric!r} "
                         f"= {{ equals = ... }} with no statistic")
    if metric in metric_catalog.KNOWN_METRICS:
        if statistic not in STATISTICS:
            raise UsageError(f"{where}: budget {key!r}: unknown statistic {statistic!r} "
                             f"(choose from {', '.join(STATISTICS)})")
        return metric, statistic
    if key in metric_catalog.KNOWN_METRICS:
        raise UsageError(f"{where}: budget {key!r} needs a statistic, e.g. {key!r}.p95 "
                         f"(choose from {', '.join(STATISTICS)})")
    raise UsageError(f"{where}: budget {key!r}: unknown metric {metric or key!r} "
                     f"(known: {', '.join(sorted(metric_catalog.KNOWN_METRICS))})")


def _number(value, key: str, op: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"{where}: budget {key!r}: {op} must be a number, not {value!r}")
    return float(value)


def parse_budget(key: str, rule, where: str) -> Budget:
    metric, statistic = parse_key(key, where)
    if not isinstance(rule, dict) or not rule:
        raise UsageError(f"{where}: budget {key!r} must be a table like {{ max = 100 }}")
    unknown = sorted(set(rule) - set(OPERATORS))
    if unknown:
        raise UsageError(f"{where}: budget {key!r}: unknown rule {unknown[0]!r} (choose from min, max, equals)")
    if statistic is None and ("min" in rule or "max" in rule):
        raise UsageError(f"{where}: budget {key!r} is a word metric: use equals, not min/max")
    return Budget(key, metric, statistic,
                  min=_number(rule["min"], key, "min", where) if "min" in rule else None,
                  max=_number(rule["max"], key, "max", where) if "max" in rule else None,
                  equals=rule.get("equals"))


def parse_budgets(table: dict, source: str, text: str) -> BudgetSet:
    budgets = tuple(parse_budget(key, rule, _where(source, text, key)) for key, rule in table.items())
    return BudgetSet(source, budgets)


def _read_toml(path: Path, what: str) -> tuple[dict, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{what} {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{what} {path}: cannot read: {exc}") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:  # its message ends "(at line L, column C)"
        raise UsageError(f"{what} {path}: not valid TOML: {exc}") from None


def load_budget_file(path: str | Path) -> BudgetSet:
    """A budgets file: keys at the top level."""
    path = Path(path)
    table, text = _read_toml(path, "budgets file")
    return parse_budgets(table, str(path), text)


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))


def load_pyproject_budgets(directory: str | Path = ".") -> BudgetSet | None:
    """[tool.bench.budgets] of DIRECTORY/pyproject.toml, or None when there is none."""
    path = Path(directory) / "pyproject.toml"
    if not path.is_file():
        return None
    data, text = _read_toml(path, "pyproject")
    table = data.get("tool", {}).get("bench", {}).get("budgets")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.bench.budgets] must be a table")
    return parse_budgets(table, f"{path} [tool.bench.budgets]", text)


def load_budgets(option: str | None, directory: str | Path = ".") -> BudgetSet | None:
    """--budgets FILE | PRESET, else ./pyproject.toml's table, else None (no budgets: no budget gate)."""
    if option is None:
        return load_pyproject_budgets(directory)
    if option in preset_names() and not Path(option).exists():
        budgets = load_budget_file(PRESETS_DIR / f"{option}.toml")
        return BudgetSet(f"preset {option}", budgets.budgets)
    return load_budget_file(option)


def measured_value(budget: Budget, metric: dict):
    if budget.statistic is None:
        return metric.get("value")
    if budget.statistic == "value" and "value" not in metric:
        return metric.get("p50")
    return metric.get(budget.statistic)


def check(budget: Budget, metrics: dict) -> BudgetResult:
    metric = metrics.get(budget.metric)
    value = None if metric is None else measured_value(budget, metric)
    if value is None:
        return BudgetResult(budget, NOT_MEASURED)
    ci = metric.get(f"{budget.statistic}_ci") if budget.statistic in ("p50", "p95") else None
    ok = True
    if budget.equals is not None:
        ok &= value == budget.equals
    if budget.min is not None:
        ok &= isinstance(value, (int, float)) and value >= budget.min
    if budget.max is not None:
        ok &= isinstance(value, (int, float)) and value <= budget.max
    return BudgetResult(budget, PASS if ok else FAIL, value, ci)


def check_all(budgets: BudgetSet, results: dict) -> list[BudgetResult]:
    return [check(b, results["metrics"]) for b in budgets.budgets]
