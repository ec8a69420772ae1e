"""Getting messages to the page: through its own WebSocket, or through its server."""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import TargetError
from .messages import Message
from .target import Target, render_template, template_format


SOCKET_GRACE_S = 5.0  # a page socket that is gone this long, with no new one, is an error
_POLL_MS = 50
RECHECK_S = 0.5


@dataclass
class RoutedSocket:
    """One page socket Playwright routed: the route (the page's side) and its connection to the real server."""
    route: object   # playwright WebSocketRoute: send() reaches the page
    server: object  # route.connect_to_server(): the app's own traffic keeps flowing both ways


class InterceptInjector:
    """Adds frames to the page's real socket (Playwright route_web_socket).

    connect_to_server() keeps the app's own traffic flowing both ways; our
    frames are added on the server->page direction, as if the server sent them,
    encoded by the target's protocol codec (bench/targets/protocols/). Must be
    attached before any init script that wraps WebSocket (docs/protocols.md).

    The page's socket is followed: every send goes to the newest routed
    socket that is open and has finished its protocol's handshake (for
    Socket.IO on its default transports: upgraded from long-polling). When
    the page has none, send() waits up to grace_s for one; after that the
    socket is reported dead (TargetError: exit 3).
    """

    def __init__(self, target: Target, grace_s: float = SOCKET_GRACE_S):
        self.target = target
        self.codec = target.codec()
        self.grace_s = grace_s
        self.sockets: list[RoutedSocket] = []  # every socket the page opened that matched, oldest first
        self.notes: list[str] = []
        self.no_socket: set[str] = set()  # tokens not delivered: no page socket was open, or it closed
        self.socket_id: int | None = None  # the page's id (paint.js) of the socket last injected into
        self.sent_on: dict[str, int] = {}  # token -> the page's id of the socket it was injected into
        self._ready_route = None
        self._checked_at = 0.0

    def attach(self, page) -> None:
        self.page = page
        page.route_web_socket(self.target.ws_match, self._on_route)

    def _on_route(self, route) -> None:
        self.sockets.append(RoutedSocket(route, route.connect_to_server()))

    @property
    def connected(self) -> bool:
        return bool(self.sockets)

    def _infos(self) -> list[dict]:
        return self.page.evaluate("() => window.__bench.sockets()")

    def _live_route(self):
        """The newest routed socket that is open and ready for chat frames, else None (and why)."""
        if not self.sockets:
            return None, "no page WebSocket matched " + repr(self.target.ws_match)
        route = self.sockets[-1].route
        all_infos = self._infos()
        infos = [i for i in all_infos if i["url"] == route.url]
        info = infos[-1] if infos else None
        if info is None or info["opened"] is None or info["closed"] is not None:
            return None, self._why_dead(all_infos, route.url)
        if route is self._ready_route:
            self.socket_id = info["id"]
            return route, ""
        ready, why = self.codec.page_ready(route.url, info["sent"], info["frames"])
        if not ready:
            return None, why
        self._ready_route = route
        self.socket_id = info["id"]
        note = self.codec.ready_note(route.url, info["sent"])
        if note and note not in self.notes:
            self.notes.append(note)
        return route, ""

    def _why_dead(self, infos: list[dict], url: str) -> str:
        """One line naming the last socket that was open and its close code."""
        routed = {s.route.url for s in self.sockets}
        opened = [i for i in infos if i["url"] in routed and i["opened"] is not None]
        if not opened:
            return f"the page's WebSocket {url} has not opened yet"
        last = opened[-1]
        if last["closed"] is None:
            return f"the page's WebSocket {last['url']} is open but not the newest"
        attempts = sum(1 for i in infos[last["id"] + 1:] if i["url"] in routed and i["opened"] is None)
        tried = f" ({attempts} reconnect attempt(s) did not open)" if attempts else ""
        return f"the page's WebSocket {last['url']} closed (code {last['closeCode']}){tried}"

    def wait_socket(self, grace_s: float | None = None):
        """The live route, waiting up to grace_s for the page to open (or upgrade) one."""
        grace_s = self.grace_s if grace_s is None else grace_s
        deadline = time.monotonic() + grace_s
        while True:
            route, why = self._live_route()
            if route is not None:
                return route
            if time.monotonic() >= deadline:
                raise TargetError(f"{why}, and no new socket came within {grace_s:g} s")
            self.page.wait_for_timeout(_POLL_MS)

    def send(self, messages: list[Message], wait: bool = True) -> None:
        """Inject messages into the page's live socket.

        wait=False (paced sends): with no live socket the messages are not
        sent but counted in no_socket; ensure_socket() later decides whether
        the socket came back.
        """
        route = self._ready_route if self._ready_route is not None and self._still_open(wait) else None
        if route is None:
            if wait:
                route = self.wait_socket()
            else:
                route, _ = self._live_route()
                if route is None:
                    self.no_socket.update(m.token for m in messages)
                    return
        socket_id = self.socket_id
        for message in messages:
            route.send(self.target.encode(message, self.codec))
            self.sent_on[message.token] = socket_id

    def sockets_of(self, tokens: list[str]) -> list[int | None]:
        """The page's id of the socket each token was injected into (None: not injected)."""
        return [self.sent_on.get(t) for t in tokens]

    def lost_with_socket(self, tokens: list[str]) -> set[str]:
        """Of these tokens (not received), those injected into a socket that has closed since, and forget them."""
        closed = {i["id"] for i in self._infos() if i["closed"] is not None}
        return {t for t in tokens if self.sent_on.pop(t, None) in closed}

    def forget_sent(self, tokens: list[str]) -> None:
        for token in tokens:
            self.sent_on.pop(token, None)

    def _still_open(self, wait: bool = True) -> bool:
        if self._ready_route is not self.sockets[-1].route:
            return False
        # Paced sends (one message each) check the page at most every
        # RECHECK_S: each check is a task on the page's main thread. A socket
        # that closed meanwhile is caught by the quiet wait (socket_id). Only
        # a check that found it open is trusted until the next one.
        now = time.monotonic()
        if not wait and now - self._checked_at < RECHECK_S:
            return True
        infos = [i for i in self._infos() if i["url"] == self._ready_route.url]
        still_open = bool(infos) and infos[-1]["closed"] is None and infos[-1]["id"] == self.socket_id
        self._checked_at = now if still_open else 0.0
        return still_open

    def ensure_socket(self) -> None:
        """Raise TargetError unless the page has a live socket (after grace_s at most)."""
        self.wait_socket()

    def close(self) -> None:
        self.sockets.clear()
        self._ready_route = None


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
    socket_id = None
    notes: list[str] = []
    no_socket: frozenset = frozenset()

    def ensure_socket(self) -> None:
        pass

    def sockets_of(self, tokens: list[str]) -> None:
        return None  # the server's delivery is not ours to follow

    def lost_with_socket(self, tokens: list[str]) -> set[str]:
        return set()

    def forget_sent(self, tokens: list[str]) -> None:
        pass

    def send(self, messages: list[Message], wait: bool = True) -> None:
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
