"""Budgets: parsing TOML (files, presets, pyproject), checking them, and bad files (exit 2, one line)."""

from __future__ import annotations

import pytest

from bench.gate.budgets import (
    FAIL,
    NOT_MEASURED,
    PASS,
    check_all,
    load_budget_file,
    load_budgets,
    load_pyproject_budgets,
)
from bench.errors import UsageError
from tests.conftest import bench_in_process

# No browser, no server, no clock: may run beside a timing test, in the background (tests/cpu_share.py).
pytestmark = pytest.mark.background

RESULTS = {"metrics": {
    "paint.latency_ms": {"unit": "ms", "n": 100, "p50": 20.0, "p95": 80.0, "p50_ci": [18.0, 22.0],
                         "p95_ci": [70.0, 90.0]},
    "heap.verdict": {"unit": "verdict", "n": 7, "value": "leak"},
}}


def write(tmp_path, text: str, name: str = "budgets.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_budgets_pass_fail_and_not_measured(tmp_path):
    budgets = load_budget_file(write(tmp_path, '''
"paint.latency_ms.p95" = { max = 100 }
"paint.latency_ms.p50" = { max = 10 }
"scroll.fps.p50" = { min = 57 }
"heap.verdict" = { equals = "stable" }
'''))
    results = {r.budget.key: r for r in check_all(budgets, RESULTS)}
    assert results["paint.latency_ms.p95"].status == PASS
    assert results["paint.latency_ms.p95"].ci == [70.0, 90.0]
    assert results["paint.latency_ms.p50"].status == FAIL and results["paint.latency_ms.p50"].measured == 20.0
    assert results["scroll.fps.p50"].status == NOT_MEASURED  # the scroll scenario did not run
    assert results["heap.verdict"].status == FAIL and results["heap.verdict"].measured == "leak"


def test_min_and_max_together(tmp_path):
    budgets = load_budget_file(write(tmp_path, '"paint.latency_ms.p50" = { min = 5, max = 15 }\n'))
    [result] = check_all(budgets, RESULTS)
    assert result.status == FAIL and result.budget.rule() == ">= 5 and <= 15"


def test_baseline_preset_has_the_reports_targets():
    budgets = load_budgets("baseline")
    rules = {b.key: b for b in budgets.budgets}
    assert rules["paint.presented_ms.p95"].max == 100  # every message counts (docs/message-to-paint.md)
    assert rules["scroll.fps.p50"].min == 57
    assert rules["heap.verdict"].equals == "stable"
    assert budgets.source == "preset baseline"


def test_pyproject_table_is_read_from_the_current_directory(tmp_path):
    assert load_pyproject_budgets(tmp_path) is None  # no pyproject
    write(tmp_path, '[project]\nname = "x"\n', "pyproject.toml")
    assert load_pyproject_budgets(tmp_path) is None  # no table
    write(tmp_path, '[project]\nname = "x"\n\n[tool.bench.budgets]\n"paint.latency_ms.p95" = { max = 100 }\n',
          "pyproject.toml")
    budgets = load_budgets(None, tmp_path)
    assert [b.key for b in budgets.budgets] == ["paint.latency_ms.p95"]


@pytest.mark.parametrize("text, message", [
    ('"paint.latency_ms.p95" = { max = 100 }\n"scroll.fps.p50" = { min = 57\n', "line 2"),
    ('"paint.latency_ms.p97" = { max = 100 }\n', "line 1: budget 'paint.latency_ms.p97': unknown statistic 'p97'"),
    ('# budgets\n"paint.latncy_ms.p95" = { max = 100 }\n', "line 2: budget 'paint.latncy_ms.p95': unknown metric"),
    ('"paint.latency_ms" = { max = 100 }\n', "needs a statistic"),
    ('"paint.latency_ms.p95" = { below = 100 }\n', "unknown rule 'below'"),
    ('"paint.latency_ms.p95" = { max = "fast" }\n', "max must be a number"),
    ('"heap.verdict" = { max = 1 }\n', "use equals"),
    ('"paint.latency_ms.p95" = 100\n', "must be a table"),
])
def test_bad_budget_files_name_the_line_or_key(tmp_path, text, message):
    with pytest.raises(UsageError) as info:
        load_budget_file(write(tmp_path, text))
    assert message in info.value.message
    assert "\n" not in info.value.message


def test_bench_ui_rejects_a_malformed_budget_file_before_running(tmp_path):
    path = write(tmp_path, '"paint.latency_ms.p95" = { max = 100 }\n"scroll.fps.p50" = { min = 57\n')
    proc = bench_in_process("ui", "--budgets", str(path))
    assert proc.returncode == 2
    assert proc.stdout == ""  # nothing was measured: no Chromium was started
    [line] = proc.stderr.strip().splitlines()
    assert "not valid TOML" in line and "line 2" in line


def test_bench_ui_rejects_an_unknown_statistic(tmp_path):
    path = write(tmp_path, '"paint.latency_ms.p97" = { max = 100 }\n')
    proc = bench_in_process("ui", "--budgets", str(path))
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert "'paint.latency_ms.p97'" in line and "unknown statistic" in line
