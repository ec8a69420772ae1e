"""The server under load: the bundled chat app (started here, pid known) or a --url.

ws_url is the WebSocket URL the clients connect to; pid is the server's
process where it is known (the bundled app, or --server-pid), for memory.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from urllib.parse import urlsplit

from ..errors import UsageError
from ..targets.server_process import BundledServer

WS_SCHEMES = ("ws", "wss")


def check_port_free(host: str, port: int) -> None:
    """A port someone else holds is the user's to change: one line, exit 2."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(f"port {port} on {host} is already in use; pick another with --port") from None
            raise UsageError(f"cannot use {host}:{port}: {exc.strerror or exc}") from None


def validate_ws_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in WS_SCHEMES or not parts.hostname:
        raise UsageError(f"--url {url!r}: give a WebSocket URL, ws://HOST:PORT/PATH (or wss://)")
    return url


def validate_pid(pid: int | None) -> int | None:
    if pid is None:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        raise UsageError(f"--server-pid {pid}: no such process") from None
    except PermissionError:
        pass  # exists, owned by someone else; reading its memory may still work
    return pid


class ServerUnderLoad(contextlib.AbstractContextManager):
    """`with ServerUnderLoad(url, pid, port) as server: server.ws_url, server.pid`."""

    def __init__(self, url: str | None = None, server_pid: int | None = None, port: int = 0,
                 host: str = "127.0.0.1"):
        self.url, self.port, self.host = url, port, host
        self.pid = validate_pid(server_pid)
        self.bundled: BundledServer | None = None
        self.ws_url = validate_ws_url(url) if url else None

    @property
    def description(self) -> str:
        return f"bundled chat app (pid {self.pid})" if self.bundled else self.ws_url

    def __enter__(self) -> "ServerUnderLoad":
        if self.url is None:
            check_port_free(self.host, self.port)
            self.bundled = BundledServer(self.host, self.port).__enter__()
            parts = urlsplit(self.bundled.url)
            self.ws_url = f"ws://{parts.netloc}/ws"
            self.pid = self.bundled.pid
        return self

    def __exit__(self, *exc) -> None:
        if self.bundled is not None:
            self.bundled.stop()
            self.bundled = None
