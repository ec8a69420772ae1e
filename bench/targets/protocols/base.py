"""What every protocol codec provides, and the packets decode() returns.

A codec turns a chat payload (the profile's `frame`/`send` template, filled
in and escaped for its encoding) into the frame a socket of that protocol
carries, and turns received frames back into packets: chat events with their
payload text, and the protocol's control frames (handshake, ping/pong, acks),
which are never counted as chat. docs/protocols.md describes each protocol.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

# Packet kinds decode() reports. Only "event" packets carry chat payloads.
EVENT, OPEN, CONNECT, PING, PONG, ACK, CLOSE, UPGRADE, NOOP, ERROR, OTHER = (
    "event", "open", "connect", "ping", "pong", "ack", "close", "upgrade", "noop", "error", "other")


@dataclass
class Packet:
    kind: str
    payload: str = ""        # the chat payload as text (JSON text for JSON-carrying protocols)
    event: str | None = None  # Socket.IO event, SignalR target, Phoenix event, graphql-ws id
    raw: str | bytes = ""
    attachments: list[bytes] = field(default_factory=list)  # Socket.IO binary events: the binary frames joined


Frame = str | bytes  # a WebSocket text frame, or a binary one (MessagePack variants)


@dataclass
class Settings:
    """The profile keys a codec reads (websocket.event, websocket.namespace)."""
    event: str | None = None
    namespace: str | None = None
    send_event: str | None = None   # client->server name when it differs (SignalR hub method)
    subscribe: str | None = None    # graphql-ws: the subscription a load receiver sends
    heartbeat_s: float | None = None  # a client's timed heartbeat interval (None: the protocol's default)


@dataclass
class ClientState:
    """The client side of one connection (load generator, check): what it must send and when it is ready."""
    ready: bool = False
    replies: list[Frame] = field(default_factory=list)  # bytes: a binary frame


class Codec:
    """Base: a protocol whose frame is the payload itself (json, text)."""

    name = "base"
    binary = False             # chat frames are binary (MessagePack): server_frame/client_frame return bytes
    attachments = False        # binary frames can follow a text packet as its parts (Socket.IO binary events)

    @property
    def takes_binary(self) -> bool:
        """Binary frames carry something of this protocol (its messages, or their attachments)."""
        return self.binary or self.attachments
    json_payload = False       # the payload is a JSON value inside the frame
    handshake = False          # a client is ready only once the protocol's handshake is done
    subprotocols: tuple[str, ...] = ()  # Sec-WebSocket-Protocol a client offers
    default_event: str | None = None
    default_heartbeat_s: float | None = None  # a client's timed heartbeat (Phoenix 30 s), None: none
    # The server answers client_ping() (Phoenix, graphql-ws); else only its own pings, on its own
    # timer, are a round trip (Engine.IO, SignalR), and a client's ping, if any, only keeps it alive.
    answers_client_ping = False

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.event = self.settings.event or self.default_event

    # -- payloads -----------------------------------------------------------
    def payload_format(self, template: str) -> str:
        """How placeholders are escaped in this template: "json" or "text"."""
        from .template import template_format

        return template_format(template, json_strings=self.json_payload)

    def payload_text(self, rendered: str, fmt: str) -> str:
        """The payload as it goes inside the frame; a bare-text template inside a JSON protocol becomes a JSON string."""
        if self.json_payload and fmt == "text":
            return json.dumps(rendered, ensure_ascii=False)
        return rendered

    # -- frames -------------------------------------------------------------
    def server_frame(self, payload: str) -> Frame:
        """server -> client: what injection adds to the page's socket."""
        return payload

    def client_frame(self, payload: str) -> Frame:
        """client -> server: what a load sender or the page sends."""
        return payload

    def decode(self, frame: Frame) -> list[Packet]:
        if isinstance(frame, bytes):
            frame = frame.decode("utf-8", "replace")
        return [Packet(EVENT, frame, self.event, frame)]

    def event_payload(self, frame: Frame) -> str | None:
        """Fast path for the load receiver: the chat payload of a frame, or None for control frames."""
        return frame

    # -- the page's socket (injection) ---------------------------------------
    def page_ready(self, url: str, sent: list[str], frames: int) -> tuple[bool, str]:
        """Whether injected frames would be taken by the page's socket now, else why not.

        sent: the first frames the page sent on it (a binary one as "b" + its base64, the
        way Engine.IO writes binary on long-polling); frames: how many it received.
        """
        return True, ""

    def ready_note(self, url: str, sent: list[str]) -> str | None:
        """One line for the results about how the socket became ready (None: nothing to say)."""
        return None

    # -- client side (load generator) ---------------------------------------
    def client_url(self, url: str) -> str:
        """The WebSocket URL a client of this protocol connects to, given the server's."""
        return url

    def client_hello(self) -> list[str]:
        """Frames a client sends right after the WebSocket opens."""
        return []

    def client_feed(self, state: ClientState, packet: Packet) -> None:
        """React to one received packet: answer heartbeats, finish the handshake."""
        state.ready = True

    def client_ping(self) -> Frame | None:
        """A client-initiated heartbeat frame (None: only the server pings, as in Engine.IO)."""
        return None

    @property
    def heartbeat_s(self) -> float | None:
        """How often a load client sends client_ping() to stay connected (None: never)."""
        return self.settings.heartbeat_s or self.default_heartbeat_s

    def is_pong(self, packet: Packet) -> bool:
        return packet.kind == PONG

    def new_client(self) -> ClientState:
        """A client's state at connect; ready at once unless the protocol has a handshake."""
        return ClientState(ready=not self.handshake)


def json_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)
