"""Getting messages to the page: through its own WebSocket, or through its server."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

from .errors import TargetError
from .messages import Message
from .target import Target, render_template, template_format


class InterceptInjector:
    """Adds frames to the page's real socket (Playwright route_web_socket).

    connect_to_server() keeps the app's own traffic flowing both ways; our
    frames are added on the server->page direction, as if the server sent them.
    Must be attached before any init script that wraps WebSocket
    (DESIGN.md section 7).
    """

    def __init__(self, target: Target):
        self.target = target
        self.routes: list = []
        self.server_sides: list = []  # route.connect_to_server() of each route, same order

    def attach(self, page) -> None:
        page.route_web_socket(self.target.ws_match, self._on_route)

    def _on_route(self, route) -> None:
        self.server_sides.append(route.connect_to_server())
        self.routes.append(route)

    @property
    def connected(self) -> bool:
        return bool(self.routes)

    def send(self, messages: list[Message]) -> None:
        if not self.routes:
            raise TargetError(f"no page WebSocket matched {self.target.ws_match!r}")
        route = self.routes[-1]  # the page's newest socket
        for message in messages:
            route.send(render_template(self.target.frame, message, self.target.frame_format))

    def close(self) -> None:
        self.routes.clear()
        self.server_sides.clear()


class ServerInjector:
    """POSTs each message to the chat server, which broadcasts it to the page."""

    def __init__(self, target: Target, timeout_s: float = 10):
        if not target.send_url:
            raise TargetError("inject = server needs a send URL (server.send_url)")
        self.target = target
        parts = urlsplit(target.send_url)
        self._path = parts.path or "/"
        if parts.query:
            self._path += "?" + parts.query
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self._conn = cls(parts.netloc, timeout=timeout_s)  # kept alive across posts
        self._body_format = template_format(target.send_body)

    def attach(self, page) -> None:
        pass

    connected = True

    def send(self, messages: list[Message]) -> None:
        for message in messages:
            body = render_template(self.target.send_body, message, self._body_format).encode()
            try:
                self._conn.request("POST", self._path, body, {"Content-Type": "application/json"})
                response = self._conn.getresponse()
                response.read()
            except OSError as exc:
                raise TargetError(f"POST {self.target.send_url} failed: {exc}") from None
            if response.status >= 300:
                raise TargetError(f"POST {self.target.send_url} answered HTTP {response.status}")

    def close(self) -> None:
        self._conn.close()


def make_injector(target: Target):
    if target.inject == "server":
        return ServerInjector(target)
    return InterceptInjector(target)
