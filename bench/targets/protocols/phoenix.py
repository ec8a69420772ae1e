"""Phoenix Channels, serializer v2 (phoenix.js 1.3+): every message a JSON array.

[join_ref, ref, topic, event, payload]. A client joins a topic with
["1","1",topic,"phx_join",{}] and the server answers
[join_ref,ref,topic,"phx_reply",{"status":"ok","response":{}}]. Server pushes
carry null refs: [null,null,topic,event,payload]. Heartbeats go from the
client on the "phoenix" topic and are answered with a phx_reply.
websocket.namespace is the topic, websocket.event the event.
"""

from __future__ import annotations

import itertools
import json

from .base import ACK, CLOSE, CONNECT, ERROR, EVENT, PONG, ClientState, Codec, Packet

JOIN_REF = "1"


class PhoenixCodec(Codec):
    name = "phoenix"
    handshake = True
    json_payload = True
    default_event = "new_msg"
    # phoenix.js sends a heartbeat every 30 s; the server closes a socket that sent
    # nothing for 60 s (its transport timeout).
    default_heartbeat_s = 30.0
    answers_client_ping = True  # a phx_reply on the "phoenix" topic

    def __init__(self, settings=None):
        super().__init__(settings)
        self.topic = self.settings.namespace or "room:lobby"
        self.send_event = getattr(self.settings, "send_event", None) or self.event
        topic_event = json.dumps(self.topic, ensure_ascii=False) + "," + json.dumps(self.event, ensure_ascii=False)
        self._head = "[null,null," + topic_event + ","
        self._send_head = ("[" + json.dumps(JOIN_REF) + ",null," + json.dumps(self.topic, ensure_ascii=False)
                           + "," + json.dumps(self.send_event, ensure_ascii=False) + ",")
        self._refs = itertools.count(2)

    def server_frame(self, payload: str) -> str:
        return self._head + payload + "]"

    def client_frame(self, payload: str) -> str:
        return self._send_head + payload + "]"

    def decode(self, frame: str) -> list[Packet]:
        try:
            data = json.loads(frame)
        except ValueError:
            return [Packet(ERROR, frame, None, frame)]
        if not isinstance(data, list) or len(data) != 5:
            return [Packet(ERROR, frame, None, frame)]
        join_ref, ref, topic, event, payload = data
        if event == "phx_reply":
            if topic == "phoenix":
                kind = PONG
            elif ref is not None and ref == join_ref:
                kind = CONNECT
            else:
                kind = ACK
            return [Packet(kind, json.dumps(payload), topic, frame)]
        if event in ("phx_close", "phx_error"):
            return [Packet(CLOSE if event == "phx_close" else ERROR, json.dumps(payload), topic, frame)]
        return [Packet(EVENT, json.dumps(payload, ensure_ascii=False), event, frame)]

    def event_payload(self, frame: str) -> str | None:
        return None if '"phx_reply"' in frame[:200] else frame

    def page_ready(self, url: str, sent: list[str], frames: int) -> tuple[bool, str]:
        topic = json.dumps(self.topic, ensure_ascii=False)
        if any('"phx_join"' in f and topic in f for f in sent):
            return True, ""
        return False, f"the page has not joined the Phoenix topic {self.topic!r} on {url}"

    def client_hello(self) -> list[str]:
        return [json.dumps([JOIN_REF, JOIN_REF, self.topic, "phx_join", {}])]

    def client_feed(self, state: ClientState, packet: Packet) -> None:
        if packet.kind == CONNECT:
            state.ready = True

    def client_ping(self) -> str | None:
        return json.dumps([None, f"hb{next(self._refs)}", "phoenix", "heartbeat", {}])
