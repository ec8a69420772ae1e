"""The relay fixture server (fixtures/relay/server.py) in a child process, for load tests."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

from bench.fixtures import fixture_path
from bench.server_process import BundledServer


class RelayServer(BundledServer):
    """`with RelayServer("--stall-ms", "50") as relay: relay.ws_url, relay.pid`."""

    name = "the relay fixture server"

    def __init__(self, *knobs: str):
        super().__init__()
        self.knobs = knobs

    def command(self) -> list[str]:
        return [sys.executable, str(fixture_path("relay/server.py")), "--host", self.host,
                "--port", str(self.port), *self.knobs]

    @property
    def ws_url(self) -> str:
        return f"ws://{urlsplit(self.url).netloc}/ws"
