"""Command line for evidence: `bench ui --trace [on|on-failure]`, `--html PATH`, headed debugging.

Kept apart from cli.py, as cli_gate.py is: the options, their checks before
anything runs, the hook that records the unmeasured trace passes in the
run's browser once the measured repetitions are done (UiRun's at_end), and
writing the HTML report and the trace archive once the gate has judged.

--trace on: always an archive. --trace on-failure: the gate is judged as
soon as the measured repetitions are done, and the trace passes run (and an
archive is written) only when it fails (exit 1); a passing run costs nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from ..results.records import json_text
from ..probes import headed_debug
from ..errors import UsageError
from ..gate.verdict import GateOutcome
from ..report.terminal import text_report

TRACE_MODES = ("on", "on-failure")
DEFAULT_TRACE_DIR = "traces"
DEFAULT_FILMSTRIP_INTERVAL_MS = 50.0
UNMEASURED_NOTE = ("results.json, summary.md and report.html are the measured run. chrome-trace.json, "
                   "playwright-trace.zip and filmstrip.png come from separate, unmeasured passes of the same "
                   "scenarios (shorter) in fresh browser contexts after the measured run, because tracing "
                   "costs the page time: their timings are slower than the measured ones and are never "
                   "part of the results.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("evidence (trace archive, HTML report)")
    g.add_argument("--trace", nargs="?", const="on", choices=TRACE_MODES, metavar="on|on-failure",
                   help="write a trace archive of this run to --trace-dir: results.json, summary.md, report.html, "
                        "filmstrip.png, a Chrome trace and a Playwright trace (both from an extra, unmeasured "
                        "pass), heap snapshots if kept. on-failure: only when a budget or regression fails")
    g.add_argument("--trace-dir", default=DEFAULT_TRACE_DIR, metavar="DIR",
                   help=f"where trace archives go (default {DEFAULT_TRACE_DIR}/)")
    g.add_argument("--html", metavar="PATH",
                   help="write a self-contained HTML report with plots (no network requests when opened)")
    g.add_argument("--filmstrip-interval", type=float, default=DEFAULT_FILMSTRIP_INTERVAL_MS, metavar="MS",
                   help=f"with --trace: time between filmstrip frames (default {DEFAULT_FILMSTRIP_INTERVAL_MS:g})")
    headed_debug.add_arguments(parser)


class UiEvidence:
    """Evidence for one `bench ui`: give `debug` and `at_end` to the UiRun, then results_json() and write()."""

    def __init__(self, args, judge, sampler=None, out=None):
        self.trace = args.trace
        self.trace_dir = Path(args.trace_dir)
        self.html = args.html
        self.interval_ms = args.filmstrip_interval
        if self.interval_ms <= 0:
            raise UsageError(f"--filmstrip-interval must be a positive number of ms (got {self.interval_ms:g})")
        if self.trace and self.trace_dir.exists() and not self.trace_dir.is_dir():
            raise UsageError(f"--trace-dir {self.trace_dir}: exists and is not a directory")
        debug_options = headed_debug.options_from_args(args)
        self.debug = headed_debug.HeadedDebug(debug_options) if debug_options.active else None
        self.judge = judge          # results dict -> GateOutcome, prints nothing
        self.sampler = sampler
        self.out = out or sys.stdout
        self.data: dict | None = None
        self.outcome: GateOutcome | None = None
        self.printed = False        # the metrics table was printed before --keep-open's wait
        self._staging: tempfile.TemporaryDirectory | None = None
        self._passes: dict | None = None   # what the trace passes made: files, filmstrip, errors

    # -- during the run --------------------------------------------------------
    def results_json(self, results) -> dict:
        """The results JSON (stats as computed once per metric), with the auto-sampler's last word in its notes."""
        if self.data is None:
            if self.sampler is not None:
                results.notes.append(self.sampler.status)
            self.data = results.to_json()
        return self.data

    def at_end(self, run, browser, target) -> None:
        """In the run's browser, after the measured repetitions: the trace passes if wanted."""
        data = self.results_json(run.results)
        if self.trace == "on-failure":
            self.outcome = self.judge(data)
        if self.trace == "on" or (self.trace == "on-failure" and self.outcome.failed):
            self._passes = self._record_passes(browser, target, run)
        if self.debug is not None and self.debug.keep_open:
            print(text_report(data), file=self.out, flush=True)
            self.printed = True

    def _record_passes(self, browser, target, run) -> dict:
        from ..run.unmeasured import PassSettings, record_passes

        self._staging = tempfile.TemporaryDirectory(prefix="bench-trace-")
        settings = PassSettings(target=target, scenarios=run.variants[0].scenarios, seed=run.config.seed,
                                timeout_s=run.config.timeout_s, cpu_throttle=run.browser_options.cpu_throttle,
                                scratch=Path(self._staging.name))
        return record_passes(browser, settings, self.interval_ms)

    # -- after the gate ---------------------------------------------------------
    def write(self, data: dict, outcome: GateOutcome) -> None:
        """--html, and the trace archive when the passes ran; prints where they went."""
        report = None
        if self.html or self._passes is not None:  # made once, for --html and the archive alike
            # Imported here, not for every run: it brings matplotlib (0.3-0.5 s, 29 MiB).
            from ..report.html import html_report

            extra = [UNMEASURED_NOTE] if self._passes is not None else []
            report = html_report(data, outcome, f"bench ui: {_target_name(data)}", extra)
        if self.html:
            path = Path(self.html)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(report, encoding="utf-8")
            print(f"html report: {self.html}", file=self.out)
        if self.trace is None:
            return
        if self._passes is None:
            print(f"trace: --trace on-failure and the gate did not fail ({outcome.verdict_line()}): no archive",
                  file=self.out)
            return
        try:
            self._write_archive(data, outcome, report)
        finally:
            self._staging.cleanup()

    def _write_archive(self, data: dict, outcome: GateOutcome, report: str) -> None:
        from ..report.markdown import markdown
        from ..report.trace_archive import Entry, archive_name, write_archive

        env = data.get("env") or {}
        entries = [Entry("results.json", data=_json_bytes(data)),
                   Entry("summary.md", data=markdown(outcome).encode()),
                   Entry("report.html", data=report.encode())]
        entries += [Entry(name, path=path) for name, path in self._passes["files"].items()]
        entries += [Entry(name, path=path) for name, path in _heap_snapshots(data)]
        manifest = {
            "bench_trace_archive": 1, "target": _target_name(data),
            "url": (data.get("config") or {}).get("target", {}).get("url"),
            "started_at": env.get("started_at"), "git_revision": env.get("git_revision"),
            "gate": outcome.verdict_line(), "exit_code": outcome.exit_code, "note": UNMEASURED_NOTE,
            "unmeasured_passes": {k: v for k, v in self._passes.items() if k != "files"},
        }
        path = self.trace_dir / archive_name(env.get("started_at"), env.get("git_revision"), _target_name(data))
        size = write_archive(path, entries, manifest)
        names = ", ".join(e.name for e in entries)
        print(f"trace archive: {path} ({size / 1e6:.1f} MB): {names}", file=self.out)


def _json_bytes(data: dict) -> bytes:
    return json_text(data).encode()


def _target_name(data: dict) -> str:
    return (data.get("config") or {}).get("target", {}).get("name") or "target"


def _heap_snapshots(data: dict) -> list[tuple[str, Path]]:
    """The .heapsnapshot files the cycles scenario kept (records["heap.verdict"][].snapshots), if still there."""
    found = []
    for verdict in (data.get("records") or {}).get("heap.verdict", []):
        for snapshot in verdict.get("snapshots") or []:
            path = Path(snapshot)
            if path.is_file():
                found.append((f"heapsnapshots/repetition-{verdict.get('repetition', 0) + 1}/{path.name}", path))
    return found
