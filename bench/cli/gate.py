"""Command line for gating: `bench compare`, and the gate options of `bench ui`.

Kept apart from cli.py so the gate's options, loading and output live in
one place: prepare() loads and checks every input before anything is run
(a bad budget file must not cost a 20 s run), finish() judges the results,
prints, writes Markdown/JUnit and returns the exit code.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from ..results import metric_catalog
from ..gate.auto_sample import AutoSampler
from ..gate.budgets import BudgetSet, load_budgets, preset_names
from ..gate.compare import Thresholds, check_comparable, compare_results
from ..errors import UsageError
from ..gate.verdict import GateOutcome, judge
from ..report.gate_tables import terminal
from ..report.junit import write_junit
from ..report.markdown import write_markdown
from ..results.records import load_results
from .options import add_command

DEFAULT_MAX_TIME_S = 180


def _gate_help() -> str:
    return (f"comma-separated metric name patterns (fnmatch) a regression fails on; 'none' for none "
            f"(default: {','.join(metric_catalog.DEFAULT_GATE)}: every latency, fps, dropped-frame and "
            f"heap metric; counts are never gated)")


def add_comparison_arguments(group) -> None:
    group.add_argument("--gate", default=",".join(metric_catalog.DEFAULT_GATE), metavar="PATTERNS",
                       help=_gate_help())
    group.add_argument("--threshold", action="append", metavar="[METRIC=]PCT",
                       help="noise threshold in percent: changes of p50 within it are 'same' (default 5); "
                            "METRIC=PCT sets one metric's; repeatable")
    group.add_argument("--force", action="store_true",
                       help="compare even when the environments differ (Chromium major version, "
                            "headless/headed, CPU throttling, browser location)")


def add_output_arguments(group) -> None:
    group.add_argument("--markdown", metavar="PATH",
                       help="write a GitHub-flavoured summary (verdict first, tables, budgets, environment); "
                            "appends when PATH is $GITHUB_STEP_SUMMARY")
    group.add_argument("--junit", metavar="PATH", help="write budgets and regressions as JUnit XML test cases")


def budgets_help(default_source: str) -> str:
    return (f"TOML file of budgets (keys at the top level, e.g. \"paint.latency_ms.p95\" = {{ max = 100 }}), "
            f"or a preset ({', '.join(preset_names())}); {default_source}")


def add_ui_arguments(parser: argparse.ArgumentParser) -> None:
    """--baseline, --budgets, --auto-sample and the rest, on `bench ui`."""
    g = parser.add_argument_group("gate (exit 1 when a gated metric is slower or a budget fails)")
    g.add_argument("--baseline", metavar="BASE.json", help="after the run, compare with these results")
    g.add_argument("--baseline-url", metavar="URL",
                   help="measure the baseline in the same browser, interleaved with this run (a repetition of "
                        "each in turn, so drift of the machine hits both): the same kind of page at URL, e.g. "
                        "the main branch's build served beside yours. Instead of --baseline")
    g.add_argument("--baseline-query", metavar="QUERY",
                   help="as --baseline-url, on this run's page with QUERY as its app query instead of "
                        "--app-query (e.g. '' against --app-query work_ms=5)")
    g.add_argument("--budgets", metavar="FILE|PRESET",
                   help=budgets_help("default: [tool.bench.budgets] in ./pyproject.toml if there is one; "
                                      "without budgets there is no budget gate"))
    add_comparison_arguments(g)
    g.add_argument("--auto-sample", action="store_true",
                   help="after --repeat repetitions, keep repeating until every gated metric is resolved: "
                        "with --baseline, its change's CI lies wholly beyond +threshold, within "
                        "+-threshold or below -threshold; without, its p50 CI is narrower than the threshold")
    g.add_argument("--max-time", type=float, default=DEFAULT_MAX_TIME_S, metavar="S",
                   help=f"--auto-sample stops before a repetition would pass S seconds (default {DEFAULT_MAX_TIME_S})")
    add_output_arguments(g)


def add_compare_parser(sub) -> None:
    p = add_command(sub, "compare", help="compare two results files; exit 1 when a gated metric is slower",
                       description="Compare NEW with BASE metric by metric: p50 and p95 change with 95 % CI "
                                   "(block bootstrap), Mann-Whitney U p-value, and a verdict faster / slower "
                                   "/ same / unsure against a noise threshold.")
    p.add_argument("base", metavar="BASE.json")
    p.add_argument("new", metavar="NEW.json")
    add_comparison_arguments(p)
    p.add_argument("--budgets", metavar="FILE|PRESET", help=budgets_help("also check NEW against them"))
    add_output_arguments(p)


@dataclass
class GateInputs:
    baseline: dict | None
    baseline_label: str | None
    budgets: BudgetSet | None
    thresholds: Thresholds
    gate: tuple[str, ...]


def prepare(args, budgets_from_pyproject: bool) -> GateInputs:
    """Load and check baseline, budgets, thresholds and gate patterns (UsageError on bad input)."""
    gate = metric_catalog.parse_gate(args.gate)
    thresholds = Thresholds.parse(args.threshold)
    baseline_path = getattr(args, "baseline", None) or getattr(args, "base", None)
    if baseline_path and interleaved_baseline(args):
        raise UsageError("--baseline reads a results file; --baseline-url/--baseline-query measure the "
                         "baseline in this run: choose one")
    baseline = load_results(baseline_path) if baseline_path else None
    if args.budgets is None and not budgets_from_pyproject:
        budgets = None
    else:
        budgets = load_budgets(args.budgets)
    return GateInputs(baseline, baseline_path, budgets, thresholds, gate)


def check_predicted_env(inputs: GateInputs, headless: bool, cpu_throttle: float, force: bool,
                        browser_location: str = "local") -> None:
    """Before a run: refuse a baseline measured headed vs headless, at another throttle, or with
    the browser elsewhere (exit 2). A CDP-attached browser's headless mode is only known once
    attached, so it is checked after the run."""
    if inputs.baseline is None:
        return
    env = inputs.baseline.get("env") or {}
    predicted = {**env, "cpu_throttle": cpu_throttle, "browser_location": browser_location}
    if browser_location != "remote-cdp":
        predicted["headless"] = headless
    check_comparable(inputs.baseline, {"env": predicted}, force)


INTERLEAVED = "baseline"  # the variant name of an interleaved baseline (bench.run.runner.Variant)


def interleaved_baseline(args) -> bool:
    return getattr(args, "baseline_url", None) is not None or getattr(args, "baseline_query", None) is not None


def interleaved_label(args) -> str:
    where = args.baseline_url if args.baseline_url is not None else f"app query {args.baseline_query!r}"
    return f"interleaved baseline ({where})"


def auto_sampler(args, inputs: GateInputs) -> AutoSampler | None:
    if not args.auto_sample:
        return None
    if args.max_time <= 0:
        raise UsageError(f"--max-time must be positive (got {args.max_time:g})")
    baseline = inputs.baseline
    if interleaved_baseline(args):
        baseline = lambda run: run.variant_results[INTERLEAVED].to_json()  # noqa: E731
    return AutoSampler(baseline, inputs.thresholds, inputs.gate, args.max_time)


def judge_run(args, inputs: GateInputs, results: dict, sampling: str | None = None) -> GateOutcome:
    """The gate's outcome for results (compared with the baseline, budgets checked); prints nothing."""
    comparison, differences = None, []
    if inputs.baseline is not None:
        differences = check_comparable(inputs.baseline, results, args.force)
        comparison = compare_results(inputs.baseline, results, inputs.thresholds, inputs.gate)
    return judge(results, comparison=comparison, baseline=inputs.baseline, baseline_label=inputs.baseline_label,
                 env_differences=differences, budgets=inputs.budgets, sampling=sampling)


def finish(args, inputs: GateInputs, results: dict, sampling: str | None = None,
           outcome: GateOutcome | None = None) -> GateOutcome:
    """Judge results (unless already judged); print the gate's tables and verdict; write --markdown / --junit."""
    if outcome is None:
        outcome = judge_run(args, inputs, results, sampling)
    comparison = outcome.comparison
    if comparison is not None or inputs.budgets is not None:
        print(terminal(outcome))
    if args.markdown:
        write_markdown(args.markdown, outcome)
    if args.junit:
        write_junit(args.junit, outcome)
    return outcome


def cmd_compare(args) -> int:
    inputs = prepare(args, budgets_from_pyproject=False)
    new = load_results(args.new)
    return finish(args, inputs, new).exit_code
