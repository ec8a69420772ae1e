"""examples/github-actions.yml relies only on what the repository has: make targets, BENCH_ARGS, options.

No browser: `make -n` shows the command the workflow's benchmark step runs, and bench's own parser
must accept it; the paths it uploads are where bench writes.
"""

from __future__ import annotations

import re
import shlex
import subprocess

from bench.cli import evidence as cli_evidence
from bench.gate.budgets import load_budgets
from bench.cli.main import build_parser
from tests.conftest import REPO

import pytest

# No browser, no server, no clock: may run beside a timing test, in the background (tests/cpu_share.py).
pytestmark = pytest.mark.background

WORKFLOW = REPO / "examples" / "github-actions.yml"


def run_commands() -> list[str]:
    """The `run:` commands of the workflow's steps (one-line and block form)."""
    commands, block = [], None
    for line in WORKFLOW.read_text().splitlines():
        if block is not None:
            if line.startswith(" " * block) and line.strip():
                commands.append(line.strip())
                continue
            block = None
        found = re.match(r"(\s*)run: (.*)", line)
        if found and found.group(2).strip() == "|":
            block = len(found.group(1)) + 2
        elif found:
            commands.append(found.group(2).strip())
    return commands


def test_the_benchmark_step_is_make_bench_with_options_bench_accepts(tmp_path):
    bench_steps = [c for c in run_commands() if c.startswith("make bench ")]
    assert len(bench_steps) == 1
    summary = tmp_path / "step_summary.md"
    shell = bench_steps[0].replace("$GITHUB_STEP_SUMMARY", str(summary))
    dry = subprocess.run(f"make -n {shell[len('make '):]}", shell=True, cwd=REPO, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    command = next(l for l in dry.stdout.splitlines() if " -m bench ui " in l)
    args = shlex.split(command)
    args = args[args.index("bench") + 1:]
    parsed = build_parser().parse_args(args)  # a UsageError (exit 2) here if an option did not exist
    assert parsed.budgets == "baseline" and load_budgets("baseline").budgets
    assert parsed.trace == "on-failure" and parsed.markdown == str(summary)
    assert parsed.json.startswith("traces/") and parsed.html.startswith("traces/")
    assert parsed.trace_dir == cli_evidence.DEFAULT_TRACE_DIR == "traces"


def test_setup_step_and_uploaded_path_exist():
    commands = run_commands()
    assert "make setup" in commands
    make = subprocess.run(["make", "-n", "setup"], cwd=REPO, capture_output=True, text=True)
    assert make.returncode == 0, make.stderr
    text = WORKFLOW.read_text()
    uploaded = re.search(r"path: \|\n((?:\s+traces/\S+\n)+)", text).group(1).split()
    # What bench writes there: archives (--trace-dir traces), --json (make's RESULTS), --html.
    assert uploaded == ["traces/*.zip", "traces/results.json", "traces/report.html", "traces/history.html"]
    assert "RESULTS ?= traces/results.json" in (REPO / "Makefile").read_text()
    assert re.search(r"if: always\(\)\n\s+uses: actions/upload-artifact@v4", text)


def test_history_steps_use_the_store_the_cache_keeps():
    """bench ui --history and the bench history commands parse, and all use the store the cache
    steps restore and save (the default, .bench/history.sqlite)."""
    from bench.history import location

    text = WORKFLOW.read_text()
    assert re.findall(r"path: (\S+history\.sqlite)", text) == [str(location.DEFAULT_DB)] * 2
    assert "actions/cache/restore@v4" in text and "actions/cache/save@v4" in text
    history = [c for c in run_commands() if " -m bench history " in c]
    assert [shlex.split(c)[4] for c in history] == ["report", "check"]
    for command in history:
        args = build_parser().parse_args(shlex.split(command)[3:])
        assert args.db is None  # the default store, where the cache puts it
    assert args.history_command == "check"
    bench_step = next(c for c in run_commands() if c.startswith("make bench "))
    assert build_parser().parse_args(["ui", *shlex.split(bench_step.split('BENCH_ARGS="')[1].rstrip('"'))]).history == ""
