"""Which protocol a socket speaks, from the frames seen on it (`bench profile init`)."""

from __future__ import annotations

import json

from . import make
from .base import EVENT, Packet, Settings


def _json(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return None


def detect(url: str, received: list[str | bytes], sent: list[str | bytes]) -> tuple[str, str]:
    """(protocol, why) from a socket's URL and the frames it carried (bytes: binary frames)."""
    binary = any(isinstance(f, bytes) for f in received)
    received = [f for f in received if isinstance(f, str)]
    sent = [f for f in sent if isinstance(f, str)]
    if "EIO=" in url or any(f.startswith("0{") and '"sid"' in f for f in received):
        # Binary frames with no text packet announcing them (45N-/46N- binary events) are MessagePack.
        if binary and not any(f[:2] in ("45", "46") for f in received):
            return "socketio-msgpack", "Engine.IO open packet or EIO= in the socket URL, with binary packets"
        return "socketio", "Engine.IO open packet (0{\"sid\":..}) or EIO= in the socket URL"
    if any(f.startswith('{"protocol"') and '"messagepack"' in f for f in sent):
        return "signalr-msgpack", "SignalR handshake asking for the messagepack protocol"
    if any(f.startswith('{"protocol"') for f in sent) or any(f.endswith("\x1e") for f in received):
        return "signalr", "SignalR handshake / records ended by \\x1e"
    for frame in received:
        data = _json(frame)
        if isinstance(data, list) and len(data) == 5 and isinstance(data[3], str) \
                and (data[3].startswith("phx_") or isinstance(data[2], str) and ":" in data[2]):
            return "phoenix", "Phoenix arrays [join_ref, ref, topic, event, payload]"
        if isinstance(data, dict) and data.get("type") in ("connection_ack", "next", "complete"):
            return "graphql-ws", f"graphql-ws message types ({data['type']})"
    if any(isinstance(_json(f), (dict, list)) for f in received):
        return "json", "JSON frames"
    return "text", "plain-text frames"


def chat_events(protocol: str, received: list[str | bytes]) -> list[Packet]:
    """The event packets among the frames, decoded (chat candidates)."""
    codec = make(protocol, Settings())
    return [p for f in received for p in codec.decode(f) if p.kind == EVENT]
