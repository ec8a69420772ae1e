"""ASP.NET Core SignalR, JSON hub protocol.

Every message is a JSON record ended by \\x1e; one frame may hold several.
The client opens with a handshake record {"protocol":"json","version":1},
the server answers {} (or {"error": ...}). Then records carry a type:
1 invocation {"type":1,"target":T,"arguments":[...]}, 2 stream item,
3 completion, 4 stream invocation, 5 cancel, 6 ping (either side, every 15 s
by default), 7 close. The payload template is one argument, or the whole
argument list when it is a JSON array.
"""

from __future__ import annotations

import json

from .base import ACK, CLOSE, CONNECT, ERROR, EVENT, OTHER, PING, ClientState, Codec, Frame, Packet

RECORD_SEPARATOR = "\x1e"
HANDSHAKE = '{"protocol":"json","version":1}' + RECORD_SEPARATOR
PING_FRAME = '{"type":6}' + RECORD_SEPARATOR
_KINDS = {1: EVENT, 2: EVENT, 3: ACK, 6: PING, 7: CLOSE}


class SignalRCodec(Codec):
    name = "signalr"
    handshake = True
    json_payload = True
    default_event = "ReceiveMessage"

    def __init__(self, settings=None):
        super().__init__(settings)
        self.send_event = getattr(self.settings, "send_event", None) or self.event
        self._head = '{"type":1,"target":' + json.dumps(self.event, ensure_ascii=False) + ',"arguments":'
        self._send_head = ('{"type":1,"target":' + json.dumps(self.send_event, ensure_ascii=False)
                           + ',"arguments":')

    @staticmethod
    def _arguments(payload: str) -> str:
        return payload if payload.lstrip().startswith("[") else "[" + payload + "]"

    def server_frame(self, payload: str) -> str:
        return self._head + self._arguments(payload) + "}" + RECORD_SEPARATOR

    def client_frame(self, payload: str) -> str:
        return self._send_head + self._arguments(payload) + "}" + RECORD_SEPARATOR

    def decode(self, frame: str) -> list[Packet]:
        packets = []
        for record in frame.split(RECORD_SEPARATOR):
            if not record.strip():
                continue
            try:
                data = json.loads(record)
            except ValueError:
                packets.append(Packet(ERROR, record, None, record))
                continue
            if not isinstance(data, dict):
                packets.append(Packet(ERROR, record, None, record))
            elif "type" not in data:  # the handshake answer
                packets.append(Packet(ERROR if "error" in data else CONNECT, record, None, record))
            else:
                kind = _KINDS.get(data["type"], OTHER)
                if kind == EVENT:
                    args = data.get("arguments", [data.get("item")])
                    payload = args[0] if len(args) == 1 else args
                    packets.append(Packet(EVENT, json.dumps(payload, ensure_ascii=False),
                                          data.get("target"), record))
                else:
                    packets.append(Packet(kind, record, None, record))
        return packets

    def event_payload(self, frame: str) -> str | None:
        # Only invocations carry "target" and stream items "item"; pings, completions and
        # the handshake answer carry neither (whatever the server's JSON spacing).
        return frame if '"target"' in frame or '"item"' in frame else None

    def page_ready(self, url: str, sent: list[str], frames: int) -> tuple[bool, str]:
        if sent and '"protocol"' in sent[0] and frames > 0:
            return True, ""
        return False, f"the page's SignalR client has not finished its handshake on {url}"

    def client_hello(self) -> list[str]:
        return [HANDSHAKE]

    def client_feed(self, state: ClientState, packet: Packet) -> None:
        if packet.kind == CONNECT:
            state.ready = True
        elif packet.kind == PING:
            state.replies.append(PING_FRAME)

    # Both sides ping on their own timers (every 15 s by default) and neither
    # answers the other's ping: a client's ping only keeps it alive (the server
    # drops a client silent for 30 s), so there is no round trip to time.
    default_heartbeat_s = 15.0

    def client_ping(self) -> Frame | None:
        return PING_FRAME
