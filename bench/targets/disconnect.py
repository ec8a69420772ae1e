"""Closing the page's WebSocket from the far side: a clean close or an abnormal one.

intercept (Playwright WebSocketRoute, any target):
  clean     route.close(1000, reason): the page gets a close event with code
            1000; Playwright forwards the close to the server leg.
  abnormal  route.close(1006): the page gets code 1006, what a browser reports
            when a connection drops without a close frame. Playwright would
            forward 1006 to the server leg too, but Chromium's WebSocket.close()
            refuses that code and the forward fails silently, leaving the
            server connection open; so the server leg is closed here
            explicitly. Caveat: Playwright marks every route-made close
            wasClean=true, even this one.
server (the target's disconnect endpoint, the bundled app's POST /api/disconnect):
  clean     {"mode": "close"}: the server sends a close frame (1000).
  abnormal  {"mode": "abort"}: the server cuts the TCP connection; the browser
            reports 1006 with wasClean=false, a real network drop.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from ..errors import TargetError, UsageError
from .target import Target

CLOSE_KINDS = ("clean", "abnormal")
CLEAN_CLOSE_CODE = 1000
ABNORMAL_CLOSE_CODE = 1006  # "abnormal closure": no close frame was received
CLEAN_CLOSE_REASON = "bench: clean close"


class RouteDisconnector:
    """intercept: close the page's newest routed socket through its route."""

    def __init__(self, injector):
        self.injector = injector

    def disconnect(self, kind: str) -> None:
        if not self.injector.sockets:
            raise TargetError(f"no page WebSocket matched {self.injector.target.ws_match!r}")
        newest = self.injector.sockets[-1]
        route, server_side = newest.route, newest.server
        if kind == "clean":
            route.close(code=CLEAN_CLOSE_CODE, reason=CLEAN_CLOSE_REASON)
        else:
            route.close(code=ABNORMAL_CLOSE_CODE)
            server_side.close()


class ServerDisconnector:
    """server: ask the target's server to drop its clients."""

    MODES = {"clean": "close", "abnormal": "abort"}

    def __init__(self, target: Target, timeout_s: float = 10):
        if not target.disconnect_url:
            raise UsageError("the cycles scenario with --inject server needs the target's disconnect "
                             "endpoint (server.disconnect_url); use --inject intercept")
        self.url, self.timeout_s = target.disconnect_url, timeout_s

    def disconnect(self, kind: str) -> None:
        body = json.dumps({"mode": self.MODES[kind]}).encode()
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise TargetError(f"POST {self.url} answered HTTP {exc.code}") from None
        except OSError as exc:
            raise TargetError(f"POST {self.url} failed: {exc}") from None


def make_disconnector(session):
    if session.target.inject == "server":
        return ServerDisconnector(session.target)
    return RouteDisconnector(session.injector)
