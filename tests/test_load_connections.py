"""`bench connections` against the bundled server and relay fixtures with known behaviour.

Real CLI, real worker processes, real server processes. Heartbeat intervals
are short (200 ms) so a test collects enough heartbeats in a second or two.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import urllib.request

from bench.targets.server_process import BundledServer, RelayServer

from tests.conftest import REPO, run_bench

MIB = 1024 * 1024


def connections(tmp_path, *args: str, env=None, **kwargs) -> tuple[dict, str]:
    out = tmp_path / "connections.json"
    proc = run_bench("connections", *args, "--json", str(out), "--no-progress", env=env, **kwargs)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(out.read_text()), proc.stdout


def value(data: dict, name: str) -> float:
    m = data["metrics"][name]
    return m["sum"] if m["unit"] == "count" else m["samples"][0]


def test_bundled_server_answers_every_heartbeat(tmp_path):
    data, stdout = connections(tmp_path, "--clients", "20", "--interval", "200", "--duration", "1")
    # Each client ticks at its offset (< 200 ms) + k x 200 ms while < 1 s: 5 ticks.
    assert value(data, "connections.heartbeats_sent") == 20 * 5
    assert value(data, "connections.heartbeats_answered") == 20 * 5
    assert value(data, "connections.stability_pct") == 100
    assert data["metrics"]["connections.rtt_ms"]["n"] == 100
    assert data["metrics"]["connections.rtt_ms"]["min"] > 0
    assert data["metrics"]["connections.connect_ms"]["n"] == 20
    assert value(data, "connections.disconnects") == 0 and value(data, "connections.connect_errors") == 0
    # The bundled app's memory is read from /proc: some positive growth per client.
    assert value(data, "connections.server_bytes_per_connection") > 0
    rss = data["records"]["connections.server_rss_bytes"][0]
    assert rss["connected"] > rss["before"] > 0
    assert "bench connections took" in stdout


def test_server_bytes_per_connection_known_answer(tmp_path):
    # Known answer: the relay holds 1 MiB of touched memory per connection.
    # Its own per-connection cost (aiohttp objects, buffers) comes on top:
    # a few tens of KiB measured, so the band is 1.0 to 1.25 MiB.
    with RelayServer("--bytes-per-connection", str(MIB)) as relay:
        data, _ = connections(tmp_path, "--url", relay.ws_url, "--server-pid", str(relay.pid),
                              "--clients", "20", "--heartbeat", "ws-ping", "--interval", "200",
                              "--duration", "0.4")
    per_connection = value(data, "connections.server_bytes_per_connection")
    print(f"measured {per_connection / MIB:.3f} MiB per connection")
    assert MIB <= per_connection <= 1.25 * MIB
    # WebSocket ping/pong, answered by the server's WebSocket layer itself: 20 clients x 2.
    assert value(data, "connections.heartbeats_answered") == value(data, "connections.heartbeats_sent") == 40


def test_silent_server_gives_zero_and_a_clear_line(tmp_path):
    # The sink answers no app heartbeat (aiohttp would answer WebSocket pings:
    # see the memory test, which uses --heartbeat ws-ping on the relay).
    with RelayServer("--mode", "sink") as sink:
        silent, stdout = connections(tmp_path, "--url", sink.ws_url, "--clients", "5", "--interval", "200",
                                     "--duration", "0.6")
    assert value(silent, "connections.heartbeats_sent") == 15
    assert value(silent, "connections.heartbeats_answered") == 0
    assert value(silent, "connections.stability_pct") == 0
    assert silent["metrics"]["connections.rtt_ms"]["n"] == 0
    assert "NO HEARTBEAT WAS ANSWERED" in stdout and "--heartbeat ws-ping" in stdout
    # No --server-pid for a --url server: memory is not available, and the line says why.
    assert "connections.server_bytes_per_connection" not in silent["metrics"]
    assert "server_bytes_per_connection: not available: the server's process is not known" in stdout


def clients_connected(base_url: str) -> int:
    with urllib.request.urlopen(base_url + "health", timeout=5) as response:
        return json.load(response)["clients"]


def test_server_killed_mid_run_is_disconnects_and_a_stability_drop(tmp_path):
    out = tmp_path / "killed.json"
    with BundledServer() as server:
        ws_url = server.url.replace("http://", "ws://") + "ws"
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench", "connections", "--url", ws_url, "--server-pid", str(server.pid),
             "--clients", "20", "--interval", "200", "--duration", "3", "--json", str(out), "--no-progress"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while clients_connected(server.url) < 20:
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
            time.sleep(0.05)
        time.sleep(1.5)  # ~1 s of heartbeats (0.3 s settle + 0.3 s start delay before them)
        server.process.kill()
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    data = json.loads(out.read_text())
    assert value(data, "connections.disconnects") == 20
    stability = value(data, "connections.stability_pct")
    # About 1 s of 3 s answered: 33 %; the band allows a slow start on a loaded machine.
    assert 5 < stability < 60
    assert value(data, "connections.heartbeats_sent") == 20 * 15  # due ticks count, answered or not
    assert "20 of 20 clients were disconnected by the server" in stdout
    # Read while it ran; the end-of-run reading says why it is missing.
    assert "connections.server_bytes_per_connection" in data["metrics"]
    assert "has exited" in data["records"]["connections.server_rss_bytes"][0]["unreadable"]


def lowered_fd_limit(soft: int, hard: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return apply


def test_a_thousand_clients_with_the_soft_fd_limit_raised(tmp_path):
    # Started with a soft limit of 256 open files: too few for 1,000 clients,
    # so the command raises it to what it needs (the hard limit allows) and says so.
    data, stdout = connections(tmp_path, "--clients", "1000", "--interval", "500", "--duration", "1",
                               preexec_fn=lowered_fd_limit(256, 4096))
    assert "raised the open-file limit from 256 to 1100" in stdout
    assert value(data, "connections.clients") == 1000
    assert value(data, "connections.connect_errors") == 0
    assert value(data, "connections.disconnects") == 0
    assert value(data, "connections.heartbeats_sent") == 2000
    # Every heartbeat should be answered; the band allows a few answers that a
    # loaded machine delivers after the 1 s grace.
    assert value(data, "connections.stability_pct") >= 99
    print(stdout)
