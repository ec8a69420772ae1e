"""Command line of `bench history` (record, show, report, check) and `bench ui --history`."""

from __future__ import annotations

import argparse

from ..results import metric_catalog
from ..results.records import write_text_atomic
from ..errors import EXIT_FAILED_GATE, EXIT_OK, UsageError
from ..history import changes, check as check_module, location, record as record_module, series, show
from ..history.store import DEFAULT_WAIT_S, Store
from .options import add_command, non_negative_float, positive_int

DB_HELP = (f"the history store: a SQLite file (default: [tool.bench] history = \"...\" in ./pyproject.toml, "
           f"else {location.DEFAULT_DB})")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="PATH", help=DB_HELP)
    p.add_argument("--wait", type=non_negative_float, default=DEFAULT_WAIT_S, metavar="S",
                   help=f"seconds to wait while another process writes the store (default {DEFAULT_WAIT_S:g}); "
                        f"then exit 2 with nothing changed")


def _selection(p: argparse.ArgumentParser, flag: str, last_default: int, last_help: str) -> None:
    p.add_argument("--metric", metavar="PATTERNS",
                   help="comma-separated metric name patterns (fnmatch), e.g. 'paint.latency_ms,scroll.*' "
                        "(default: the gated metrics: " + ",".join(metric_catalog.DEFAULT_GATE) + ")")
    p.add_argument("--branch", metavar="NAME", help="the branch whose runs to use (default: the newest run's)")
    p.add_argument(flag, dest="last", type=positive_int, default=last_default, metavar="N", help=last_help)


def add_parser(sub) -> None:
    parser = add_command(sub, "history", help="keep runs across commits: record, show, trend report, change check",
                            description="A store of results across commits (SQLite, one row per run with "
                                        "commit, branch, time, environment, every metric's summary and the "
                                        "raw results file compressed), a table and a trend report per "
                                        "metric, and a check of whether the newest run breaks from the "
                                        "history. Runs are compared only with runs of the same branch and "
                                        "environment. See docs/history.md.")
    hsub = parser.add_subparsers(dest="history_command", metavar="ACTION", parser_class=type(parser))

    rec = hsub.add_parser("record", help="add a results file to the store",
                          description="Add RESULTS.json (schema bench/1) to the store as one run. A file of "
                                      "another schema is refused (exit 2) and nothing is stored.")
    rec.add_argument("results", metavar="RESULTS.json")
    rec.add_argument("--commit", metavar="SHA", help="the commit measured (default: git HEAD, '-dirty' when "
                                                      "tracked files are modified; else the results' git revision)")
    rec.add_argument("--branch", metavar="NAME",
                     help="its branch (default: git's current branch, else $GITHUB_HEAD_REF / $GITHUB_REF_NAME)")
    _common(rec)

    sh = hsub.add_parser("show", help="a table per metric of the recorded runs with p50, p95 and CIs",
                         description="Per metric: each run's commit, time, sample count, p50 and p95 with "
                                     "their 95 % CIs, oldest first.")
    _selection(sh, "--last", 20, "the last N runs (default 20)")
    _common(sh)

    rep = hsub.add_parser("report", help="an HTML page of trend plots per metric",
                          description="Write a self-contained HTML page: per metric, p50 of every run with its "
                                      "CI band, p95, the changes the check finds, and commit labels.")
    rep.add_argument("--html", metavar="PATH", required=True, help="where to write the page")
    _selection(rep, "--last", 50, "the last N runs (default 50)")
    _common(rep)

    chk = add_command(hsub, "check", help="exit 1 when the newest run breaks from the history",
                          description="Scan each metric's per-run p50 over the last --window runs of the "
                                      "newest run's branch and environment with a self-starting CUSUM "
                                      "(Hawkins 1987; first run of a change by Hinkley's estimate). Exit 1 "
                                      "when a gated metric moved to a worse level that has not yet become the "
                                      f"history's normal (fewer than {changes.MIN_REF} runs at it), naming "
                                      "the metric and the change's first commit; exit 0 otherwise.")
    _selection(chk, "--window", changes.WINDOW, f"the last N runs scanned (default {changes.WINDOW})")
    chk.add_argument("--gate", default=",".join(metric_catalog.DEFAULT_GATE), metavar="PATTERNS",
                     help="metric name patterns whose worse change fails (default: "
                          + ",".join(metric_catalog.DEFAULT_GATE) + "); 'none' for none")
    _common(chk)


def _open(args, create: bool) -> Store:
    return Store(location.resolve(args.db), create=create, wait_s=args.wait)


def _history(store: Store, args) -> series.History:
    history = series.select(store, branch=args.branch, last=args.last)
    if history is None:
        where = f"of branch {args.branch!r} " if args.branch else ""
        raise UsageError(f"{store.path}: no runs {where}recorded yet")
    return history


def _names(history: series.History, args) -> list[str]:
    names = series.chosen_metrics(history, series.parse_patterns(args.metric))
    if not names:
        raise UsageError(f"--metric {args.metric!r}: no recorded metric matches" if args.metric else
                         "no gated metric with numbers in these runs; choose some with --metric")
    return names


def _checks(store: Store, args) -> tuple[series.History, list[check_module.MetricCheck]]:
    history = _history(store, args)
    gate = metric_catalog.parse_gate(getattr(args, "gate", ",".join(metric_catalog.DEFAULT_GATE)))
    window = args.last if args.history_command == "check" else len(history.runs)
    return history, [check_module.check_metric(history, n, window, gate) for n in _names(history, args)]


def command(args) -> int:
    if args.history_command == "record":
        with _open(args, create=True) as store:
            run_id = record_module.record_file(store, args.results, commit=args.commit, branch=args.branch)
            run = store.run(run_id)
        print(f"recorded run {run_id}: commit {run.commit}, branch {run.branch or '(none)'} -> {store.path}")
        return EXIT_OK
    if args.history_command == "show":
        with _open(args, create=False) as store:
            history = _history(store, args)
            print(show.text_report(history, _names(history, args)))
        return EXIT_OK
    if args.history_command == "report":
        from ..history import report  # here: matplotlib costs ~1.5 s to import, and only the report draws

        with _open(args, create=False) as store:
            history, checks = _checks(store, args)
        write_text_atomic(args.html, report.html_page(history, checks))
        print(f"history report: {args.html} ({len(checks)} metric(s), {len(history.runs)} run(s))")
        return EXIT_OK
    if args.history_command == "check":
        with _open(args, create=False) as store:
            history, checks = _checks(store, args)
        print(f"branch {history.branch or '(none)'}, {len(history.runs)} run(s) in this environment "
              f"({history.env_text()}); self-starting CUSUM over the last {args.last} per-run p50s")
        print(check_module.table(checks))
        print(check_module.summary(checks))
        return EXIT_FAILED_GATE if any(c.failed for c in checks) else EXIT_OK
    raise UsageError("bench history: choose an action: record, show, report or check")


# -- bench ui --history ---------------------------------------------------------------------------------------
def add_ui_argument(group) -> None:
    group.add_argument("--history", nargs="?", const="", default=None, metavar="DB",
                       help="record this run in a history store (bench history): DB, else [tool.bench] history "
                            f"in ./pyproject.toml, else {location.DEFAULT_DB}; commit and branch from git")


class UiRecorder:
    """Opened before the run (a bad store is exit 2 before Chromium starts); records the finished run."""

    def __init__(self, option: str):
        self.path = location.resolve(option or None)
        Store(self.path, create=True).close()

    def record(self, data: dict) -> None:
        if data.get("partial"):
            print(f"history: partial results not recorded in {self.path}")
            return
        with Store(self.path, create=True) as store:
            run_id = record_module.record_data(store, data)
        print(f"history: recorded run {run_id} in {self.path}")


def ui_recorder(args) -> UiRecorder | None:
    return None if getattr(args, "history", None) is None else UiRecorder(args.history)
