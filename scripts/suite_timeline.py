"""What a run of the test suite did with the machine, from its BENCH_CPU_SHARE_LOG (tests/cpu_share.py).

    BENCH_CPU_SHARE_LOG=/tmp/share.jsonl make test
    python scripts/suite_timeline.py /tmp/share.jsonl

Prints the run's wall time; the timing phase (from the first test to the end of the last timing test);
how many cores the whole machine kept busy in the timing phase and after it (`busy_s`); where the
machine's CPU went after the timing phase, by module (what a shorter suite has to cut); each worker's
busy time and its idle gaps; and every overlap the lock forbids: a test beside a timing test that is not
`background`, or any test beside a `quiet` one. Exits 1 when there is such an overlap.
docs/suite-speed.md ("Cost") reads its runs with it.
"""

from __future__ import annotations

import bisect
import json
import signal
import sys
from collections import Counter
from pathlib import Path

TIMING = ("exclusive", "quiet")
GAP_S = 3.0  # idle stretches shorter than this are a worker's own bookkeeping, not waiting
TOP_MODULES = 12


def load(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def forbidden_overlaps(rows: list[dict]) -> list[tuple[dict, dict]]:
    """(timing test, test beside it) pairs that the lock should have kept apart."""
    found = []
    for alone in (r for r in rows if r["mode"] in TIMING):
        for other in rows:
            if other is alone or other["worker"] == alone["worker"]:
                continue
            if other["start"] < alone["end"] and alone["start"] < other["end"]:
                if alone["mode"] == "quiet" or other["mode"] != "background":
                    found.append((alone, other))
    return found


def busy_cores(rows: list[dict], a: float, b: float) -> float | None:
    """How many cores the whole machine kept busy from time a to time b: the difference of its busy CPU
    seconds since boot (`busy_s`, read at each test's start and end, in every worker) between the first
    reading at or after a and the last at or before b, over the time between them. None where the log has
    no two such readings (a log written before `busy_s`, or a stretch no test began or ended in)."""
    readings = _readings(rows)
    inside = [(t, busy) for t, busy in readings if a <= t <= b]
    if len(inside) < 2 or inside[-1][0] - inside[0][0] <= 0:
        return None
    (t0, busy0), (t1, busy1) = inside[0], inside[-1]
    return (busy1 - busy0) / (t1 - t0)


def _readings(rows: list[dict]) -> list[tuple[float, float]]:
    """(time, the machine's busy CPU seconds since boot), read at every test's start and end, in time order."""
    return sorted((t, busy) for r in rows if "busy_s" in r for t, busy in zip((r["start"], r["end"]), r["busy_s"]))


def cpu_by_module(rows: list[dict], a: float, b: float) -> Counter:
    """The machine's busy CPU seconds from time a to time b, by test module. Method: the run is cut at every
    test's start and end; the machine's busy seconds in each piece (linear between the readings around it,
    exact at its ends, where a test read them) are split evenly among the tests running in it. A test that
    waits gets as much as one that computes beside it, so a module's figure is an estimate; the sum is the
    machine's. Empty where the log has no `busy_s`."""
    readings = _readings(rows)
    if len(readings) < 2:
        return Counter()
    times = [t for t, _ in readings]

    def busy_at(t: float) -> float:
        i = min(max(bisect.bisect_left(times, t), 1), len(times) - 1)
        (t0, b0), (t1, b1) = readings[i - 1], readings[i]
        return b0 if t1 == t0 else b0 + (b1 - b0) * (t - t0) / (t1 - t0)

    cuts = sorted({a, b, *(t for r in rows for t in (r["start"], r["end"]) if a < t < b)})
    spent = Counter()
    for x, y in zip(cuts, cuts[1:]):
        running = [r for r in rows if r["start"] <= x and r["end"] >= y]
        for r in running:
            spent[r["test"].split("::")[0]] += (busy_at(y) - busy_at(x)) / len(running)
    return spent


def summary(rows: list[dict]) -> dict:
    t0 = min(r["start"] for r in rows)
    timing = [r for r in rows if r["mode"] in TIMING]
    timing_s = sum(r["end"] - r["start"] for r in timing)
    workers = {}
    for worker in sorted({r["worker"] for r in rows}):
        own = sorted((r for r in rows if r["worker"] == worker), key=lambda r: r["start"])
        gaps, last = [], t0
        for r in own:
            if r["start"] - last > GAP_S:
                gaps.append((last - t0, r["start"] - last))
            last = max(last, r["end"])
        workers[worker] = {"busy_s": sum(r["end"] - r["start"] for r in own), "end_s": last - t0, "gaps": gaps}
    timing_end = max((r["end"] for r in timing), default=t0)
    end = max(r["end"] for r in rows)
    return {
        "tests": len(rows),
        "wall_s": end - t0,
        "timing_tests": len(timing),
        "timing_s": timing_s,
        "timing_phase_end_s": timing_end - t0,
        "busy_cores": {"timing phase": busy_cores(rows, t0, timing_end), "after it": busy_cores(rows, timing_end, end)},
        "cpu_after_timing_phase": cpu_by_module(rows, timing_end, end),
        "background_tests": sum(r["mode"] == "background" for r in rows),
        "workers": workers,
    }


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `... | head`: end quietly, as a Unix tool does
    if len(argv) != 1:
        print("usage: python scripts/suite_timeline.py BENCH_CPU_SHARE_LOG", file=sys.stderr)
        return 2
    try:
        rows = load(argv[0])
    except (OSError, ValueError) as error:
        print(f"suite_timeline: {argv[0]}: {error}", file=sys.stderr)
        return 2
    if not rows:
        print(f"suite_timeline: {argv[0]}: no tests logged", file=sys.stderr)
        return 2
    s = summary(rows)
    print(f"{s['tests']} tests in {s['wall_s']:.0f} s; {s['timing_tests']} timing tests, {s['timing_s']:.0f} s"
          f", the last ending at {s['timing_phase_end_s']:.0f} s; {s['background_tests']} background tests")
    print("the whole machine: " + ", ".join(f"{phase} {cores:.2f} cores busy" if cores is not None else f"{phase} not read"
                                            for phase, cores in s["busy_cores"].items()))
    spent = s["cpu_after_timing_phase"]
    if spent:
        print(f"after the timing phase the machine spent {sum(spent.values()):.0f} CPU-seconds; "
              f"by module (the {TOP_MODULES} most):")
        for module, cpu_s in spent.most_common(TOP_MODULES):
            print(f"  {cpu_s:6.1f}  {module}")
    for worker, w in s["workers"].items():
        gaps = ", ".join(f"{length:.0f} s at {at:.0f}" for at, length in w["gaps"]) or "none"
        print(f"  {worker}: busy {w['busy_s']:.0f} s, done at {w['end_s']:.0f} s; idle over {GAP_S:g} s: {gaps}")
    overlaps = forbidden_overlaps(rows)
    for alone, other in overlaps:
        print(f"  beside {alone['mode']} {alone['test']}: {other['mode']} {other['test']}")
    print(f"forbidden overlaps: {len(overlaps)}")
    return 1 if overlaps else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
