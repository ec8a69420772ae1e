"""Socket.IO v5 over Engine.IO v4 (python-socketio 5, socket.io / socket.io-client 4).

Engine.IO packets are one character of type, then data: 0 open (JSON with
sid, pingInterval, upgrades), 1 close, 2 ping, 3 pong, 4 message, 5 upgrade,
6 noop; "2probe"/"3probe" test a WebSocket before the client upgrades to it.
On HTTP long-polling several packets travel in one body, joined by \\x1e.
A Socket.IO packet rides in an Engine.IO message: 4, then its own type
(0 connect, 1 disconnect, 2 event, 3 ack, 4 connect error, 5/6 binary event/ack),
the number of binary attachments and '-' for 5/6, "/namespace," unless the
namespace is "/", an ack id, then JSON: 42["event",payload].
Binary events (451-["event",{"_placeholder":true,"num":0}]) are followed by
as many binary frames as the count says; decode() keeps the header until they
came and reports one event, each placeholder replaced by its attachment
(docs/protocols.md).
"""

from __future__ import annotations

import base64
import json

from .base import (
    ACK,
    CLOSE,
    CONNECT,
    ERROR,
    EVENT,
    NOOP,
    OPEN,
    OTHER,
    PING,
    PONG,
    UPGRADE,
    ClientState,
    Codec,
    Packet,
)

RECORD_SEPARATOR = "\x1e"  # between packets of one long-polling body
_ENGINE_KINDS = {"0": OPEN, "1": CLOSE, "2": PING, "3": PONG, "5": UPGRADE, "6": NOOP}
_SIO_KINDS = {"0": CONNECT, "1": CLOSE, "2": EVENT, "3": ACK, "4": ERROR, "5": EVENT, "6": ACK}


def attachment_value(data: bytes):
    """What a placeholder becomes in the decoded payload: the attachment's text when it is UTF-8
    (a token in it is then found like any text), else {"base64": ...}."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode()}


def fill_placeholders(value, attachments: list[bytes]):
    """value with every {"_placeholder": true, "num": N} replaced by attachment N."""
    if isinstance(value, dict):
        if value.get("_placeholder") is True and isinstance(value.get("num"), int) \
                and 0 <= value["num"] < len(attachments):
            return attachment_value(attachments[value["num"]])
        return {k: fill_placeholders(v, attachments) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_placeholders(v, attachments) for v in value]
    return value


def namespace_and_data(packet: str, i: int) -> tuple[str, str]:
    """From index i of a Socket.IO packet: its namespace ("/" unless "/ns,"), then, past the ack id, its data."""
    namespace = "/"
    if packet.startswith("/", i):
        comma = packet.find(",", i)
        end = comma if comma >= 0 else len(packet)
        namespace, i = packet[i:end], end + 1
    while i < len(packet) and packet[i].isdigit():  # ack id
        i += 1
    return namespace, packet[i:]


def event_packet(args, namespace: str, raw, attachments: list[bytes] | None = None) -> Packet:
    """An event's arguments ["event", payload...] as a Packet: the payload as JSON text (several: a list)."""
    if not isinstance(args, list) or not args:
        return Packet(ERROR, "", namespace, raw)
    payload = args[1] if len(args) == 2 else args[1:]
    return Packet(EVENT, json.dumps(payload, ensure_ascii=False, default=repr), str(args[0]), raw, attachments or [])


class SocketIOCodec(Codec):
    name = "socketio"
    handshake = True
    attachments = True
    json_payload = True
    default_event = "message"

    def __init__(self, settings=None):
        super().__init__(settings)
        ns = self.settings.namespace or "/"
        if not ns.startswith("/"):
            ns = "/" + ns
        self.namespace = ns
        self._prefix = "42" + ("" if ns == "/" else ns + ",")
        self._head = self._prefix + "[" + json.dumps(self.event, ensure_ascii=False) + ","
        self.send_event = getattr(self.settings, "send_event", None) or self.event
        self._send_head = self._prefix + "[" + json.dumps(self.send_event, ensure_ascii=False) + ","
        self._binary: tuple[str, int, list[bytes]] | None = None  # a binary event's header, count, attachments

    def server_frame(self, payload: str) -> str:
        return self._head + payload + "]"

    def client_frame(self, payload: str) -> str:
        return self._send_head + payload + "]"

    def decode(self, frame) -> list[Packet]:
        """One WebSocket frame, or a long-polling body (packets joined by \\x1e).

        A binary frame is an attachment of the binary event before it; the
        event is reported once its last attachment came.
        """
        if isinstance(frame, (bytes, bytearray, memoryview)):
            return self._attachment(bytes(frame))
        if frame.startswith("b") and self._binary is not None:  # an attachment on long-polling
            try:
                return self._attachment(base64.b64decode(frame[1:]))
            except ValueError:
                return [Packet(ERROR, frame, None, frame)]
        if RECORD_SEPARATOR in frame:
            return [p for part in frame.split(RECORD_SEPARATOR) for p in self.decode(part)]
        if not frame:
            return []
        kind = frame[0]
        if kind != "4":
            return [Packet(_ENGINE_KINDS.get(kind, OTHER), frame[1:], None, frame)]
        if self._binary is not None:  # a packet came before the attachments of the last: it is lost
            lost, self._binary = self._binary[0], None
            return [Packet(ERROR, lost, None, lost), *self.decode(frame)]
        if len(frame) < 2:
            return [Packet(OTHER, "", None, frame)]
        sio_kind = _SIO_KINDS.get(frame[1], OTHER)
        rest, i = frame, 2
        if frame[1] in "56":  # binary: attachments count then '-'
            i = frame.index("-", 2) + 1 if "-" in frame else len(frame)
            count = frame[2:i - 1]
            if count.isdigit() and int(count):  # the packet comes whole with its last binary frame
                self._binary = (frame, int(count), [])
                return []
        namespace, data = namespace_and_data(rest, i)
        if sio_kind != EVENT:
            return [Packet(sio_kind, data, namespace, frame)]
        return [self._event(data, namespace, frame, [])]

    def _event(self, data: str, namespace: str, frame: str, attachments: list[bytes]) -> Packet:
        try:
            args = json.loads(data)
        except ValueError:
            return Packet(ERROR, data, namespace, frame)
        if attachments and isinstance(args, list):
            args = fill_placeholders(args, attachments)
        return event_packet(args, namespace, frame, attachments)

    def _attachment(self, data: bytes) -> list[Packet]:
        if self._binary is None:
            return [Packet(OTHER, "", None, data)]  # no binary packet announced it
        header, count, attachments = self._binary
        attachments.append(data)
        if len(attachments) < count:
            return []
        self._binary = None
        namespace, data = namespace_and_data(header, header.index("-", 2) + 1)
        if header[1] == "6":
            return [Packet(ACK, data, namespace, header, attachments)]
        return [self._event(data, namespace, header, attachments)]

    def event_payload(self, frame: str) -> str | None:
        # Fast path (no JSON parse): an EVENT packet's data after its prefix.
        if frame.startswith("42"):
            return frame[2:]
        if RECORD_SEPARATOR in frame:
            return RECORD_SEPARATOR.join(p.payload for p in self.decode(frame) if p.kind == EVENT) or None
        return None

    # -- the page's socket ----------------------------------------------------
    def page_ready(self, url: str, sent: list[str], frames: int) -> tuple[bool, str]:
        # Upgraded from long-polling (the URL carries the sid): ready once the
        # client sent "5" (upgrade); before that it takes only "3probe" on it.
        # Straight WebSocket: once the client asked to join a namespace ("40"),
        # after which it buffers events until the server confirms.
        if "sid=" in url:
            if "5" in sent:
                return True, ""
            return False, f"the page's Socket.IO client is still on HTTP long-polling (its WebSocket {url} " \
                          "has not completed the upgrade: no \"5\" packet sent)"
        if any(f.startswith("40") for f in sent):
            return True, ""
        return False, f"the page's Socket.IO client has not joined a namespace on {url} yet (no \"40\" sent)"

    def ready_note(self, url: str, sent: list[str]) -> str | None:
        if "sid=" in url:
            return ("socketio: the page's client started on HTTP long-polling; injection waited for its "
                    "upgrade to WebSocket (2probe, 3probe, 5) and went through the WebSocket")
        return None

    def client_url(self, url: str) -> str:
        """ws://host:port/ -> ws://host:port/socket.io/?EIO=4&transport=websocket (a path or EIO kept)."""
        if "EIO=" in url:
            return url
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(url)
        path = parts.path if parts.path not in ("", "/") else "/socket.io/"
        query = "&".join(q for q in (parts.query, "EIO=4&transport=websocket") if q)
        return urlunsplit((parts.scheme, parts.netloc, path, query, ""))

    # -- client side ----------------------------------------------------------
    def client_feed(self, state: ClientState, packet: Packet) -> None:
        if packet.kind == OPEN:  # the Engine.IO handshake: now join the namespace
            state.replies.append("40" + ("" if self.namespace == "/" else self.namespace + ","))
        elif packet.kind == CONNECT:
            state.ready = True
        elif packet.kind == PING:  # Engine.IO v4: the server pings, the client answers
            state.replies.append("3" + packet.payload)
