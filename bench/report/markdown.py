"""A GitHub-flavoured Markdown summary of a run and its gate (for a PR comment or $GITHUB_STEP_SUMMARY).

Order: the verdict line first, then the comparison, budgets, metrics and
environment. Formatting only.
"""

from __future__ import annotations

import os
from pathlib import Path

from tabulate import tabulate

from ..gate.verdict import GateOutcome
from .gate_tables import BUDGET_HEADERS, COMPARISON_HEADERS, budget_rows, comparison_rows, environment_lines
from .terminal import metrics_table


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def _table(headers: list[str], rows: list[list[str]]) -> str:
    return tabulate([[_escape(c) for c in row] for row in rows], headers=headers, tablefmt="github",
                    disable_numparse=True)


def markdown(outcome: GateOutcome) -> str:
    mark = ":x:" if outcome.failed else ":white_check_mark:"
    parts = [f"### {mark} bench: {outcome.verdict_line()}", ""]
    if outcome.comparison is not None:
        parts += [f"#### Compared with baseline `{outcome.baseline_label}`", "",
                  "Change = new - base, relative to the baseline; 95 % CI by two-level bootstrap "
                  "(runs, then blocks); p = Mann-Whitney U on block medians.", "",
                  _table(COMPARISON_HEADERS, comparison_rows(outcome)), ""]
    if outcome.budgets is not None:
        parts += [f"#### Budgets ({outcome.budgets.source})", "",
                  _table(BUDGET_HEADERS, budget_rows(outcome)), ""]
    parts += ["#### Metrics", "", metrics_table(outcome.results, tablefmt="github"), ""]
    if outcome.results.get("partial"):
        parts += ["**Partial results**: the run was interrupted.", ""]
    parts += ["#### Environment", "", *[f"- {_escape(line)}" for line in environment_lines(outcome)], ""]
    return "\n".join(parts)


def write_summary(path: str | Path, text: str) -> None:
    """Write PATH afresh; append when PATH is $GITHUB_STEP_SUMMARY, which other steps also add to."""
    appending = os.environ.get("GITHUB_STEP_SUMMARY") and \
        Path(path).resolve() == Path(os.environ["GITHUB_STEP_SUMMARY"]).resolve()
    with open(path, "a" if appending else "w", encoding="utf-8") as f:
        f.write(text)


def write_markdown(path: str | Path, outcome: GateOutcome) -> None:
    write_summary(path, markdown(outcome))
