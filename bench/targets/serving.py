"""Serving a fixture aiohttp app as a process, the way every fixture server does.

The contract bench relies on (server_process.BundledServer): --host/--port on
the command line, one "NAME listening on http://HOST:PORT/" line on stdout once
the socket is bound and nothing else on stdout, a clean shutdown and exit 0 on
SIGINT/SIGTERM, and exit 2 with one line on stderr when the port cannot be
bound. Also the request and socket helpers the fixture UIs share (their
test hooks: POST bodies, /api/disconnect, closing every socket).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable, Iterator

from aiohttp import WSCloseCode, web

# How long closing a socket may take: a client that stopped reading never
# answers a close frame, and waiting for the handshake would never end.
CLOSE_TIMEOUT_S = 1.0

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def url_host(host: str) -> str:
    """The host as it stands in a URL: an IPv6 address goes in brackets."""
    return f"[{host}]" if ":" in host else host


async def serve(
    app: web.Application,
    host: str,
    port: int,
    *,
    name: str = "bench chat server",
    shutdown_timeout: float | None = None,
    stop_on_signals: bool = True,
) -> None:
    """Listen, print the listening line, serve until SIGINT/SIGTERM, clean up.

    shutdown_timeout=None keeps aiohttp's default. stop_on_signals=False
    installs no handlers: the process's own disposition ends it (SIGINT as
    KeyboardInterrupt out of asyncio.run, SIGTERM kills it on the spot).
    An OSError from binding (e.g. port in use) propagates.
    """
    runner_options = {} if shutdown_timeout is None else {"shutdown_timeout": shutdown_timeout}
    runner = web.AppRunner(app, access_log=None, handle_signals=False, **runner_options)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()  # OSError (e.g. port in use) propagates
        bound_port = runner.addresses[0][1]
        # Handlers before the line: whoever reads the line may signal at once.
        signals = _stop_signals() if stop_on_signals else contextlib.nullcontext(asyncio.Event())
        with signals as stop:
            print(f"{name} listening on http://{url_host(host)}:{bound_port}/", flush=True)
            await stop.wait()
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def _stop_signals() -> Iterator[asyncio.Event]:
    """An event that SIGINT/SIGTERM set while the block runs."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        yield stop
    finally:
        # Before cleanup: a second Ctrl-C while cleanup hangs still interrupts.
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


def run(app: web.Application, host: str, port: int, **options: Any) -> None:
    """serve() in a fresh event loop; options as for serve()."""
    asyncio.run(serve(app, host, port, **options))


def argument_parser(description: str, *, default_port: int) -> argparse.ArgumentParser:
    """A parser with the --host and --port every fixture server takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=default_port,
        help=f"port to bind; 0 picks a free one (default {default_port})",
    )
    return parser


def exit_code(run: Callable[..., None], host: str, port: int, *args: Any) -> int:
    """Call run(host, port, *args): 0 once it returns, 2 and one line on stderr if it cannot bind."""
    try:
        run(host, port, *args)
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


def main(create_app: Callable[[], web.Application], description: str, argv: list[str] | None = None, *,
         default_port: int = 0, **options: Any) -> int:
    """A fixture server's command line: --host and --port, then serve create_app() until SIGINT/SIGTERM
    (options as for serve()); the exit code of exit_code()."""
    args = argument_parser(description, default_port=default_port).parse_args(argv)
    return exit_code(lambda host, port: run(create_app(), host, port, **options), args.host, args.port)


def add_routes(app: web.Application, *, page: Handler, health: Handler, messages: Handler, disconnect: Handler,
               gets: dict[str, Handler] | None = None, static: Path | None = None) -> None:
    """The route table every fixture chat server has, whatever its app: its page at /, GET /health,
    POST /api/messages and POST /api/disconnect (the test hooks bench calls), its own GET routes
    (`gets`: its socket, its scripts) and, with `static`, that folder at /static/."""
    app.router.add_get("/", page)
    app.router.add_get("/health", health)
    for path, handler in (gets or {}).items():
        app.router.add_get(path, handler)
    app.router.add_post("/api/messages", messages)
    app.router.add_post("/api/disconnect", disconnect)
    if static is not None:
        app.router.add_static("/static/", static)


# ---------------------------------------------------------------- request helpers


async def close_socket(ws: web.WebSocketResponse, code: int, reason: bytes) -> None:
    """Close a WebSocket with `code`, giving up after CLOSE_TIMEOUT_S."""
    try:
        await asyncio.wait_for(ws.close(code=code, message=reason), CLOSE_TIMEOUT_S)
    except Exception:
        pass  # timed out or already gone: the socket is finished with either way


async def close_all(sockets: Iterable[web.WebSocketResponse], code: int, reason: bytes) -> int:
    """Close all the sockets at once; how many there were."""
    sockets = list(sockets)
    await asyncio.gather(*(close_socket(ws, code, reason) for ws in sockets))
    return len(sockets)


def close_at_shutdown(app: web.Application, sockets: Callable[[web.Application], dict]) -> None:
    """On shutdown, empty the app's table of sockets (`sockets(app)`, keyed by socket) and close them all."""
    async def close(app: web.Application) -> None:
        table = sockets(app)
        held = list(table)
        table.clear()
        await close_all(held, WSCloseCode.GOING_AWAY, b"server shutdown")

    app.on_shutdown.append(close)


async def json_object(request: web.Request) -> dict:
    """The request body as a JSON object (an empty body is {}); 400 otherwise."""
    try:
        obj = json.loads(await request.text() or "{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise web.HTTPBadRequest(text=json.dumps({"error": f"invalid JSON: {exc}"}), content_type="application/json")
    if not isinstance(obj, dict):
        raise web.HTTPBadRequest(text='{"error": "expected a JSON object"}', content_type="application/json")
    return obj


async def disconnect_code(request: web.Request) -> int:
    """The close code a POST /api/disconnect body asks for ({"code": int = 1012}); 400 if it is not one."""
    code = (await json_object(request)).get("code", int(WSCloseCode.SERVICE_RESTART))
    if isinstance(code, bool) or not isinstance(code, int) or not (code == 1000 or 3000 <= code <= 4999 or 1001 <= code <= 1014):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "code must be a valid WebSocket close code"}), content_type="application/json"
        )
    return code
