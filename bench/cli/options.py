"""Options more than one command takes, declared once: every command module builds from these.

--timeout, --seed, --json and --no-progress mean the same everywhere (only the default and what
is waited for differ); the browser options and the browser's source go together; the parser
class turns a usage error into one line and exit code 2 (README.md and docs/results.md, "Exit codes").
"""

from __future__ import annotations

import argparse

from .. import scenarios as scenario_modules
from ..browser import source as browser_source
from ..browser.launch import BrowserOptions
from ..errors import UsageError

EXIT_CODES_HELP = """exit codes:
  0   ok
  1   a budget or regression failed
  2   usage or input error (bad option, file, port in use)
  3   the target or browser failed (no Chromium, page did not load, no WebSocket)
  130 interrupted (results gathered so far are still written)
  141 the reader of its output went away (`bench ... | head`): stopped quietly"""

FORMATTER = argparse.RawDescriptionHelpFormatter


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str):  # noqa: D102
        # The top-level parser's prog is "bench", which main() already prints ("bench: error: ...").
        raise UsageError(message if self.prog == "bench" else f"{self.prog}: {message}")


def add_command(sub, name: str, help: str, description: str) -> argparse.ArgumentParser:
    """A subcommand with the exit codes under its --help."""
    return sub.add_parser(name, help=help, description=description, epilog=EXIT_CODES_HELP,
                          formatter_class=FORMATTER)


def _number(name: str, convert, what: str, ok, rule: str):
    """An argparse type: convert the text, refuse what is not `what` or breaks `rule`."""
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must {rule}: {text!r}")
        return value
    parse.__name__ = name
    return parse


positive_float = _number("positive_float", float, "a number", lambda v: v > 0, "be positive")
positive_int = _number("positive_int", int, "a whole number", lambda v: v > 0, "be positive")
non_negative_float = _number("non_negative_float", float, "a number", lambda v: v >= 0, "not be negative")


def add_timeout(group, default: float, waits_for: str) -> None:
    group.add_argument("--timeout", type=positive_float, default=default, metavar="S",
                       help=f"seconds to wait for {waits_for} (default {default:g})")


def add_seed(group) -> None:
    group.add_argument("--seed", type=int, default=1, help="message corpus seed (default 1)")


def add_json(group, writes: str = "results (schema bench/1)") -> None:
    group.add_argument("--json", metavar="PATH", help=f"write {writes} to PATH")


def add_no_progress(group) -> None:
    group.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def add_output(parser, writes: str = "results (schema bench/1)"):
    """The "output" group most commands have: --json and --no-progress; the group, for more."""
    group = parser.add_argument_group("output")
    add_json(group, writes)
    add_no_progress(group)
    return group


def add_browser(parser, elsewhere: bool = True) -> None:
    """Which Chromium and how it runs; with elsewhere, also --connect / --cdp-endpoint."""
    g = parser.add_argument_group("browser")
    g.add_argument("--browser-path", metavar="PATH",
                   help="Chromium to use (default: $BENCH_CHROMIUM, Playwright's own Chromium, "
                        "then chromium/chromium-browser/google-chrome on PATH)")
    g.add_argument("--headed", action="store_true", help="show the browser window (to watch and debug)")
    g.add_argument("--slowmo", type=float, default=0, metavar="MS",
                   help="slow every Playwright action down by MS milliseconds (for watching)")
    g.add_argument("--cpu-throttle", type=positive_float, default=1.0, metavar="RATE",
                   help="CPU slowdown factor via CDP Emulation.setCPUThrottlingRate (e.g. 4 = "
                        "a 4x slower device; default 1, none)")
    if elsewhere:
        browser_source.add_arguments(parser)


def browser_options(args) -> BrowserOptions:
    """BrowserOptions from the options add_browser declared."""
    return BrowserOptions(path=args.browser_path, headless=not args.headed, slowmo_ms=args.slowmo,
                          cpu_throttle=args.cpu_throttle, source=browser_source.source_from_args(args))


def add_scenarios(parser, group) -> None:
    """--scenario and every registered scenario's own options (bench ui, bench baseline)."""
    group.add_argument("--scenario", default="default", metavar="LIST",
                       help=f"comma-separated scenarios to run, of {','.join(scenario_modules.NAMES)}; "
                            f"'default' is {','.join(scenario_modules.DEFAULT)} (the default); 'all' adds "
                            "stream and input where the profile has a [stream] / [input] table")
    group.add_argument("--no-render-cost", action="store_true",
                       help="leave out the render.* metrics (where the main thread's time went, renderer "
                            "CPU and memory; two CDP Performance readings per burst and per scroll pass)")
    for module in scenario_modules.MODULES.values():
        module.add_arguments(parser.add_argument_group(f"{module.NAME} scenario"))


def chosen_scenarios(args) -> list:
    """The scenario objects --scenario names, in its order, each once."""
    names = scenario_modules.expand(args.scenario)
    names = scenario_modules.applicable(names, getattr(args, "profile", None),
                                        chosen=scenario_modules.by_name(args.scenario, "input"))
    for name in names:
        if name not in scenario_modules.MODULES:
            raise UsageError(f"--scenario {name!r}: choose from {', '.join(scenario_modules.NAMES)}")
    return [scenario_modules.MODULES[name].from_args(args) for name in dict.fromkeys(names)]
