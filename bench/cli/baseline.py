"""`bench baseline`: connections, throughput and ui against one bundled chat app, then the table.

The three parts run one after the other (connections first, so the server's
memory per connection is read on a fresh server), each exactly as its own
command would, and their results are merged into one results file (schema
bench/1): every metric with its raw samples, the table in
records["baseline"], each part's config under config[part].
"""

from __future__ import annotations

import dataclasses
import time

from ..gate.production_table import (
    ROWS,
    baseline_rows,
    failed,
    format_markdown,
    format_table,
    junit_cases,
    targets,
)
from ..gate.budgets import load_budgets
from .gate import budgets_help
from ..results.env import host_env
from ..errors import EXIT_FAILED_GATE, EXIT_OK
from ..report.junit import write_suites
from ..report.markdown import write_summary
from ..load.report import BUSY_PRESSURE_PCT
from ..load.connections import ConnectionsConfig, ConnectionsRun
from ..load.throughput import ThroughputConfig, ThroughputRun
from .load import add_generator_options
from .options import add_browser, add_command, add_json, add_no_progress, add_scenarios, add_seed, add_timeout
from .options import browser_options, chosen_scenarios, positive_float
from ..results.records import Results
from ..run.runner import UiConfig, UiRun
from ..load.server import check_port_free
from ..targets.server_process import BundledServer

PARTS = ("connections", "throughput", "ui")


class BaselineRun:
    def __init__(self, connections: ConnectionsConfig, throughput: ThroughputConfig, ui: UiConfig,
                 browser: BrowserOptions, port: int = 0, progress: bool | None = None):
        connections.validate()
        throughput.validate()
        ui.validate()
        self.configs = {"connections": connections, "throughput": throughput, "ui": ui}
        self.browser, self.port, self.progress = browser, port, progress
        self.results = Results(env=host_env(), config={})
        self.seconds: dict[str, float] = {}

    def execute(self) -> Results:
        check_port_free("127.0.0.1", self.port)
        with BundledServer(port=self.port) as server:
            ws_url = server.url.replace("http://", "ws://", 1) + "ws"
            c = self.configs
            runs = {
                "connections": ConnectionsRun(dataclasses.replace(c["connections"], url=ws_url,
                                                                  server_pid=server.pid), self.progress),
                "throughput": ThroughputRun(dataclasses.replace(c["throughput"], url=ws_url), self.progress),
                "ui": UiRun(dataclasses.replace(c["ui"], url=server.url), self.browser, self.progress),
            }
            for part in PARTS:
                started = time.monotonic()
                try:
                    runs[part].execute()
                finally:
                    self.seconds[part] = time.monotonic() - started
                    self._merge(part, runs[part].results)
        return self.results

    def _merge(self, part: str, results: Results | None) -> None:
        """Metric names of the parts are distinct (throughput.*, connections.*, paint.* ...)."""
        self.results.config[part] = results.config if results else None
        if results is None:
            return
        if part == "ui":
            self.results.env.update(results.env)  # the browser's details
        else:
            self.results.env.setdefault("servers", {})[part] = results.env.get("server")
            self.results.env.setdefault("cpu_pressure_pct", {})[part] = results.env.get("cpu_pressure_pct")
        self.results.metrics.update(results.metrics)
        self.results.records.update(results.records)
        self.results.notes.extend(f"{part}: {n}" for n in results.notes)
        self.results.partial |= results.partial


def add_parser(sub) -> None:
    p = add_command(
        sub, "baseline", help="the production baseline: throughput, connections and ui, with targets",
        description="Run bench connections, bench throughput and bench ui against one bundled chat "
                    "app and print the production baseline table (Metric | Value | Target | Status) "
                    "with the original report's targets. Exit 1 when a row fails.")
    add_generator_options(p.add_argument_group("server"))
    g = p.add_argument_group("throughput")
    g.add_argument("--throughput-rate", type=positive_float, default=500, metavar="MSGS_PER_S",
                   help="open-loop message rate (default 500)")
    g.add_argument("--throughput-duration", type=positive_float, default=5, metavar="S",
                   help="measured seconds of throughput load (default 5, after 1 s of warm-up)")
    g.add_argument("--receivers", type=int, default=10, help="receiver connections (default 10)")
    g = p.add_argument_group("connections")
    g.add_argument("--clients", type=int, default=10, help="heartbeating clients (default 10)")
    g.add_argument("--connections-duration", type=positive_float, default=10, metavar="S",
                   help="seconds of heartbeats (default 10)")
    g.add_argument("--interval", type=positive_float, default=500, metavar="MS",
                   help="heartbeat interval (default 500)")
    g = p.add_argument_group("ui")
    add_scenarios(p, g)
    add_seed(g)
    add_timeout(g, 30, "the page, its socket, or a burst to settle")
    add_browser(p, elsewhere=False)
    g = p.add_argument_group("targets and output")
    g.add_argument("--budgets", metavar="FILE|PRESET",
                   help=budgets_help("they replace the table's targets for the metrics they name and add "
                                     "rows for the others; default: [tool.bench.budgets] in ./pyproject.toml "
                                     "if there is one, on top of the original report's targets"))
    g.add_argument("--target", action="append", default=[], metavar="KEY=VALUE",
                   help="set a row's target, in the unit shown (inclusive), e.g. throughput=1000, "
                        "message_shown=50, latency_p95='<=20', memory_growth=stable (keys: "
                        + ", ".join(r.key for r in ROWS) + ")")
    add_json(g, "all results (schema bench/1)")
    g.add_argument("--markdown", metavar="PATH",
                   help="write the table as GitHub Markdown to PATH (e.g. $GITHUB_STEP_SUMMARY)")
    g.add_argument("--junit", metavar="PATH", help="write the table's rows as JUnit XML test cases to PATH")
    add_no_progress(g)


def cmd_baseline(args) -> int:
    # Bad budgets or targets: exit 2 before a minute of measuring.
    budgets = targets(load_budgets(args.budgets), args.target)
    progress = False if args.no_progress else None
    run = BaselineRun(
        ConnectionsConfig(clients=args.clients, duration_s=args.connections_duration,
                          interval_ms=args.interval, workers=args.workers, timeout_s=min(args.timeout, 10)),
        ThroughputConfig(rate=args.throughput_rate, duration_s=args.throughput_duration,
                         receivers=args.receivers, workers=args.workers, timeout_s=min(args.timeout, 10)),
        UiConfig(scenarios=chosen_scenarios(args), seed=args.seed, timeout_s=args.timeout),
        browser_options(args),
        port=args.port, progress=progress)
    started = time.monotonic()
    try:
        run.execute()
    finally:
        code = _report(run, budgets, args, time.monotonic() - started)
    return code


def _report(run: BaselineRun, budgets, args, seconds: float) -> int:
    results = run.results
    data = results.to_json()
    by_key, source = budgets
    table = baseline_rows(data, by_key)
    results.records["baseline"] = table
    parts = ", ".join(f"{p} {s:.1f} s" for p, s in run.seconds.items())
    footer = [f"targets: {source}", f"bench baseline took {seconds:.1f} s ({parts})"]
    if results.partial or len(run.seconds) < len(PARTS):
        results.partial = True
        footer.insert(0, "PARTIAL: the run stopped before every part finished")
    reasons = [r["reason"] for r in table if r.get("reason")]
    busy = {p: v for p, v in (results.env.get("cpu_pressure_pct") or {}).items()
            if v is not None and v >= BUSY_PRESSURE_PCT}
    if busy:
        footer.insert(0, "the machine was busy: some task waited for a CPU " + ", ".join(
            f"{v:.0f} % of the 10 s before {p}" for p, v in busy.items()) + " (/proc/pressure/cpu)")
    print(format_table(table))
    print()
    for line in [*reasons, *results.notes, *footer]:
        print(line)
    if args.json:
        results.config["baseline_targets"] = {r["key"]: r["target"] for r in table}
        results.write(args.json)
        print(f"results: {args.json}")
    if args.markdown:
        write_summary(args.markdown, format_markdown(table, [*reasons, *footer]))
        print(f"markdown: {args.markdown}")
    if args.junit:
        write_suites(args.junit, {"bench.baseline": junit_cases(table)})
        print(f"junit: {args.junit}")
    return EXIT_FAILED_GATE if failed(table) else EXIT_OK
