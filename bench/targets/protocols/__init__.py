"""Protocol codecs: one small module per protocol, looked up by name here.

    codec = protocols.make("socketio", Settings(event="chat", namespace="/"))
    frame = codec.server_frame(payload)     # what injection adds to the page's socket
    packets = codec.decode(frame)           # events and control frames

Every place that reads or writes chat frames goes through a codec
(injection, profile init/check, cycles, the load generator). docs/protocols.md.
"""

from __future__ import annotations

from .base import Codec, Packet, Settings
from .graphql_ws import GraphQLWSCodec
from .phoenix import PhoenixCodec
from .signalr import SignalRCodec
from .signalr_msgpack import SignalRMsgpackCodec
from .simple import JsonCodec, TextCodec
from .socketio import SocketIOCodec
from .socketio_msgpack import SocketIOMsgpackCodec

CODECS: dict[str, type[Codec]] = {c.name: c for c in (
    JsonCodec, TextCodec, SocketIOCodec, SocketIOMsgpackCodec, SignalRCodec, SignalRMsgpackCodec, PhoenixCodec,
    GraphQLWSCodec)}
NAMES = tuple(CODECS)
PLAIN = (JsonCodec.name, TextCodec.name)  # the frame is the payload itself: no handshake, no control frames


def framed(codec: Codec | None) -> Codec | None:
    """The codec if it wraps payloads in a protocol's frames (Socket.IO, SignalR...), None for bare json/text."""
    return codec if codec is not None and codec.name not in PLAIN else None


def make(name: str, settings: Settings | None = None) -> Codec:
    return CODECS[name](settings)


def from_json(spec: dict | None) -> Codec | None:
    """A codec from {"name": ..., "event": ..., ...} (how the load side passes it to its workers)."""
    if not spec:
        return None
    fields = {k: v for k, v in spec.items() if k != "name"}
    return make(spec["name"], Settings(**fields))


__all__ = ["CODECS", "NAMES", "PLAIN", "Codec", "Packet", "Settings", "framed", "make"]
