"""What the stream scenario costs: its probe per chunk, and its wall time beyond the replies' own.

    python benchmarks/stream_cost.py [--rounds 5] [--json PATH]

Targets (issue 19): the stream probe adds at most 0.2 ms of main-thread time
per chunk, and `bench ui --scenario stream` with 3 replies of 60 tokens at
30 ms takes at most 1 s more than the replies themselves.

(a) probe overhead per chunk: the bundled assistant page (assistant.html,
    fetch transport, 60 tokens at 30 ms) answers 3 prompts per page, as the
    scenario asks them, with
    the probe ("with": stream.js as an init script, armed with
    per-chunk stamps, finish() awaited, a trace of the benchmark category
    recorded from before the start actions and stopped inside the measured
    window, as the scenario does) and without
    (the app alone), in rounds of one page each, the order alternating
    (suite_stats.interleaved_order), a fresh context per page, CDP
    Performance enabled in both. The renderer main thread's CPU time
    (ThreadTime) from right before the first reply's start actions to 300 ms
    after the last reply is done, per chunk (180), both arms waiting for each
    reply on a 250 ms timer; reported: the median of per-round
    differences, with the interquartile range and min..max, and the same for
    task time (TaskDuration, wall time inside tasks) beside it. CPU time is
    judged: what the probe adds is work; on a loaded 2-core machine task
    time also carries the waits for a core, +-2 ms per chunk from round to
    round, which buries a 0.2 ms target.
(b) wall time: `bench ui --scenario stream --replies 3` with those knobs
    against an already running bundled app (server start is not timed);
    the scenario's own time (results timings_s.stream) against the replies'
    nominal time, 3 x (ttft_ms + 59 x token_ms).
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

import numpy as np

import standalone  # beside this file
import suite_stats  # beside this file
from suite_stats import WITH, WITHOUT  # beside this file

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.browser.launch import BrowserOptions, launch, new_context  # noqa: E402
from bench.probes.stream import StreamProbe, StreamTrace  # noqa: E402
from bench.targets.server_process import BundledServer  # noqa: E402

TOKENS, TOKEN_MS, TTFT_MS = 60, 30, 200
QUERY = f"assistant=fetch&tokens={TOKENS}&token_ms={TOKEN_MS}&ttft_ms={TTFT_MS}"
PER_CHUNK_TARGET_MS = 0.2
WALL_TARGET_S = 1.0
REPLIES = 3
AFTER_DONE_MS = 300
POLL_MS = 250
ASK_JS = """(prompt) => { document.getElementById("composer-text").value = prompt;
                          document.getElementById("assistant-ask").click(); }"""
DONE = ".message.assistant[data-done]"


def one_page(browser, url: str, probed: bool, traced: bool = True) -> dict[str, float]:
    """Main-thread ms per chunk over REPLIES replies on a fresh page: TaskDuration (wall) and ThreadTime (CPU)."""
    context = new_context(browser)
    try:
        page = context.new_page()
        probe = StreamProbe()
        if probed:  # as `bench ui --scenario stream` does: no message probe (paint.js) beside it
            probe.install(page)
        page.goto(url, wait_until="load")
        page.wait_for_selector("#assistant-ask")
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable", {"timeDomain": "timeTicks"})
        if probed:
            probe.listen(cdp)
        page.wait_for_timeout(200)
        before = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        for reply in range(REPLIES):
            trace = StreamTrace(cdp) if probed and traced else None
            if trace is not None and not trace.start(page):
                raise RuntimeError("stream probe: could not start the trace")
            if probed:
                probe.arm(page, ".message.assistant .text", "auto", None, frames=not traced, paints=not traced)
            # The prompt is typed and sent from the page, not by page.fill()/click(): their actionability
            # checks run Playwright's injected script on the page's main thread, several ms that vary
            # from reply to reply and are not the probe's.
            page.evaluate(ASK_JS, "What does a stream cost?")
            if probed:
                label = probe.new_label()
                result = probe.finish(page, 30, end_stamp=label)
                if result.get("error"):
                    raise RuntimeError(f"stream probe: {result['error']}")
                probe.stamped(page, label)
            if trace is not None:
                trace.stop(page).annotate(result)
            # Both arms wait for the reply alike, polling on a timer: Playwright's default polling
            # (wait_for_selector's) runs on animation frames and would make the page without the
            # probe render a frame at every vsync while it waits (seen: 0.27 ms per chunk).
            page.wait_for_function("([done, n]) => document.querySelectorAll(done).length >= n",
                                   arg=[DONE, reply + 1], timeout=30_000, polling=POLL_MS)
        page.wait_for_timeout(AFTER_DONE_MS)
        after = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        return {k: (after[k] - before[k]) * 1000 / (TOKENS * REPLIES) for k in ("TaskDuration", "ThreadTime")}
    finally:
        context.close()


def _spread(diffs) -> dict:
    diffs = np.asarray(diffs, dtype=float)
    q1, q3 = np.percentile(diffs, [25, 75])
    return {"median_ms": float(np.median(diffs)), "iqr_ms": [float(q1), float(q3)],
            "range_ms": [float(diffs.min()), float(diffs.max())]}


def overhead(url: str, rounds: int, **probe_options) -> dict:
    """Per-round differences, with minus without, of main-thread CPU ms per chunk (judged) and task ms."""
    from playwright.sync_api import sync_playwright

    per_round: dict[str, list[dict]] = {WITH: [], WITHOUT: []}
    with sync_playwright() as playwright:
        browser = launch(playwright, BrowserOptions())
        try:
            for order in suite_stats.interleaved_order(rounds):
                for arm in order:
                    per_round[arm].append(one_page(browser, url + "static/assistant.html?" + QUERY, arm == WITH,
                                                   **probe_options))
        finally:
            browser.close()
    out = {"with": per_round[WITH], "without": per_round[WITHOUT]}
    for key, counter in (("cpu", "ThreadTime"), ("task", "TaskDuration")):
        out[key] = _spread([w[counter] - wo[counter] for w, wo in zip(per_round[WITH], per_round[WITHOUT])])
    return out


def wall_time(url: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stream.json"
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "bench", "ui", "--url", url, "--scenario", "stream",
                               "--replies", str(REPLIES), "--app-query", QUERY, "--no-progress",
                               "--json", str(out)], cwd=REPO, capture_output=True, text=True)
        command_s = time.monotonic() - started
        if proc.returncode != 0:
            raise RuntimeError(f"bench ui --scenario stream failed: {proc.stderr.strip()}")
        results = json.loads(out.read_text())
    nominal_s = REPLIES * (TTFT_MS + (TOKENS - 1) * TOKEN_MS) / 1000
    measured_s = sum(results["metrics"]["stream.reply_ms"]["samples"]) / 1000
    scenario_s = results["timings_s"]["stream"]
    return {"command_s": command_s, "scenario_s": scenario_s, "nominal_replies_s": nominal_s,
            "measured_replies_s": measured_s, "beyond_replies_s": scenario_s - nominal_s}


def measure(rounds: int = 5) -> tuple[float, dict]:
    started = time.monotonic()
    load = os.getloadavg()
    with BundledServer() as server:
        cost = overhead(server.url, rounds)
        wall = wall_time(server.url)
    cpu, task = cost["cpu"], cost["task"]
    ok = cpu["median_ms"] <= PER_CHUNK_TARGET_MS and wall["beyond_replies_s"] <= WALL_TARGET_S
    summary = (f"stream: probe overhead {cpu['median_ms']:+.3f} ms/chunk of main-thread CPU (median of {rounds} "
               f"rounds, IQR {cpu['iqr_ms'][0]:+.3f} to {cpu['iqr_ms'][1]:+.3f}, range {cpu['range_ms'][0]:+.3f} to "
               f"{cpu['range_ms'][1]:+.3f}), task time {task['median_ms']:+.3f} (IQR {task['iqr_ms'][0]:+.3f} to "
               f"{task['iqr_ms'][1]:+.3f}); scenario {wall['scenario_s']:.2f} s for {REPLIES} replies of "
               f"{TOKENS} tokens at {TOKEN_MS} ms (nominal {wall['nominal_replies_s']:.2f} s, measured "
               f"{wall['measured_replies_s']:.2f} s): +{wall['beyond_replies_s']:.2f} s; whole command "
               f"{wall['command_s']:.1f} s; load average {load[0]:.2f} at start")
    return time.monotonic() - started, {
        "overhead": cost, "wall": wall, "load_average": load, "target_met": ok, "summary": summary,
        "target_text": f"<= {PER_CHUNK_TARGET_MS} ms/chunk, replies + <= {WALL_TARGET_S:g} s",
        "verdict": f"{cpu['median_ms']:+.3f} ms/chunk, +{wall['beyond_replies_s']:.2f} s"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="with/without rounds (default 5)")
    parser.add_argument("--json", metavar="PATH", help="write every figure as JSON")
    args = parser.parse_args(argv)
    seconds, detail = measure(args.rounds)
    return standalone.finish(seconds, detail, args.json)


if __name__ == "__main__":
    sys.exit(main())
