"""The suite's own speed (DESIGN.md section 6): how long bench's commands take here.

    python benchmarks/run.py [NAME ...] [--json PATH]

fuite-leak-verdict and fuite-plain-verdict run nolanlawson/fuite on the same pages as
the cycles-*-verdict entries when FUITE names its executable (npm install fuite;
PUPPETEER_SKIP_DOWNLOAD=1 is fine: it is pointed at the Chromium bench finds).

Each benchmark runs a real command end to end and reports wall time (and the
target from DESIGN.md where there is one). These are benchmarks, not tests:
they print, and exit 1 only when a stated target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

import growth  # beside this file
import load_generator  # beside this file
import probe_overhead  # beside this file
import render_probe_cost  # beside this file

REPO = Path(__file__).resolve().parent.parent


def bench_cli(*args: str) -> tuple[float, dict]:
    """Wall time of `python -m bench ARGS --json tmp`, and the results it wrote."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "bench", *args, "--json", str(out), "--no-progress"],
                              cwd=REPO, capture_output=True, text=True)
        elapsed = time.monotonic() - start
        if proc.returncode != 0:
            raise RuntimeError(f"bench {' '.join(args)} failed: {proc.stderr.strip()}")
        return elapsed, json.loads(out.read_text())


def bundled_server():
    sys.path.insert(0, str(REPO))
    from bench.server_process import BundledServer

    return BundledServer()


def cycles_verdict(query: str, expected: str, *options: str) -> tuple[float, dict]:
    """Our verdict on the bundled app with `query` (leak_kb=200: "leak"; plain: "stable").

    The server is started outside the timing, as for fuite-leak-verdict, so
    the two time the same thing: browser start, cycles, snapshots, analysis.
    """
    with tempfile.TemporaryDirectory() as snapshots, bundled_server() as server:
        seconds, results = bench_cli("ui", "--url", server.url, "--scenario", "cycles", "--app-query", query,
                                     "--heap-snapshot-dir", snapshots, *options)
    verdict = results["records"]["heap.verdict"][0]["verdict"]
    if verdict != expected:
        raise RuntimeError(f"cycles on {query or 'the plain app'} said {verdict!r}, expected {expected!r}")
    return seconds, {"verdict": verdict}


def fuite_verdict(query: str) -> tuple[float, dict]:
    """fuite (7 iterations of benchmarks/fuite_reconnect_scenario.mjs) on the same page, same server."""
    fuite = os.environ.get("FUITE")
    if not fuite:
        return float("nan"), {"skipped": "set FUITE to the fuite executable"}
    from playwright.sync_api import sync_playwright

    server = bundled_server()  # puts the repo on sys.path too
    from bench.browser import find_chromium

    with sync_playwright() as playwright:
        chromium = find_chromium(None, playwright)
    env = {**os.environ, "PUPPETEER_EXECUTABLE_PATH": chromium}
    args = ["--browser-arg=--no-sandbox"] if os.geteuid() == 0 else []  # Chromium refuses root otherwise
    with server, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "fuite.json"
        start = time.monotonic()
        proc = subprocess.run([fuite, f"{server.url}?{query}", "-s", "fuite_reconnect_scenario.mjs",
                               "-o", str(out), *args], cwd=REPO / "benchmarks",
                              capture_output=True, text=True, env=env)
        seconds = time.monotonic() - start
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"fuite failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
        detected = json.loads(out.read_text())[0]["result"]["leaks"]["detected"]
    return seconds, {"verdict": "leak" if detected else "stable"}


def ui_traced() -> tuple[float, dict]:
    """The default `bench ui` with --trace: the measured run, the two unmeasured passes, the archive."""
    with tempfile.TemporaryDirectory() as traces:
        seconds, _ = bench_cli("ui", "--trace", "--trace-dir", traces)
        archive = next(Path(traces).glob("*.zip"))
        return seconds, {"archive_mb": round(archive.stat().st_size / 1e6, 1)}


def auto_sample_plus5() -> tuple[float, dict]:
    """+5 ms of work per message against the same page, interleaved, --auto-sample: resolved `slower`.

    The target (70 s: 60 s of sampling and the browser's start) is the gate's
    promise in docs/statistics.md; it is missed too when the verdict is not a
    resolved `slower` (exit 1).
    """
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "bench", "ui", "--scenario", "burst", "--bursts", "10",
                           "--burst-size", "20", "--app-query", "work_ms=5", "--baseline-query", "",
                           "--auto-sample", "--max-time", "60", "--no-progress"],
                          cwd=REPO, capture_output=True, text=True)
    seconds = time.monotonic() - start
    sampling = next((line for line in proc.stdout.splitlines() if line.startswith("auto-sample:")), None)
    resolved = proc.returncode == 1 and sampling is not None and "one side of each threshold" in sampling
    return seconds, {"verdict": "slower, resolved" if resolved else f"exit {proc.returncode}: {sampling}",
                     "target_met": resolved}


# name -> (function returning (seconds, detail), target seconds or None)
BENCHMARKS = {
    "auto-sample-plus5": (auto_sample_plus5, 70.0),
    "ui-default": (lambda: bench_cli("ui"), 20.0),
    "ui-burst-only": (lambda: bench_cli("ui", "--scenario", "burst"), None),
    "ui-scroll-only": (lambda: bench_cli("ui", "--scenario", "scroll"), None),
    # The render-cost probe (issue 9): the same run without it, and its cost per burst.
    "ui-burst-no-render-cost": (lambda: bench_cli("ui", "--scenario", "burst", "--no-render-cost"), None),
    "render-probe-cost": (lambda: render_probe_cost.measure(), None),
    "burst-10k": (lambda: bench_cli("ui", "--scenario", "burst", "--bursts", "1",
                                     "--burst-size", "10000", "--warmup", "0"), None),
    "ui-cycles": (lambda: bench_cli("ui", "--scenario", "cycles"), None),
    "ui-default-trace": (ui_traced, None),
    "cycles-leak-verdict": (lambda: cycles_verdict("leak_kb=200", "leak"), None),
    "fuite-leak-verdict": (lambda: fuite_verdict("leak_kb=200"), None),
    # Like for like with fuite: one warm-up, no history burst (fuite does neither).
    "cycles-leak-verdict-lean": (lambda: cycles_verdict("leak_kb=200", "leak", "--cycle-warmup", "1",
                                                        "--history-messages", "0"), None),
    "cycles-plain-verdict": (lambda: cycles_verdict("", "stable"), None),
    "fuite-plain-verdict": (lambda: fuite_verdict(""), None),
    # Rate targets: detail["target_met"] decides, detail["summary"] says what was measured.
    "generator-50k": (load_generator.generator, None),
    "bundled-server-max": (load_generator.bundled, None),
    # The in-page probes' cost, with/without rounds (<= 0.3 ms/msg, <= 2 % frame time).
    "probe-overhead": (probe_overhead.measure, None),
    # Time and memory of the tool vs messages per run, up to a 100,000 history (exponent <= 1.2).
    "growth": (growth.measure, None),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all: {', '.join(BENCHMARKS)})")
    parser.add_argument("--json", metavar="PATH", help="write the timings as JSON")
    args = parser.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    rows, out, missed = [], {}, False
    for name in names:
        run, target = BENCHMARKS[name]
        seconds, detail = run()
        if "skipped" in detail:
            rows.append([name, "-", "-", f"skipped: {detail['skipped']}", ""])
            continue
        ok = (target is None or seconds <= target) and detail.get("target_met", True)
        if "summary" in detail:
            print(detail["summary"], flush=True)
        missed |= not ok
        judged = target is not None or "target_met" in detail
        # Only what the table says: the full results of each run stay out.
        out[name] = {"seconds": seconds, "target_s": target, "passed": ok if judged else None,
                     **{k: detail[k] for k in ("verdict", "target_text", "summary") if k in detail}}
        target_text = detail.get("target_text") or ("-" if target is None else f"<= {target:g} s")
        rows.append([name, f"{seconds:.1f}", target_text, ("PASS" if ok else "FAIL") if judged else "-",
                     detail.get("verdict", "")])
    print(tabulate(rows, headers=["benchmark", "seconds", "target", "status", "verdict"]))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
