"""`bench throughput`: open-loop message load on a chat server, latency from the schedule.

S sender and R receiver connections, dealt over worker processes. Messages
are due at a fixed rate (schedule.py); each carries a token with its
sequence number, and each receiver times its arrival against the due time
(accounting.py). `--rate max` steps the rate up until delivery falls
behind or p99 crosses the SLO (schedule.find_max_rate).

Metrics (docs/metrics.md, "server side"): throughput.msgs_per_s,
throughput.delivery_ratio, throughput.latency_ms, throughput.errors, the
counts throughput.{scheduled,sent,skipped,delivered,late,lost}, and the
generator's own lag: generator.send_lag_ms, generator.loop_lag_ms,
generator.cpu_pct.

Ctrl-C (or SIGTERM) in a fixed-rate phase cuts it short (workers.WorkerPool.cut):
the phase is accounted as if its schedule had ended at the first message a
sender had not tried (cut_short), and kept as partial results. With --rate
max the finished steps are the results.
"""

from __future__ import annotations

import dataclasses
import math
import secrets
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import UsageError
from ..results.records import Results, ScenarioOutput
from .accounting import PhaseAccount, account
from .frames import resolve_template
from .schedule import Schedule, Step, find_max_rate, phase_counts
from .server import ServerUnderLoad
from .harness import load_session
from .cut import CUT_DRAIN_S, CUT_QUIET_S, CUT_S
from .workers import deal, default_workers

LAG_LIMIT_MS = 10.0        # send lag p99 above this: the generator is behind schedule
SATURATED_CPU_PCT = 85.0   # ...and a worker wanting the CPU this much of the time is the reason
MIN_DELIVERY_RATIO = 0.999 # --rate max: one message in a thousand late or lost is falling behind
RAMP_FACTOR = 2.0
RAMP_REFINE = 2            # bisections after the first failing rate: within 2 ** (1/4) = 19 %
START_DELAY_S = 0.3        # from "go" to the first due message: every worker has the command
QUIET_S = 0.2              # between steps: no frame for this long means the last backlog is through
QUIET_MAX_S = 10.0


@dataclass
class ThroughputConfig:
    url: str | None = None          # ws://...; None: the bundled chat app
    port: int = 0                   # the bundled app's port (0: a free one)
    format: str = "json"
    frame: str | None = None        # a template with {text}; wins over format
    protocol: dict | None = None    # {"name": "socketio", "event": ...}: the frame is its payload (bench.targets.protocols)
    rate: float | None = 500.0      # msgs/s; None: find the max
    duration_s: float | None = None # default 5 s, or 2 s per step with rate max
    messages: int | None = None
    warmup_s: float = 1.0
    senders: int = 1
    receivers: int = 10
    workers: int = field(default_factory=default_workers)
    message_bytes: int = 64
    late_ms: float = 1000.0
    slo_ms: float = 100.0
    rate_start: float = 100.0
    rate_limit: float = 200_000.0
    timeout_s: float = 10.0

    def validate(self) -> None:
        if self.rate is not None and self.rate <= 0:
            raise UsageError(f"--rate must be positive or 'max' (got {self.rate:g})")
        if self.duration_s is not None and self.messages is not None:
            raise UsageError("give --duration or --messages, not both")
        if self.duration_s is not None and self.duration_s <= 0:
            raise UsageError(f"--duration must be positive (got {self.duration_s:g})")
        if self.messages is not None and self.messages < 1:
            raise UsageError(f"--messages must be at least 1 (got {self.messages})")
        if self.senders < 1:
            raise UsageError(f"--senders must be at least 1 (got {self.senders})")
        if self.receivers < 0:
            raise UsageError(f"--receivers must not be negative (got {self.receivers})")
        if self.warmup_s < 0 or self.late_ms <= 0 or self.slo_ms <= 0:
            raise UsageError("--warmup must not be negative; --late-ms and --slo-ms must be positive")
        if not 0 < self.rate_start <= self.rate_limit:
            raise UsageError(f"--rate-start {self.rate_start:g} must be positive and at most "
                             f"--rate-limit {self.rate_limit:g}")
        resolve_template(self.format, self.frame)

    @property
    def phase_duration_s(self) -> float:
        if self.duration_s is not None:
            return self.duration_s
        return 5.0 if self.rate is not None else 2.0

    def to_json(self) -> dict:
        out = dataclasses.asdict(self)
        out["rate"] = "max" if self.rate is None else self.rate
        out["duration_s"] = None if self.messages is not None else self.phase_duration_s
        out["template"] = resolve_template(self.format, self.frame)
        return out


def generator_state(acct: PhaseAccount, senders: list[dict]) -> tuple[bool, bool, str]:
    """(behind, own_fault, note): did the generator keep to its schedule, and was it itself the reason?

    `senders`: the replies of the workers that hold senders. Behind: send
    lag p99 over LAG_LIMIT_MS (or messages skipped). The generator's own
    fault when a sending worker wanted the CPU nearly all the time (on it,
    or runnable and waiting for it: SATURATED_CPU_PCT of the window, from
    /proc schedstat where Linux has it), or when its timers were late by as
    much as its sends (the same stall seen twice). Otherwise the worker was
    idle while its sends waited: the server was not reading as fast as
    scheduled (TCP back-pressure).
    """
    lag = acct.send_lag_ms
    p99 = float(np.percentile(lag, 99)) if lag.size else 0.0
    if not (p99 > LAG_LIMIT_MS or acct.skipped > 0):
        return False, False, ""
    busiest = max((r["cpu_pct"] for r in senders), default=0.0)
    wanting = max((r["cpu_pct"] + (r["cpu_wait_pct"] or 0.0) for r in senders), default=0.0)
    waited = max((r["cpu_wait_pct"] or 0.0 for r in senders), default=0.0)
    worst_loop = max((x for r in senders for x in r["loop_lag_ms"]), default=0.0)
    worst_send = float(lag.max()) if lag.size else 0.0
    own = wanting >= SATURATED_CPU_PCT or worst_loop >= worst_send / 2
    headline = "LOAD GENERATOR FELL BEHIND SCHEDULE" if own else "SENDS FELL BEHIND SCHEDULE"
    note = (f"{headline} at {acct.schedule.rate:g} msgs/s: send lag p99 {p99:.1f} ms, max "
            f"{worst_send:.1f} ms (limit {LAG_LIMIT_MS:g} ms)")
    if acct.skipped:
        note += f"; {acct.skipped} messages skipped after falling too far behind"
    usage = (f"busiest sending worker on a CPU {busiest:.0f} % and waiting for one {waited:.0f} % of the "
             f"time, its timers up to {worst_loop:.1f} ms late")
    if own and busiest >= SATURATED_CPU_PCT:
        note += f"; the generator itself was the limit ({usage}): add --workers/--senders or lower --rate"
    elif own:
        note += f"; other processes had the CPU ({usage}): a busy machine"
    else:
        note += (f"; the generator was idle ({usage}), so the server was not reading as fast as "
                 "scheduled (TCP back-pressure)")
    return True, own, note + ". Latency counts from the scheduled time, so this delay is in it."


def phase_output(acct: PhaseAccount, replies: list[dict]) -> tuple[ScenarioOutput, dict]:
    """The metrics of one phase, and its record for results.records["throughput"]."""
    out = ScenarioOutput()
    cpu = [r["cpu_pct"] for r in replies]
    loop_lag = [x for r in replies for x in r["loop_lag_ms"]]
    error_frames = sum(r["error_frames"] for r in replies)
    dropped = sum(1 for r in replies for c in (*r["senders"], *r["receivers"]) if c["closed"] is not None)
    errors = acct.failed + error_frames + dropped
    behind, own_fault, note = generator_state(acct, [r for r in replies if r["senders"]])
    m = out.metrics
    m["throughput.offered_msgs_per_s"] = ("msgs/s", [acct.schedule.rate])
    if acct.sent_per_s is not None:
        m["throughput.sent_msgs_per_s"] = ("msgs/s", [acct.sent_per_s])
    if acct.msgs_per_s is not None:
        m["throughput.msgs_per_s"] = ("msgs/s", [acct.msgs_per_s])
    if acct.delivery_ratio is not None:
        m["throughput.delivery_ratio"] = ("ratio", [acct.delivery_ratio])
    if acct.receivers:
        m["throughput.latency_ms"] = ("ms", acct.latency_ms.tolist())
    for name in ("scheduled", "sent", "skipped", "delivered", "late", "lost"):
        m[f"throughput.{name}"] = ("count", [getattr(acct, name)])
    m["throughput.errors"] = ("count", [errors])
    m["generator.send_lag_ms"] = ("ms", acct.send_lag_ms.tolist())
    m["generator.loop_lag_ms"] = ("ms", loop_lag)
    m["generator.cpu_pct"] = ("%", cpu)
    waits = [r["cpu_wait_pct"] for r in replies if r["cpu_wait_pct"] is not None]
    if waits:
        m["generator.cpu_wait_pct"] = ("%", waits)
    if note:
        out.notes.append(note)
    if not acct.receivers:
        out.notes.append("no receivers (--receivers 0): only sending is measured; no delivery or latency")
    if errors:
        out.notes.append(f"{errors} errors at {acct.schedule.rate:g} msgs/s: {acct.failed} sends failed, "
                         f"{error_frames} error frames from the server, {dropped} connections closed by it")
    first_error = next((r["first_error"] for r in replies if r["first_error"]), "")
    if error_frames and not acct.delivered:
        out.notes.append(f"the server answered with error frames and delivered nothing on time: is --format/"
                         f"--frame right for this server? The first: {first_error}")
    if acct.lost or acct.late:
        out.notes.append(f"at {acct.schedule.rate:g} msgs/s: {acct.late} deliveries late (> late-ms) and "
                         f"{acct.lost} lost, of {acct.expected} expected")
    latency = acct.latency_ms
    record = {
        "rate": acct.schedule.rate, "schedule": acct.schedule.to_json(), "receivers": acct.receivers,
        "scheduled": acct.scheduled, "sent": acct.sent, "failed": acct.failed, "skipped": acct.skipped,
        "expected": acct.expected, "delivered": acct.delivered, "late": acct.late, "lost": acct.lost,
        "delivery_ratio": acct.delivery_ratio, "msgs_per_s": acct.msgs_per_s,
        "sent_msgs_per_s": acct.sent_per_s,
        "latency_p99_ms": float(np.percentile(latency, 99)) if latency.size else None,
        "transit_p99_ms": float(np.percentile(acct.transit_ms, 99)) if acct.transit_ms.size else None,
        "error_frames": error_frames, "connections_closed": dropped,
        "reconnected": sum(r["reconnected"] for r in replies),
        "stray_frames": sum(c["stray"] for r in replies for c in r["receivers"]),
        "generator_behind": behind, "generator_own_fault": own_fault, "worker_cpu_pct": cpu,
        "worker_cpu_wait_pct": [r["cpu_wait_pct"] for r in replies],
    }
    return out, record


def cut_short(schedule: Schedule, senders: list[dict]) -> tuple[Schedule, list[dict]]:
    """A phase cut short (agent.py, "cut"): its schedule up to the first message a sender did not try
    (every one before it was tried: each sender goes in order), and the senders' reports up to there."""
    count = min((s["cut_from"] for s in senders if s.get("cut_from") is not None), default=schedule.count)
    n = len(senders)
    kept = []
    for report in senders:
        first = np.asarray(report["batch_first"], dtype=np.int64)
        size = np.asarray(report["batch_size"], dtype=np.int64)
        # The k-th message of a batch is first + k x n: those below count stay.
        size = np.clip(-((first - count) // n), 0, size)
        keep = size > 0
        skipped_from = report["skipped_from"]
        kept.append({**report, "failed": [seq for seq in report["failed"] if seq < count],
                     "batch_first": first[keep].tolist(), "batch_size": size[keep].tolist(),
                     "batch_at": np.asarray(report["batch_at"], dtype=float)[keep].tolist(),
                     "skipped_from": skipped_from if skipped_from is not None and skipped_from < count else None})
    return Schedule(schedule.phase, schedule.t0, schedule.rate, count, min(schedule.warmup, count)), kept


def cut_phase_output(schedule: Schedule, replies: list[dict | None], plan: list[list], late_ms: float,
                     cut_at: float) -> tuple[ScenarioOutput, dict | None]:
    """The output of a phase interrupted at cut_at, from the workers' replies to the cut (None: lost)."""
    into = max(0.0, cut_at - schedule.t0)
    head = (f"interrupted {into:.1f} s into the {schedule.count / schedule.rate:.1f} s schedule "
            f"({schedule.warmup} warm-up and {schedule.measured} measured messages at {schedule.rate:g} msgs/s)")
    lost = [w for w, r in enumerate(replies) if r is None]
    if any(kind == "s" for w in lost for kind, _ in plan[w]):
        out = ScenarioOutput(metrics={"throughput.offered_msgs_per_s": ("msgs/s", [schedule.rate])})
        out.notes.append(f"{head}: the counts were in the load workers, and {len(lost)} of {len(replies)} "
                         f"(senders among them) did not answer within {CUT_S:g} s: lost")
        return out, None
    answered = [r for r in replies if r is not None]
    cut, senders = cut_short(schedule, [s for r in answered for s in r["senders"]])
    it = iter(senders)
    answered = [{**r, "senders": [next(it) for _ in r["senders"]]} for r in answered]
    acct = account(cut, senders, [x for r in answered for x in r["receivers"]], late_ms)
    output, record = phase_output(acct, answered)
    if cut.measured:
        note = (f"{head}: the counts are those of the {cut.measured} measured messages due before it; "
                f"arrivals were awaited until none came for {CUT_QUIET_S:g} s ({CUT_DRAIN_S:g} s at most), "
                "a message still on its way then counts as lost")
    else:
        note = f"{head}: in the warm-up, so no message was measured"
    if lost:
        receivers = sum(kind == "r" for w in lost for kind, _ in plan[w])
        note += (f"; {receivers} receivers' arrivals were lost (their load workers did not answer within "
                 f"{CUT_S:g} s), so delivery counts the other {acct.receivers}")
    output.notes.insert(0, note)
    record["interrupted_at_s"] = into
    return output, record


class ThroughputRun:
    """Results fill in as phases complete, so an interrupted run keeps them."""

    def __init__(self, config: ThroughputConfig, progress: bool | None = None):
        config.validate()
        self.config = config
        self.progress_enabled = progress
        self.results: Results | None = None
        self.template = resolve_template(config.format, config.frame)
        self.run_id = secrets.token_hex(3)
        self.steps: list[dict] = []

    def execute(self) -> Results:
        c = self.config
        connections = [("s", i) for i in range(c.senders)] + [("r", i) for i in range(c.receivers)]
        workers = min(c.workers, len(connections))
        server = ServerUnderLoad(c.url, port=c.port)  # checks --url
        with load_session(server, workers, c.to_json(), self.progress_enabled, "connecting") as session:
            self.pool, self.progress, self.results = session.pool, session.progress, session.results
            self.plan = deal(connections, workers)
            self.pool.call("open_throughput", [
                {"url": server.ws_url, "senders": [i for kind, i in share if kind == "s"],
                 "receivers": [i for kind, i in share if kind == "r"], "run_id": self.run_id,
                 "timeout_s": c.timeout_s, "protocol": c.protocol} for share in self.plan],
                timeout_s=c.timeout_s + 30)
            if c.rate is not None:
                output, _ = self._phase(0, c.rate, keep_cut=True)
                self._keep(output)
            else:
                self._ramp()
        return self.results

    def _keep(self, output: ScenarioOutput | None, notes: list[str] = ()) -> None:
        """Results = the chosen phase's output + every step's record (rebuilt, so nothing doubles)."""
        results = Results(env=self.results.env, config=self.results.config)
        if output is not None:
            results.add(0, output)
        results.records["throughput"] = list(self.steps)
        results.notes.extend(notes)
        self.results = results

    def _phase(self, phase: int, rate: float, keep_cut: bool = False) -> tuple[ScenarioOutput, PhaseAccount]:
        """Run one phase at rate; keep_cut: on Ctrl-C, keep what it measured as the results, then raise."""
        c = self.config
        count, warmup = phase_counts(rate, c.phase_duration_s, c.messages, c.warmup_s)
        self.progress.describe(f"{rate:g} msgs/s")
        waited = None
        if phase > 0:
            # An overloaded step leaves a backlog in the server; the next step
            # must not start behind it, or it measures the last one.
            waits = self.pool.call("quiet", [{"quiet_s": QUIET_S, "max_s": QUIET_MAX_S}] * self.pool.count,
                                   timeout_s=QUIET_MAX_S + 30)
            waited = None if None in waits else max(waits)
        schedule = Schedule(phase, time.monotonic() + START_DELAY_S, rate, count, warmup)
        late_s = c.late_ms / 1000
        abandon_s = max(2.0, 2 * late_s)
        args = {"schedule": schedule.to_json(), "senders_total": c.senders, "template": self.template,
                "message_bytes": c.message_bytes, "late_s": late_s, "abandon_s": abandon_s,
                "timeout_s": c.timeout_s}
        longest = START_DELAY_S + count / rate + abandon_s + 2 * late_s + c.timeout_s + 30
        try:
            replies = self.pool.call("phase", [args] * self.pool.count, timeout_s=longest)
        except KeyboardInterrupt:  # or Stopped: a worker got SIGTERM
            if keep_cut:
                self._keep_cut(schedule)
            raise
        acct = account(schedule, [s for r in replies for s in r["senders"]],
                       [x for r in replies for x in r["receivers"]], c.late_ms)
        output, record = phase_output(acct, replies)
        if phase > 0:
            record["quiet_wait_s"] = waited
            if waited is None:
                output.notes.append(f"before the {rate:g} msgs/s step the server was still delivering "
                                    f"the last step's backlog after {QUIET_MAX_S:g} s")
        self.steps.append(record)
        self.progress.advance(acct.scheduled)
        return output, acct

    def _keep_cut(self, schedule: Schedule) -> None:
        """Ctrl-C in the phase: its workers end it and answer with what they have (WorkerPool.cut)."""
        cut_at = min(time.monotonic(), self.pool.stopped_at or math.inf)
        try:
            replies = self.pool.cut(cut_at)  # the call's replies, those read before the interrupt too
        except KeyboardInterrupt:  # a second Ctrl-C: no more waiting, but what was read is kept
            replies = self.pool.replies()
        output, record = cut_phase_output(schedule, replies, self.plan, self.config.late_ms, cut_at)
        if record is not None:
            self.steps.append(record)
        self._keep(output)
        self.results.partial = True

    def _ramp(self) -> None:
        c = self.config
        best: dict[float, ScenarioOutput] = {}

        def try_rate(rate: float) -> Step:
            output, acct = self._phase(len(self.steps), rate)
            record = self.steps[-1]
            ok, generator_limited, reason = judge_step(record, acct, c.slo_ms)
            record["ok"], record["reason"] = ok, reason
            if ok:
                best[rate] = output
                self._keep(output)
            return Step(rate, ok, reason, generator_limited)

        good, steps = find_max_rate(try_rate, c.rate_start, RAMP_FACTOR, c.rate_limit, RAMP_REFINE)
        notes = [_ramp_summary(good, steps, c)]
        self._keep(best.get(good), notes)
        if good is not None:
            self.results.add(0, ScenarioOutput(metrics={"throughput.max_sustainable_msgs_per_s":
                                                        ("msgs/s", [good])}))


def judge_step(record: dict, acct: PhaseAccount, slo_ms: float) -> tuple[bool, bool, str]:
    """(sustainable, generator_limited, reason) for one --rate max step.

    Sustainable: on-time delivery at least MIN_DELIVERY_RATIO and latency
    p99 within the SLO. Latency counts from the schedule, so any lateness of
    the generator is already in it: a step that passes passes, whatever the
    generator did. A step that fails is the server's fault when delivery fell
    short, when latency minus the generator's own lateness (transit) is still
    over the SLO, or when sends were held back by TCP back-pressure;
    otherwise the generator's delay explains the miss, and the search stops
    there, since it says nothing about the server.
    """
    reasons, server_fault = [], False
    ratio, p99, transit = acct.delivery_ratio, record["latency_p99_ms"], record["transit_p99_ms"]
    if acct.receivers and (ratio or 0) < MIN_DELIVERY_RATIO:
        reasons.append(f"on time {100 * (ratio or 0):.2f} % < {100 * MIN_DELIVERY_RATIO:g} %")
        server_fault = True
    if p99 is not None and p99 > slo_ms:
        reasons.append(f"latency p99 {p99:.1f} ms > --slo-ms {slo_ms:g} (transit p99 {transit:.1f} ms)")
        server_fault |= transit > slo_ms
    if not reasons:
        return True, False, ""
    if record["generator_behind"]:
        if record["generator_own_fault"]:
            reasons.append("the load generator itself was behind schedule")
        else:
            reasons.append("sends held back by the server (TCP back-pressure)")
            server_fault = True
    return False, not server_fault and record["generator_behind"], "; ".join(reasons)


def _ramp_summary(good: float | None, steps: list[Step], c: ThroughputConfig) -> str:
    tried = ", ".join(f"{s.rate:g}{'' if s.ok else ' x'}" for s in steps)
    if steps and steps[-1].generator_limited:
        limit = f"the load generator fell behind at {steps[-1].rate:g} msgs/s, so the server's limit is higher"
        return (f"highest sustainable rate: at least {good:g} msgs/s ({limit}); steps: {tried}"
                if good is not None else f"no sustainable rate found: {limit}; steps: {tried}")
    if good is None:
        return (f"no sustainable rate: even {c.rate_start:g} msgs/s failed ({steps[0].reason}); "
                f"steps: {tried}" if steps else "no steps run")
    if not any(not s.ok for s in steps):
        return f"highest sustainable rate: at least {good:g} msgs/s (reached --rate-limit); steps: {tried}"
    first_bad = min(s.rate for s in steps if not s.ok)
    reason = next(s.reason for s in steps if s.rate == first_bad)
    return (f"highest sustainable rate: {good:g} msgs/s (at {first_bad:g}: {reason}; "
            f"p99 SLO {c.slo_ms:g} ms); steps: {tried}")
