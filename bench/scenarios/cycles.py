"""Cycles scenario: does the chat UI leak when its connection drops and comes back?

Warm-up cycle(s), then N measured cycles. A cycle: the page's WebSocket is
closed from the far side, alternately clean and abnormal (bench.targets.disconnect),
the app reconnects by itself (seen through paint.js's WebSocket wrapper),
optionally K messages arrive. After warm-up and after every cycle the heap
probe reads used heap and DOM counters after a forced GC; each cycle's
sample is recorded as soon as it is taken.

Metrics (docs/metrics.md, "memory trend"): heap.used_bytes and
heap.listeners / heap.nodes / heap.documents (raw per-cycle series),
heap.renderer_private_bytes (where the renderer's memory can be read),
heap.reconnect_ms, heap.slope_bytes_per_cycle with
heap.slope_ci95_low/high_bytes_per_cycle, heap.listeners_per_cycle,
heap.nodes_per_cycle, heap.documents_per_cycle, heap.bytes_per_message,
heap.verdict ("leak" or "stable"; its reasons are in
records["heap.verdict"]) and heap.suspects (constructors from the heap
snapshot diff, listed in records["heap.suspects"]).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from playwright.sync_api import Error as PlaywrightError

from .. import background_import
from ..stats import heap_trend
from ..targets.disconnect import CLOSE_KINDS, make_disconnector
from ..errors import TargetError, UsageError
from ..probes.heap_snapshot import HeapSnapshot, suspects, take_heap_snapshot
from ..probes.heap import FIELDS as HEAP_FIELDS, HeapProbe
from ..browser.renderer_process import process_memory
from ..results.records import ScenarioOutput
from .page import PageSession

NAME = "cycles"
# Cycles between the culprit list's two snapshots when the verdict came
# before anything looked suspicious (both close kinds once).
SUSPECT_CYCLES = 2
DEFAULT_SNAPSHOT_ROOT = Path("traces") / "heapsnapshots"

# A heap sample taken right after the page's reconnect sometimes holds
# 150-350 KB more of Blink's heap (embedder_bytes; the JS heap does not
# move), gone 100 ms later, forced GC or not: the old connection's objects,
# released by a task after the new socket opened (seen in 1 of 16 reconnects
# sampled at once on a quiet machine, 8 of 16 at the page's next idle
# callback, 0 of 16 after 100 ms). One such sample widened the slope's CI
# until the sequential test ran all its cycles (7 instead of 3 on the plain
# app). So the first sample, and any whose embedder heap rose by more than
# half the threshold since the last, is read again after this long and each
# heap field is the smaller of the two reads (as HeapProbe takes the least of
# its reads: what the page holds only ever adds to what it retains); a
# leak's growth is in both reads and stays.
RECONNECT_SETTLE_MS = 100

# Newest socket is open and is not the one we closed.
REOPENED_JS = """(n) => { const s = window.__bench.sockets(); const last = s[s.length - 1];
  return s.length > n && last.opened !== null && last.closed === null; }"""


@dataclass
class CyclesConfig:
    cycles: int = 7            # a prime: growth once per cycle shows as a multiple of it
    warmup: int = 2            # one clean and one abnormal close, so both paths ran once
    messages: int = 0          # per cycle, after the reconnect
    history_messages: int = 500  # the burst that measures heap.bytes_per_message (0: skip)
    reconnect_timeout_s: float = 10
    threshold_kb: float = heap_trend.DEFAULT_THRESHOLD_BYTES / 1024
    heap_snapshots: bool = False  # keep snapshots even when the verdict is stable
    snapshot_dir: str | None = None

    def validate(self) -> None:
        if self.cycles < 2:
            raise UsageError(f"--cycles must be at least 2 for a trend with a CI (got {self.cycles})")
        if self.warmup < 0 or self.messages < 0 or self.history_messages < 0:
            raise UsageError("--cycle-warmup, --cycle-messages and --history-messages must not be negative")
        if self.reconnect_timeout_s <= 0:
            raise UsageError(f"--reconnect-timeout must be positive (got {self.reconnect_timeout_s:g})")
        if self.threshold_kb <= 0:
            raise UsageError(f"--leak-threshold-kb must be positive (got {self.threshold_kb:g})")


def add_arguments(group) -> None:
    group.add_argument("--cycles", type=int, default=7, metavar="N",
                       help="measured disconnect/reconnect cycles (default 7)")
    group.add_argument("--cycle-warmup", type=int, default=2, metavar="N",
                       help="warm-up cycles, not measured (default 2: one clean, one abnormal close)")
    group.add_argument("--cycle-messages", type=int, default=0, metavar="K",
                       help="messages delivered after each reconnect (default 0); their expected "
                            "growth (heap.bytes_per_message) is taken out before the verdict")
    group.add_argument("--history-messages", type=int, default=500, metavar="N",
                       help="burst size that measures heap.bytes_per_message apart from the "
                            "cycles (default 500; 0 skips it)")
    group.add_argument("--reconnect-timeout", type=float, default=10, metavar="S",
                       help="seconds the app gets to reconnect after each close (default 10)")
    group.add_argument("--leak-threshold-kb", type=float, default=64, metavar="KIB",
                       help="heap growth per cycle, in KiB, that is a leak when the 95%% CI lies "
                            "above it (default 64)")
    group.add_argument("--heap-snapshots", action="store_true",
                       help="keep the heap snapshots (after warm-up, after the last cycle) even "
                            "when the verdict is stable; on a leak they are always kept")
    group.add_argument("--heap-snapshot-dir", metavar="DIR",
                       help="where .heapsnapshot files go (default traces/heapsnapshots/<UTC time>-<run id>/)")


def from_args(args) -> "CyclesScenario":
    return CyclesScenario(CyclesConfig(
        cycles=args.cycles, warmup=args.cycle_warmup, messages=args.cycle_messages,
        history_messages=args.history_messages, reconnect_timeout_s=args.reconnect_timeout,
        threshold_kb=args.leak_threshold_kb, heap_snapshots=args.heap_snapshots,
        snapshot_dir=args.heap_snapshot_dir))


def _sample_output(record: dict) -> ScenarioOutput:
    out = ScenarioOutput()
    out.metrics["heap.used_bytes"] = ("bytes", [record["used_bytes"]])
    out.metrics["heap.listeners"] = ("listeners", [record["listeners"]])
    out.metrics["heap.nodes"] = ("nodes", [record["nodes"]])
    out.metrics["heap.documents"] = ("documents", [record["documents"]])
    if record.get("renderer_private_bytes") is not None:
        out.metrics["heap.renderer_private_bytes"] = ("bytes", [record["renderer_private_bytes"]])
    if record.get("reconnect_ms") is not None:
        out.metrics["heap.reconnect_ms"] = ("ms", [record["reconnect_ms"]])
    out.records["heap"] = [record]
    return out


class CyclesScenario:
    name = NAME

    def __init__(self, config: CyclesConfig):
        self.config = config
        config.validate()

    def expected_messages(self) -> int:
        return self.config.cycles * self.config.messages + self.config.history_messages

    def warm_imports(self) -> None:
        """Called as the run starts: the statistics' import runs while the browser starts."""
        heap_trend.preload()

    @property
    def uses_history(self) -> bool:
        """Takes heap.bytes_per_message from an earlier scenario on the page when one measured it."""
        return self.config.history_messages > 0 and not self.config.messages

    def run(self, session: PageSession, record: Callable[[ScenarioOutput], None],
            advance: Callable[[int], None] = lambda n: None) -> None:
        RunCycles(self.config, session, record, advance).run()


class RunCycles:
    """One run of the scenario on one page; keeps the per-cycle samples as it goes."""

    def __init__(self, config: CyclesConfig, session: PageSession, record, advance):
        self.config, self.session, self.record, self.advance = config, session, record, advance
        self.page = session.page
        self.heap = HeapProbe(session.cdp)
        self.disconnector = make_disconnector(session)
        self.samples: list[dict] = []
        self.snapshot_dir = Path(config.snapshot_dir) if config.snapshot_dir else \
            DEFAULT_SNAPSHOT_ROOT / f"{time.strftime('%Y%m%d-%H%M%S')}-{session.messages.run_id}"

    # -- the run ------------------------------------------------------------
    def run(self) -> None:
        heap_trend.preload()
        renderer = self.session.renderer
        self.renderer = renderer.pid if renderer.available else None
        if self.renderer is None:
            self.record(ScenarioOutput(notes=[renderer.reason], records={"unavailable": [
                {"metric": "heap.renderer_private_bytes", "reason": renderer.reason}]}))
        for index in range(self.config.warmup):
            self._cycle(CLOSE_KINDS[index % 2], f"warm-up cycle {index + 1} of {self.config.warmup}")
        # Per-cycle messages: the verdict needs their expected growth at its
        # first look, so the history is measured before the cycles. Without
        # them it is measured after the verdict (or taken from an earlier
        # scenario on this page), off the verdict's path.
        per_message = self._bytes_per_message(before_cycles=True) if self.config.messages else None
        first = None  # (path, cycle): the "before" heap snapshot, taken once a leak is suspected
        if self.config.heap_snapshots:
            first = (self._snapshot("after-warmup"), 0)
        if per_message is None or not self.samples:
            self._take_sample({"cycle": 0, "close": None, "close_code": None, "reconnect_ms": None})
        result = None
        try:
            for cycle in range(1, self.config.cycles + 1):
                self._measured_cycle(cycle)
                result = self._verdict(per_message) if len(self.samples) >= 3 else None
                if first is None and self._suspicious(per_message):
                    preload_suspect_analysis()
                    first = (self._snapshot(f"after-cycle-{cycle}"), cycle)
                if result is not None and result["decided"]:
                    break
            if result is not None and result["verdict"] == "leak":
                # The culprit list needs cycles between its two snapshots. When
                # the verdict came before (or right as) anything looked
                # suspicious, they run after it and do not change it.
                if first is None:
                    first = (self._snapshot(f"after-cycle-{self._done()}"), self._done())
                while self._done() - first[1] < SUSPECT_CYCLES:
                    self._measured_cycle(self._done() + 1, after_verdict=True)
        except BaseException:
            self._summarize(partial=True)
            if first is not None:
                first[0].unlink(missing_ok=True)
            _remove_if_empty(self.snapshot_dir)
            raise
        if first is None:
            per_message = per_message or self._bytes_per_message()
            self._summarize(partial=False, per_message=per_message)
            return
        last = self._snapshot(f"after-cycle-{self._done()}")
        with SuspectAnalysis((first[0], last), self._done() - first[1]) as analysis:
            # Without per-cycle messages the verdict needs nothing from the
            # history burst, so when it keeps the snapshots their analysis
            # (Python reading them) runs while the page renders that burst.
            early = per_message is None and self._keeps_snapshots(self._verdict(None))
            if per_message is None:
                per_message = self._bytes_per_message(while_page_works=analysis.start if early else None)
            self._summarize(partial=False, per_message=per_message, analysis=analysis)

    def _done(self) -> int:
        return self.samples[-1]["cycle"]

    def _measured_cycle(self, cycle: int, after_verdict: bool = False) -> None:
        kind = CLOSE_KINDS[(cycle - 1) % 2]
        total = self.config.cycles if not after_verdict else cycle
        info = self._cycle(kind, f"cycle {cycle} of {total}")
        self._take_sample({"cycle": cycle, **info, **({"after_verdict": True} if after_verdict else {})})

    def _snapshot(self, name: str) -> Path:
        return take_heap_snapshot(self.session.cdp, self.snapshot_dir / f"{name}.heapsnapshot")

    def _suspicious(self, per_message: dict | None) -> bool:
        """Worth a "before" snapshot now: the heap grew by half the threshold, or a counter rose, in each of the last 2 cycles.

        Two cycles, not one: a clean page's GC'd heap now and then sits a few
        hundred KB higher for one sample and falls back at the next (seen on
        the plain app after burst and scroll: +300 KB, then -297 KB), and a
        snapshot of the default run's page costs about 1 s, a second one and
        the analysis as much again. A real leak grows every cycle, so it still
        looks suspicious before its verdict, or at it (then the cycles after
        the verdict give the culprit list its two cycles). Only decides when
        the culprit list's first snapshot is taken; the verdict never depends on it.
        """
        verdict_series = self._series(per_message)
        if len(verdict_series["used_bytes"]) < 3:
            return False
        heap = verdict_series["used_bytes"][-3:]
        half = self.config.threshold_kb * 1024 / 2
        if min(heap[1] - heap[0], heap[2] - heap[1]) > half:
            return True
        return any(heap_trend.grows_every_cycle(verdict_series[name][-3:]) for name in heap_trend.COUNTERS)

    def _cycle(self, kind: str, label: str) -> dict:
        """Close the socket from the far side, wait for the app's own reconnect, deliver K messages."""
        page, timeout_s = self.page, self.config.reconnect_timeout_s
        before = page.evaluate("() => window.__bench.sockets()")
        self.disconnector.disconnect(kind)
        try:
            page.wait_for_function(REOPENED_JS, arg=len(before), timeout=timeout_s * 1000)
        except PlaywrightError:
            sockets = page.evaluate("() => window.__bench.sockets()")
            closed = sockets[len(before) - 1]["closed"] is not None if before else True
            what = ("the page did not reconnect" if closed else
                    "the page's socket was not closed by the far side")
            raise TargetError(f"{what} within --reconnect-timeout {timeout_s:g} s after the {kind} close "
                              f"of {label}") from None
        sockets = page.evaluate("() => window.__bench.sockets()")
        old, new = sockets[len(before) - 1], sockets[-1]
        if self.config.messages:
            self._deliver(self.config.messages)
        return {"close": kind, "close_code": old["closeCode"], "reconnect_ms": new["opened"] - old["closed"]}

    def _deliver(self, count: int, while_page_works: Callable[[], None] | None = None) -> None:
        session = self.session
        messages = session.messages.take(count)
        tokens = [m.token for m in messages]
        session.injector.send(messages)
        if while_page_works is not None:
            while_page_works()
        # Only the DOM matters here (the heap is read next), not paint: one
        # frame after the last message is in, not the paint probe's stable frames.
        state = session.wait_delivered(tokens, session.timeout_s, stable_frames=1)
        session.injector.forget_sent(tokens)
        if state["dom"] < len(tokens):
            raise TargetError(f"{len(tokens) - state['dom']} of {len(tokens)} messages sent after a reconnect "
                              f"never reached the DOM within {session.timeout_s:g} s")
        session.paint.forget(self.page, tokens)  # so the probe retains nothing
        self.advance(count)

    # -- measuring ----------------------------------------------------------
    def _read(self) -> dict:
        sample = self.heap.sample()
        if self.renderer is not None:
            memory = process_memory(self.renderer)
            sample.update({f"renderer_{k}": v for k, v in memory.items()})
        return sample

    def _take_sample(self, info: dict) -> None:
        sample = self._read()
        last = self.samples[-1] if self.samples else None
        if last is None or sample["embedder_bytes"] - last["embedder_bytes"] > self.config.threshold_kb * 1024 / 2:
            self.page.wait_for_timeout(RECONNECT_SETTLE_MS)  # see RECONNECT_SETTLE_MS
            again = self._read()
            sample = {**again, **{field: min(sample[field], again[field]) for field in HEAP_FIELDS},
                      "first_read": {field: sample[field] for field in HEAP_FIELDS}}
        sample = {**info, **sample}
        self.samples.append(sample)
        self.record(_sample_output(sample))

    def _bytes_per_message(self, while_page_works: Callable[[], None] | None = None,
                           before_cycles: bool = False) -> dict | None:
        """Heap and DOM nodes per message retained as chat history, from one burst measured apart.

        After the cycles, "before" is the last cycle's sample (only heap
        snapshots came between, and a snapshot changes neither the used heap
        nor a DOM counter, checked: 0 bytes). Before the cycles (per-cycle
        messages), a sample is taken first and the one after the burst is
        cycle 0. An earlier scenario on this page that measured the same
        thing (session.history, the scroll scenario's preload on a fresh
        page) is used instead when there are no per-cycle messages.
        """
        n = self.config.history_messages
        if not n:
            if while_page_works is not None:
                while_page_works()
            return None
        if not before_cycles and self.session.history is not None:
            if while_page_works is not None:
                while_page_works()
            return dict(self.session.history)
        before = self._read() if before_cycles else self.samples[-1]
        self._deliver(n, while_page_works)
        if before_cycles:
            self._take_sample({"cycle": 0, "close": None, "close_code": None, "reconnect_ms": None})
            after = self.samples[-1]
        else:
            after = self.heap.sample()
        return {"messages": n, "bytes": (after["used_bytes"] - before["used_bytes"]) / n,
                "nodes": (after["nodes"] - before["nodes"]) / n}

    # -- summary ------------------------------------------------------------
    def _expected(self, per_message: dict | None) -> tuple[float, float]:
        if self.config.messages and per_message is not None:
            return self.config.messages * per_message["bytes"], self.config.messages * per_message["nodes"]
        return 0.0, 0.0

    def _series(self, per_message: dict | None) -> dict:
        """The per-cycle series the verdict tests, the expected history growth taken out."""
        expected_bytes, expected_nodes = self._expected(per_message)
        series = {f: [s[f] for s in self.samples] for f in ("used_bytes", *heap_trend.COUNTERS)}
        series["used_bytes"] = heap_trend.without_expected(series["used_bytes"], expected_bytes)
        series["nodes"] = heap_trend.without_expected(series["nodes"], expected_nodes)
        return series

    def _verdict(self, per_message: dict | None, notes: list | None = None) -> dict:
        """The sequential test (heap_trend.verdict) on the samples so far, the expected history growth out."""
        series = {f: [s[f] for s in self.samples] for f in ("used_bytes", *heap_trend.COUNTERS)}
        expected_bytes, expected_nodes = self._expected(per_message)
        if self.config.messages and per_message is None and notes is not None:
            notes.append("cycles: --cycle-messages without --history-messages: their growth is not "
                         "taken out, so the verdict may call chat history a leak")
        return heap_trend.verdict(series, self.config.threshold_kb * 1024, expected_bytes, expected_nodes,
                                  max_cycles=self.config.cycles)

    def _keeps_snapshots(self, result: dict) -> bool:
        return result["verdict"] == "leak" or self.config.heap_snapshots

    def _summarize(self, partial: bool, per_message: dict | None = None,
                   analysis: "SuspectAnalysis | None" = None) -> None:
        out = ScenarioOutput()
        if per_message is not None:
            out.metrics["heap.bytes_per_message"] = ("bytes/message", [per_message["bytes"]])
            out.records["heap.bytes_per_message"] = [per_message]
        done = len([s for s in self.samples if s["cycle"] and not s.get("after_verdict")])
        if partial:
            out.notes.append(f"cycles: only {max(done, 0)} of {self.config.cycles} measured cycles completed")
        if len(self.samples) < 3:
            if out.metrics or out.notes:
                self.record(out)
            return
        result = self._verdict(per_message, out.notes)
        heap, signals = result["signals"]["heap"], result["signals"]
        out.metrics["heap.slope_bytes_per_cycle"] = ("bytes/cycle", [heap["slope"]])
        out.metrics["heap.slope_ci95_low_bytes_per_cycle"] = ("bytes/cycle", [heap["ci_low"]])
        out.metrics["heap.slope_ci95_high_bytes_per_cycle"] = ("bytes/cycle", [heap["ci_high"]])
        for name in heap_trend.COUNTERS:
            out.metrics[f"heap.{name}_per_cycle"] = (f"{name}/cycle", [signals[name].get("slope", 0.0)])
        out.metrics["heap.verdict"] = ("verdict", [result["verdict"]])
        if analysis is not None:
            snapshots = analysis.paths
            if self._keeps_snapshots(result):
                found = analysis.result()
                out.metrics["heap.suspects"] = ("constructors", [len(found)])
                out.records["heap.suspects"] = found
                result["snapshots"] = [str(p) for p in snapshots]
                out.notes.append(f"heap snapshots (open in DevTools > Memory): {snapshots[0]} and {snapshots[1]}")
            else:
                for path in snapshots:
                    path.unlink(missing_ok=True)
                _remove_if_empty(self.snapshot_dir)
        result["partial"] = partial
        result["cycles"] = done
        out.records["heap.verdict"] = [result]
        out.notes.append(f"heap verdict: {result['verdict']}: " + "; ".join(result["reasons"]))
        self.record(out)


class SuspectAnalysis:
    """suspects() of the two snapshot files, worked out once: in a thread from start(), else in result().

    Reading a snapshot is Python work (JSON, numpy, scipy's graph search) that
    needs nothing from the page, so it can overlap the page's own work.
    """

    def __init__(self, paths: tuple[Path, Path], cycles: int):
        self.paths, self.cycles = paths, cycles
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="heap-suspects")
        self._future = None

    def __enter__(self) -> "SuspectAnalysis":
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=False)

    def _work(self) -> list[dict]:
        return suspects(HeapSnapshot(self.paths[0]), HeapSnapshot(self.paths[1]), self.cycles)

    def start(self) -> None:
        if self._future is None:
            self._future = self._pool.submit(self._work)

    def result(self) -> list[dict]:
        self.start()
        return self._future.result()


def preload_suspect_analysis() -> None:
    """Import scipy.sparse's graph search in a thread while the page cycles (a suspected leak needs it)."""
    background_import.start("scipy.sparse.csgraph")


def _remove_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


# For the registry (bench.scenarios.MODULES): the config dataclass and the scenario it drives.
CONFIG, SCENARIO = CyclesConfig, CyclesScenario
