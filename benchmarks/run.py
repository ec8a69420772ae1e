"""The suite's own speed (DESIGN.md section 6): how long bench's commands take here.

    python benchmarks/run.py [NAME ...] [--json PATH]

Each benchmark runs a real command end to end and reports wall time (and the
target from DESIGN.md where there is one). These are benchmarks, not tests:
they print, and exit 1 only when a stated target is missed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

import load_generator  # beside this file

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


# name -> (function returning (seconds, detail), target seconds or None)
BENCHMARKS = {
    "ui-default": (lambda: bench_cli("ui"), 20.0),
    "ui-burst-only": (lambda: bench_cli("ui", "--scenario", "burst"), None),
    "burst-10k": (lambda: bench_cli("ui", "--scenario", "burst", "--bursts", "1",
                                     "--burst-size", "10000", "--warmup", "0"), None),
    # Rate targets: detail["target_met"] decides, detail["summary"] says what was measured.
    "generator-50k": (load_generator.generator, None),
    "bundled-server-max": (load_generator.bundled, None),
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
        ok = (target is None or seconds <= target) and detail.get("target_met", True)
        if "summary" in detail:
            print(detail["summary"], flush=True)
        missed |= not ok
        out[name] = {"seconds": seconds, "target_s": target}
        judged = target is not None or "target_met" in detail
        target_text = detail.get("target_text") or ("-" if target is None else f"<= {target:g} s")
        rows.append([name, f"{seconds:.1f}", target_text, ("PASS" if ok else "FAIL") if judged else "-"])
    print(tabulate(rows, headers=["benchmark", "seconds", "target", "status"]))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
