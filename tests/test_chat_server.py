"""The bundled reference chat server, against a real socket and real clients.

Each test starts the app on 127.0.0.1:0 inside its own event loop
(asyncio.run), talks to it with aiohttp's client, and shuts it down. Timeouts
are generous (a loaded 2-core CI box) and only matter when something is
broken; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from bench.targets.bundled import fixture_path, load_fixture_module

from tests.conftest import asyncio_run, in_fresh_thread

# No browser; the server in this process and aiohttp clients, asserting the protocol's behaviour (its one
# bound, 30 s for a broadcast, is far from any starvation): may run beside a timing test, in the background
# (tests/cpu_share.py).
pytestmark = pytest.mark.background

server = load_fixture_module("chat/server.py")

TIMEOUT = 10.0  # seconds; for one expected event, never reached when healthy


@asynccontextmanager
async def running_server(**options: Any) -> AsyncIterator[str]:
    """The chat app listening on a free port; yields its base URL."""
    runner = web.AppRunner(server.create_app(**options), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def run_async(test: Callable[[], Awaitable[None]], limit: float = 60.0) -> None:
    """Run one async scenario; a hang fails the test instead of the run."""
    asyncio_run(asyncio.wait_for(test(), limit))


async def recv(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await ws.receive(timeout=TIMEOUT)
    assert msg.type is aiohttp.WSMsgType.TEXT, f"expected a text frame, got {msg.type!r} {msg.data!r}"
    return json.loads(msg.data)


async def health(session: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    async with session.get(f"{base}/health") as resp:
        assert resp.status == 200
        return await resp.json()


async def wait_for_health(
    session: aiohttp.ClientSession, base: str, check: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Poll /health until check(body) holds (server-side cleanup is async)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        body = await health(session, base)
        if check(body):
            return body
        assert time.monotonic() < deadline, f"/health never satisfied the check: {body}"
        await asyncio.sleep(0.02)


async def assert_usable(ws: aiohttp.ClientWebSocketResponse, ts: float = 42.5) -> None:
    """The connection still answers a ping after whatever came before."""
    await ws.send_json({"type": "ping", "ts": ts})
    assert await recv(ws) == {"type": "pong", "ts": ts}


# ------------------------------------------------------------------ broadcast


def test_broadcast_reaches_every_client_including_sender() -> None:
    async def scenario() -> None:
        async with running_server() as base, aiohttp.ClientSession() as session:
            clients = [await session.ws_connect(f"{base}/ws") for _ in range(3)]
            await wait_for_health(session, base, lambda h: h["clients"] == 3)
            sender = clients[0]
            before = time.time() * 1000

            await sender.send_json({"type": "message", "user": "ann", "text": "hello\nworld"})
            first = [await recv(ws) for ws in clients]
            await sender.send_json({"type": "message", "user": "ann", "text": "again"})
            second = [await recv(ws) for ws in clients]

            for got in first:
                assert got == first[0]
                assert got["type"] == "message"
                assert got["user"] == "ann" and got["text"] == "hello\nworld"
                assert isinstance(got["id"], int)
                assert isinstance(got["ts"], float)
                assert before - 1000 <= got["ts"] <= time.time() * 1000 + 1000
            assert all(got == second[0] for got in second)
            assert second[0]["id"] > first[0]["id"]
            assert second[0]["ts"] >= first[0]["ts"]
            assert (await health(session, base))["messages"] == 2
            for ws in clients:
                await ws.close()

    run_async(scenario)


def test_post_api_messages_broadcasts_and_returns_201() -> None:
    async def scenario() -> None:
        async with running_server() as base, aiohttp.ClientSession() as session:
            ws = await session.ws_connect(f"{base}/ws")
            await wait_for_health(session, base, lambda h: h["clients"] == 1)

            async with session.post(f"{base}/api/messages", json={"text": "from api", "user": "bot"}) as resp:
                assert resp.status == 201
                reply = await resp.json()
            got = await recv(ws)
            assert got == {"type": "message", "id": reply["id"], "user": "bot", "text": "from api", "ts": reply["ts"]}

            async with session.post(f"{base}/api/messages", json={"text": "no user"}) as resp:
                assert resp.status == 201
            got = await recv(ws)
            assert got["user"] == "api" and got["text"] == "no user" and got["id"] > reply["id"]
            await ws.close()

    run_async(scenario)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'"text"',
        b"{}",
        b'{"text": 5}',
        b'{"text": "hi", "user": null}',
        b'{"user": "x"}',
        b"\xff\xfe",
    ],
)
def test_post_api_messages_rejects_bad_body(body: bytes) -> None:
    async def scenario() -> None:
        async with running_server() as base, aiohttp.ClientSession() as session:
            async with session.post(
                f"{base}/api/messages", data=body, headers={"Content-Type": "application/json"}
            ) as resp:
                assert resp.status == 400
                error = (await resp.json())["error"]
            assert isinstance(error, str) and error and "\n" not in error
            assert (await health(session, base))["messages"] == 0

    run_async(scenario)


# ------------------------------------------------------------------ ping, errors


def test_ping_is_answered_to_the_sender_only_with_its_ts() -> None:
    async def scenario() -> None:
        async with running_server() as base, aiohttp.ClientSession() as session:
            pinger = await session.ws_connect(f"{base}/ws")
            other = await session.ws_connect(f"{base}/ws")
            await wait_for_health(session, base, lambda h: h["clients"] == 2)

            for ts in (1712345678901.25, 0, -3):
                await pinger.send_json({"type": "ping", "ts": ts})
                assert await recv(pinger) == {"type": "pong", "ts": ts}

            # `other` got no pong: the next thing it sees is a broadcast.
            await pinger.send_json({"type": "message", "user": "u", "text": "marker"})
            assert (await recv(other))["text"] == "marker"
            await pinger.close()
            await other.close()

    run_async(scenario)


MALFORMED_TEXT_FRAMES = [
    ("not json", "{nope"),
    ("not an object", "[1, 2, 3]"),
    ("unknown type", '{"type": "dance"}'),
    ("missing type", '{"user": "u", "text": "t"}'),
    ("missing text", '{"type": "message", "user": "u"}'),
    ("wrong-typed user", '{"type": "message", "user": 7, "text": "t"}'),
    ("ping without ts", '{"type": "ping"}'),
    ("ping with string ts", '{"type": "ping", "ts": "soon"}'),
]


def test_malformed_frames_get_an_error_and_the_connection_stays_usable() -> None:
    async def scenario() -> None:
        async with running_server(max_frame_bytes=1024) as base, aiohttp.ClientSession() as session:
            ws = await session.ws_connect(f"{base}/ws")

            for label, frame in MALFORMED_TEXT_FRAMES:
                await ws.send_str(frame)
                got = await recv(ws)
                assert got["type"] == "error", label
                assert isinstance(got["error"], str) and got["error"] and "\n" not in got["error"], label
                await assert_usable(ws)

            await ws.send_bytes(b'{"type": "ping", "ts": 1}')
            got = await recv(ws)
            assert got["type"] == "error" and "binary" in got["error"]
            await assert_usable(ws)

            # Over max_frame_bytes (but under the 16x hard limit): an error
            # frame, not a close, and nothing is broadcast.
            await ws.send_json({"type": "message", "user": "u", "text": "x" * 5000})
            got = await recv(ws)
            assert got["type"] == "error" and "1024" in got["error"]
            await assert_usable(ws)

            body = await health(session, base)
            assert body["messages"] == 0 and body["clients"] == 1
            await ws.send_json({"type": "message", "user": "u", "text": "still here"})
            assert (await recv(ws))["text"] == "still here"
            await ws.close()

    run_async(scenario)


# ------------------------------------------------------------------ health


def test_health_counts_clients() -> None:
    async def scenario() -> None:
        async with running_server() as base, aiohttp.ClientSession() as session:
            body = await health(session, base)
            assert body == {
                "status": "ok",
                "clients": 0,
                "messages": 0,
                "dropped_clients": 0,
                "pid": os.getpid(),
            }
            a = await session.ws_connect(f"{base}/ws")
            b = await session.ws_connect(f"{base}/ws")
            await wait_for_health(session, base, lambda h: h["clients"] == 2)
            await a.close()
            await wait_for_health(session, base, lambda h: h["clients"] == 1)
            await b.close()
            await wait_for_health(session, base, lambda h: h["clients"] == 0)

    run_async(scenario)


def test_static_ui_is_served() -> None:
    async def scenario() -> None:
        async with running_server() as base, aiohttp.ClientSession() as session:
            async with session.get(f"{base}/") as resp:
                assert resp.status == 200
                html = await resp.text()
            assert 'id="messages"' in html and 'id="composer"' in html
            for asset in ("app.js", "style.css"):
                assert f"/static/{asset}" in html
                async with session.get(f"{base}/static/{asset}") as resp:
                    assert resp.status == 200
                    assert len(await resp.read()) > 100

    run_async(scenario)


# ------------------------------------------------------------------ back-pressure


async def open_stalled_client(base: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A WebSocket client that completes the handshake and then never reads.

    A tiny receive buffer makes the kernel stop accepting data early, so the
    server's send path backs up after a few hundred kilobytes.
    """
    host, port = base.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(
        (
            f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), TIMEOUT)
    assert b" 101 " in status, status
    # From here on nobody reads `reader`: once its buffer is full, asyncio
    # pauses reading the socket and the kernel window closes.
    return reader, writer


def test_client_that_never_reads_is_dropped_and_others_keep_up() -> None:
    queue_size = 32
    text = "y" * 32_000  # under the default 64 KiB frame limit

    async def scenario() -> None:
        async with running_server(send_queue_size=queue_size) as base, aiohttp.ClientSession() as session:
            _, stalled = await open_stalled_client(base)
            good = await session.ws_connect(f"{base}/ws", max_msg_size=0)
            await wait_for_health(session, base, lambda h: h["clients"] == 2)

            # Send in lockstep: the next message goes out once `good` has
            # the previous one, so `good` never has more than one queued,
            # while the stalled client's queue only grows.
            sent = 0
            dropped = False
            started = time.monotonic()
            # Bounded: kernel and transport buffers take a few MB at most.
            while sent < 2000:
                await good.send_json({"type": "message", "user": "load", "text": text})
                sent += 1
                got = await recv(good)
                assert got["id"] == sent and got["text"] == text
                if sent % 25 == 0:
                    body = await health(session, base)
                    if body["dropped_clients"]:
                        dropped = True
                        break
            assert dropped, f"stalled client was not dropped after {sent} messages"
            body = await wait_for_health(session, base, lambda h: h["clients"] == 1)
            assert body["dropped_clients"] == 1

            # The good client is unaffected and still receives everything.
            for _ in range(50):
                await good.send_json({"type": "message", "user": "load", "text": "after"})
                sent += 1
                assert (await recv(good))["id"] == sent
            assert time.monotonic() - started < 30, "broadcast to the good client was slow"
            await good.close()
            stalled.close()

    run_async(scenario)


def test_overflowing_client_is_closed_with_1008_send_queue_full() -> None:
    """Frames that arrive together are broadcast before any writer runs, so
    with a queue of 2 a burst of 20 overflows every client's queue."""

    async def scenario() -> None:
        async with running_server(send_queue_size=2) as base, aiohttp.ClientSession() as session:
            sender = await session.ws_connect(f"{base}/ws")
            await wait_for_health(session, base, lambda h: h["clients"] == 1)
            for i in range(20):
                await sender.send_json({"type": "message", "user": "u", "text": f"m{i}"})
            while True:
                msg = await sender.receive(timeout=TIMEOUT)
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
            assert msg.type is aiohttp.WSMsgType.CLOSE, msg
            assert (msg.data, msg.extra) == (1008, "send queue full")
            body = await wait_for_health(session, base, lambda h: h["clients"] == 0)
            assert body["dropped_clients"] == 1
            # The server itself is fine.
            fresh = await session.ws_connect(f"{base}/ws")
            await assert_usable(fresh)
            await fresh.close()

    run_async(scenario)


def test_a_burst_is_not_stalled_by_a_client_that_never_reads() -> None:
    """Many messages at once (no lockstep): the reader still gets all of them."""

    async def scenario() -> None:
        async with running_server(send_queue_size=1000) as base, aiohttp.ClientSession() as session:
            _, stalled = await open_stalled_client(base)
            good = await session.ws_connect(f"{base}/ws", max_msg_size=0)
            await wait_for_health(session, base, lambda h: h["clients"] == 2)

            count = 300
            text = "z" * 20_000
            for _ in range(count):
                await good.send_json({"type": "message", "user": "burst", "text": text})
            ids = [(await recv(good))["id"] for _ in range(count)]
            assert ids == list(range(1, count + 1))
            await good.close()
            stalled.close()

    run_async(scenario)


# ------------------------------------------------------------------ run()


def test_run_raises_oserror_when_the_port_is_taken() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(OSError):
            in_fresh_thread(server.run, host="127.0.0.1", port=busy.getsockname()[1])


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "server printed nothing"
    return proc.stdout.readline()


def test_script_prints_listening_line_and_serves_until_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, str(fixture_path("chat/server.py")), "--port", "0", "--host", "127.0.0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _read_line(proc, timeout=30)
        prefix = "bench chat server listening on http://127.0.0.1:"
        assert line.startswith(prefix) and line.endswith("/\n"), line
        port = int(line[len(prefix) : -2])
        assert port > 0
        base = f"http://127.0.0.1:{port}"

        with urllib.request.urlopen(f"{base}/", timeout=TIMEOUT) as resp:
            assert resp.status == 200
            assert b'id="messages"' in resp.read()
        with urllib.request.urlopen(f"{base}/health", timeout=TIMEOUT) as resp:
            assert json.load(resp)["pid"] == proc.pid

        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == 0, err
        assert out == "" and err == ""  # exactly one line, no log spam
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_script_reports_a_taken_port_in_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, str(fixture_path("chat/server.py")), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert str(port) in proc.stderr
