"""`bench connections` against the bundled server and relay fixtures with known behaviour.

Real CLI, real worker processes, real server processes. Heartbeat intervals
are short (200 ms) so a test collects enough heartbeats in a second or two.
"""

from __future__ import annotations

import json
import re
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from bench.targets.server_process import BundledServer, RelayServer

from tests.browser_servers import bundled_server_of
from tests.conftest import REPO, bench_popen, interrupted_results, run_bench
from tests.test_cli import marked_env  # noqa: F401 (fixture)

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


def test_interrupt_keeps_the_connect_phase_and_the_heartbeats_so_far(tmp_path, marked_env):
    # Ctrl-C 2 s after the 10 clients connected, in 30 s of heartbeats: the connect phase and the
    # heartbeats of those first seconds (the workers' counts, cut short) are written, marked partial.
    env, marker = marked_env
    out = tmp_path / "partial.json"
    proc = bench_popen("connections", "--clients", "10", "--interval", "200", "--duration", "30", "--json",
                       str(out), "--no-progress", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = bundled_server_of(marker)
        deadline = time.monotonic() + 60
        while clients_connected(url) < 10:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        time.sleep(2.0)  # 0.6 s to the first heartbeat, then about 1.4 s of them
    finally:
        proc.send_signal(signal.SIGINT)
    data = interrupted_results(proc, out)
    assert value(data, "connections.clients") == 10 and value(data, "connections.connect_errors") == 0
    assert data["metrics"]["connections.connect_ms"]["n"] == 10
    assert value(data, "connections.server_bytes_per_connection") > 0
    window = float(re.match(r"interrupted (\S+) s into 30 s of heartbeats", data["notes"][0]).group(1))
    assert 0 < window < 30
    sent = value(data, "connections.heartbeats_sent")
    # Each client ticks every 200 ms from its offset: at most window / 0.2 + 1 heartbeats, all answered.
    assert 0 < sent <= 10 * (window / 0.2 + 1)
    assert value(data, "connections.heartbeats_answered") == sent
    assert data["metrics"]["connections.rtt_ms"]["n"] == sent
    assert value(data, "connections.disconnects") == 0  # the server going away after the interrupt is not one


def test_interrupt_while_connecting_keeps_what_connected(tmp_path, marked_env):
    # A server that accepts TCP but never answers the WebSocket handshake: Ctrl-C once every client's
    # connection is accepted writes the connect phase as it stands (0 connected, 6 still connecting).
    env, _ = marked_env
    out = tmp_path / "partial.json"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(60)
        proc = bench_popen("connections", "--url", f"ws://127.0.0.1:{listener.getsockname()[1]}/ws",
                           "--clients", "6", "--json", str(out), "--no-progress", env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        accepted = []
        try:
            while len(accepted) < 6:
                accepted.append(listener.accept()[0])
        finally:
            proc.send_signal(signal.SIGINT)
        data = interrupted_results(proc, out)
        for conn in accepted:
            conn.close()
    assert value(data, "connections.clients") == 0 and value(data, "connections.connect_errors") == 0
    assert data["notes"][0] == ("interrupted while connecting: 0 of 6 clients connected, 0 failed, "
                                "6 still connecting; no heartbeat was sent")
    assert "connections.heartbeats_sent" not in data["metrics"]


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
