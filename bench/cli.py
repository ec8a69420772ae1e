"""Command line: `python -m bench <command>`. Errors become one line and an exit code."""

from __future__ import annotations

import argparse
import errno
import signal
import sys
import time

from .browser import BrowserOptions
from . import baseline_run
from .load import cli as load_cli
from .errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, BenchError, UsageError
from .report import render
from . import scenarios as scenario_modules
from .runner import UiConfig, UiRun

EXIT_CODES_HELP = """exit codes:
  0   ok
  1   a budget or regression failed
  2   usage or input error (bad option, file, port in use)
  3   the target or browser failed (no Chromium, page did not load, no WebSocket)
  130 interrupted (results gathered so far are still written)"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str):  # noqa: D102
        raise UsageError(f"{self.prog}: {message}")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _add_browser_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("browser")
    g.add_argument("--browser-path", metavar="PATH",
                   help="Chromium to use (default: $BENCH_CHROMIUM, Playwright's own Chromium, "
                        "then chromium/chromium-browser/google-chrome on PATH)")
    g.add_argument("--headed", action="store_true", help="show the browser window (to watch and debug)")
    g.add_argument("--slowmo", type=float, default=0, metavar="MS",
                   help="slow every Playwright action down by MS milliseconds (for watching)")
    g.add_argument("--cpu-throttle", type=_positive_float, default=1.0, metavar="RATE",
                   help="CPU slowdown factor via CDP Emulation.setCPUThrottlingRate (e.g. 4 = "
                        "a 4x slower device; default 1, none)")


def add_scenario_options(parser: argparse.ArgumentParser, group) -> None:
    """--scenario and every registered scenario's own options (bench ui, bench baseline)."""
    group.add_argument("--scenario", default=",".join(scenario_modules.NAMES), metavar="LIST",
                       help=f"comma-separated scenarios to run (default: all, {','.join(scenario_modules.NAMES)})")
    for module in scenario_modules.MODULES.values():
        module.add_arguments(parser.add_argument_group(f"{module.NAME} scenario"))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bench", description="Measure a web chat UI in real Chromium: "
                     "message-to-paint under bursts of WebSocket messages.",
                     epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    ui = sub.add_parser("ui", help="measure a chat UI in Chromium (message-to-paint under bursts)",
                        description="Drive Chromium against a chat UI, inject bursts of messages "
                                    "over its WebSocket and measure message-to-paint latency.",
                        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    t = ui.add_argument_group("target")
    t.add_argument("--url", help="measure an already running bundled chat app at URL (e.g. one "
                                 "started with `bench serve`); default: start one on a free port")
    t.add_argument("--app-query", default="", metavar="QUERY",
                   help="knobs appended to the bundled app's URL, e.g. 'work_ms=50&render=batched'")
    t.add_argument("--inject", choices=["intercept", "server"], default="intercept",
                   help="intercept: add frames to the page's own WebSocket (default); "
                        "server: POST each message to the server, which broadcasts it")
    s = ui.add_argument_group("scenarios")
    add_scenario_options(ui, s)
    s.add_argument("--repeat", type=int, default=1, help="repetitions, each in a fresh browser context (default 1)")
    s.add_argument("--seed", type=int, default=1, help="message corpus seed (default 1)")
    s.add_argument("--timeout", type=_positive_float, default=30, metavar="S",
                   help="seconds to wait for the page, its socket, or a burst to settle (default 30)")
    _add_browser_options(ui)
    o = ui.add_argument_group("output")
    o.add_argument("--json", metavar="PATH", help="write results (schema bench/1) to PATH")
    o.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    serve = sub.add_parser("serve", help="run the bundled reference chat app",
                           description="Run the bundled reference chat app until Ctrl-C.")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 = any free port)")
    load_cli.add_parsers(sub, _positive_float, EXIT_CODES_HELP, argparse.RawDescriptionHelpFormatter)
    baseline_run.add_parser(sub, _positive_float, _add_browser_options, add_scenario_options, EXIT_CODES_HELP,
                            argparse.RawDescriptionHelpFormatter)
    return parser


def _chosen_scenarios(args) -> list:
    names = [n.strip() for n in args.scenario.split(",") if n.strip()]
    for name in names:
        if name not in scenario_modules.MODULES:
            raise UsageError(f"--scenario {name!r}: choose from {', '.join(scenario_modules.NAMES)}")
    return [scenario_modules.MODULES[name].from_args(args) for name in dict.fromkeys(names)]


def cmd_ui(args) -> int:
    config = UiConfig(scenarios=_chosen_scenarios(args), url=args.url, app_query=args.app_query,
                      inject=args.inject, repeat=args.repeat, seed=args.seed, timeout_s=args.timeout)
    browser = BrowserOptions(path=args.browser_path, headless=not args.headed, slowmo_ms=args.slowmo,
                             cpu_throttle=args.cpu_throttle)
    run = UiRun(config, browser, progress=False if args.no_progress else None)
    started = time.monotonic()
    try:
        results = run.execute()
    except (BenchError, KeyboardInterrupt):
        _keep_partial(run, args)
        raise
    data = results.to_json()
    if args.json:
        results.write(args.json)
    print(render(data))
    print(f"bench ui took {time.monotonic() - started:.1f} s (browser start included)")
    if args.json:
        print(f"results: {args.json}")
    return EXIT_OK


def _keep_partial(run: UiRun, args) -> None:
    """Whatever was measured before a failure or Ctrl-C is written, marked partial."""
    if run.results is None or not run.results.metrics:
        return
    run.results.partial = True
    data = run.results.to_json()
    print(render(data))
    if args.json:
        run.results.write(args.json)
        print(f"partial results: {args.json}")


def cmd_serve(args) -> int:
    from .fixtures import load_fixture_module

    server = load_fixture_module("chat/server.py")
    try:
        server.run(host=args.host, port=args.port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {args.port} on {args.host} is already in use; pick another with --port") from None
        raise UsageError(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return EXIT_OK


def _terminate_as_interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    # SIGTERM (CI cancelling a job) unwinds like Ctrl-C, so cleanup runs.
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        return {"ui": cmd_ui, "serve": cmd_serve, "throughput": load_cli.cmd_throughput,
                "connections": load_cli.cmd_connections,
                "baseline": lambda a: baseline_run.cmd_baseline(a, _chosen_scenarios)}[args.command](args)
    except BenchError as exc:
        print(f"bench: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
