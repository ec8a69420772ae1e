"""Known answers for the protocol codecs (bench/protocols/): the whole message
corpus, plus the hardest messages, goes through each protocol's frame and comes
back intact; control frames are recognised; Socket.IO frames are checked with
python-socketio's own parser."""

from __future__ import annotations

import base64
import json

import pytest
import socketio.packet

from bench.targets import protocols
from bench.targets.messages import Message, MessageSource
from bench.targets.profile import parse_profile
from bench.errors import UsageError
from bench.targets.protocols import base

# No browser, no server, no clock: may run beside a timing test, in the background (tests/cpu_share.py).
pytestmark = pytest.mark.background

HARD = [
    'quotes "double" and \'single\'',
    "back\\slash \\n not a newline \\u0041 \\",
    "line one\nline two\r\nthree\ttabbed",
    "```python\nprint(\"hi\")\n```",
    "emoji 👩‍💻👨‍👩‍👧‍👦🏳️‍🌈 🇩🇪",
    "RTL: مرحبا، كيف حالك؟ שלום",
    "separators \x1e and ] and [ and }{ and 42[\"x\"]",
    "x" * 10_000,
]

# protocol -> payload templates that must carry any text
TEMPLATES = {
    "json": ['{"type":"message","id":"{id}","user":"{user}","text":"{text}","ts":{ts}}'],
    "text": ["{text}"],
    "socketio": ['{"user":"{user}","text":"{text}"}', "{text}", '"{text}"'],
    "signalr": ['["{user}","{text}"]', '{"user":"{user}","text":"{text}"}', "{text}"],
    "phoenix": ['{"body":"{text}","user":"{user}"}', "{text}"],
    "graphql-ws": ['{"data":{"messageAdded":{"text":"{text}","user":"{user}"}}}'],
}


def corpus() -> list[Message]:
    messages = MessageSource(seed=3, run_id="kat").take(1000)
    return messages + [Message(f"bench-kat-h{i}", 'a "user"\\', f"bench-kat-h{i} {t}") for i, t in enumerate(HARD)]


def strings_in(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


def profile(protocol: str, frame: str, **ws):
    return parse_profile({"websocket": {"protocol": protocol, "frame": frame, **ws}}, "kat.toml")


@pytest.mark.parametrize("protocol,template", [(p, t) for p, ts in TEMPLATES.items() for t in ts])
def test_corpus_arrives_intact(protocol, template):
    target = profile(protocol, template, event="chat", namespace="/room")
    codec = target.codec()
    for message in corpus():
        frame = target.encode(message, codec)
        packets = codec.decode(frame)
        events = [p for p in packets if p.kind == base.EVENT]
        assert len(events) == 1, (protocol, frame[:100])
        payload = events[0].payload
        if protocol == "text" or protocol == "json" and target.frame_format == "text":
            assert message.text in payload
        else:
            texts = strings_in(json.loads(payload))
            assert message.text in texts, (protocol, frame[:200])
            assert message.user in texts or "{user}" not in template
        assert message.token in (codec.event_payload(frame) or "")


def test_socketio_frames_parse_with_python_socketio():
    target = profile("socketio", '{"user":"{user}","text":"{text}"}', event="chat message", namespace="/chat")
    codec = target.codec()
    for message in corpus():
        frame = target.encode(message, codec)
        assert frame[0] == "4"  # an Engine.IO message packet
        packet = socketio.packet.Packet(encoded_packet=frame[1:])
        assert packet.packet_type == socketio.packet.EVENT and packet.namespace == "/chat"
        assert packet.data == ["chat message", {"user": message.user, "text": message.text}]


def test_socketio_control_frames():
    codec = protocols.make("socketio", base.Settings(namespace="/chat"))
    kinds = lambda f: [p.kind for p in codec.decode(f)]  # noqa: E731
    assert kinds('0{"sid":"a","upgrades":["websocket"],"pingInterval":25000}') == [base.OPEN]
    assert kinds("2") == [base.PING] and kinds("3probe") == [base.PONG] and kinds("5") == [base.UPGRADE]
    assert kinds('40/chat,{"sid":"b"}') == [base.CONNECT]
    assert kinds('431["ok"]') == [base.ACK]
    assert kinds('451-["up",{"_placeholder":true,"num":0}]') == []  # waits for its attachment
    assert kinds(b"\x00\x01") == [base.EVENT]
    # a long-polling body: packets joined by \x1e
    assert kinds('40{"sid":"x"}\x1e42["chat","hi"]\x1e2') == [base.CONNECT, base.EVENT, base.PING]
    (event,) = [p for p in codec.decode('42/chat,7["chat",{"text":"a"}]') if p.kind == base.EVENT]
    assert event.event == "chat" and json.loads(event.payload) == {"text": "a"}
    # the client side: open -> join the namespace; ping -> pong; ready on the connect answer
    state = codec.new_client()
    for frame in ('0{"sid":"a"}', "2", '40/chat,{"sid":"b"}'):
        for packet in codec.decode(frame):
            codec.client_feed(state, packet)
    assert state.replies == ["40/chat,", "3"] and state.ready


def test_signalr_records_and_handshake():
    codec = protocols.make("signalr", base.Settings(event="ReceiveMessage"))
    packets = codec.decode('{}\x1e{"type":6}\x1e{"type":1,"target":"ReceiveMessage","arguments":["u","hi"]}\x1e')
    assert [p.kind for p in packets] == [base.CONNECT, base.PING, base.EVENT]
    assert json.loads(packets[2].payload) == ["u", "hi"] and packets[2].event == "ReceiveMessage"
    assert codec.decode('{"error":"bad protocol"}\x1e')[0].kind == base.ERROR
    assert codec.client_hello() == ['{"protocol":"json","version":1}\x1e']


def test_phoenix_and_graphql_ws_control_frames():
    phoenix = protocols.make("phoenix", base.Settings(namespace="room:lobby"))
    assert phoenix.decode('["1","1","room:lobby","phx_reply",{"status":"ok","response":{}}]')[0].kind == base.CONNECT
    assert phoenix.decode('[null,"5","phoenix","phx_reply",{"status":"ok","response":{}}]')[0].kind == base.PONG
    assert json.loads(phoenix.client_hello()[0]) == ["1", "1", "room:lobby", "phx_join", {}]
    gql = protocols.make("graphql-ws")
    assert gql.decode('{"type":"connection_ack"}')[0].kind == base.CONNECT
    assert gql.decode('{"type":"ping"}')[0].kind == base.PING
    ok, _ = gql.page_ready("ws://x", ['{"type":"connection_init"}', '{"id":"abc","type":"subscribe","payload":{}}'], 1)
    assert ok and gql.event == "abc"


def test_profile_keys_and_errors():
    old = parse_profile({"websocket": {"frame": '{"text":"{text}"}'}}, "old.toml")
    assert old.protocol_name == "json" and old.codec().name == "json"
    assert parse_profile({"websocket": {"frame": "{text}"}}, "old.toml").protocol_name == "text"
    with pytest.raises(UsageError, match="choose from"):
        profile("socket.io", "{text}")
    with pytest.raises(UsageError, match='protocol = "socketio"'):
        parse_profile({"websocket": {"frame": '42["chat",{"text":"{text}"}]'}}, "p.toml")
    with pytest.raises(UsageError, match="not valid JSON"):
        profile("socketio", '{"text":{text}}')


def test_detect_recognises_each_protocol():
    from bench.targets.protocols.detect import detect

    assert detect("ws://h/socket.io/?EIO=4&transport=websocket", ['0{"sid":"a"}', "40"], [])[0] == "socketio"
    assert detect("ws://h/hub", ["{}\x1e"], ['{"protocol":"json","version":1}\x1e'])[0] == "signalr"
    assert detect("ws://h/socket/websocket", ['["1","1","room:lobby","phx_reply",{"status":"ok"}]'], [])[0] \
        == "phoenix"
    assert detect("ws://h/graphql", ['{"type":"connection_ack"}', '{"id":"1","type":"next","payload":{}}'],
                  [])[0] == "graphql-ws"
    assert detect("ws://h/ws", ['{"type":"message","text":"hi"}'], [])[0] == "json"
    assert detect("ws://h/ws", ["alice: hi"], [])[0] == "text"


def test_socketio_binary_events_are_joined_with_their_attachments():
    """python-socketio's own encoder makes the frames: a 45N- header, then N binary frames."""
    codec = protocols.make("socketio", base.Settings(namespace="/chat"))
    for message in corpus()[-len(HARD):]:
        data = ["upload", {"user": message.user, "file": message.text.encode(), "raw": b"\xff\x00\xfe",
                           "text": message.text}]
        header, *attachments = socketio.packet.Packet(socketio.packet.EVENT, data, namespace="/chat",
                                                      id=7).encode()
        assert header.startswith("52-/chat,7") and len(attachments) == 2  # Socket.IO's BINARY_EVENT, 2 frames
        assert codec.decode("4" + header) == []
        assert codec.decode(attachments[0]) == []
        (event,) = codec.decode(attachments[1])
        assert event.kind == base.EVENT and event.event == "upload" and event.attachments == attachments
        assert json.loads(event.payload) == {"user": message.user, "file": message.text,
                                             "raw": {"base64": "/wD+"}, "text": message.text}
    # on long-polling the attachments come as "b" + base64, in the same body
    header, blob = socketio.packet.Packet(socketio.packet.EVENT, ["up", b"bench-x-1 hi"]).encode()
    (event,) = codec.decode("4" + header + "\x1eb" + base64.b64encode(blob).decode())
    assert json.loads(event.payload) == "bench-x-1 hi"
    # a binary ack, and a header whose attachments never came
    header, blob = socketio.packet.Packet(socketio.packet.ACK, [b"ok"], namespace="/chat", id=3).encode()
    assert codec.decode("4" + header) == [] and [p.kind for p in codec.decode(blob)] == [base.ACK]
    assert codec.decode('451-["up",{"_placeholder":true,"num":0}]') == []
    assert [p.kind for p in codec.decode('42["chat","a"]')] == [base.ERROR, base.EVENT]
