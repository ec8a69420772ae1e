"""`bench connections`: C clients heartbeat for a duration; answers, RTT, disconnects, server memory.

Each client sends a heartbeat on its own fixed schedule (every interval,
clients staggered across it), whether or not the last one was answered.
A heartbeat that is due after the server dropped the connection still counts
as sent, unanswered: a disconnect lowers stability instead of hiding it. Where
the heartbeats are the server's own pings (Engine.IO, SignalR), those due after
a drop are counted from the interval its pings kept (count_pings_missed).

Metrics (docs/metrics.md, "server side"):
  connections.heartbeats_sent / heartbeats_answered   counts
  connections.stability_pct   answered / sent x 100
  connections.rtt_ms          heartbeat -> its answer, one sample per answer
  connections.disconnects     clients the server dropped during the run
  connections.connect_ms      one sample per client, WebSocket handshake included
  connections.connect_errors  clients that could not connect
  connections.server_bytes_per_connection
                              (server RSS with C clients - RSS before) / C

Ctrl-C (or SIGTERM) keeps what was gathered (partial results): the connect
phase, and the heartbeat counts up to the interrupt, which the workers give
when the coordinator cuts their heartbeats short (workers.WorkerPool.cut).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from dataclasses import dataclass, field

from ..errors import TargetError, UsageError
from ..results.records import Results, ScenarioOutput
from .fdlimit import ensure_fd_limit
from ..targets import protocols
from .frames import HEARTBEATS
from .procfs import NotAvailable, rss_bytes
from .server import ServerUnderLoad
from .harness import load_session
from .cut import CUT_S
from .workers import deal, default_workers

SETTLE_S = 0.3        # after the last client connected, before reading the server's memory
START_DELAY_S = 0.3   # from "go" to the first heartbeat: every worker has the command
GRACE_S = 1.0         # after the last heartbeat, how long an answer may still come


@dataclass
class ConnectionsConfig:
    url: str | None = None
    port: int = 0
    server_pid: int | None = None
    clients: int = 10
    interval_ms: float = 500.0
    duration_s: float = 10.0
    heartbeat: str = "app"
    protocol: dict | None = None  # speak this protocol (bench.targets.protocols); "app" heartbeats are its own
    workers: int = field(default_factory=default_workers)
    timeout_s: float = 10.0

    def validate(self) -> None:
        if self.clients < 1:
            raise UsageError(f"--clients must be at least 1 (got {self.clients})")
        if self.heartbeat not in HEARTBEATS:
            raise UsageError(f"--heartbeat {self.heartbeat!r}: choose from {', '.join(HEARTBEATS)}")
        if self.server_pid is not None and self.url is None:
            raise UsageError("--server-pid goes with --url (the bundled app's process is known)")
        if self.interval_ms <= 0 or self.duration_s <= 0:
            raise UsageError("--interval and --duration must be positive")


class ConnectionsRun:
    def __init__(self, config: ConnectionsConfig, progress: bool | None = None):
        config.validate()
        self.config = config
        self.progress_enabled = progress
        self.results: Results | None = None

    def execute(self) -> Results:
        c = self.config
        fd_note = ensure_fd_limit(c.clients)
        workers = min(c.workers, c.clients)
        server = ServerUnderLoad(c.url, c.server_pid, c.port)  # checks --url and --server-pid
        with load_session(server, workers, dataclasses.asdict(c), self.progress_enabled,
                          f"connecting {c.clients} clients") as session:
            self.results = session.results
            self.memory = ServerMemory(server.pid)
            # What the run has gathered, for an interrupted one (_keep_interrupted).
            self.stage = "connecting"
            self.opened: list | None = None
            self.t_start: float | None = None
            self.beat: list | None = None
            try:
                self._run(session.pool, session.progress, server.ws_url, workers, fd_note)
            except KeyboardInterrupt:  # or Stopped: a worker got SIGTERM
                self._keep_interrupted(session.pool, server.ws_url, fd_note)
                raise
        return self.results

    def _run(self, pool, progress, ws_url: str, workers: int, fd_note: str | None) -> None:
        c = self.config
        plan = deal(range(c.clients), workers)
        self.opened = pool.call("open_clients", [
            {"url": ws_url, "indices": share, "ws_ping": c.heartbeat == "ws-ping",
             "timeout_s": c.timeout_s, "protocol": c.protocol} for share in plan], timeout_s=c.timeout_s * 2 + 30)
        connect_ms = [ms for r in self.opened for ms in r["connect_ms"]]
        failures = [f for r in self.opened for f in r["failures"]]
        if not connect_ms:
            raise TargetError(failures[0])
        self.stage = "settling"
        time.sleep(SETTLE_S)
        self.memory.read("connected")
        progress.describe(f"{len(connect_ms)} clients heartbeating for {c.duration_s:g} s")
        interval_s = c.interval_ms / 1000
        self.t_start = time.monotonic() + START_DELAY_S
        self.stage = "heartbeats"
        beat = self.beat = pool.call("heartbeat", [
            {"t_start": self.t_start, "interval_s": interval_s,
             "duration_s": c.duration_s, "clients_total": c.clients, "grace_s": GRACE_S}] * workers,
            timeout_s=START_DELAY_S + c.duration_s + GRACE_S + 30)
        self.memory.read("end")
        clients = [client for r in beat for client in r["clients"]]
        output = connections_output(clients, connect_ms, failures, self.memory, c, ws_url)
        output.metrics["connections.generator_lag_ms"] = ("ms", [x for r in beat for x in r["loop_lag_ms"]])
        if fd_note:
            output.notes.append(fd_note)
        self.results.add(0, output)

    def _keep_interrupted(self, pool, ws_url: str, fd_note: str | None) -> None:
        """Ctrl-C: the results gathered so far. A command the interrupt came in is cut short (its workers
        answer with what they have); what no worker gave back is said to be lost."""
        c = self.config
        if self.results.metrics:
            return  # it was all there
        interrupted_at = min(time.monotonic(), pool.stopped_at or math.inf)
        try:
            cut = pool.cut(interrupted_at)  # the last call's replies, its command cut short if it still ran
        except KeyboardInterrupt:  # a second Ctrl-C: no more waiting, but what was read is kept
            cut = pool.replies()
        opened = self.opened if self.opened is not None else cut if pool.command == "open_clients" else None
        beat = self.beat if self.beat is not None else cut if pool.command == "heartbeat" else None
        opened = [r for r in opened or [] if r is not None]
        connect_ms = [ms for r in opened for ms in r["connect_ms"]]
        failures = [f for r in opened for f in r["failures"]]
        if beat is not None and any(r is not None for r in beat):
            self.memory.read("end")
            window_s = max(r["window_s"] for r in beat if r is not None)
            clients = [client for r in beat if r is not None for client in r["clients"]]
            output = connections_output(clients, connect_ms, failures, self.memory,
                                        dataclasses.replace(c, duration_s=window_s), ws_url)
            output.metrics["connections.generator_lag_ms"] = ("ms", [x for r in beat if r is not None
                                                                     for x in r["loop_lag_ms"]])
            lost = [r is None for r in beat]
            note = (f"interrupted {window_s:.1f} s into {c.duration_s:g} s of heartbeats: the counts are those "
                    f"of the first {window_s:.1f} s")
            if any(lost):
                note += (f"; the heartbeat counts of {sum(lost)} of {len(beat)} load workers were lost (they "
                         f"did not answer within {CUT_S:g} s): {sum(x['connected'] for x in clients)} of "
                         f"{len(connect_ms)} connected clients are counted")
        else:
            output = connect_output(connect_ms, failures, self.memory)
            if self.stage == "connecting":
                note = (f"interrupted while connecting: {len(connect_ms)} of {c.clients} clients connected, "
                        f"{len(failures)} failed, {sum(r['unfinished'] for r in opened)} still connecting; "
                        "no heartbeat was sent")
                if len(opened) < pool.count:
                    note += (f" (the connect counts of {pool.count - len(opened)} of {pool.count} load workers "
                             f"were lost: they did not answer within {CUT_S:g} s)")
            elif self.stage == "settling" or interrupted_at < self.t_start:
                note = "interrupted before the heartbeats began: only the connect phase was measured"
            else:
                into = min(c.duration_s, interrupted_at - self.t_start)
                note = (f"interrupted {into:.1f} s into {c.duration_s:g} s of heartbeats: the heartbeat counts "
                        f"were in the load workers, which did not answer within {CUT_S:g} s: lost; only the "
                        "connect phase is kept")
        output.notes.insert(0, note)
        if fd_note:
            output.notes.append(fd_note)
        self.results.add(0, output)
        self.results.partial = True


class ServerMemory:
    """The server's RSS before any client, with all connected, and at the end."""

    def __init__(self, pid: int | None):
        self.pid = pid
        self.rss: dict[str, int] = {}
        self.reason: str | None = None
        self.read("before")

    def read(self, label: str) -> None:
        if self.reason is not None:
            return
        try:
            self.rss[label] = rss_bytes(self.pid)
        except NotAvailable as exc:
            self.reason = str(exc)

    def per_connection(self, connected: int) -> float | None:
        if "before" in self.rss and "connected" in self.rss and connected:
            return (self.rss["connected"] - self.rss["before"]) / connected
        return None


def count_pings_missed(clients: list[dict], duration_s: float) -> str | None:
    """The pings a server (Engine.IO, SignalR: its pings are the heartbeats) would have sent a client it
    dropped, until the run's end, added to that client's sent and unsendable: unanswered, as a heartbeat
    of ours that falls due after a drop, so a disconnect lowers stability instead of hiding it. They fall
    due every interval after the client's last ping (one that came before the drop was received; one the
    server held back, waiting for a pong before it dropped the client, counts), or after the drop when it
    had none.

    The server pings every client on one interval: taken as the median of the gaps its pings left at the
    clients that saw two or more. A note (returned) when no client did: those pings are then not counted.
    """
    dropped = [x for x in clients if x.get("server_beats") and x["disconnected_at_s"] is not None
               and x["disconnected_at_s"] < duration_s]
    if not dropped:
        return None
    gaps = [x["ping_gap_s"] for x in clients if x.get("ping_gap_s")]
    if not gaps:
        return (f"connections: {len(dropped)} dropped client(s) saw fewer than two of the server's pings, so its "
                "ping interval is unknown: the pings due after they were dropped are not counted")
    gap = statistics.median(gaps)
    for x in dropped:
        since = x.get("last_ping_s")
        since = max(0.0, x["disconnected_at_s"]) if since is None else since
        # k = 1, 2, ... with since + k x gap inside the run (1e-9: a due time on the run's end is outside it)
        due = max(0, math.ceil((duration_s - since) / gap - 1e-9) - 1)
        x["sent"] += due
        x["unsendable"] += due
    return None


def connect_output(connect_ms: list[float], failures: list[str], memory: ServerMemory) -> ScenarioOutput:
    """The connect phase's metrics alone (a run interrupted before its heartbeats were counted)."""
    out = ScenarioOutput()
    m = out.metrics
    m["connections.clients"] = ("count", [len(connect_ms)])
    m["connections.connect_errors"] = ("count", [len(failures)])
    m["connections.connect_ms"] = ("ms", connect_ms)
    per_connection = memory.per_connection(len(connect_ms))
    if per_connection is not None:
        m["connections.server_bytes_per_connection"] = ("bytes", [per_connection])
    else:
        out.notes.append("connections.server_bytes_per_connection: not available: "
                         f"{memory.reason or 'interrupted before it was read'}")
    out.records["connections.server_rss_bytes"] = [{"pid": memory.pid, **memory.rss,
                                                    "unreadable": memory.reason}]
    if failures:
        out.notes.append(f"{len(failures)} clients could not connect: {failures[0]}")
    return out


def connections_output(clients: list[dict], connect_ms: list[float], failures: list[str],
                       memory: ServerMemory, c: ConnectionsConfig, ws_url: str) -> ScenarioOutput:
    out = ScenarioOutput()
    m = out.metrics
    uncounted = count_pings_missed(clients, c.duration_s)
    if uncounted:
        out.notes.append(uncounted)
    sent = sum(x["sent"] for x in clients)
    answered = sum(x["answered"] for x in clients)
    dropped = [x for x in clients if x["disconnected_at_s"] is not None]
    m["connections.clients"] = ("count", [len(connect_ms)])
    m["connections.connect_errors"] = ("count", [len(failures)])
    m["connections.connect_ms"] = ("ms", connect_ms)
    m["connections.heartbeats_sent"] = ("count", [sent])
    m["connections.heartbeats_answered"] = ("count", [answered])
    if sent:
        m["connections.stability_pct"] = ("%", [100 * answered / sent])
    m["connections.rtt_ms"] = ("ms", [x for client in clients for x in client["rtt_ms"]])
    m["connections.disconnects"] = ("count", [len(dropped)])
    per_connection = memory.per_connection(len(connect_ms))
    if per_connection is not None:
        m["connections.server_bytes_per_connection"] = ("bytes", [per_connection])
    else:
        out.notes.append(f"connections.server_bytes_per_connection: not available: {memory.reason}")
    out.records["connections"] = [{k: v for k, v in x.items() if k != "rtt_ms"} for x in clients]
    out.records["connections.server_rss_bytes"] = [{"pid": memory.pid, **memory.rss,
                                                    "unreadable": memory.reason}]
    kind = ('{"type":"ping"} with {"type":"pong"}' if c.heartbeat == "app" else "WebSocket pings")
    codec = protocols.from_json(c.protocol) if c.heartbeat == "app" else None
    if codec is not None and not codec.answers_client_ping:
        kind = f"the {codec.name} client's answers to its pings"
        out.notes.append(f"connections: heartbeats are the {codec.name} server's own pings (on its timer, not "
                         "--interval), each counted as answered once the client's answer went out; no round "
                         "trip is timed (connections.rtt_ms is empty): use --heartbeat ws-ping for one")
        if not sent and not dropped:
            out.notes.append(f"connections: the server sent no ping during the {round(c.duration_s, 2):g} s run: "
                             "its ping interval is longer (Engine.IO's default is 25 s, SignalR's 15 s); run longer")
    if sent and not answered:
        hint = " (if it has no app heartbeat, use --heartbeat ws-ping)" if c.heartbeat == "app" else ""
        out.notes.append(f"NO HEARTBEAT WAS ANSWERED: {ws_url} did not answer {kind}{hint}; stability 0 %")
    if dropped:
        first = min(dropped, key=lambda x: x["disconnected_at_s"])
        unsendable = sum(x["unsendable"] for x in clients)
        at = first["disconnected_at_s"]
        when = f"{at:.2f} s into the run" if at >= 0 else "before the heartbeats began"
        out.notes.append(f"{len(dropped)} of {len(clients)} clients were disconnected by the server, the "
                         f"first {when} ({first['reason']}); "
                         f"{unsendable} heartbeats fell due after their connection was gone (sent, "
                         "unanswered)")
    if failures:
        out.notes.append(f"{len(failures)} clients could not connect: {failures[0]}")
    return out
