"""Inside a worker process: one event loop that holds connections and keeps to the schedule.

The coordinator (workers.WorkerPool) sends commands over a pipe; each is
answered with ("ok", result) or ("error", one line). Commands:

  open_throughput  connect this worker's senders and receivers
  phase            send this worker's share of a schedule, record arrivals
  open_clients     connect heartbeat clients
  heartbeat        every client heartbeats on its own schedule for a duration
  stop             close everything and exit

and, read while a command runs, "cut": the coordinator was interrupted (Ctrl-C,
SIGTERM) and wants what the command has so far. A cut phase stops sending and
answers once what is on its way has arrived (CUT_QUIET_S without a frame, at
most CUT_DRAIN_S); cut heartbeats stop ticking and answer after their grace;
cut connecting stops and answers with the clients connected so far. A frame
or a close after the cut is not the run's: the server may be going down too
(a terminal's Ctrl-C reaches every process of the group). A worker ignores
SIGINT, and takes SIGTERM (sent to the whole group, or its coordinator gone:
_die_with_parent) as a cut: its command answers with what it has, and the
worker ends when the coordinator stops it or is gone, its sockets closed.

The worker also measures itself: how late a 5 ms timer fires (loop lag) and
its CPU use, so a run can say when the generator, not the server, was slow.
"""

from __future__ import annotations

import asyncio
import logging
import math
import signal
import time
from array import array

import aiohttp

from ..targets import protocols
from ..targets.server_process import _die_with_parent
from .clients import SEND_ERRORS, Collector, ConnectFailed, Connection, HeartbeatClient, Receiver
from .frames import FrameRenderer, make_token, token_pattern
from .procfs import sched_seconds
from .schedule import Schedule
from .cut import CUT_DRAIN_S, CUT_QUIET_S

BATCH = 64                # sends between yields: readers and the lag timer get their turn
LAG_TICK_S = 0.005
CONNECT_CONCURRENCY = 50  # per worker: a burst of 1,000 SYNs would overflow the server's listen backlog


def worker_main(conn, index: int) -> None:
    """Process entry point (multiprocessing, spawn)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the coordinator, which stops us
    _die_with_parent()
    # A send into a socket the server already closed is counted as an error;
    # asyncio's own "socket.send() raised exception" warnings would only be noise.
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    asyncio.run(Agent(conn, index).serve())


def _wake(sleeper: asyncio.Future) -> None:
    if not sleeper.done():
        sleeper.set_result(None)


class LoopLag:
    """How late the worker's event loop runs a timer due every LAG_TICK_S, in ms.

    Open loop, like the load itself: the ticks are due on a fixed schedule,
    and when the loop wakes late every tick it missed is a sample (a 30 ms
    stall gives 30, 25, ... 5 ms), so a stall is not counted once and
    forgotten. Busy, or starved of CPU by other processes, it shows here.
    """

    def __init__(self):
        self.samples = array("d")
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        due = time.monotonic() + LAG_TICK_S
        while True:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            now = time.monotonic()
            while due <= now:
                self.samples.append((now - due) * 1000)
                due += LAG_TICK_S

    def take(self) -> list[float]:
        out, self.samples = self.samples.tolist(), array("d")
        return out


class Agent:
    def __init__(self, conn, index: int):
        self.conn, self.index = conn, index
        self.senders: list[Connection] = []
        self.receivers: list[Receiver] = []
        self.clients: list[HeartbeatClient] = []
        self.lag = LoopLag()
        self.cut_at: float | None = None  # when the current command was cut short (the coordinator, SIGTERM)
        self._sleepers: set[asyncio.Future] = set()

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        # limit=0: a WebSocket holds its connection for the whole run; the
        # default pool of 100 would make client 101 wait forever.
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self.lag.start()
        # The pipe is read as messages come, so a "cut" reaches the command that runs.
        self.inbox: asyncio.Queue = asyncio.Queue()
        loop.add_reader(self.conn.fileno(), self._readable)
        signal.signal(signal.SIGTERM, lambda signum, frame: loop.call_soon_threadsafe(self._cut, time.monotonic()))
        try:
            while True:
                command, args = await self.inbox.get()
                if command is None:
                    return  # the coordinator is gone
                if command == "stop":
                    break
                try:
                    reply = ("ok", await getattr(self, f"cmd_{command}")(**args))
                except ConnectFailed as exc:
                    reply = ("error", str(exc))
                except Exception as exc:  # one line to the coordinator, never a silent hang
                    reply = ("error", f"load worker {self.index}: {type(exc).__name__}: {exc}")
                try:
                    self.conn.send(reply)
                except OSError:
                    return  # the coordinator is gone
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            loop.remove_reader(self.conn.fileno())
            await self._close_all()
            self.lag.task.cancel()
            await self.session.close()
        try:
            self.conn.send(("ok", None))  # closed cleanly
        except OSError:
            pass

    def _readable(self) -> None:
        """The coordinator wrote: a command for the queue, or a cut of the one that runs."""
        try:
            while self.conn.poll():
                command, args = self.conn.recv()
                if command in ("cut", "stop"):  # stop: whatever still runs ends now
                    self._cut((args or {}).get("at"))
                else:
                    self.cut_at = None  # a new command; nothing runs until it is taken from the queue
                if command != "cut":
                    self.inbox.put_nowait((command, args))
        except (EOFError, OSError):
            asyncio.get_running_loop().remove_reader(self.conn.fileno())
            self._cut()
            self.inbox.put_nowait((None, None))

    def _cut(self, at: float | None = None) -> None:
        """End the command that runs; at: when the interrupt came (the coordinator's, or the signal's),
        if earlier than now (a server stopped by the same Ctrl-C may close its sockets meanwhile)."""
        if self.cut_at is not None:
            return
        self.cut_at = now = min(time.monotonic(), at or math.inf)
        for client in self.clients:  # the server's pings after the cut are not the run's
            client.count_until = min(client.count_until, now)
        for sleeper in self._sleepers:
            _wake(sleeper)

    @property
    def cut(self) -> bool:
        return self.cut_at is not None

    async def _sleep(self, delay: float | None) -> None:
        """asyncio.sleep that a cut ends at once (as cheap: one future, one timer); None: until the cut."""
        if self.cut:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        sleeper = loop.create_future()
        timer = None if delay is None else loop.call_later(max(0.0, delay), _wake, sleeper)
        self._sleepers.add(sleeper)
        try:
            await sleeper
        finally:
            if timer is not None:
                timer.cancel()
            self._sleepers.discard(sleeper)

    async def _unless_cut(self, awaitable) -> bool:
        """Await awaitable, or cancel it when a cut comes first (True: it was cut)."""
        task = asyncio.ensure_future(awaitable)
        sleeper = asyncio.ensure_future(self._sleep(None))
        try:
            await asyncio.wait({task, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return True
        task.result()  # its exception, if it failed
        return False

    def _gone_in_run(self, conn: Connection) -> str | None:
        """Why the server closed conn during the run (None if it did not, or only after a cut)."""
        return conn.close_reason if self._dropped(conn, closed=True) else None

    def _dropped(self, conn: Connection, closed: bool = False) -> bool:
        """The server dropped conn (closed: or it closed, ours too) before any cut."""
        gone = conn.closed_at is not None if closed else conn.disconnected
        return gone and (self.cut_at is None or conn.closed_at < self.cut_at)

    async def _close_all(self) -> None:
        everyone = [*self.senders, *self.receivers, *self.clients]
        await asyncio.gather(*(c.close() for c in everyone), return_exceptions=True)

    async def _connect(self, connections: list[Connection], timeout_s: float,
                       failures: list[str] | None = None) -> list[str]:
        """Connect, at most CONNECT_CONCURRENCY at a time; the failures' reasons (appended to failures)."""
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        failures = [] if failures is None else failures

        async def one(c: Connection) -> None:
            async with gate:
                try:
                    await c.connect(self.session, timeout_s)
                except ConnectFailed as exc:
                    failures.append(str(exc))

        await asyncio.gather(*(one(c) for c in connections))
        return failures

    # ------------------------------------------------------------ throughput

    async def cmd_open_throughput(self, url: str, senders: list[int], receivers: list[int],
                                  run_id: str, timeout_s: float, protocol: dict | None = None) -> dict:
        pattern = token_pattern(run_id)
        self.run_id = run_id
        self.protocol = protocol
        codec = protocols.from_json(protocol)
        url = codec.client_url(url) if codec else url
        self.senders = [Connection(f"s{i}", url, codec=protocols.from_json(protocol)) for i in senders]
        self.receivers = [Receiver(f"r{i}", url, pattern, codec=protocols.from_json(protocol)) for i in receivers]
        self.sender_index = dict(zip(self.senders, senders))
        failures = await self._connect([*self.senders, *self.receivers], timeout_s)
        if failures:
            raise ConnectFailed(failures[0])
        return {"connect_ms": [c.connect_ms for c in (*self.senders, *self.receivers)]}

    async def _reopen(self, timeout_s: float) -> int:
        """Reconnect what the server closed in the last phase (it may drop slow readers)."""
        gone = [c for c in (*self.senders, *self.receivers) if not c.open]
        for c in gone:
            await c.close()
            c.closing = False
        failures = await self._connect(gone, timeout_s)
        if failures:
            raise ConnectFailed(failures[0])
        return len(gone)

    async def cmd_quiet(self, quiet_s: float, max_s: float) -> float | None:
        """Wait until no frame has arrived for quiet_s (the last step's backlog is through).

        Returns the seconds waited, or None if frames still came after max_s.
        """
        started = time.monotonic()
        everyone = [*self.senders, *self.receivers]
        while True:
            now = time.monotonic()
            last = max((c.last_frame_at for c in everyone), default=0.0)
            if now - last >= quiet_s:
                return now - started
            if now - started > max_s:
                return None
            await asyncio.sleep(min(quiet_s, last + quiet_s - now))

    async def cmd_phase(self, schedule: dict, senders_total: int, template: str, message_bytes: int,
                        late_s: float, abandon_s: float, timeout_s: float) -> dict:
        reconnected = await self._reopen(timeout_s)
        sched = Schedule(**schedule)
        renderer = FrameRenderer(template, message_bytes, protocols.from_json(self.protocol))
        for r in self.receivers:
            r.collector = Collector(sched.phase, sched.count)
            r.stray = 0
        await self._sleep(sched.t0 - time.monotonic())
        self.lag.take()
        cpu0, wall0, sched0 = time.process_time(), time.monotonic(), sched_seconds()
        sent = await asyncio.gather(*(self._send(c, sched, self.sender_index[c], senders_total, renderer,
                                                  abandon_s) for c in self.senders))
        await self._sleep(sched.last_due - time.monotonic())  # workers with receivers only
        # Timer lag and CPU while the schedule ran; the drain below would only dilute them.
        loop_lag = self.lag.take()
        wall = max(1e-9, time.monotonic() - wall0)
        cpu_pct = 100 * (time.process_time() - cpu0) / wall
        sched1 = sched_seconds()
        # Ready to run but another task had the CPU: starved, not idle.
        cpu_wait_pct = 100 * (sched1[1] - sched0[1]) / wall if sched0 and sched1 else None
        # Listen until every receiver has every message, or until the last
        # message is 2 x late_s overdue: what arrives by then is late, the rest lost.
        remaining = sched.last_due + 2 * late_s - time.monotonic()
        waits = [asyncio.ensure_future(r.collector.complete.wait()) for r in self.receivers]
        if waits and not self.cut:
            await self._unless_cut(asyncio.wait(waits, timeout=max(0.0, remaining)))
        for w in waits:
            w.cancel()
        if self.cut and self.receivers:
            # Cut short: what was sent before the cut is on its way; the stragglers are not waited for.
            await self.cmd_quiet(CUT_QUIET_S, min(CUT_DRAIN_S, 2 * late_s) - (time.monotonic() - self.cut_at))
        received = []
        for r in self.receivers:
            c, r.collector = r.collector, None
            received.append({"name": r.name, "seqs": c.seqs, "times": c.times, "stray": r.stray,
                             "closed": self._gone_in_run(r)})
        # Error frames from the first measured message on (warm-up ones are not counted, like its messages).
        measured_from = sched.at(sched.warmup)
        everyone = (*self.senders, *self.receivers)
        error_frames = sum(c.errors_since(measured_from) for c in everyone)
        first_error = next((c.first_error for c in everyone if c.first_error), "")
        return {"senders": sent, "receivers": received, "loop_lag_ms": loop_lag,
                "cpu_pct": cpu_pct, "cpu_wait_pct": cpu_wait_pct, "error_frames": error_frames,
                "first_error": first_error, "reconnected": reconnected, "cut_at": self.cut_at}

    async def _send(self, conn: Connection, sched: Schedule, sender: int, senders: int,
                    renderer: FrameRenderer, abandon_s: float) -> dict:
        """Send this sender's messages, each when it is due; never wait for the server's answer.

        Messages due at the same moment go out back to back (a batch), up to
        BATCH before yielding. Each batch's start time is recorded, so the
        coordinator knows how late the generator was for every message.
        A sender more than abandon_s behind stops: the rest are "skipped".
        A cut stops it too: cut_from is the first of its messages not tried.
        """
        seqs = sched.seqs_for(sender, senders)
        n = len(seqs)
        failed = array("q")
        batch_first, batch_size, batch_at = array("q"), array("q"), array("d")
        skipped_from = cut_from = None
        run_id, phase, at = self.run_id, sched.phase, sched.at
        send = conn.ws.send_bytes if renderer.binary else conn.ws.send_str  # MessagePack protocols: bytes
        i = 0
        while i < n:
            due = at(seqs[i])
            now = time.monotonic()
            if due > now:
                await self._sleep(due - now)
                now = time.monotonic()
            if self.cut_at is not None:
                cut_from = seqs[i]
                break
            if now - due > abandon_s:
                skipped_from = seqs[i]
                break
            first = i
            while i < n and i - first < BATCH and at(seqs[i]) <= now:
                seq = seqs[i]
                try:
                    await send(renderer.render(make_token(run_id, phase, seq)))
                except SEND_ERRORS:
                    failed.append(seq)
                i += 1
            batch_first.append(seqs[first])
            batch_size.append(i - first)
            batch_at.append(now)
            if i - first >= BATCH:
                await asyncio.sleep(0)
        return {"name": conn.name, "sender": sender, "failed": failed, "skipped_from": skipped_from,
                "cut_from": cut_from, "batch_first": batch_first, "batch_size": batch_size,
                "batch_at": batch_at, "last_send": time.monotonic(), "closed": self._gone_in_run(conn)}

    # ------------------------------------------------------------ connections

    async def cmd_open_clients(self, url: str, indices: list[int], ws_ping: bool, timeout_s: float,
                               protocol: dict | None = None) -> dict:
        codec = protocols.from_json(protocol)
        url = codec.client_url(url) if codec else url
        self.clients = [HeartbeatClient(f"c{i}", url, ws_ping, protocols.from_json(protocol)) for i in indices]
        self.client_index = dict(zip(self.clients, indices))
        failures: list[str] = []
        cut = await self._unless_cut(self._connect(self.clients, timeout_s, failures))
        connect_ms = [c.connect_ms for c in self.clients if c.connect_ms is not None]
        return {"connect_ms": connect_ms, "failures": failures, "cut_at": self.cut_at if cut else None,
                "unfinished": len(self.clients) - len(connect_ms) - len(failures) if cut else 0}

    async def cmd_heartbeat(self, t_start: float, interval_s: float, duration_s: float, clients_total: int,
                            grace_s: float) -> dict:
        """Every client heartbeats open-loop (on its tick, answered or not), staggered across the interval."""
        self.lag.take()
        t_end = t_start + duration_s
        for client in self.clients:  # heartbeats the server sends (Engine.IO, SignalR) count in the run only
            client.count_from, client.count_until = t_start, t_end

        async def run(client: HeartbeatClient) -> None:
            if client.ws is None:
                return  # never connected: counted by the coordinator as a connect error
            offset = interval_s * self.client_index[client] / clients_total
            number = 0
            while (tick := t_start + offset + number * interval_s) < t_end:
                delay = tick - time.monotonic()
                if delay > 0:
                    await self._sleep(delay)
                if self.cut:
                    return
                await client.beat(number)
                number += 1

        await asyncio.gather(*(run(c) for c in self.clients))
        if any(c.server_beats for c in self.clients):
            # The server's pings count until t_end, whenever this worker's last tick fell (with --interval
            # longer than the run, before any ping came): the window is the run's whole duration.
            await self._sleep(t_end - time.monotonic())
        window_s = duration_s if self.cut_at is None else max(0.0, min(duration_s, self.cut_at - t_start))
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(c.awaiting and c.open for c in self.clients):
            await asyncio.sleep(0.01)
        return {"clients": [{"name": c.name, "connected": c.ws is not None, "sent": c.sent,
                             "answered": c.answered, "rtt_ms": c.rtt_ms, "unsendable": c.unsendable,
                             "server_beats": c.server_beats, "ping_gap_s": c.ping_gap_s,
                             "last_ping_s": None if c.last_ping_at is None else c.last_ping_at - t_start,
                             "disconnected_at_s": (c.closed_at - t_start) if self._dropped(c) else None,
                             "reason": c.close_reason if self._dropped(c) else "",
                             "error_frames": c.error_frames} for c in self.clients],
                "loop_lag_ms": self.lag.take(), "window_s": window_s, "cut_at": self.cut_at}
