"""The load generator's own speed, and what the bundled server sustains (docs/suite-speed.md, "Targets").

    python benchmarks/load_generator.py [--rate 50000] [--seconds 2]

generator: `bench throughput` at twice the target rate (--generator-rate,
    default 100,000 msgs/s) into the relay fixture in sink mode (it counts
    frames and answers nothing: the server does the least possible), 2
    senders, no receivers. Target: at least 50,000 msgs/s sent, confirmed by
    the sink's own count. Offering twice the target shows the headroom: a
    generator that only just keeps a 50,000 schedule would be what limits a
    server measurement near that rate.
relay: the same rate through the relay to 1 receiver: sent and delivered.
bundled: `bench throughput --rate max` against the bundled chat app with the
    default 1 sender and 10 receivers: the highest sustainable rate.
Short runs (a few seconds each): the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.targets.server_process import RelayServer  # noqa: E402

GENERATOR_TARGET = 50_000
GENERATOR_OFFERED = 2 * GENERATOR_TARGET


def throughput(*args: str) -> tuple[float, dict, str]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "bench", "throughput", *args, "--json", str(out),
                               "--no-progress"], cwd=REPO, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"bench throughput {' '.join(args)} failed: {proc.stderr.strip()}")
        return time.monotonic() - start, json.loads(out.read_text()), proc.stdout


def _value(data: dict, name: str) -> float | None:
    m = data["metrics"].get(name)
    return m["samples"][0] if m and m["samples"] else None


def _lag(data: dict) -> str:
    lag = data["metrics"]["generator.send_lag_ms"]
    return f"send lag p50 {lag['p50']:.1f} / p99 {lag['p99']:.1f} ms"


def generator(rate: float = GENERATOR_OFFERED, seconds: float = 2) -> tuple[float, dict]:
    with RelayServer("--mode", "sink") as sink:
        elapsed, data, _ = throughput("--url", sink.ws_url, "--format", "text", "--rate", f"{rate:g}",
                                      "--duration", f"{seconds:g}", "--warmup", "0.5", "--senders", "2",
                                      "--receivers", "0")
        with urllib.request.urlopen(sink.url + "stats", timeout=5) as response:
            counted = json.load(response)["received"]
    sent = _value(data, "throughput.sent_msgs_per_s")
    scheduled = data["records"]["throughput"][0]["schedule"]["count"]
    ok = sent >= GENERATOR_TARGET and counted == scheduled
    summary = (f"generator: {sent:,.0f} msgs/s sent of {rate:,.0f} scheduled, {counted:,} frames counted by "
               f"the sink (of {scheduled:,}); {_lag(data)}; CPU pressure before the run "
               f"{data['env'].get('cpu_pressure_pct')} %")
    return elapsed, {"sent_msgs_per_s": sent, "sink_counted": counted, "target_met": ok, "summary": summary,
                     "target_text": f">= {GENERATOR_TARGET:,} msgs/s sent"}


def relay(rate: float = GENERATOR_TARGET, seconds: float = 2) -> tuple[float, dict]:
    with RelayServer() as server:
        elapsed, data, _ = throughput("--url", server.ws_url, "--format", "text", "--rate", f"{rate:g}",
                                      "--duration", f"{seconds:g}", "--warmup", "0.5", "--senders", "1",
                                      "--receivers", "1")
    sent, delivered = _value(data, "throughput.sent_msgs_per_s"), _value(data, "throughput.msgs_per_s")
    p99 = data["metrics"]["throughput.latency_ms"]["p99"]
    summary = (f"relay: {sent:,.0f} msgs/s sent, {delivered:,.0f} msgs/s delivered to 1 receiver, latency "
               f"p99 {p99:.0f} ms; {_lag(data)}")
    return elapsed, {"sent_msgs_per_s": sent, "msgs_per_s": delivered, "summary": summary}


def bundled(seconds: float = 1) -> tuple[float, dict]:
    elapsed, data, stdout = throughput("--rate", "max", "--rate-start", "250", "--duration", f"{seconds:g}",
                                       "--warmup", "0.5", "--late-ms", "500")
    best = _value(data, "throughput.max_sustainable_msgs_per_s")
    line = next(n for n in data["notes"] if n.startswith(("highest", "no sustainable")))
    return elapsed, {"max_sustainable_msgs_per_s": best, "summary": f"bundled: {line}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=GENERATOR_TARGET, help="the relay run's rate")
    parser.add_argument("--generator-rate", type=float, default=GENERATOR_OFFERED,
                        help="the rate offered to the sink (default twice the 50,000 target)")
    parser.add_argument("--seconds", type=float, default=2)
    args = parser.parse_args(argv)
    ok = True
    for run in (lambda: generator(args.generator_rate, args.seconds), lambda: relay(args.rate, args.seconds), bundled):
        _, detail = run()
        ok &= detail.get("target_met", True)
        print(detail["summary"], flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
