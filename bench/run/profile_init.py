"""`bench profile init`: watch a chat page and propose a profile to edit."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from ..browser import watchdog
from ..browser.interrupt import interruptible_playwright
from ..browser.launch import BrowserOptions, launch, new_context
from ..errors import TargetError, first_line
from ..probes import probe_script
from ..probes.paint import PaintProbe
from ..targets import protocols
from ..targets.protocols.detect import chat_events, detect
from ..targets.protocols.socketio import namespace_and_data
from ..targets.protocols.socketio_msgpack import unpack


USER_KEYS = ("user", "username", "name", "author", "from", "sender", "nick")
# websocket.namespace: what it is in each protocol that has one (docs/protocols.md)
NAMESPACE_NAMES = {"socketio": "namespaces", "socketio-msgpack": "namespaces", "phoenix": "topics"}



def _payload_template(payload: str) -> tuple[str, str | None, str]:
    """(template, the text it replaced, note) from a decoded event payload (JSON text)."""
    try:
        data = json.loads(payload)
    except ValueError:
        return "{text}", payload, "the payload is plain text"
    if isinstance(data, str):
        return "{text}", data, "the payload is a bare string"
    strings: list[tuple[tuple, str]] = []

    def walk(value, path):
        if isinstance(value, str):
            strings.append((path, value))
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, path + (k,))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, path + (i,))

    walk(data, ())
    if not strings:
        return "{text}", None, "no string in the payload: edit this"
    text_path, text = max(strings, key=lambda s: len(s[1]))
    user_path = next((p for p, _ in strings if p and p != text_path and str(p[-1]).lower() in USER_KEYS), None)

    def fill(value, path):
        if path == text_path:
            return "{text}"
        if path == user_path:
            return "{user}"
        if isinstance(value, dict):
            return {k: fill(v, path + (k,)) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v, path + (i,)) for i, v in enumerate(value)]
        return value

    template = json.dumps(fill(data, ()), ensure_ascii=False, separators=(",", ":"))
    where = ".".join(map(str, text_path)) or "the payload"
    return template, text, f"from a message the page received; {where!r} carries the text"


def _frame_template(sample: str | None) -> tuple[str, str]:
    """A frame template from a frame the page received: its longest string becomes {text}."""
    if not sample:
        return "{text}", "no frame arrived while watching: edit this to what the server sends"
    try:
        data = json.loads(sample)
    except ValueError:
        return "{text}", "frames looked like plain text"
    if not isinstance(data, dict):
        return "{text}", "frames were JSON but not objects: edit this"
    strings = {k: v for k, v in data.items() if isinstance(v, str)}
    if not strings:
        return "{text}", "no string field found in a frame: edit this"
    text_key = max(strings, key=lambda k: len(strings[k]))
    template = json.dumps({k: ("{text}" if k == text_key else v) for k, v in data.items()},
                          ensure_ascii=False, separators=(",", ":"))
    return template, f"from a frame the page received; {text_key!r} carries the text"


def _propose_payload(protocol: str, received: list[str | bytes]) -> tuple[list[str], str, str, str | None]:
    """(event lines, payload template, its note, the text of the message it came from)."""
    if protocol in protocols.PLAIN:
        sample = next((f for f in received if isinstance(f, str) and f.strip()), None)
        frame, note = _frame_template(sample)
        text = None
        if sample and frame != "{text}":
            text = _payload_template(sample)[1]
        elif sample and protocol == "text":  # the frame is the text (or starts with it: "user: text")
            text = sample
        return [], frame, note, text
    events = chat_events(protocol, received)
    # graphql-ws: the "event" is a subscription id, the page's own, taken from its subscribe at run time.
    event_lines = ["# event: left out: injection uses the id of the page's newest subscribe"] \
        if protocol == "graphql-ws" else None
    if not events:
        return (event_lines or [f"event = \"\"   # no {protocol} event arrived while watching: send a "
                                "message during --watch, or edit this"],
                "{text}", "no message arrived while watching: edit this to the event's payload", None)
    best = max(events, key=lambda p: len(p.payload))
    template, text, note = _payload_template(best.payload)
    if event_lines:
        return event_lines, template, note, text
    names = sorted({p.event for p in events if p.event})
    return [f"event = {_toml_string(best.event or '')}   # events seen: {', '.join(names)}",
            *_namespace_lines(protocol, best, events)], template, note, text


def _namespace(protocol: str, packet) -> str | None:
    """The Socket.IO namespace or Phoenix topic an event packet came on (None: none to tell)."""
    raw = packet.raw
    if protocol == "socketio" and isinstance(raw, str) and raw[:1] == "4" and len(raw) > 1:
        # 42/chat,["said",...]; a binary event's header 451-/chat,[...]
        start = raw.index("-", 2) + 1 if raw[1] in "56" and "-" in raw else 2
        return namespace_and_data(raw, start)[0]
    if protocol == "socketio-msgpack" and isinstance(raw, bytes):
        data = unpack(raw)
        return (data.get("nsp") or "/") if isinstance(data, dict) else None
    if protocol == "phoenix" and isinstance(raw, str):
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        return data[2] if isinstance(data, list) and len(data) == 5 and isinstance(data[2], str) else None
    return None


def _namespace_lines(protocol: str, best, events: list) -> list[str]:
    """`namespace = ...`: the one the proposed event came on; without it injection goes to the
    protocol's default ("/", "room:lobby"), where the page's client does not listen."""
    if protocol not in NAMESPACE_NAMES:
        return []
    namespace = _namespace(protocol, best)
    if namespace is None:
        return []
    seen = sorted({n for n in (_namespace(protocol, p) for p in events) if n is not None})
    return [f"namespace = {_toml_string(namespace)}   # {NAMESPACE_NAMES[protocol]} of the events seen: "
            f"{', '.join(seen)}"]


def _message_texts(protocol: str, received: list[str | bytes], first: str | None) -> list[str]:
    """What to look for in the DOM: the first line of `first` (the message the templates came from),
    then of each other received message's text (none without `first`)."""
    def needle(text: str | None) -> str:
        return text.strip().splitlines()[0][:60] if text and text.strip() else ""

    if not needle(first):
        return []
    if protocol in protocols.PLAIN:
        texts = [_payload_template(f)[1] for f in received if isinstance(f, str) and f.strip()]
    else:
        texts = [_payload_template(p.payload)[1] for p in chat_events(protocol, received)]
    needles = [needle(first)]
    for other in map(needle, texts):
        if len(other) >= 4 and other not in needles:  # a shorter one could be in any text
            needles.append(other)
    return needles[:50]


def _toml_string(value: str) -> str:
    return "'" + value + "'" if "'" not in value and "\n" not in value else json.dumps(value)


def propose_profile(url: str, browser_options: BrowserOptions, watch_s: float = 5,
                    timeout_s: float = 30) -> str:
    with interruptible_playwright() as playwright, watchdog.armed(timeout_s, browser_options.source.location):
        browser = launch(playwright, browser_options)
        try:
            page = new_context(browser).new_page()
            watchdog.watch(page)
            frames: dict[str, list[str | bytes]] = {}
            sent: dict[str, list[str | bytes]] = {}

            def on_socket(ws):
                frames.setdefault(ws.url, [])
                sent.setdefault(ws.url, [])
                # Binary frames kept too: they tell the MessagePack variants apart.
                ws.on("framereceived", lambda payload: frames[ws.url].append(payload))
                ws.on("framesent", lambda payload: sent[ws.url].append(payload))

            page.on("websocket", on_socket)
            PaintProbe().install(page)
            try:
                page.goto(url, wait_until="load", timeout=timeout_s * 1000)
            except Exception as exc:
                raise TargetError(f"cannot load {url}: {first_line(exc)}") from None
            page.wait_for_timeout(watch_s * 1000)
            found = page.evaluate(probe_script("discover.js"))
            if not frames:
                raise TargetError(f"{url}: the page opened no WebSocket within {watch_s:g} s of watching "
                                  "(try --watch longer, or log in first with page.setup steps)")
            socket_url = max(frames, key=lambda u: len(frames[u]))  # the busiest socket carries chat
            socket_frames = [f for u in frames if urlsplit(u).path == urlsplit(socket_url).path for f in frames[u]]
            socket_sent = [f for u in sent if urlsplit(u).path == urlsplit(socket_url).path for f in sent[u]]
            protocol, protocol_note = detect(socket_url, socket_frames, socket_sent)
            event_lines, frame, frame_note, text = _propose_payload(protocol, socket_frames)
            message_note = (f"{found['messageCount']} such children in the list" if found["message"]
                            else "the list was empty: edit this to one rendered message")
            needles = _message_texts(protocol, socket_frames, text)
            if needles:
                seen = page.evaluate(probe_script("locate.js"), needles)
                if seen.get("found"):
                    found.update(list=seen["list"], listCandidates=[f"where a received message appeared "
                                                                    f"({seen['where']})"])
                    if seen["message"] and seen["count"]:
                        message_note = f"matches {seen['count']} element(s): the one each received message became"
                        found.update(message=seen["message"], messageCount=seen["count"])
                    else:  # discover.js's guess was for its own list
                        message_note = "the message's text is in the list itself: edit this to one rendered message"
                        found.update(message=None, messageCount=0)
        finally:
            watchdog.close(browser)
    socket_parts = urlsplit(socket_url)
    # A glob matches the whole URL: one with a query (phoenix.js' ?vsn=2.0.0, Socket.IO's ?EIO=4&...)
    # needs it matched too, whatever its values.
    match = "**" + (socket_parts.path or "/") + ("?**" if socket_parts.query else "")
    lines = [
        f"# Proposed by `bench profile init --url {url}`; check it with `bench profile check`.",
        f"name = {_toml_string(urlsplit(url).netloc)}",
        f"url = {_toml_string(url)}",
        "",
        "[websocket]",
        f"match = {_toml_string(match)}        # sockets seen: {', '.join(sorted(frames))}",
        'inject = "intercept"',
        f"protocol = {_toml_string(protocol)}   # recognised from {protocol_note}",
        *event_lines,
        f"frame = {_toml_string(frame)}   # {frame_note}",
        "",
        "[dom]",
        f"list = {_toml_string(found['list'])}   # scroll containers seen: "
        f"{', '.join(found['listCandidates']) or 'none; the page itself scrolls'}",
        f"message = {_toml_string(found['message'] if found['messageCount'] else '*')}   # {message_note}",
        "",
        "[page]",
        f"ready = {_toml_string(found['list'])}",
        "setup = []   # e.g. [{click = \"#login\"}, {fill = [\"#name\", \"bench\"]}]",
    ]
    return "\n".join(lines) + "\n"
