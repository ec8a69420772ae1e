"""Budgets and regressions as JUnit XML test cases (xml.etree), for CI systems that read them.

`bench ui` / `bench compare`: one <testsuite> "bench.budgets" (a test case per budget: failure when it
FAILs, skipped when not measured) and one "bench.regressions" (a test case
per gated metric of the comparison: failure when `slower`). `bench baseline`:
one "bench.baseline", a test case per table row.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ..gate.budgets import FAIL, NOT_MEASURED
from ..gate.verdict import GateOutcome, number
from .gate_tables import comparison_rows


def _suite(parent: ET.Element, name: str, cases: list["Case"]) -> None:
    """cases: (name, failure message or None, skipped message or None, system-out)."""
    suite = ET.SubElement(parent, "testsuite", name=name, tests=str(len(cases)),
                          failures=str(sum(c[1] is not None for c in cases)),
                          skipped=str(sum(c[2] is not None for c in cases)), errors="0")
    for case_name, failure, skipped, out in cases:
        case = ET.SubElement(suite, "testcase", classname=name, name=case_name)
        if failure is not None:
            ET.SubElement(case, "failure", message=failure).text = failure
        if skipped is not None:
            ET.SubElement(case, "skipped", message=skipped)
        ET.SubElement(case, "system-out").text = out


Case = tuple[str, str | None, str | None, str]  # (name, failure or None, skipped or None, system-out)


def suites_tree(suites: dict[str, list[Case]]) -> ET.ElementTree:
    """One <testsuites> document, a <testsuite> per name."""
    root = ET.Element("testsuites", name="bench")
    for name, cases in suites.items():
        _suite(root, name, cases)
    tree = ET.ElementTree(root)
    ET.indent(tree)
    return tree


def junit_tree(outcome: GateOutcome) -> ET.ElementTree:
    suites: dict[str, list[Case]] = {}
    if outcome.budgets is not None:
        cases = suites["bench.budgets"] = []
        for r in outcome.budget_results:
            text = f"{r.budget.key} {r.budget.rule()}: measured {number(r.measured)} ({r.status})"
            cases.append((f"{r.budget.key} {r.budget.rule()}", text if r.status == FAIL else None,
                          "not measured in this run" if r.status == NOT_MEASURED else None, text))
    if outcome.comparison is not None:
        cases = suites["bench.regressions"] = []
        rows = {row[0]: row for row in comparison_rows(outcome)}
        for r in (r for r in outcome.comparison.rows if r.gated):
            _, base, new, change50, change95, p, verdict, _ = rows[r.name]
            text = (f"{r.name}: base p50 {base}, new p50 {new}, p50 change {change50}, "
                    f"p95 change {change95}, p {p}: {verdict} ({r.reason})")
            cases.append((r.name, text if r.verdict == "slower" else None, None, text))
    return suites_tree(suites)


def write_junit(path: str | Path, outcome: GateOutcome) -> None:
    _write(junit_tree(outcome), path)


def write_suites(path: str | Path, suites: dict[str, list[Case]]) -> None:
    """Test cases of other tables (e.g. `bench baseline`'s rows), one <testsuite> per name."""
    _write(suites_tree(suites), path)


def _write(tree: ET.ElementTree, path: str | Path) -> None:
    tree.write(path, encoding="utf-8", xml_declaration=True)
