"""The bundled chat server in a child process, stopped when the command ends.

A separate process, not a thread of the harness: the harness's own work must
not delay the server, and later measurements need the server's pid.
"""

from __future__ import annotations

import ctypes
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

from ..errors import TargetError
from .bundled import fixture_path

LISTENING_RE = re.compile(r"listening on (http://\S+)")
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: the child gets SIGTERM if the harness dies, even by SIGKILL."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


class BundledServer:
    """`with BundledServer() as server: server.url` — a running reference chat app.

    With script=PATH it runs another fixture server instead (same contract:
    --host/--port, then one "listening on URL" line on stdout); args are added
    to its command line (a fixture server's knobs).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, start_timeout_s: float = 20,
                 script: str | None = None, args: Sequence[str] = ()):
        self.host, self.port, self.start_timeout_s = host, port, start_timeout_s
        self.script = script
        self.args = list(args)
        self.process: subprocess.Popen | None = None
        self.url: str | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def __enter__(self) -> "BundledServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def command(self) -> list[str]:
        """The server's command line; it must print "listening on http://HOST:PORT/"."""
        program = [self.script] if self.script else ["-m", "bench", "serve"]
        return [sys.executable, *program, "--host", self.host, "--port", str(self.port), *self.args]

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Start the process without waiting for it to listen (the caller may start a browser meanwhile)."""
        cmd = self.command()
        # stderr goes to a file: a pipe nobody reads could fill and stall the server.
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )

    def wait_ready(self) -> str:
        """The server's URL once it listens; stopped (and TargetError) if it does not."""
        try:
            self.url = self._wait_for_listening_line()
        except BaseException:
            self.stop()
            raise
        return self.url

    def _wait_for_listening_line(self) -> str:
        assert self.process and self.process.stdout
        deadline = time.monotonic() + self.start_timeout_s
        with selectors.DefaultSelector() as sel:
            sel.register(self.process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                    break
                line = self.process.stdout.readline()
                if not line:  # exited before listening
                    self.process.wait()
                    self._stderr.seek(0)
                    err = self._stderr.read().strip().splitlines()
                    detail = err[-1] if err else f"exit code {self.process.wait()}"
                    raise TargetError(f"{self.name} did not start: {detail}")
                match = LISTENING_RE.search(line)
                if match:
                    return match.group(1)
        raise TargetError(f"{self.name} did not start within {self.start_timeout_s:g} s")

    @property
    def name(self) -> str:
        """For error messages."""
        return f"the chat server {self.script}" if self.script else "the bundled chat server"

    def signal_stop(self) -> None:
        """Ask the process to exit (SIGTERM) without waiting; stop() then waits for it."""
        if self.process and self.process.poll() is None:
            self.process.terminate()

    def stop(self) -> None:
        if not self.process:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        self._stderr.close()
        self.process = None


class RelayServer(BundledServer):
    """The relay fixture (bench/targets/data/relay/server.py): a minimal fast server with knobs for known defects.

    `with RelayServer("--stall-ms", "50") as relay: relay.ws_url, relay.pid`
    """

    name = "the relay fixture server"

    def __init__(self, *knobs: str):
        super().__init__(script=str(fixture_path("relay/server.py")), args=knobs)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "ws"
