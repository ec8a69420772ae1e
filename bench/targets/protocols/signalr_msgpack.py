"""ASP.NET Core SignalR, MessagePack hub protocol (npm @microsoft/signalr-protocol-msgpack).

The handshake stays JSON: {"protocol":"messagepack","version":1}\\x1e, answered
by {}\\x1e, which ASP.NET Core writes after switching the connection to binary:
in a binary frame, possibly with the first messages behind it (the JS client
reads it either way). After it every frame is binary and holds one or more
messages, each a MessagePack array prefixed by its length as a varint
(7 bits a byte, low bits first, high bit set on all but the last byte):
1 invocation [1, headers, invocationId, target, arguments, streamIds],
2 stream item [2, headers, invocationId, item], 3 completion, 6 ping [6],
7 close [7, error, allowReconnect].
"""

from __future__ import annotations

import json

import msgpack

from .base import ACK, CLOSE, CONNECT, ERROR, EVENT, OTHER, PING, Frame, Packet
from .signalr import RECORD_SEPARATOR, SignalRCodec
from .socketio_msgpack import unpack

HANDSHAKE = '{"protocol":"messagepack","version":1}' + RECORD_SEPARATOR
_KINDS = {1: EVENT, 2: EVENT, 3: ACK, 6: PING, 7: CLOSE}


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def frame_of(message: list) -> bytes:
    """One message: its varint length, then the MessagePack array."""
    body = msgpack.packb(message, use_bin_type=True)
    return varint(len(body)) + body


def messages_in(data: bytes) -> list:
    """The MessagePack arrays of one binary frame; None for a message that does not parse."""
    out, i = [], 0
    while i < len(data):
        length = shift = 0
        while i < len(data):
            byte = data[i]
            i += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        body, i = data[i:i + length], i + length
        out.append(unpack(body) if len(body) == length else None)
    return out


PING_FRAME = frame_of([6])


def _handshake_answer(data: bytes) -> str | None:
    """The JSON handshake answer ({} or {"error":...} and \\x1e) at the start of a binary frame, if there.

    A MessagePack message cannot pass for it: its length byte may be "{" (123), but
    what follows is a MessagePack array, never JSON ending at a \\x1e.
    """
    end = data.find(RECORD_SEPARATOR.encode()) if data[:1] == b"{" else -1
    if end < 0:
        return None
    try:
        head = data[:end].decode("utf-8")
        return head + RECORD_SEPARATOR if isinstance(json.loads(head), dict) else None
    except ValueError:
        return None


class SignalRMsgpackCodec(SignalRCodec):
    name = "signalr-msgpack"
    binary = True

    def _invocation(self, target: str, payload: str) -> bytes:
        # The payload template was rendered as JSON (escaped); the arguments go in as MessagePack.
        return frame_of([1, {}, None, target, json.loads(self._arguments(payload)), []])

    def server_frame(self, payload: str) -> bytes:
        return self._invocation(self.event, payload)

    def client_frame(self, payload: str) -> bytes:
        return self._invocation(self.send_event, payload)

    def decode(self, frame: Frame) -> list[Packet]:
        if isinstance(frame, str):  # the handshake answer as a text frame
            return super().decode(frame)
        data, packets = bytes(frame), []
        handshake = _handshake_answer(data)
        if handshake is not None:
            packets, data = super().decode(handshake), data[len(handshake.encode()):]
        for message in messages_in(data):
            if not isinstance(message, list) or not message or not isinstance(message[0], int):
                packets.append(Packet(ERROR, "", None, frame))
                continue
            kind = _KINDS.get(message[0], OTHER)
            if kind == EVENT and message[0] == 1 and len(message) >= 5:
                args = message[4]
                payload = args[0] if len(args) == 1 else args
                packets.append(Packet(EVENT, json.dumps(payload, ensure_ascii=False, default=repr),
                                      message[3], frame))
            elif kind == EVENT and len(message) >= 4:  # a stream item
                packets.append(Packet(EVENT, json.dumps(message[3], ensure_ascii=False, default=repr), None, frame))
            elif kind == EVENT:
                packets.append(Packet(ERROR, "", None, frame))
            else:
                packets.append(Packet(kind, "", None, frame))
        return packets

    def event_payload(self, frame: Frame) -> str | None:
        if isinstance(frame, str):
            return None
        events = [p.payload for p in self.decode(frame) if p.kind == EVENT]
        return "\n".join(events) if events else None

    def client_hello(self) -> list[str]:
        return [HANDSHAKE]

    def client_ping(self) -> bytes:
        return PING_FRAME

    def client_feed(self, state, packet: Packet) -> None:
        if packet.kind == CONNECT:
            state.ready = True
        elif packet.kind == PING:
            state.replies.append(PING_FRAME)
