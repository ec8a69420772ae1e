"""Target profiles: a small TOML file that says how to drive a chat UI.

    name = "my chat"
    url = "http://127.0.0.1:8000/"          # --url overrides
    [websocket]
    match = "**/ws*"                        # glob of the page socket that carries chat
    inject = "intercept"                    # intercept | server
    frame = '{"type":"response","content":"{text}"}'
    protocol = "json"                       # json | text | socketio[-msgpack] | signalr[-msgpack] | phoenix | graphql-ws
    event = "chat"                          # Socket.IO event, SignalR target, Phoenix event
    namespace = "/"                         # Socket.IO namespace, Phoenix topic (docs/protocols.md)
    send = '{"type":"say","content":"{text}"}'  # client->server, for bench throughput
    [server]                                # only for inject = "server"
    send_url = "/api/messages"              # relative to the page URL, or absolute
    send_body = '{"text":"{text}"}'
    disconnect_url = "/api/disconnect"      # optional: POST here drops the page's socket
    [dom]
    list = "#chatMessages"                  # the scrolling message list ("html": the page)
    message = ".message"                    # one rendered message
    [page]
    ready = "#chatMessages"                 # exists once the app is ready
    setup = []                              # [{click="#login"}, {fill=["#name","bench"]}]
    [stream]                                # streamed replies (docs/streaming.md)
    start = [{fill=["#prompt","{text}"]}, {click="#send"}]  # asks for one reply
    reply = ".assistant"                    # the newest match is the reply measured
    transport = "auto"                      # sse | fetch | websocket | auto
    done = ".assistant[data-done]"          # optional; default: the stream closed
    [input]                                 # optional: the input scenario (docs/input.md)
    box = "#composer-text"                  # where a person types
    send = [{press = ["#composer-text", "Enter"]}]  # what sends it: page.setup's actions

Every problem is one UsageError line naming the file and the key.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from ..errors import UsageError
from .bundled import fixture_path
from .messages import Message
from .protocols import base as packets
from .target import FRAME_FORMATS, INJECT_MODES, PROTOCOLS, Target, render_template, template_format

BUNDLED_PROFILE = fixture_path("profiles/bundled.toml")

# The keys a profile may have: section -> key -> type.
SCHEMA: dict[str, dict[str, type] | type] = {
    "name": str,
    "url": str,
    "websocket": {"match": str, "inject": str, "frame": str, "format": str, "send": str,
                  "protocol": str, "event": str, "namespace": str, "send_event": str, "subscribe": str},
    "server": {"send_url": str, "send_body": str, "disconnect_url": str},
    "dom": {"list": str, "message": str},
    "page": {"ready": str, "setup": list},
    "stream": {"start": list, "reply": str, "transport": str, "done": str},
    "input": {"box": str, "send": list},
}
# Setup steps: one action per step -> the type of its argument.
SETUP_ACTIONS = {"click": str, "fill": list, "press": list, "wait_for": str, "wait_ms": (int, float)}

# Awkward on purpose: quotes, a backslash, a newline, non-ASCII; a template
# that stays valid JSON with this text will with any.
_PROBE_MESSAGE = Message(token="bench-check-0", user='a "user"\\', text='say "hi"\\\n\t— 🙂')


def _nearest(key: str, choices) -> str:
    close = difflib.get_close_matches(key, list(choices), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_keys(data: dict, schema: dict, where: str, source: str) -> None:
    for key, value in data.items():
        dotted = f"{where}{key}"
        if key not in schema:
            raise UsageError(f"{source}: unknown key {dotted!r}{_nearest(key, schema)}")
        expected = schema[key]
        if isinstance(expected, dict):
            if not isinstance(value, dict):
                raise UsageError(f"{source}: {dotted!r} must be a table ([{dotted}])")
            _check_keys(value, expected, f"{dotted}.", source)
        elif not isinstance(value, expected):
            raise UsageError(f"{source}: {dotted!r} must be a {expected.__name__}, not {type(value).__name__}")


def _check_setup(steps: list, source: str, key: str = "page.setup") -> list[dict]:
    for i, step in enumerate(steps):
        where = f"{source}: {key}[{i}]"
        if not isinstance(step, dict) or len(step) != 1:
            raise UsageError(f"{where} must be one action like {{click = \"#login\"}}")
        (action, arg), = step.items()
        if action not in SETUP_ACTIONS:
            raise UsageError(f"{where}: unknown action {action!r}{_nearest(action, SETUP_ACTIONS)}; "
                             f"choose from {', '.join(SETUP_ACTIONS)}")
        if not isinstance(arg, SETUP_ACTIONS[action]):
            raise UsageError(f"{where}: {action} takes a {SETUP_ACTIONS[action]}")
        if action in ("fill", "press") and (len(arg) != 2 or not all(isinstance(a, str) for a in arg)):
            raise UsageError(f"{where}: {action} takes [selector, text]")
    return steps


def _check_template(template: str, fmt: str, key: str, source: str) -> None:
    if "{text}" not in template:
        raise UsageError(f"{source}: {key} has no {{text}} placeholder, so the message cannot travel in it")
    if fmt == "json":
        rendered = render_template(template, _PROBE_MESSAGE, "json")
        try:
            json.loads(rendered)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{source}: {key} is not valid JSON after substitution ({exc.msg} at "
                             f"column {exc.colno}: {rendered[max(0, exc.pos - 20):exc.pos + 20]!r})") from None


def _toml_error(path: Path, exc: Exception) -> UsageError:
    message = str(exc)
    line_no = getattr(exc, "lineno", None)
    if line_no is None:
        import re

        match = re.search(r"line (\d+)", message)
        line_no = int(match.group(1)) if match else None
    if line_no:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        text = lines[line_no - 1].strip() if 0 < line_no <= len(lines) else ""
        return UsageError(f"{path}: invalid TOML at line {line_no} ({text!r}): {message}")
    return UsageError(f"{path}: invalid TOML: {message}")


def load_profile(path: str | Path) -> Target:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such profile file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read profile: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(path, exc) from None
    return parse_profile(data, str(path), bundled=path.resolve() == BUNDLED_PROFILE.resolve())


def parse_profile(data: dict, source: str, bundled: bool = False) -> Target:
    _check_keys(data, SCHEMA, "", source)
    ws, server, dom, page = (data.get(k, {}) for k in ("websocket", "server", "dom", "page"))
    default = Target(name="", url="")  # a key a profile leaves out gets the Target's default
    inject = ws.get("inject", default.inject)
    if inject not in INJECT_MODES:
        raise UsageError(f"{source}: websocket.inject {inject!r}: choose from {', '.join(INJECT_MODES)}")
    protocol = ws.get("protocol", "")
    if protocol and protocol not in PROTOCOLS:
        raise UsageError(f"{source}: websocket.protocol {protocol!r}: choose from {', '.join(PROTOCOLS)}"
                         f"{_nearest(protocol, PROTOCOLS)}")
    frame = ws.get("frame", default.frame)
    _check_not_wrapped(frame, protocol, source)
    fmt = ws.get("format", template_format(frame, json_strings=protocol not in ("", "json", "text")))
    if fmt not in FRAME_FORMATS:
        raise UsageError(f"{source}: websocket.format {fmt!r}: choose from {', '.join(FRAME_FORMATS)}")
    _check_template(frame, fmt, "websocket.frame", source)
    send_frame = ws.get("send")
    if send_frame is not None:
        _check_template(send_frame, template_format(send_frame), "websocket.send", source)
    send_body = server.get("send_body", default.send_body)
    if inject == "server":
        if "send_url" not in server:
            raise UsageError(f"{source}: inject = \"server\" needs server.send_url")
        _check_template(send_body, template_format(send_body), "server.send_body", source)
    list_selector = dom.get("list", default.list_selector)
    typing = data.get("input")
    if typing is not None:
        if "box" not in typing:
            raise UsageError(f"{source}: [input] needs box (the selector where a person types)")
        if not typing.get("send"):
            raise UsageError(f"{source}: [input] needs send (the actions that send what was typed, "
                             f"e.g. [{{press = [\"{typing['box']}\", \"Enter\"]}}])")
        _check_setup(typing["send"], source, "input.send")
    target = Target(
        name=data.get("name", Path(source).stem),
        url=data.get("url", ""),
        ws_match=ws.get("match", default.ws_match),
        inject=inject,
        frame=frame,
        frame_format=fmt,
        protocol=protocol,
        event=ws.get("event"),
        namespace=ws.get("namespace"),
        send_event=ws.get("send_event"),
        subscribe=ws.get("subscribe"),
        send_frame=send_frame,
        send_url=server.get("send_url"),
        send_body=send_body,
        disconnect_url=server.get("disconnect_url"),
        list_selector=list_selector,
        message_selector=dom.get("message", default.message_selector),
        ready_selector=page.get("ready", ""),
        setup=_check_setup(page.get("setup", []), source),
        bundled=bundled,
        stream=_check_stream(data["stream"], source) if "stream" in data else None,
        input_box=typing["box"] if typing else None,
        input_send=typing["send"] if typing else [],
    )
    if protocol:
        _check_codec(target, source)
    return target


# Whole protocol frames written as the template: the codec wraps the payload itself.
_WRAPPED = ((re.compile(r"^\s*4[0-9](/[^,]*,)?\d*\["), "socketio", "a Socket.IO packet (42[\"event\",...])"),
            (re.compile(r'^\s*\{\s*"type"\s*:\s*1\s*,\s*"target"'), "signalr", "a SignalR invocation"),
            (re.compile(r'^\s*\{[^{]*"type"\s*:\s*"next"'), "graphql-ws", "a graphql-ws \"next\" message"))


def _check_not_wrapped(frame: str, protocol: str, source: str) -> None:
    for pattern, name, what in _WRAPPED:
        if pattern.match(frame) and protocol in ("", "json", "text", name, name + "-msgpack"):
            raise UsageError(f"{source}: websocket.frame is {what}; write only the payload there and set "
                             f"protocol = \"{name}\" (and event): see docs/protocols.md")


def _check_codec(target: Target, source: str) -> None:
    """The awkward probe message must come back intact out of the protocol's own frame."""
    codec = target.codec()
    try:
        frame = target.encode(_PROBE_MESSAGE, codec)
    except ValueError:  # a binary (MessagePack) codec re-encodes the payload: it must be JSON
        raise UsageError(f"{source}: websocket.frame does not make a JSON payload, which {target.protocol} "
                         "needs (see docs/protocols.md)") from None
    events = [p for p in codec.decode(frame) if p.kind == packets.EVENT]
    payload = events[0].payload if events else ""
    if not events or (codec.json_payload and _PROBE_MESSAGE.text not in _json_strings(payload)):
        raise UsageError(f"{source}: websocket.frame does not make a valid {target.protocol} payload "
                         f"(a message with quotes and a newline gave {frame[:80]!r})")


def _json_strings(payload: str) -> list[str]:
    """Every string in a JSON value."""
    try:
        stack, out = [json.loads(payload)], []
    except ValueError:
        return []
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return out


STREAM_TRANSPORTS = ("auto", "sse", "fetch", "websocket")


def _check_stream(stream: dict, source: str) -> dict:
    """The [stream] table: start actions (with {text}), reply selector, transport, done."""
    for key in ("start", "reply"):
        if key not in stream:
            raise UsageError(f"{source}: [stream] needs {key!r}")
    if not stream["start"]:
        raise UsageError(f"{source}: stream.start is empty; give the actions that ask for one reply")
    _check_setup(stream["start"], source, "stream.start")
    if "{text}" not in json.dumps(stream["start"]):
        raise UsageError(f"{source}: stream.start has no {{text}} placeholder, so the prompt cannot be typed")
    transport = stream.get("transport", "auto")
    if transport not in STREAM_TRANSPORTS:
        raise UsageError(f"{source}: stream.transport {transport!r}: choose from {', '.join(STREAM_TRANSPORTS)}")
    return {"start": stream["start"], "reply": stream["reply"], "transport": transport,
            "done": stream.get("done")}


def resolve_target(profile: str | None, url: str | None, app_query: str = "",
                   inject: str | None = None) -> Target:
    """The target of a command line: profile (default: the bundled app), --url, knobs.

    Returns a target whose url may be empty: the bundled app with no --url,
    which the caller starts.
    """
    target = load_profile(profile or BUNDLED_PROFILE)
    if inject:
        if inject == "server" and not target.send_url:
            raise UsageError(f"--inject server: profile {target.name!r} has no server.send_url")
        target.inject = inject
    url = url or target.url
    if not url:
        if target.bundled:
            return target
        raise UsageError(f"profile {target.name!r} has no url; pass --url")
    if not url.startswith(("http://", "https://", "file://")):
        raise UsageError(f"--url {url!r}: expected an http(s) URL")
    return target.with_url(url, app_query)


def bundled_target(base_url: str, app_query: str = "", inject: str = "intercept") -> Target:
    """The bundled reference app at base_url, with knobs from app_query."""
    return resolve_target(None, base_url, app_query, inject)
