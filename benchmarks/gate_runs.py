"""Record real runs for the gate's known answers: A/A, +5 ms and +30 ms of work per message.

    python benchmarks/gate_runs.py [--repeat 20] [--out tests/data/gate_runs.json]

One browser, the bundled app; every repetition measures each variant in a
fresh context, variants interleaved (bench.run.runner.interleaved), with the
burst scenario as bench ui runs it (stratified frame phases) at a size where
+30 ms a message keeps a run short: 10 bursts of 20 back to back.
The file holds, per variant, the paint.* metrics as a results file does
(samples, runs, blocks): tests/test_gate_known_answers.py replays them as
single runs a side through bench.stats.difference, so the statistics are checked on
what Chromium really measured here, without a browser in the test.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.browser.launch import BrowserOptions  # noqa: E402
from bench.run.runner import UiConfig, UiRun, Variant  # noqa: E402
from bench.scenarios.burst import BurstConfig, BurstScenario  # noqa: E402

VARIANTS = {"a": "", "b": "", "plus5": "work_ms=5", "plus30": "work_ms=30"}  # a and b: the same page twice
METRICS = ("paint.latency_ms", "paint.presented_ms")


class TimedRun(UiRun):
    """A UiRun that keeps each repetition's wall time per variant (context, page, scenario, close)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seconds: dict[str, list[float]] = {}

    def _repetition(self, browser, target, variant, repetition, progress) -> None:
        started = time.monotonic()
        try:
            super()._repetition(browser, target, variant, repetition, progress)
        finally:
            self.seconds.setdefault(variant.name, []).append(time.monotonic() - started)


def record(repeat: int, bursts: int, size: int) -> dict:
    config = BurstConfig(bursts=bursts, size=size, warmup=1, render_cost=False)
    variants = [Variant(name, query, [BurstScenario(config)]) for name, query in VARIANTS.items()]
    run = TimedRun(UiConfig(scenarios=variants[0].scenarios, repeat=repeat), BrowserOptions(), progress=False,
                   variants=variants)
    started = time.monotonic()
    run.execute()
    out = {"about": f"bench ui burst {bursts}x{size} back to back, {repeat} repetitions, variants interleaved; "
                    f"recorded by benchmarks/gate_runs.py in {time.monotonic() - started:.0f} s",
           "env": run.results.to_json()["env"], "variants": {},
           # median wall time of one repetition of each variant (what --auto-sample pays per step)
           "seconds_per_repetition": {name: round(float(sorted(s)[len(s) // 2]), 2)
                                      for name, s in run.seconds.items()}}
    for name, results in run.variant_results.items():
        metrics = results.to_json()["metrics"]
        out["variants"][name] = {m: {"samples": [round(s, 2) for s in metrics[m]["samples"]],
                                     "runs": metrics[m]["runs"], "blocks": metrics[m]["blocks"]}
                                 for m in METRICS}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--bursts", type=int, default=10)
    parser.add_argument("--burst-size", type=int, default=20)
    parser.add_argument("--out", default=str(REPO / "tests" / "data" / "gate_runs.json"))
    args = parser.parse_args()
    data = record(args.repeat, args.bursts, args.burst_size)
    Path(args.out).write_text(json.dumps(data, separators=(",", ":")))
    print(data["about"], "->", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
