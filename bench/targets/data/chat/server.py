"""The bundled reference chat server: static UI, WebSocket broadcast, HTTP API.

Routes
  GET  /               the chat UI (static/index.html)
  GET  /static/...     UI assets
  GET  /health         {"status", "clients", "messages", "dropped_clients", "pid"}
  GET  /ws             WebSocket, JSON text frames (see below)
  POST /api/messages   {"text": str, "user": str = "api"} -> 201 {"id", "ts"}
  POST /api/disconnect {"mode": "close" | "abort"} -> 200 {"disconnected": n}
  /api/assistant/...   a streamed assistant reply (SSE, fetch, WebSocket): assistant.py
      drops every connected client from the server's side: "close" with a
      clean close frame (1000), "abort" by cutting the TCP connection with no
      close frame, which the browser reports as 1006 (abnormal closure)

WebSocket protocol (client -> server)
  {"type": "message", "user": str, "text": str}
      broadcast to every connected client, sender included, as
      {"type": "message", "id": int, "user": str, "text": str, "ts": float}
      (id increases by one per message; ts is the server's epoch ms)
  {"type": "ping", "ts": number}
      answered to the sender only with {"type": "pong", "ts": <same ts>}
  anything else (not JSON, not an object, unknown type, bad fields, binary
  frames, frames over max_frame_bytes)
      answered with {"type": "error", "error": "<what was wrong>"}; the
      connection stays open.

Back-pressure: every client has a bounded send queue drained by its own
writer task. A broadcast only does put_nowait() on each queue and never waits
for any client, so one slow reader cannot stall the others or the sender.
A client whose queue is full is closed (1008 "send queue full") and counted
in dropped_clients.

Run it:  python bench/targets/data/chat/server.py --port 8000 --host 127.0.0.1
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from bench.targets import serving
from bench.targets.bundled import load_fixture_module

STATIC_DIR = Path(__file__).resolve().parent / "static"

log = logging.getLogger("bench.chat.server")

# How long closing a client may take before its transport is aborted. A client
# that stopped reading never acknowledges a close frame (the frame may not even
# leave our send buffer), so waiting for the close handshake would never end.
CLOSE_TIMEOUT_S = 1.0

# Policy violation: the WebSocket close code for "you could not keep up".
CLOSE_SEND_QUEUE_FULL = 1008


@dataclass(eq=False)
class Client:
    """One connected WebSocket client and the task that writes to it."""

    ws: web.WebSocketResponse
    request: web.Request
    queue: asyncio.Queue[str]
    writer: asyncio.Task[None] | None = None
    dropped: bool = False


@dataclass
class ChatState:
    """Everything the server remembers: connected clients and counters."""

    max_frame_bytes: int
    send_queue_size: int
    clients: set[Client] = field(default_factory=set)
    last_id: int = 0
    messages: int = 0
    dropped_clients: int = 0
    # Close tasks for dropped clients, kept so they are not garbage-collected
    # mid-flight and can be awaited on shutdown.
    closing: set[asyncio.Task[None]] = field(default_factory=set)

    def broadcast(self, user: str, text: str) -> dict[str, Any]:
        """Assign id and ts, queue the message for every client, return it.

        Synchronous on purpose: it never awaits a client. The JSON is encoded
        once and the same string is queued for everyone.
        """
        self.last_id += 1
        self.messages += 1
        message = {
            "type": "message",
            "id": self.last_id,
            "user": user,
            "text": text,
            "ts": time.time() * 1000.0,
        }
        frame = json.dumps(message, ensure_ascii=False)
        # Copy: dropping a client removes it from the set while we iterate.
        for client in list(self.clients):
            self.enqueue(client, frame)
        return message

    def enqueue(self, client: Client, frame: str) -> None:
        """Queue one frame for one client; drop the client if it is full."""
        if client.dropped:
            return
        try:
            client.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.drop(client)

    def drop(self, client: Client) -> None:
        """Disconnect a client that cannot keep up, without waiting for it."""
        client.dropped = True
        self.dropped_clients += 1
        self.clients.discard(client)
        if client.writer is not None:
            client.writer.cancel()
        task = asyncio.get_running_loop().create_task(
            close_client(client, CLOSE_SEND_QUEUE_FULL, b"send queue full")
        )
        self.closing.add(task)
        task.add_done_callback(self.closing.discard)


STATE = web.AppKey("bench_chat_state", ChatState)


async def close_client(client: Client, code: int, reason: bytes) -> None:
    """Close a client's socket with `code`; abort it if that stalls."""
    # Taken first: request.transport reads None once the connection is lost.
    transport = client.request.transport
    stalled = True
    try:
        await asyncio.wait_for(client.ws.close(code=code, message=reason), CLOSE_TIMEOUT_S)
        stalled = False
    except Exception:
        # Timed out, or the peer is already gone: either way the socket is
        # finished with, and a failed close must not escape this task.
        pass
    finally:
        # aiohttp ends with transport.close(), which keeps the socket open
        # until the send buffer drains -- never, for a peer that stopped
        # reading. abort() drops the buffer; give a live peer a moment first.
        # (abort() on an already closed transport does nothing.)
        if transport is not None:
            if stalled:
                transport.abort()
            elif transport.get_write_buffer_size():
                asyncio.get_running_loop().call_later(CLOSE_TIMEOUT_S, transport.abort)


async def write_loop(client: Client) -> None:
    """Drain one client's queue onto its socket, in order, one at a time."""
    try:
        while True:
            frame = await client.queue.get()
            await client.ws.send_str(frame)
    except (ConnectionError, RuntimeError):
        # The peer went away mid-send; the read loop sees the close and
        # cleans up.
        pass


# ---------------------------------------------------------------- validation


class BadInput(ValueError):
    """A request or frame we cannot accept; the message is sent back."""


def _require_str(obj: dict[str, Any], key: str) -> str:
    if key not in obj:
        raise BadInput(f'missing field "{key}"')
    value = obj[key]
    if not isinstance(value, str):
        raise BadInput(f'field "{key}" must be a string, got {_type_name(value)}')
    return value


def _type_name(value: Any) -> str:
    return {
        dict: "object",
        list: "array",
        str: "string",
        bool: "boolean",
        int: "number",
        float: "number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _parse_object(text: str) -> dict[str, Any]:
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise BadInput(f"invalid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise BadInput(f"expected a JSON object, got {_type_name(obj)}")
    return obj


# ---------------------------------------------------------------- handlers


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


async def health(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response(
        {
            "status": "ok",
            "clients": len(state.clients),
            "messages": state.messages,
            "dropped_clients": state.dropped_clients,
            "pid": os.getpid(),
        }
    )


async def post_message(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        body = await request.text()
        obj = _parse_object(body)
        text = _require_str(obj, "text")
        user = _require_str(obj, "user") if "user" in obj else "api"
    except (BadInput, UnicodeDecodeError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    message = state.broadcast(user, text)
    return web.json_response({"id": message["id"], "ts": message["ts"]}, status=201)


DISCONNECT_MODES = ("close", "abort")
CLEAN_CLOSE_REASON = b"bench: server closed the connection"


async def post_disconnect(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        obj = _parse_object(await request.text())
        mode = _require_str(obj, "mode")
        if mode not in DISCONNECT_MODES:
            raise BadInput(f'field "mode" must be one of {", ".join(DISCONNECT_MODES)}')
    except (BadInput, UnicodeDecodeError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    clients = list(state.clients)
    for client in clients:
        if mode == "abort":
            transport = client.request.transport
            if transport is not None:
                transport.abort()
        else:
            await close_client(client, WSCloseCode.OK, CLEAN_CLOSE_REASON)
    return web.json_response({"disconnected": len(clients)})


def handle_frame(state: ChatState, client: Client, msg: Any) -> None:
    """React to one frame from a client. Raises BadInput for bad frames."""
    if msg.type is WSMsgType.BINARY:
        raise BadInput("binary frames are not supported; send JSON text frames")
    if msg.type is not WSMsgType.TEXT:
        raise BadInput(f"unsupported frame type {msg.type.name}")
    size = len(msg.data.encode("utf-8"))
    if size > state.max_frame_bytes:
        raise BadInput(
            f"frame of {size} bytes exceeds the limit of {state.max_frame_bytes} bytes"
        )
    obj = _parse_object(msg.data)
    kind = obj.get("type")
    if kind == "message":
        user = _require_str(obj, "user")
        text = _require_str(obj, "text")
        state.broadcast(user, text)
    elif kind == "ping":
        if "ts" not in obj:
            raise BadInput('missing field "ts"')
        ts = obj["ts"]
        if isinstance(ts, bool) or not isinstance(ts, (int, float)):
            raise BadInput(f'field "ts" must be a number, got {_type_name(ts)}')
        state.enqueue(client, json.dumps({"type": "pong", "ts": ts}))
    elif "type" not in obj:
        raise BadInput('missing field "type"')
    else:
        raise BadInput(f"unknown message type {json.dumps(obj['type'])}")


async def websocket(request: web.Request) -> web.WebSocketResponse:
    state = request.app[STATE]
    ws = web.WebSocketResponse(
        # Let frames well past our own limit through aiohttp's parser so we
        # can answer them with an error frame instead of a 1009 close.
        max_msg_size=state.max_frame_bytes * 16,
        # No permessage-deflate: a broadcast would be compressed once per
        # client, which makes the server, not the UI, the thing measured.
        compress=False,
        # Close handshakes with a peer that stopped reading must not hang.
        timeout=CLOSE_TIMEOUT_S,
    )
    await ws.prepare(request)

    client = Client(ws=ws, request=request, queue=asyncio.Queue(state.send_queue_size))
    client.writer = asyncio.get_running_loop().create_task(write_loop(client))
    state.clients.add(client)
    try:
        async for msg in ws:
            if client.dropped or msg.type is WSMsgType.ERROR:
                # ERROR: aiohttp could not parse the stream (e.g. a frame over
                # max_msg_size) and is closing the connection itself.
                break
            try:
                handle_frame(state, client, msg)
            except BadInput as exc:
                state.enqueue(client, json.dumps({"type": "error", "error": str(exc)}))
    finally:
        state.clients.discard(client)
        if client.writer is not None:
            client.writer.cancel()
            # wait() rather than await: the writer's CancelledError is
            # expected and must not look like this handler being cancelled.
            await asyncio.wait([client.writer])
            if not client.writer.cancelled() and client.writer.exception() is not None:
                log.warning("writer task failed", exc_info=client.writer.exception())
    return ws


async def _on_shutdown(app: web.Application) -> None:
    """Close every client so the runner's cleanup does not wait on them."""
    state = app[STATE]
    clients = list(state.clients)
    state.clients.clear()
    for client in clients:
        if client.writer is not None:
            client.writer.cancel()
    await asyncio.gather(
        *(close_client(c, WSCloseCode.GOING_AWAY, b"server shutdown") for c in clients),
        *list(state.closing),
        return_exceptions=True,
    )


# ---------------------------------------------------------------- public API


def create_app(
    *, max_frame_bytes: int = 65536, send_queue_size: int = 1000
) -> web.Application:
    """Build the chat application (not yet listening)."""
    if max_frame_bytes <= 0:
        raise ValueError("max_frame_bytes must be positive")
    if send_queue_size <= 0:
        raise ValueError("send_queue_size must be positive")
    app = web.Application(client_max_size=max(1024**2, max_frame_bytes * 16))
    app[STATE] = ChatState(max_frame_bytes=max_frame_bytes, send_queue_size=send_queue_size)
    serving.add_routes(app, page=index, health=health, messages=post_message, disconnect=post_disconnect,
                       gets={"/ws": websocket}, static=STATIC_DIR)
    load_fixture_module("chat/assistant.py").add_routes(app)  # streamed replies (docs/streaming.md)
    app.on_shutdown.append(_on_shutdown)
    return app


def run(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve until SIGINT/SIGTERM. Port 0 picks a free port.

    Prints one line, `bench chat server listening on http://HOST:PORT/`,
    once the socket is bound. An OSError from binding propagates.
    """
    serving.run(create_app(), host, port)


def main(argv: list[str] | None = None) -> int:
    return serving.main(create_app, "Run the bench reference chat server.", argv, default_port=8000)


if __name__ == "__main__":
    sys.exit(main())
