"""Socket.IO with the MessagePack parser (npm socket.io-msgpack-parser, python-socketio's
serializer="msgpack"): the same Engine.IO v4 transport, but every Socket.IO packet is
one binary frame, a MessagePack map {"type": T, "data": [...], "nsp": "/ns", "id": N}.

Engine.IO's own packets (0 open, 2 ping, 3 pong, 5 upgrade, 6 noop) stay text;
on HTTP long-polling a binary packet travels as "b" + base64. The types are
Socket.IO's (0 connect, 1 disconnect, 2 event, 3 ack, 4 connect error,
5/6 binary event/ack); this parser needs no attachments, so 5 and 6 never occur.
"""

from __future__ import annotations

import base64
import binascii
import json

import msgpack

from .base import ACK, CLOSE, CONNECT, ERROR, EVENT, OTHER, Frame, Packet
from .socketio import RECORD_SEPARATOR, SocketIOCodec, event_packet

_KINDS = {0: CONNECT, 1: CLOSE, 2: EVENT, 3: ACK, 4: ERROR, 5: EVENT, 6: ACK}


def unpack(data: bytes):
    """A MessagePack value, None when the bytes are not one."""
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=False)
    except (ValueError, msgpack.UnpackException, TypeError):
        return None


class SocketIOMsgpackCodec(SocketIOCodec):
    name = "socketio-msgpack"
    binary = True
    attachments = False  # binary data travels inside the MessagePack packet

    def _packet(self, event: str, payload: str) -> bytes:
        # The payload template was rendered as JSON (escaped): its value goes in as MessagePack.
        return msgpack.packb({"type": 2, "data": [event, json.loads(payload)], "nsp": self.namespace},
                             use_bin_type=True)

    def server_frame(self, payload: str) -> bytes:
        return self._packet(self.event, payload)

    def client_frame(self, payload: str) -> bytes:
        return self._packet(self.send_event, payload)

    def connect_frame(self) -> bytes:
        return msgpack.packb({"type": 0, "nsp": self.namespace})

    def decode(self, frame: Frame) -> list[Packet]:
        if isinstance(frame, (bytes, bytearray, memoryview)):
            return [self._decode_binary(bytes(frame))]
        if RECORD_SEPARATOR in frame:
            return [p for part in frame.split(RECORD_SEPARATOR) for p in self.decode(part)]
        if frame.startswith("b"):  # a binary packet on long-polling
            try:
                return [self._decode_binary(base64.b64decode(frame[1:], validate=True))]
            except (binascii.Error, ValueError):
                return [Packet(ERROR, frame, None, frame)]
        return super().decode(frame)  # Engine.IO's text packets

    def _decode_binary(self, data: bytes) -> Packet:
        packet = unpack(data)
        if not isinstance(packet, dict) or "type" not in packet:
            return Packet(ERROR, "", None, data)
        kind = _KINDS.get(packet["type"], OTHER)
        namespace = packet.get("nsp") or "/"
        args = packet.get("data")
        if kind != EVENT:
            return Packet(kind, json.dumps(args, ensure_ascii=False, default=repr), namespace, data)
        return event_packet(args, namespace, data)

    def event_payload(self, frame: Frame) -> str | None:
        if isinstance(frame, str):
            return None  # Engine.IO text packets: never chat with this parser
        packet = self._decode_binary(bytes(frame))
        return packet.payload if packet.kind == EVENT else None

    def page_ready(self, url: str, sent: list[str], frames: int) -> tuple[bool, str]:
        if "sid=" in url:
            return super().page_ready(url, sent, frames)
        for head in sent:
            if head.startswith("b"):
                try:
                    packet = unpack(base64.b64decode(head[1:]))
                except (binascii.Error, ValueError):
                    continue
                if isinstance(packet, dict) and packet.get("type") == 0:
                    return True, ""
        return False, f"the page's Socket.IO client has not joined a namespace on {url} yet (no CONNECT packet sent)"

    def client_feed(self, state, packet: Packet) -> None:
        if packet.kind == "open":  # the Engine.IO handshake: now join the namespace, in MessagePack
            state.replies.append(self.connect_frame())
        else:
            super().client_feed(state, packet)
