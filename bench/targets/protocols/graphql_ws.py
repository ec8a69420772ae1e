"""graphql-ws (the graphql-transport-ws subprotocol): JSON objects with a "type".

Client: {"type":"connection_init"}, then {"id":..,"type":"subscribe","payload":{"query":..}};
server: {"type":"connection_ack"}, then {"id":..,"type":"next","payload":{"data":..}},
"error", "complete". Either side may send {"type":"ping"}, answered by {"type":"pong"}.
websocket.event is the subscription id injected frames carry (empty: the id
of the newest subscribe the page sent); websocket.subscribe is the
subscription a load receiver sends.
"""

from __future__ import annotations

import itertools
import json

from .base import ACK, CONNECT, ERROR, EVENT, OTHER, PING, PONG, ClientState, Codec, Packet

SUBPROTOCOL = "graphql-transport-ws"
DEFAULT_SUBSCRIPTION = "subscription { messages }"
_KINDS = {"connection_ack": CONNECT, "next": EVENT, "error": ERROR, "complete": ACK, "ping": PING,
          "pong": PONG}


class GraphQLWSCodec(Codec):
    name = "graphql-ws"
    handshake = True
    json_payload = True
    subprotocols = (SUBPROTOCOL,)
    default_event = "1"
    answers_client_ping = True  # ping -> pong

    def __init__(self, settings=None):
        super().__init__(settings)
        self.subscription = getattr(self.settings, "subscribe", None) or DEFAULT_SUBSCRIPTION
        self._ids = itertools.count(1)

    def page_ready(self, url: str, sent: list[str], frames: int) -> tuple[bool, str]:
        # Injected "next" messages must carry the id of a subscription the page made.
        ids = []
        for f in sent:
            try:
                data = json.loads(f)
            except ValueError:
                continue
            if isinstance(data, dict) and data.get("type") == "subscribe":
                ids.append(data.get("id"))
        if self.settings.event:
            return (self.settings.event in ids or not ids and frames > 0), \
                f"the page has not subscribed with id {self.settings.event!r} on {url}"
        if ids:
            self.event = ids[-1]
            return True, ""
        return False, f"the page has not sent a graphql-ws subscribe on {url}"

    def server_frame(self, payload: str) -> str:
        return '{"id":' + json.dumps(self.event) + ',"type":"next","payload":' + payload + "}"

    def client_frame(self, payload: str) -> str:
        return '{"id":"m' + str(next(self._ids)) + '","type":"subscribe","payload":' + payload + "}"

    def decode(self, frame: str) -> list[Packet]:
        try:
            data = json.loads(frame)
        except ValueError:
            return [Packet(ERROR, frame, None, frame)]
        if not isinstance(data, dict):
            return [Packet(ERROR, frame, None, frame)]
        kind = _KINDS.get(data.get("type"), OTHER)
        payload = json.dumps(data.get("payload"), ensure_ascii=False) if kind == EVENT else frame
        return [Packet(kind, payload, data.get("id"), frame)]

    def event_payload(self, frame: str) -> str | None:
        return frame if '"next"' in frame else None

    def client_hello(self) -> list[str]:
        return ['{"type":"connection_init"}']

    def client_feed(self, state: ClientState, packet: Packet) -> None:
        if packet.kind == CONNECT:
            state.ready = True
            state.replies.append(json.dumps({"id": "bench", "type": "subscribe",
                                             "payload": {"query": self.subscription}}))
        elif packet.kind == PING:
            state.replies.append('{"type":"pong"}')

    def client_ping(self) -> str | None:
        return '{"type":"ping"}'
