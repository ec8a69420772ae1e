"""Browsers served elsewhere, for tests: `playwright run-server`, and a Chromium with a DevTools port.

Both run in their own session (process group), are stopped by group, and
report the processes they leave, found through /proc, so a test can assert
that nothing outlives it.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _parents() -> dict[int, int]:
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()  # after "(comm)", which may hold spaces
        if fields[0] != "Z":  # zombies are gone already, only not reaped
            out[int(stat.parent.name)] = int(fields[1])
    return out


def descendants(pid: int) -> set[int]:
    """Live (non-zombie) processes below pid."""
    parents = _parents()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids) -> set[int]:
    """Those of pids that are still running (not zombies)."""
    return set(pids) & set(_parents())


def processes_mentioning(text: str) -> set[int]:
    """Live processes whose command line contains text (e.g. a user-data-dir)."""
    out = set()
    parents = _parents()
    for pid in parents:
        try:
            if text.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                out.add(pid)
        except OSError:
            continue
    return out - {os.getpid()}


def wait_until_gone(find, timeout_s: float = 10) -> set[int]:
    """Poll find() until it returns nothing or the time is up; returns what is left."""
    deadline = time.monotonic() + timeout_s
    left = find()
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = find()
    return left


def _read_line_matching(stream, pattern: re.Pattern, timeout_s: float) -> re.Match:
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as sel:
        sel.register(stream, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            line = stream.readline()
            if not line:
                break
            match = pattern.search(line)
            if match:
                return match
    raise RuntimeError(f"no line matching {pattern.pattern!r} within {timeout_s} s")


def _stop_group(process: subprocess.Popen, members=()) -> None:
    """SIGTERM to the process group, then SIGKILL to whatever of it (members: pids in the group
    besides the leader) is still there after a grace period. The leader is reaped."""
    def signal_group(sig) -> None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass

    signal_group(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        signal_group(signal.SIGKILL)
        process.wait()
    if wait_until_gone(lambda: alive(members)):
        # Seen once: a Node driver busy closing a browser outlived its SIGTERM.
        signal_group(signal.SIGKILL)


class PlaywrightServer:
    """`python -m playwright run-server --port P --host 127.0.0.1 --unsafe`.

    --unsafe lets a client choose the executable and the flags (launch options
    executablePath and args), so the server launches the Chromium the test
    found, with bench's flags; without it the server would need Playwright's
    own downloaded browser. The Python entry point runs the Node driver as a
    child, so it is stopped by process group; the browsers the driver
    launches are its descendants.
    """

    def __init__(self, unsafe: bool = True):
        self.port = free_port()
        self.unsafe = unsafe
        self.endpoint = f"ws://127.0.0.1:{self.port}/"
        self.process: subprocess.Popen | None = None
        self.driver_pid: int | None = None

    def __enter__(self) -> "PlaywrightServer":
        cmd = [sys.executable, "-m", "playwright", "run-server", "--port", str(self.port), "--host", "127.0.0.1"]
        self.process = subprocess.Popen(cmd + (["--unsafe"] if self.unsafe else []), stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            _read_line_matching(self.process.stdout, re.compile(r"Listening on (ws://\S+)"), 30)
        except BaseException:
            _stop_group(self.process, descendants(self.process.pid))
            raise
        children = descendants(self.process.pid)
        self.driver_pid = min(children) if children else self.process.pid
        return self

    def browsers(self) -> set[int]:
        """Processes the server has running besides its own driver."""
        return descendants(self.process.pid) - {self.driver_pid}

    def __exit__(self, *exc) -> None:
        _stop_group(self.process, {self.driver_pid})
        self.process.stdout.close()


class DevtoolsChromium:
    """A Chromium started as a user would, with --remote-debugging-port=0.

    The port it picked is read from the DevToolsActivePort file it writes in
    its profile directory (line 1: the port; line 2: the browser target's
    path). It is written a moment after the "DevTools listening" line on
    stderr, so the file is polled.
    """

    def __init__(self, path: str, flags: list[str]):
        self.path, self.flags = path, flags
        self.profile = tempfile.mkdtemp(prefix="bench-cdp-profile-")
        self.process: subprocess.Popen | None = None
        self.http_endpoint: str | None = None

    def __enter__(self) -> "DevtoolsChromium":
        sandbox = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium refuses root with a sandbox
        cmd = [self.path, "--headless", "--remote-debugging-port=0", f"--user-data-dir={self.profile}",
               *sandbox, *self.flags, "about:blank"]
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (port_file.exists() and port_file.read_text().strip()):
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.path} exited with {self.process.returncode} before listening")
            time.sleep(0.05)
        port = port_file.read_text().split()[0]
        self.http_endpoint = f"http://127.0.0.1:{port}"
        return self

    def alive(self) -> bool:
        return self.process.poll() is None

    def processes(self) -> set[int]:
        return processes_mentioning(self.profile)

    def __exit__(self, *exc) -> None:
        _stop_group(self.process)
        if not wait_until_gone(self.processes):
            shutil.rmtree(self.profile, ignore_errors=True)


def _served():
    with PlaywrightServer() as server:
        yield server
        leftover = server.browsers()
    assert not leftover, f"run-server still had processes below it: {leftover}"
    assert wait_until_gone(lambda: alive({server.process.pid, server.driver_pid})) == set()


@pytest.fixture(scope="module")
def playwright_server():
    """A `playwright run-server --unsafe` for a test module; nothing of it may outlive the module."""
    yield from _served()


@pytest.fixture(scope="session")
def session_playwright_server():
    """The same for the session, for a module whose tests do not run in a row: tests/test_remote_browser.py,
    whose timing test runs with the other timing tests and its shared tests later (tests/conftest.py)."""
    yield from _served()


def listening_ports(pid: int) -> set[int]:
    """TCP ports (IPv4 and IPv6) on which process pid has a listening socket, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # st 0A: TCP_LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def bundled_server_of(marker: str, timeout_s: float = 120) -> str:
    """The URL of the bundled chat server that a marked `bench` child started, once it listens.

    For a test that must act on the child's progress (interrupt it once it
    has measured something) rather than after a fixed sleep that a loaded
    machine may outlast.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        # BundledServer's command: `python -m bench serve ...` (cmdline arguments are NUL-separated)
        for pid in processes_mentioning("bench\0serve\0"):
            try:
                if marker.encode() not in Path(f"/proc/{pid}/environ").read_bytes():
                    continue
            except OSError:
                continue
            ports = listening_ports(pid)
            if ports:
                return f"http://127.0.0.1:{min(ports)}/"
        time.sleep(0.1)
    raise RuntimeError(f"no bundled chat server with {marker} listened within {timeout_s} s")


def wait_for_messages(server_url: str, count: int, process: subprocess.Popen, timeout_s: float = 120) -> None:
    """Poll the bundled server's /health until it has relayed count messages (or process ends)."""
    wait_for_health(server_url, "messages", count, process, timeout_s)


def wait_for_health(server_url: str, key: str, count: int, process: subprocess.Popen, timeout_s: float = 120) -> None:
    """Poll a chat server's /health until its `key` ("messages", "clients") reaches count (or process ends)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        with urllib.request.urlopen(server_url + "health", timeout=10) as response:
            if json.load(response)[key] >= count:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{server_url} did not reach {count} {key} within {timeout_s} s "
                       f"(process exit code {process.poll()})")
