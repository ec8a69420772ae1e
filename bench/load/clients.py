"""Client WebSockets of the load generator (aiohttp), one class per role.

A Connection owns one socket and the task that reads it, and remembers when
and why the server went away. Roles add what they do with incoming frames:
a Receiver records the arrival time of every load message, a HeartbeatClient
matches pongs to its pings. These run inside a worker process (agent.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import time
from array import array

import aiohttp

from ..targets import protocols
from ..targets.protocols import Codec
from ..targets.protocols.base import EVENT, PING

SEND_ERRORS = (ConnectionError, RuntimeError, aiohttp.ClientError)


class ConnectFailed(Exception):
    """A connection could not be opened; the message names the URL and why."""


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def is_error_frame(data: str) -> bool:
    """The bundled server's answer to a frame it did not accept: {"type": "error", ...}."""
    if '"error"' not in data[:40]:
        return False
    try:
        return json.loads(data).get("type") == "error"
    except (ValueError, AttributeError):
        return False


class Connection:
    """One client WebSocket and its reader task."""

    def __init__(self, name: str, url: str, ws_ping: bool = False, codec: Codec | None = None):
        self.name, self.url = name, url
        # A protocol with a handshake or heartbeats (Socket.IO, SignalR, ...):
        # its control frames are answered here, and only its events are chat.
        self.codec = protocols.framed(codec)
        self.client = None  # the protocol's client state, from _handshake
        self._ready = asyncio.Event()
        # ws-ping heartbeats read PONG frames themselves, so aiohttp must not swallow them.
        self.autoping = not ws_ping
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.reader: asyncio.Task | None = None
        self.connect_ms: float | None = None
        self.closed_at: float | None = None   # monotonic time the server side went away
        self.close_reason = ""
        self.error_times = array("d")         # arrival of each error frame from the server
        self.first_error = ""                 # the first one's text, for the report
        self.closing = False                  # we are closing it: not a disconnect
        self.last_frame_at = 0.0              # monotonic time of the last frame received
        # The protocol's timed heartbeat (Phoenix: every 30 s), so a real server keeps a
        # long run's sockets; roles that time heartbeats themselves turn it off.
        self.timed_heartbeat = True
        self.heartbeats: asyncio.Task | None = None
        self.beats_sent = self.beats_answered = 0  # timed heartbeats, and the protocol's answers (pongs)

    @property
    def open(self) -> bool:
        return self.ws is not None and self.closed_at is None

    async def connect(self, session: aiohttp.ClientSession, timeout_s: float) -> None:
        started = time.monotonic()
        try:
            self.ws = await asyncio.wait_for(
                session.ws_connect(self.url, compress=0, autoping=self.autoping, heartbeat=None,
                                   max_msg_size=0, protocols=self.codec.subprotocols if self.codec else ()),
                timeout_s)
        except aiohttp.WSServerHandshakeError as exc:
            raise ConnectFailed(f"{self.url} did not accept a WebSocket (HTTP {exc.status})") from None
        except asyncio.TimeoutError:
            raise ConnectFailed(f"{self.url}: no WebSocket within {timeout_s:g} s") from None
        except aiohttp.ClientConnectorError as exc:
            errno = exc.os_error.errno
            why = os.strerror(errno) if errno else _reason(exc.os_error)
            raise ConnectFailed(f"cannot connect to {self.url}: {why}") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise ConnectFailed(f"cannot connect to {self.url}: {_reason(exc)}") from None
        self.closed_at, self.close_reason = None, ""
        self.reader = asyncio.get_running_loop().create_task(self._read())
        if self.codec is not None:
            await self._handshake(timeout_s - (time.monotonic() - started))
            interval = self.codec.heartbeat_s
            if interval and self.timed_heartbeat:
                if self.heartbeats is not None:  # reopened (agent._reopen): one timer per connection
                    self.heartbeats.cancel()
                self.heartbeats = asyncio.get_running_loop().create_task(self._beat_every(interval))
        self.connect_ms = (time.monotonic() - started) * 1000

    async def _handshake(self, timeout_s: float) -> None:
        """The protocol's opening (Engine.IO open + namespace connect, SignalR handshake, a Phoenix join...)."""
        self.client = self.codec.new_client()
        self._ready.clear()
        for frame in self.codec.client_hello():
            await self.send(frame)
        try:
            await asyncio.wait_for(self._ready.wait(), max(0.1, timeout_s))
        except asyncio.TimeoutError:
            raise ConnectFailed(f"{self.url}: the {self.codec.name} handshake did not finish within "
                                f"{timeout_s:g} s") from None

    async def _beat_every(self, interval_s: float) -> None:
        while self.open:
            await asyncio.sleep(interval_s)
            frame = self.codec.client_ping()
            if frame is None:  # this protocol's client has no heartbeat of its own
                return
            try:
                await self.send(frame)
            except SEND_ERRORS as exc:
                self._gone(_reason(exc))
                return
            self.beats_sent += 1

    async def send(self, frame: str | bytes) -> None:
        """A text frame, or a binary one (MessagePack protocols)."""
        if isinstance(frame, str):
            await self.ws.send_str(frame)
        else:
            await self.ws.send_bytes(frame)

    def _control(self, data: str | bytes) -> None:
        """A frame that is not a chat event: feed the protocol, answer what it asks (pings)."""
        client = self.client
        pings = 0
        ready = self._ready.is_set()
        for packet in self.codec.decode(data):
            pings += packet.kind == PING
            self.codec.client_feed(client, packet)
            if self.heartbeats is not None and self.codec.is_pong(packet):
                self.beats_answered += 1
            self.on_packet(packet)
            if ready and packet.kind == EVENT:  # one the fast path could not read: Socket.IO's binary events
                self.on_text(packet.payload)
        if client.replies:
            replies, client.replies = client.replies, []
            asyncio.get_running_loop().create_task(self._send_all(replies, pings))
        if client.ready:
            self._ready.set()

    async def _send_all(self, frames: list, pings: int = 0) -> None:
        try:
            for frame in frames:
                await self.send(frame)
        except SEND_ERRORS as exc:
            self._gone(_reason(exc))
            return
        if pings:
            self.on_pings_answered(pings)

    def on_packet(self, packet) -> None:
        pass

    def on_pings_answered(self, count: int) -> None:
        """The server's pings of one frame were answered (the answers went out)."""

    async def _read(self) -> None:
        ws = self.ws
        try:
            while True:
                msg = await ws.receive()
                self.last_frame_at = time.monotonic()
                if msg.type is aiohttp.WSMsgType.TEXT:
                    if self.codec is not None and (not self._ready.is_set()
                                                   or self.codec.event_payload(msg.data) is None):
                        self._control(msg.data)
                    else:
                        self.on_text(msg.data)
                elif msg.type is aiohttp.WSMsgType.BINARY and self.codec is not None and self.codec.takes_binary:
                    # MessagePack protocols: chat is binary; its payload, decoded, is what roles read.
                    # Otherwise an attachment of a Socket.IO binary event ("451-[...]" came before it).
                    payload = self.codec.event_payload(msg.data) if self._ready.is_set() and self.codec.binary \
                        else None
                    if payload is None:
                        self._control(msg.data)
                    else:
                        self.on_text(payload)
                elif msg.type is aiohttp.WSMsgType.PONG:
                    self.on_pong(msg.data)
                elif msg.type is aiohttp.WSMsgType.PING:
                    await ws.pong(msg.data)  # only seen with autoping off
                elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING,
                                  aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    code = ws.close_code
                    detail = f"close code {code}" if code else _reason(msg.data) if msg.data else "connection lost"
                    self._gone(detail)
                    return
        except SEND_ERRORS as exc:
            self._gone(_reason(exc))

    def _gone(self, reason: str) -> None:
        if self.closed_at is None:
            self.closed_at = time.monotonic()
            self.close_reason = reason

    def on_text(self, data: str) -> None:
        if is_error_frame(data):
            self.error_times.append(time.monotonic())
            self.first_error = self.first_error or data[:200]

    def errors_since(self, t: float) -> int:
        return sum(1 for e in self.error_times if e >= t)

    @property
    def error_frames(self) -> int:
        return len(self.error_times)

    def on_pong(self, data: bytes) -> None:
        pass

    @property
    def disconnected(self) -> bool:
        """The server side went away while we still wanted the connection."""
        return self.closed_at is not None and not self.closing

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None and not self.ws.closed:
            try:
                await asyncio.wait_for(self.ws.close(), 2)
            except (asyncio.TimeoutError, *SEND_ERRORS):
                pass
        for task in (self.reader, self.heartbeats):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)


class Collector:
    """Arrivals of one phase's messages at one receiver: (seq, monotonic time), raw."""

    def __init__(self, phase: int, count: int):
        self.phase, self.count = phase, count
        self.seqs = array("q")
        self.times = array("d")
        self._seen: set[int] = set()
        self.complete = asyncio.Event()

    def add(self, seq: int, t: float) -> None:
        self.seqs.append(seq)
        self.times.append(t)
        if seq not in self._seen:
            self._seen.add(seq)
            if len(self._seen) >= self.count:
                self.complete.set()


class Receiver(Connection):
    """Records when each load message of the current phase arrives."""

    def __init__(self, name: str, url: str, pattern: re.Pattern, codec: Codec | None = None):
        super().__init__(name, url, codec=codec)
        self.pattern = pattern
        self.collector: Collector | None = None
        self.stray = 0  # load frames of another phase (a late straggler from the last step)

    def on_text(self, data: str) -> None:
        t = time.monotonic()  # first: the arrival time is what is measured
        match = self.pattern.search(data)
        if match is None:
            super().on_text(data)
            return
        collector = self.collector
        if collector is not None and int(match.group(1)) == collector.phase:
            collector.add(int(match.group(2)), t)
        else:
            self.stray += 1


class HeartbeatClient(Connection):
    """Sends a heartbeat every interval and times the answer (app ping or WebSocket ping).

    With a protocol whose server pings on its own timer and answers no client
    heartbeat (Engine.IO, SignalR), the heartbeats are the server's: each ping
    it sends between count_from and count_until counts as sent, and as answered
    once the client's answer went out; there is no round trip to time.
    """

    def __init__(self, name: str, url: str, ws_ping: bool, codec: Codec | None = None):
        super().__init__(name, url, ws_ping=ws_ping, codec=codec)
        self.ws_ping = ws_ping
        app = self.codec is not None and not ws_ping
        self.server_beats = app and not self.codec.answers_client_ping
        self.protocol_beats = app and not self.server_beats  # Phoenix heartbeat, graphql-ws ping
        self.timed_heartbeat = not self.protocol_beats  # its own beats are the protocol's heartbeat
        self.outstanding: dict = {}   # heartbeat key -> monotonic send time
        self.rtt_ms: list[float] = []
        self.sent = 0
        self.unsendable = 0           # due while the connection was already gone
        self.count_from = self.count_until = 0.0  # server_beats: the window whose pings count
        self._owed = 0                # server_beats: pings counted, answer not yet out
        self._server_answered = 0
        self._ping_times: list[float] = []  # server_beats: when each counted ping came (monotonic)

    def on_text(self, data: str) -> None:
        if '"pong"' not in data:
            super().on_text(data)
            return
        try:
            ts = json.loads(data).get("ts")
        except (ValueError, AttributeError):
            return
        self._answered(ts)

    def on_pong(self, data: bytes) -> None:
        self._answered(bytes(data))

    def on_packet(self, packet) -> None:
        # The protocol's answer carries no key we chose: answers come in order, oldest first.
        if self.protocol_beats and self.codec.is_pong(packet) and self.outstanding:
            self._answered(next(iter(self.outstanding)))
        elif self.server_beats and packet.kind == PING and self.count_from <= time.monotonic() < self.count_until:
            self.sent += 1
            self._owed += 1
            self._ping_times.append(time.monotonic())

    def on_pings_answered(self, count: int) -> None:
        answered = min(count, self._owed)
        self._owed -= answered
        self._server_answered += answered

    def _answered(self, key) -> None:
        sent_at = self.outstanding.pop(key, None)
        if sent_at is not None:
            self.rtt_ms.append((time.monotonic() - sent_at) * 1000)

    async def beat(self, number: int) -> None:
        """Send heartbeat `number`; one that finds the socket gone counts as sent, unanswered."""
        if self.server_beats:
            return  # the server's pings are the heartbeats (on_packet)
        self.sent += 1
        if not self.open or self.ws.closed:
            self.unsendable += 1
            return
        try:
            if self.ws_ping:
                key = f"{self.name}-{number}".encode()
                self.outstanding[key] = time.monotonic()
                await self.ws.ping(key)
            elif self.protocol_beats:
                self.outstanding[number] = time.monotonic()
                await self.send(self.codec.client_ping())
            else:
                # An epoch-ms timestamp, as a real client's heartbeat would carry;
                # unique per client because heartbeats are an interval apart.
                ts = round(time.time() * 1000, 3)
                self.outstanding[ts] = time.monotonic()
                await self.ws.send_str(json.dumps({"type": "ping", "ts": ts}))
        except SEND_ERRORS as exc:
            self._gone(_reason(exc))

    @property
    def answered(self) -> int:
        return self._server_answered if self.server_beats else len(self.rtt_ms)

    @property
    def last_ping_at(self) -> float | None:
        """server_beats: when the last counted ping came (monotonic), None before any."""
        return self._ping_times[-1] if self._ping_times else None

    @property
    def ping_gap_s(self) -> float | None:
        """server_beats: the median time between two of the server's pings here (None below two pings)."""
        gaps = [b - a for a, b in zip(self._ping_times, self._ping_times[1:])]
        return statistics.median(gaps) if gaps else None

    @property
    def awaiting(self) -> bool:
        """A heartbeat is still waiting for its answer (ours), or for our answer to go out (the server's)."""
        return bool(self.outstanding) or self._owed > 0
