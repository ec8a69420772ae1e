"""The suite's own speed (docs/suite-speed.md, "Targets"): how long bench's commands take here.

    python benchmarks/run.py [NAME ...] [--json PATH]

fuite-leak-verdict and fuite-plain-verdict run nolanlawson/fuite on the same pages as
the cycles-*-verdict entries when FUITE names its executable (npm install fuite;
PUPPETEER_SKIP_DOWNLOAD=1 is fine: it is pointed at the Chromium bench finds).

Each benchmark runs a real command end to end and reports wall time (and the
target from docs/suite-speed.md where there is one). These are benchmarks, not tests:
they print, and exit 1 only when a stated target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

import gate_two_runs  # beside this file
import growth  # beside this file
import input_scenario  # beside this file
import load_generator  # beside this file
import probe_overhead  # beside this file
import protocol_cost  # beside this file
import render_probe_cost  # beside this file
import stream_cost  # beside this file

REPO = Path(__file__).resolve().parent.parent


def children_cpu_s() -> float:
    """CPU seconds (user + system) of every finished child process so far, grandchildren included."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_cli(*args: str) -> tuple[float, dict]:
    """Wall time of `python -m bench ARGS --json tmp`, and the results it wrote (plus its CPU time)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        cpu, start = children_cpu_s(), time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "bench", *args, "--json", str(out), "--no-progress"],
                              cwd=REPO, capture_output=True, text=True)
        elapsed = time.monotonic() - start
        if proc.returncode != 0:
            raise RuntimeError(f"bench {' '.join(args)} failed: {proc.stderr.strip()}")
        results = json.loads(out.read_text())
        results["cpu_s"] = children_cpu_s() - cpu
        return elapsed, results


def bundled_server():
    sys.path.insert(0, str(REPO))
    from bench.targets.server_process import BundledServer

    return BundledServer()


def cycles_verdict(query: str, expected: str, *options: str) -> tuple[float, dict]:
    """Our verdict on the bundled app with `query` (leak_kb=200: "leak"; plain: "stable").

    The server is started outside the timing, as for fuite-leak-verdict, so
    the two time the same thing: browser start, cycles, snapshots, analysis.
    """
    with tempfile.TemporaryDirectory() as snapshots, bundled_server() as server:
        seconds, results = bench_cli("ui", "--url", server.url, "--scenario", "cycles", "--app-query", query,
                                     "--heap-snapshot-dir", snapshots, *options)
    verdict = results["records"]["heap.verdict"][0]
    if verdict["verdict"] != expected:
        raise RuntimeError(f"cycles on {query or 'the plain app'} said {verdict['verdict']!r}, expected {expected!r}")
    return seconds, {"verdict": verdict["verdict"], "cpu_s": results["cpu_s"], "cycles": verdict["decided_at"]}


def cycles_plain_repeats(runs: int = 5) -> tuple[float, dict]:
    """The plain app's verdict, `runs` times over (5 measured cycles, no history): stable every time.

    The false-alarm check that tests/test_cycles.py ran as five tests; the
    test keeps one run, which proves the verdict and its counters, and the
    repeats that show it does not cry wolf on a busy machine live here.
    """
    verdicts, total = [], 0.0
    with tempfile.TemporaryDirectory() as snapshots, bundled_server() as server:
        for _ in range(runs):
            seconds, results = bench_cli("ui", "--url", server.url, "--scenario", "cycles", "--cycles", "5",
                                         "--history-messages", "0", "--heap-snapshot-dir", snapshots)
            total += seconds
            verdicts.append(results["records"]["heap.verdict"][0]["verdict"])
    stable = verdicts.count("stable")
    return total, {"verdict": f"stable in {stable} of {runs}", "target_met": stable == runs,
                   "target_text": f"stable in {runs} of {runs}"}


def gate_aa_repeats(runs: int = 5) -> tuple[float, dict]:
    """Base against base through `bench ui --baseline`, `runs` times (each its own process and Chromium).

    The false-alarm check that tests/test_gate_e2e.py ran as five tests: the
    test keeps one run (with --auto-sample), which proves the verdict's path
    end to end; the A/A rate itself is proven on 20 recorded runs a side in
    tests/test_gate_one_run.py, and shown again on live runs here.
    """
    small = ("--scenario", "burst", "--bursts", "8", "--burst-size", "10", "--repeat", "2")
    verdicts, total = [], 0.0
    with tempfile.TemporaryDirectory() as tmp, bundled_server() as server:
        base = Path(tmp) / "base.json"
        subprocess.run([sys.executable, "-m", "bench", "ui", "--url", server.url, *small, "--no-progress",
                        "--json", str(base)], cwd=REPO, check=True, capture_output=True)
        for _ in range(runs):
            start = time.monotonic()
            proc = subprocess.run([sys.executable, "-m", "bench", "ui", "--url", server.url, *small, "--no-progress",
                                   "--baseline", str(base)], cwd=REPO, capture_output=True, text=True)
            total += time.monotonic() - start
            if proc.returncode not in (0, 1):
                raise RuntimeError(f"bench ui --baseline failed: {proc.stderr.strip()}")
            # The comparison table's row (columns split on 2+ spaces): ..., verdict, gated.
            [row] = [re.split(r"\s{2,}", line.strip()) for line in proc.stdout.splitlines()
                     if line.startswith("paint.latency_ms ") and "%" in line]
            verdicts.append(row[-2])
    slower = verdicts.count("slower")
    return total, {"verdict": f"slower in {slower} of {runs} ({', '.join(verdicts)})", "target_met": slower == 0,
                   "target_text": f"slower in 0 of {runs}"}


def fuite_verdict(query: str) -> tuple[float, dict]:
    """fuite (7 iterations of benchmarks/fuite_reconnect_scenario.mjs) on the same page, same server."""
    fuite = os.environ.get("FUITE")
    if not fuite:
        return float("nan"), {"skipped": "set FUITE to the fuite executable"}
    from playwright.sync_api import sync_playwright

    server = bundled_server()  # puts the repo on sys.path too
    from bench.browser.launch import find_chromium

    with sync_playwright() as playwright:
        chromium = find_chromium(None, playwright)
    env = {**os.environ, "PUPPETEER_EXECUTABLE_PATH": chromium}
    args = ["--browser-arg=--no-sandbox"] if os.geteuid() == 0 else []  # Chromium refuses root otherwise
    with server, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "fuite.json"
        cpu, start = children_cpu_s(), time.monotonic()
        proc = subprocess.run([fuite, f"{server.url}?{query}", "-s", "fuite_reconnect_scenario.mjs",
                               "-o", str(out), *args], cwd=REPO / "benchmarks",
                              capture_output=True, text=True, env=env)
        seconds = time.monotonic() - start
        cpu = children_cpu_s() - cpu
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"fuite failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
        detected = json.loads(out.read_text())[0]["result"]["leaks"]["detected"]
    return seconds, {"verdict": "leak" if detected else "stable", "cpu_s": cpu}


def versus_fuite(query: str, expected: str, *options: str, rounds: int = 3) -> tuple[float, dict]:
    """bench's verdict and fuite's on the same page, alternating (bench, fuite, fuite, bench, ...).

    Paired rounds: the two runs of a round saw the same machine load, so the
    per-round ratio bench/fuite is what the tool changes; its median is the
    figure, with the wall and CPU seconds of each side and the load average.
    The target (docs/suite-speed.md, "Targets"): half fuite's time, and bench right.
    """
    if not os.environ.get("FUITE"):
        return float("nan"), {"skipped": "set FUITE to the fuite executable"}
    rounds = int(os.environ.get("BENCH_ROUNDS", rounds))
    ours, theirs, load = [], [], []
    for i in range(rounds):
        order = ("bench", "fuite") if i % 2 == 0 else ("fuite", "bench")
        for side in order:
            load.append(os.getloadavg()[0])
            if side == "bench":
                ours.append(cycles_verdict(query, expected, *options))
            else:
                theirs.append(fuite_verdict(query))
    ratios = [a[0] / b[0] for a, b in zip(ours, theirs)]
    ratio = statistics.median(ratios)
    seconds = statistics.median(s for s, _ in ours)
    fuite_s = statistics.median(s for s, _ in theirs)
    fuite_words = sorted({d["verdict"] for _, d in theirs})
    summary = (f"{query or 'plain app'}: bench {seconds:.2f} s (cpu {statistics.median(d['cpu_s'] for _, d in ours):.2f} s, "
               f"{statistics.median(d['cycles'] for _, d in ours):g} cycles, {ours[0][1]['verdict']}) vs fuite "
               f"{fuite_s:.2f} s (cpu {statistics.median(d['cpu_s'] for _, d in theirs):.2f} s, "
               f"{'/'.join(fuite_words)}); ratio {ratio:.2f} (per round {', '.join(f'{r:.2f}' for r in ratios)}); "
               f"{rounds} rounds, load average {min(load):.1f}-{max(load):.1f}")
    return seconds, {"verdict": ours[0][1]["verdict"], "fuite_s": fuite_s, "ratio_to_fuite": ratio,
                     "fuite_verdict": "/".join(fuite_words), "target_text": "<= 0.5 x fuite",
                     "target_met": ratio <= 0.5, "summary": summary,
                     "cpu_s": statistics.median(d["cpu_s"] for _, d in ours)}


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
    "ui-default": (lambda: bench_cli("ui"), 10.0),
    "ui-burst-only": (lambda: bench_cli("ui", "--scenario", "burst"), None),
    "ui-scroll-only": (lambda: bench_cli("ui", "--scenario", "scroll"), None),
    # The render-cost probe (issue 9): the same run without it, and its cost per burst.
    "ui-burst-no-render-cost": (lambda: bench_cli("ui", "--scenario", "burst", "--no-render-cost"), None),
    "render-probe-cost": (lambda: render_probe_cost.measure(), None),
    "burst-10k": (lambda: bench_cli("ui", "--scenario", "burst", "--bursts", "1",
                                     "--burst-size", "10000", "--warmup", "0"), None),
    "ui-cycles": (lambda: bench_cli("ui", "--scenario", "cycles"), None),
    # The input scenario's own time, calm + busy at defaults (goal <= 6 s; detail["target_met"]).
    "ui-input": (input_scenario.measure, None),
    "ui-default-trace": (ui_traced, None),
    "cycles-leak-verdict": (lambda: cycles_verdict("leak_kb=200", "leak"), None),
    "fuite-leak-verdict": (lambda: fuite_verdict("leak_kb=200"), None),
    # Like for like with fuite: one warm-up, no history burst (fuite does neither).
    "cycles-leak-verdict-lean": (lambda: cycles_verdict("leak_kb=200", "leak", "--cycle-warmup", "1",
                                                        "--history-messages", "0"), None),
    "cycles-plain-verdict": (lambda: cycles_verdict("", "stable"), None),
    "fuite-plain-verdict": (lambda: fuite_verdict(""), None),
    # Paired, alternating rounds against fuite (BENCH_ROUNDS, default 3): the ratio is the figure.
    "leak-verdict-vs-fuite": (lambda: versus_fuite("leak_kb=200", "leak"), None),
    "plain-verdict-vs-fuite": (lambda: versus_fuite("", "stable"), None),
    # Like for like: one warm-up, no history burst (fuite does neither).
    "lean-leak-verdict-vs-fuite": (lambda: versus_fuite("leak_kb=200", "leak", "--cycle-warmup", "1",
                                                        "--history-messages", "0"), None),
    # No false alarm in repeated runs on the plain app (moved here from the test suite).
    "cycles-plain-repeats": (cycles_plain_repeats, None),
    # No false alarm from the gate: base against base, live runs (moved here from the test suite).
    "gate-aa-repeats": (gate_aa_repeats, None),
    # The same, two runs a side drawn from recorded runs: the noise folded in below three runs (<= 5 %).
    "gate-aa-two-runs": (gate_two_runs.measure, None),
    # Rate targets: detail["target_met"] decides, detail["summary"] says what was measured.
    "generator-50k": (load_generator.generator, None),
    "bundled-server-max": (load_generator.bundled, None),
    # The in-page probes' cost, with/without rounds (<= 0.3 ms/msg, <= 2 % frame time).
    "probe-overhead": (probe_overhead.measure, None),
    # Injection cost per message per protocol; generator msgs/s, Socket.IO framing vs JSON (goal: within 20 %).
    "protocol-cost": (protocol_cost.measure, None),
    # Time and memory of the tool vs messages per run, up to a 100,000 history (exponent <= 1.2).
    "growth": (growth.measure, None),
    # The stream scenario: probe cost per chunk (<= 0.2 ms), wall time beyond 3 replies (<= 1 s).
    "stream-cost": (stream_cost.measure, None),
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
        load = os.getloadavg()[0]
        seconds, detail = run()
        if "skipped" in detail:
            rows.append([name, "-", "-", "-", f"skipped: {detail['skipped']}", "", "", ""])
            continue
        ok = (target is None or seconds <= target) and detail.get("target_met", True)
        if "summary" in detail:
            print(detail["summary"], flush=True)
        missed |= not ok
        judged = target is not None or "target_met" in detail
        # Only what the table says: the full results of each run stay out.
        out[name] = {"seconds": seconds, "target_s": target, "passed": ok if judged else None, "load_avg": load,
                     **{k: detail[k] for k in ("verdict", "target_text", "summary", "cpu_s", "fuite_s",
                                               "ratio_to_fuite") if k in detail}}
        target_text = detail.get("target_text") or ("-" if target is None else f"<= {target:g} s")
        ratio = f"{detail['ratio_to_fuite']:.2f} ({detail['fuite_s']:.1f} s)" if "ratio_to_fuite" in detail else "-"
        cpu = f"{detail['cpu_s']:.1f}" if isinstance(detail.get("cpu_s"), float) else "-"
        rows.append([name, f"{seconds:.1f}", cpu, target_text, ("PASS" if ok else "FAIL") if judged else "-",
                     ratio, f"{load:.1f}", detail.get("verdict", "")])
    print(tabulate(rows, headers=["benchmark", "seconds", "cpu s", "target", "status", "vs fuite (fuite s)",
                                  "load", "result"]))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
