"""How bench's own time and memory grow with the messages of a run (docs/suite-speed.md, "Targets").

    python benchmarks/growth.py [--runs 1x100,1x1000,...] [--json PATH]

Target: bursts of 10,000 messages and histories of 100,000: the tool's time
and memory grow linearly. Each run is `bench ui --scenario burst --warmup 0
--bursts B --burst-size N`, a process of its own, against one bundled server
started here (so the server is not the tool's child). The default runs are
single bursts of 100, 1,000, 3,000 and 10,000 messages, and 10 bursts of
10,000: the page's list keeps every message, so that run ends with a
history of 100,000.

The page is the bundled app with render=virtual (a virtualised list: the DOM
holds the rows in view, whatever the history). On the default append page
the page itself slows down as its history grows (Chromium lays out the whole
flex list each frame: render.layout_ms went from 1.6 s to 32 s per 10,000
burst over a 100,000 history, 6.4 minutes in all), which is the page's
growth, and bench measures it; here the subject is the tool.

Per run (bench_with_peaks.py runs `-m bench` and notes the memory):
- wall_s: the command's wall time (what a user waits for);
- python_growth_mib / driver_growth_mib: how far the resident set of the
  bench Python process / the Playwright driver (node), the tool's two
  processes, rose above where it was when the burst scenario started (peak
  reset then, /proc/PID/clear_refs; the driver's peak read every 0.1 s while
  it lives); the lifetime peaks are given beside them;
- tool_cpu_s: CPU time of the two processes (getrusage; the driver's from
  /proc/PID/stat, read like its memory): the tool's own work, which the
  machine's load and the page's speed do not change;
- results_mib: size of the results JSON.
Growth: benchmarks/suite_stats.growth_exponent (log-log least squares of
the increments over the smallest run, weighted by increment), over the
single bursts ("burst_size", 100 to 10,000) and over all runs ("messages",
up to the 100,000 history). Linear is 1; target: the exponents of wall time
and of both memory growths <= 1.2. Runs go in a shuffled size order, so a
load that rises over the minutes is not read as superlinear time.
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

import standalone  # beside this file
import suite_stats  # beside this file
from bench_with_peaks import driver_of, status_kib  # beside this file

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.browser.renderer_process import cpu_ticks  # noqa: E402
from bench.targets.server_process import BundledServer  # noqa: E402

KIB_PER_MIB = 1024
EXPONENT_TARGET = 1.2
APP_QUERY = "render=virtual"
# Not in size order: the machine's load drifts over minutes, and in size order
# a rising load would look like superlinear time.
DEFAULT_RUNS = [(1, 100), (1, 10_000), (1, 1_000), (10, 10_000), (1, 3_000)]
POLL_S = 0.1


def run_once(url: str, bursts: int, size: int) -> dict:
    """One `bench ui` burst run in its own process: wall time, memory growth, CPU, results size."""
    with tempfile.TemporaryDirectory() as tmp:
        out, peaks = Path(tmp) / "results.json", Path(tmp) / "peaks.json"
        args = ["ui", "--url", url, "--app-query", APP_QUERY, "--scenario", "burst", "--warmup", "0",
                "--bursts", str(bursts), "--burst-size", str(size), "--json", str(out), "--no-progress"]
        load_before = os.getloadavg()[0]
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, str(REPO / "benchmarks" / "bench_with_peaks.py"), *args],
                                cwd=REPO, env={**os.environ, "BENCH_PEAKS": str(peaks)},
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # The driver, read while it lives: its last VmHWM is its peak since the
        # burst scenario reset it; the largest is its lifetime peak.
        driver, driver_hwm, driver_lifetime, driver_ticks = None, None, 0, 0
        while proc.poll() is None:
            driver = driver or driver_of(proc.pid)
            if driver is not None:
                hwm = status_kib(driver, "VmHWM")
                if hwm is not None:
                    driver_hwm, driver_lifetime = hwm, max(driver_lifetime, hwm)
                try:
                    driver_ticks = cpu_ticks(driver)
                except (OSError, ValueError, IndexError):
                    pass  # exited between polls: keep the last reading
            time.sleep(POLL_S)
        wall = time.monotonic() - start
        stderr = proc.stderr.read()
        proc.stderr.close()
        if proc.returncode != 0:
            raise RuntimeError(f"bench ui --bursts {bursts} --burst-size {size} failed: {stderr.strip()[-300:]}")
        own = json.loads(peaks.read_text())
        results = json.loads(out.read_text())
        driver_cpu = driver_ticks / os.sysconf("SC_CLK_TCK")
        same_driver = own.get("driver_pid") == driver and driver_hwm is not None
        return {"bursts": bursts, "burst_size": size, "messages": bursts * size, "wall_s": wall,
                "tool_cpu_s": own["cpu_s"] + driver_cpu, "python_cpu_s": own["cpu_s"], "driver_cpu_s": driver_cpu,
                "python_growth_mib": (own["python_peak_kib"] - own["python_start_kib"]) / KIB_PER_MIB,
                "driver_growth_mib": ((driver_hwm - own["driver_start_kib"]) / KIB_PER_MIB
                                      if same_driver else None),
                "python_peak_mib": own["lifetime_peak_kib"] / KIB_PER_MIB,
                "driver_peak_mib": driver_lifetime / KIB_PER_MIB if driver else None,
                "results_mib": out.stat().st_size / 2 ** 20,
                "injected": sum(results["metrics"]["paint.injected"]["samples"]),
                "load_before": load_before, "load_after": os.getloadavg()[0]}


QUANTITIES = ("wall_s", "python_growth_mib", "driver_growth_mib", "tool_cpu_s", "python_peak_mib",
              "driver_peak_mib", "results_mib")
JUDGED = ("wall_s", "python_growth_mib", "driver_growth_mib")  # the tool's time and memory


def fits(runs: list[dict]) -> dict:
    """{scope: {quantity: exponent or None}} for the single bursts and for all runs."""
    scopes = {"burst_size": [r for r in runs if r["bursts"] == 1], "messages": runs}
    out = {}
    for scope, chosen in scopes.items():
        if len(chosen) < 3:
            continue
        out[scope] = {q: suite_stats.growth_exponent([r["messages"] for r in chosen], [r[q] for r in chosen])
                      for q in QUANTITIES if all(r[q] is not None for r in chosen)}
    return out


def _exponent(k: float | None) -> str:
    return "flat" if k is None else f"{k:.2f}"


def measure(runs: list[tuple[int, int]] = DEFAULT_RUNS) -> tuple[float, dict]:
    started = time.monotonic()
    load = os.getloadavg()
    with BundledServer() as server:
        rows = [run_once(server.url, bursts, size) for bursts, size in runs]
    exponents = fits(rows)
    judged = [k for scope in exponents.values() for q, k in scope.items() if q in JUDGED]
    ok = bool(judged) and all(k is None or k <= EXPONENT_TARGET for k in judged)
    shown = (*JUDGED, "tool_cpu_s")
    parts = [f"{scope}: " + ", ".join(f"{q} {_exponent(exponents[scope][q])}" for q in shown if q in exponents[scope])
             for scope in exponents]
    table = "; ".join(f"{r['messages']:,}: {r['wall_s']:.1f} s, {r['python_growth_mib']:.0f}/"
                      f"{r['driver_growth_mib'] or 0:.0f} MiB, {r['tool_cpu_s']:.1f} s CPU"
                      for r in sorted(rows, key=lambda r: r["messages"]))
    summary = (f"growth: exponents (1 = linear) {'; '.join(parts)}. Runs (messages: wall, Python/driver memory "
               f"growth, tool CPU): {table}; load average {load[0]:.2f} at start")
    return time.monotonic() - started, {
        "runs": rows, "exponents": exponents, "load_average": load, "target_met": ok, "summary": summary,
        "target_text": f"time, memory exponent <= {EXPONENT_TARGET:g}",
        "verdict": "; ".join(parts)}


def parse_runs(text: str) -> list[tuple[int, int]]:
    """"1x100,1x1000,10x10000" -> [(1, 100), (1, 1000), (10, 10000)] (bursts x burst size)."""
    runs = []
    for item in text.split(","):
        bursts, _, size = item.strip().partition("x")
        runs.append((int(bursts), int(size)))
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=parse_runs, default=DEFAULT_RUNS, metavar="BxN,...",
                        help="runs as bursts x burst size (default "
                        + ",".join(f"{b}x{n}" for b, n in DEFAULT_RUNS) + ")")
    parser.add_argument("--json", metavar="PATH", help="write every run's figures as JSON")
    args = parser.parse_args(argv)
    seconds, detail = measure(args.runs)
    for r in sorted(detail["runs"], key=lambda r: r["messages"]):
        print(f"{r['bursts']:>3} x {r['burst_size']:>6,}: {r['wall_s']:6.1f} s wall, tool CPU {r['tool_cpu_s']:5.1f} s, "
              f"memory growth Python {r['python_growth_mib']:6.1f} MiB, driver {r['driver_growth_mib'] or 0:6.1f} MiB "
              f"(peaks {r['python_peak_mib']:.0f}, {r['driver_peak_mib'] or 0:.0f} MiB), results "
              f"{r['results_mib']:5.1f} MiB; load {r['load_before']:.1f} -> {r['load_after']:.1f}")
    return standalone.finish(seconds, detail, args.json)


if __name__ == "__main__":
    sys.exit(main())
