"""Locust users speaking the bench chat protocol, for more load than one machine gives.

    pip install -e '.[locust]'
    locust -f bench/load/locustfile.py --headless --host ws://HOST:PORT/ws -u 200 -r 50 -t 60s
    # across machines: one master, any number of workers
    locust -f bench/load/locustfile.py --master --headless --expect-workers 2 --host ws://HOST:PORT/ws -u 2000 -r 200 -t 60s
    locust -f bench/load/locustfile.py --worker --master-host MASTER

Each user holds one WebSocket to the chat server, sends chat messages open
loop (message k is due at start + k / --bench-rate, whatever the server
does) and an app heartbeat every --bench-heartbeat-ms, and reads everything
the server sends in its own greenlet. What it measures goes to Locust's
statistics under bench's metric names (request type "WS"), so the numbers
of `bench throughput` / `bench connections` and of a Locust run line up:

  throughput.latency_ms    scheduled send -> this user receives its own message
                           back (the bundled app broadcasts to the sender too).
                           Own messages only: send and receipt on one clock, so
                           it holds across machines. A message not back within
                           --bench-late-ms of the end is a failure (lost).
  connections.rtt_ms       {"type":"ping","ts":..} -> its {"type":"pong"}
  connections.connect_ms   the WebSocket handshake; a failure if it cannot connect
  throughput.errors        a failed send or an error frame from the server
  connections.disconnects  the server closed the socket

Frames: --bench-format json (the bundled app's {"type":"message",...}) or
text (the bare text), or --bench-frame TEMPLATE with {text}, as in
`bench throughput --frame`. Locust is an optional extra (pyproject
[project.optional-dependencies] locust); websocket-client comes with it.
"""

from __future__ import annotations

import functools
import json
import secrets
import time

import gevent
import websocket
from locust import User, constant, events, task

from bench.targets import protocols
from bench.targets.protocols.base import EVENT
from bench.load.frames import FrameRenderer, make_token, resolve_template, token_pattern


@events.init_command_line_parser.add_listener
def _options(parser) -> None:
    parser.add_argument("--bench-rate", type=float, default=1.0,
                        help="chat messages per second per user, open loop (default 1)")
    parser.add_argument("--bench-heartbeat-ms", type=float, default=500.0,
                        help="app heartbeat interval per user, ms; 0 = none (default 500)")
    parser.add_argument("--bench-format", choices=["json", "text"], default="json",
                        help="frame format (default json, the bundled app's)")
    parser.add_argument("--bench-frame", default=None, help="frame template with {text}, instead of --bench-format")
    parser.add_argument("--bench-profile", default=None, metavar="FILE.toml",
                        help="speak this target profile's protocol (websocket.protocol: Socket.IO, SignalR, ...) "
                             "and send its websocket.send; docs/protocols.md")
    parser.add_argument("--bench-message-bytes", type=int, default=64, help="message text length (default 64)")
    parser.add_argument("--bench-late-ms", type=float, default=1000.0,
                        help="at stop, wait this long for messages in flight; the rest are lost (default 1000)")


@functools.lru_cache(maxsize=None)
def _profile(path: str):
    """The --bench-profile target, parsed once per process however many users start (read only)."""
    from bench.targets.profile import load_profile

    return load_profile(path)


def _profile_codec(profile: str | None):
    """(codec or None, the profile's websocket.send) for --bench-profile; a fresh codec per user."""
    if not profile:
        return None, None
    target = _profile(profile)
    codec = target.codec()
    return protocols.framed(codec), target.send_frame


class ChatUser(User):
    wait_time = constant(0)  # the task itself waits until the next message or heartbeat is due

    def on_start(self) -> None:
        opts = self.environment.parsed_options
        self.rate = opts.bench_rate
        self.heartbeat_s = opts.bench_heartbeat_ms / 1000
        self.late_s = opts.bench_late_ms / 1000
        self.codec, frame = _profile_codec(opts.bench_profile)
        self.renderer = FrameRenderer(resolve_template(opts.bench_format, opts.bench_frame or frame),
                                      opts.bench_message_bytes, self.codec)
        if self.codec is not None:
            self.client = self.codec.new_client()
            self.host = self.codec.client_url(self.host)
            self.heartbeat_s = 0  # the protocol's own heartbeats are answered instead (_control)
        # Unique across workers and machines: the token finds this user's own messages.
        self.run_id = secrets.token_hex(4)
        self.pattern = token_pattern(self.run_id)
        self.pending: dict[int, float] = {}   # seq -> scheduled (monotonic) send time
        self.pings: dict[float, float] = {}   # ts -> monotonic send time
        self.seq = 0
        started = time.monotonic()
        try:
            self.ws = websocket.create_connection(self.host, timeout=10,
                                                 subprotocols=list(self.codec.subprotocols) if self.codec else None)
            if self.codec is not None:
                self._handshake()
        except Exception as exc:  # noqa: BLE001 - reported to Locust, and this user stops
            self._fire("connections.connect_ms", (time.monotonic() - started) * 1000, exc)
            self.ws = None
            self.stop()
            return
        self._fire("connections.connect_ms", (time.monotonic() - started) * 1000)
        self.start = time.monotonic()
        self.next_ping = self.start + self.heartbeat_s if self.heartbeat_s else float("inf")
        self.reader = gevent.spawn(self._receive)

    def _handshake(self) -> None:
        """The protocol's opening, before any chat (Engine.IO open + "40", SignalR handshake, ...)."""
        for frame in self.codec.client_hello():
            self._send(frame)
        while not self.client.ready:
            self._control(self.ws.recv())

    def _send(self, frame) -> None:
        """A text frame, or a binary one (MessagePack protocols)."""
        if isinstance(frame, bytes):
            self.ws.send_binary(frame)
        else:
            self.ws.send(frame)

    def _control(self, frame) -> list[str]:
        """Feed the protocol and answer what it asks (pings); the payloads of the chat events decoded
        here, which the fast path could not read (Socket.IO's binary events, whole with their last part)."""
        events = []
        for packet in self.codec.decode(frame):
            self.codec.client_feed(self.client, packet)
            if packet.kind == EVENT and self.client.ready:
                events.append(packet.payload)
        replies, self.client.replies = self.client.replies, []
        for reply in replies:
            self._send(reply)
        return events

    def _fire(self, name: str, ms: float, exc: Exception | None = None, length: int = 0) -> None:
        self.environment.events.request.fire(request_type="WS", name=name, response_time=ms,
                                             response_length=length, exception=exc, context={})

    @task
    def next_due(self) -> None:
        """Send whatever is due next: a message on the schedule, or a heartbeat."""
        due = self.start + self.seq / self.rate if self.rate > 0 else float("inf")
        wake = min(due, self.next_ping)
        gevent.sleep(max(0.0, wake - time.monotonic()))
        try:
            if self.next_ping <= due:
                ts = round(time.time() * 1000, 3)
                self.pings[ts] = time.monotonic()
                self.ws.send(json.dumps({"type": "ping", "ts": ts}))
                self.next_ping += self.heartbeat_s
            else:
                self.pending[self.seq] = due  # latency counts from here, not from the send
                self._send(self.renderer.render(make_token(self.run_id, 0, self.seq)))
                self.seq += 1
        except Exception as exc:  # noqa: BLE001 - a closed socket, reported and the user stops
            self._fire("throughput.errors", 0, exc)
            self.stop()

    def _receive(self) -> None:
        while True:
            try:
                frame = self.ws.recv()
            except Exception as exc:  # noqa: BLE001 - the socket is gone
                if not getattr(self, "stopping", False):
                    self._fire("connections.disconnects", 0, exc)
                return
            now = time.monotonic()
            if isinstance(frame, bytes) and not (self.codec and self.codec.takes_binary):
                continue
            if self.codec is None:
                self._arrived(frame, now)
                continue
            payload = self.codec.event_payload(frame) if isinstance(frame, str) or self.codec.binary else None
            if payload is not None:
                self._arrived(payload, now)
                continue
            for payload in self._control(frame):  # a control frame is never counted as chat
                self._arrived(payload, now)

    def _arrived(self, frame: str, now: float) -> None:
        match = self.pattern.search(frame)
        if match:
            due = self.pending.pop(int(match.group(2)), None)
            if due is not None:
                self._fire("throughput.latency_ms", (now - due) * 1000, length=len(frame))
        elif '"pong"' in frame:
            sent = self.pings.pop(json.loads(frame).get("ts"), None)
            if sent is not None:
                self._fire("connections.rtt_ms", (now - sent) * 1000)
        elif '"error"' in frame[:40]:
            self._fire("throughput.errors", 0, RuntimeError(frame[:200]))

    def on_stop(self) -> None:
        if getattr(self, "ws", None) is None:
            return
        deadline = time.monotonic() + self.late_s
        while self.pending and time.monotonic() < deadline:
            gevent.sleep(0.05)
        for seq, due in list(self.pending.items()):
            self._fire("throughput.latency_ms", (time.monotonic() - due) * 1000,
                       RuntimeError(f"message {seq} lost: not back within {self.late_s:g} s of the stop"))
        self.pending.clear()
        self.stopping = True
        self.ws.close()
        self.reader.kill(block=False)
