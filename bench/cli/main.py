"""Command line: `python -m bench <command>`. Errors become one line and an exit code."""

from __future__ import annotations

import argparse
import errno
import os
import select
import signal
import sys
import time

from ..browser.interrupt import interrupt
from ..errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_OUTPUT_CLOSED, EXIT_TARGET, EXIT_USAGE, BenchError, UsageError
from ..report.terminal import text_report
from ..results.records import write_json_atomic
from ..run.runner import UiConfig, UiRun, Variant
from ..stats.difference import COMPARE_RUNS
from . import baseline as baseline_run
from . import calibrate as calibrate_command
from . import evidence as cli_evidence
from . import gate as cli_gate
from . import history as history_cli
from . import load as load_cli
from .options import EXIT_CODES_HELP, FORMATTER, Parser, add_browser, add_command, add_output, add_scenarios
from .options import add_seed, add_timeout, browser_options, chosen_scenarios, positive_float

def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="bench", description="Measure a web chat UI in real Chromium (message-to-paint, "
                     "scroll smoothness, memory across reconnects) and its chat server (throughput, "
                     "connections).",
                    epilog=EXIT_CODES_HELP, formatter_class=FORMATTER)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    ui = add_command(sub, "ui", help="measure a chat UI in Chromium: message-to-paint, scroll, memory",
                        description="Drive Chromium against a chat UI: inject bursts of messages over its "
                                    "WebSocket and measure message-to-paint latency (burst), scroll it and "
                                    "measure frame times (scroll), close its socket again and again to "
                                    "follow heap, DOM nodes and listeners (cycles); with a [stream] table "
                                    "in the profile, time streamed replies chunk by chunk (stream, "
                                    "docs/streaming.md); with an [input] table, type into it, calm and "
                                    "while messages arrive, for keystroke-to-paint, INP and send-to-echo "
                                    "(input, docs/input.md).")
    t = ui.add_argument_group("target")
    t.add_argument("--profile", metavar="FILE.toml",
                   help="target profile: how to drive your chat UI (default: the bundled app's, "
                        "bench/targets/data/profiles/bundled.toml)")
    t.add_argument("--url", help="the chat page to measure (overrides the profile's url); with the "
                                 "bundled profile and no --url, bench starts the bundled app on a free port")
    t.add_argument("--app-query", default="", metavar="QUERY",
                   help="query appended to the page URL, e.g. the bundled app's knobs "
                        "'work_ms=50&render=batched'")
    t.add_argument("--inject", choices=["intercept", "server"],
                   help="intercept: add frames to the page's own WebSocket; server: POST each message "
                        "to the server, which broadcasts it (default: the profile's websocket.inject)")
    s = ui.add_argument_group("scenarios")
    add_scenarios(ui, s)
    s.add_argument("--repeat", type=int, default=None,
                   help="repetitions, each in a fresh browser context (default 1; 3 with --baseline "
                        "alone, so its CI sees run-to-run noise; --auto-sample starts from 1 and adds more)")
    add_seed(s)
    add_timeout(s, 30, "the page, its socket, or a burst to settle")
    add_browser(ui)
    history_cli.add_ui_argument(add_output(ui))
    cli_gate.add_ui_arguments(ui)
    cli_evidence.add_arguments(ui)

    cli_gate.add_compare_parser(sub)
    calibrate_command.add_parser(sub)
    history_cli.add_parser(sub)

    profile = sub.add_parser("profile", help="write and check target profiles for your chat UI",
                             description="Target profiles tell bench how to drive a chat UI.")
    psub = profile.add_subparsers(dest="profile_command", metavar="ACTION", parser_class=Parser)
    check = psub.add_parser("check", help="open the page and check every part of a profile",
                            description="Open the page, verify each selector and the socket match, "
                                        "inject one message and report whether it was seen, where, "
                                        "and whether it was painted. Exit 0 when all checks pass, 3 if not.")
    check.add_argument("file", metavar="FILE.toml", help="the profile")
    check.add_argument("--url", help="the page (overrides the profile's url)")
    add_timeout(check, 15, "each step")
    add_browser(check)
    init = psub.add_parser("init", help="watch a page and propose a profile",
                           description="Load the page, watch it for a few seconds, and print a "
                                       "proposed profile (the socket it saw, the list that scrolls) "
                                       "for you to edit and check.")
    init.add_argument("--url", required=True, help="the chat page")
    init.add_argument("--watch", type=positive_float, default=5, metavar="S",
                      help="seconds to watch the page (default 5)")
    init.add_argument("--out", metavar="FILE.toml", help="write the profile here instead of stdout")
    add_browser(init)

    serve = sub.add_parser("serve", help="run the bundled reference chat app",
                           description="Run the bundled reference chat app until Ctrl-C.")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 = any free port)")
    load_cli.add_parsers(sub)
    baseline_run.add_parser(sub)
    return parser


def _repeat(args) -> int:
    """--repeat, else 1; 3 with --baseline alone (--auto-sample adds repetitions while unresolved)."""
    if args.repeat is not None:
        return args.repeat
    if getattr(args, "auto_sample", False):
        return 1
    comparing = getattr(args, "baseline", None) or cli_gate.interleaved_baseline(args)
    return COMPARE_RUNS if comparing else 1


def cmd_ui(args) -> int:
    config = UiConfig(scenarios=chosen_scenarios(args), profile=args.profile, url=args.url,
                      app_query=args.app_query,
                      inject=args.inject, repeat=_repeat(args), seed=args.seed, timeout_s=args.timeout)
    browser = browser_options(args)
    gate = cli_gate.prepare(args, budgets_from_pyproject=True)  # bad gate input: exit 2 before any run
    cli_gate.check_predicted_env(gate, browser.headless, browser.cpu_throttle, args.force,
                                 browser.source.location)
    sampler = cli_gate.auto_sampler(args, gate)
    history = history_cli.ui_recorder(args)  # a bad store: exit 2 before Chromium starts
    sampling = lambda: sampler.status if sampler else None  # noqa: E731 - known once the run ends
    variants = None
    if cli_gate.interleaved_baseline(args):  # base and this run alternate in one browser
        base_query = args.baseline_query if args.baseline_query is not None else args.app_query
        variants = [Variant("", args.app_query, config.scenarios),
                    Variant(cli_gate.INTERLEAVED, base_query, config.scenarios, url=args.baseline_url)]

    def use_interleaved_baseline() -> None:
        if variants is not None:
            gate.baseline = run.variant_results[cli_gate.INTERLEAVED].to_json()
            gate.baseline_label = cli_gate.interleaved_label(args)

    def judge(data):
        use_interleaved_baseline()
        return cli_gate.judge_run(args, gate, data, sampling())

    evidence = cli_evidence.UiEvidence(args, judge, sampler)
    run = UiRun(config, browser, progress=False if args.no_progress else None, until=sampler,
                debug=evidence.debug, at_end=evidence.at_end, variants=variants)
    started = time.monotonic()
    try:
        results = run.execute()
    except (BenchError, KeyboardInterrupt):
        _keep_partial(run, args)
        raise
    data = evidence.results_json(results)  # stats computed once per metric (MetricSeries.stats)
    if args.json:
        write_json_atomic(args.json, data)
    if not evidence.printed:
        print(text_report(data))
    print(f"bench ui took {time.monotonic() - started:.1f} s (browser start included)")
    if args.json:
        print(f"results: {args.json}")
    use_interleaved_baseline()
    outcome = cli_gate.finish(args, gate, data, sampling=sampling(), outcome=evidence.outcome)
    evidence.write(data, outcome)
    if history:
        history.record(data)
    return outcome.exit_code


def _keep_partial(run: UiRun, args) -> None:
    """Whatever was measured before a failure or Ctrl-C is written, marked partial unless it is all there.

    A run stopped after its last repetition (in the unmeasured trace passes)
    measured everything: its results are complete, and say so; what comes
    after measuring (the gate, the trace archive, --html, history) did not run.
    """
    if run.results is None or not run.results.metrics:
        return
    run.results.partial = not run.complete
    data = run.results.to_json()
    print(text_report(data))
    if args.json:
        run.results.write(args.json)
        if run.complete:
            print(f"results: {args.json} (complete: stopped after measuring, before the gate, "
                  "the trace archive and history)")
        else:
            print(f"partial results: {args.json}")



def cmd_profile(args) -> int:
    from ..targets.profile import resolve_target

    if args.profile_command == "check":
        from ..run.profile_check import check_profile

        target = resolve_target(args.file, args.url)
        if not target.url:
            raise UsageError(f"{args.file}: the bundled profile needs --url (start one with `bench serve`)")
        print(f"checking {args.file} against {target.url}")
        checks = check_profile(target, browser_options(args), args.timeout)
        for check in checks:
            print(check.line())
        failed = sum(not c.ok for c in checks)
        print("all checks passed" if not failed else f"{failed} check(s) failed")
        return EXIT_OK if not failed else EXIT_TARGET
    if args.profile_command == "init":
        from ..run.profile_init import propose_profile

        text = propose_profile(args.url, browser_options(args), args.watch)
        if args.out:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"wrote {args.out}; now run: bench profile check {args.out}")
        else:
            print(text, end="")
        return EXIT_OK
    raise UsageError("bench profile: choose an action: check or init")


def cmd_serve(args) -> int:
    from ..targets.bundled import load_fixture_module

    server = load_fixture_module("chat/server.py")
    try:
        server.run(host=args.host, port=args.port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {args.port} on {args.host} is already in use; pick another with --port") from None
        raise UsageError(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    # SIGTERM (CI cancelling a job) unwinds like Ctrl-C, so cleanup runs.
    signal.signal(signal.SIGTERM, interrupt)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        commands = {"ui": cmd_ui, "serve": cmd_serve, "profile": cmd_profile,
                    "compare": cli_gate.cmd_compare, "calibrate": calibrate_command.command,
                    "history": history_cli.command,
                    "throughput": load_cli.cmd_throughput, "connections": load_cli.cmd_connections,
                    "baseline": lambda a: baseline_run.cmd_baseline(a)}
        return commands[args.command](args)
    except BenchError as exc:
        print(f"bench: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        if not _reader_gone(sys.stdout):
            raise
        # `bench compare A B | head -1`: the reader went away. Stop quietly, as Unix tools do (cleanup has
        # run: the error unwound like Ctrl-C), and point stdout at /dev/null so the flush at exit cannot
        # fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_OUTPUT_CLOSED


def _reader_gone(stream) -> bool:
    """Whether stream is a pipe whose reading end is closed (poll(2) reports POLLERR for it)."""
    try:
        poller = select.poll()
        poller.register(stream.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # no file descriptor (captured output)
        return False


if __name__ == "__main__":
    sys.exit(main())
