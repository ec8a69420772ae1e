"""The Locust user class (bench/load/locustfile.py): one master and one worker process, headless, short.

Skipped, with the reason, when Locust (the optional extra) is not installed.
"""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys

import pytest

from bench.targets.server_process import BundledServer
from tests.conftest import REPO, TEST_FIXTURES
from tests.test_cli import free_port, marked_env  # noqa: F401 (fixture)

# Not `background`, though it starts no browser: its users must answer Engine.IO pings within 1 s and get
# every message back within the 3 s stop timeout, or a failure or disconnect row appears; a client starved
# beside a timing test (tests/cpu_share.py) misses both.
pytestmark = pytest.mark.skipif(importlib.util.find_spec("locust") is None,
                                reason="Locust is an optional extra: pip install -e '.[locust]'")


def locust(*args: str, env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "locust", "-f", str(REPO / "bench" / "load" / "locustfile.py"), *args],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_master_and_worker_report_bench_metric_names(chat_server, tmp_path, marked_env):
    env, _ = marked_env
    env = {**env, "PYTHONPATH": str(REPO)}
    port = free_port()
    ws_url = chat_server.url.replace("http://", "ws://") + "ws"
    prefix = tmp_path / "run"
    master = locust("--master", "--headless", "--expect-workers", "1", "--master-bind-port", str(port),
                    "--host", ws_url, "-u", "4", "-r", "4", "-t", "3s", "--csv", str(prefix),
                    "--bench-rate", "5", "--bench-heartbeat-ms", "250", "--stop-timeout", "3", env=env)
    worker = locust("--worker", "--master-host", "127.0.0.1", "--master-port", str(port), env=env)
    try:
        master_out, _ = master.communicate(timeout=90)
        worker_out, _ = worker.communicate(timeout=30)
    finally:
        for proc in (master, worker):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert master.returncode == 0, master_out[-3000:]
    assert worker.returncode == 0, worker_out[-3000:]
    with open(f"{prefix}_stats.csv", newline="") as f:
        rows = {(r["Type"], r["Name"]): r for r in csv.DictReader(f)}
    # 4 users x 5 msgs/s x ~3 s, each message back to its own sender; heartbeats every 250 ms.
    latency = rows[("WS", "throughput.latency_ms")]
    assert int(latency["Request Count"]) >= 20
    assert int(latency["Failure Count"]) == 0
    assert float(latency["Median Response Time"]) >= 0
    assert int(rows[("WS", "connections.rtt_ms")]["Request Count"]) >= 20
    assert int(rows[("WS", "connections.connect_ms")]["Request Count"]) == 4
    assert ("WS", "connections.disconnects") not in rows and ("WS", "throughput.errors") not in rows


def test_users_speak_socketio_through_a_profile(tmp_path, marked_env):
    """--bench-profile: the Engine.IO/Socket.IO handshake, pings answered (every second here, or the
    server drops the user), messages sent as 42["chat message",...] and found in decoded events, every
    second one coming back as a binary event (its text packet, then its attachment in a binary frame)."""
    env, _ = marked_env
    env = {**env, "PYTHONPATH": str(REPO)}
    prefix = tmp_path / "sio"
    script = str(TEST_FIXTURES / "uis/socketio/server.py")
    with BundledServer(script=script, args=["--ping-s", "1", "--attachment"]) as server:
        run = locust("--headless", "--host", server.url.replace("http://", "ws://"), "-u", "2", "-r", "10",
                     "-t", "5s", "--csv", str(prefix), "--bench-rate", "10", "--stop-timeout", "3",
                     "--bench-profile", str(TEST_FIXTURES / "uis/socketio/profile.toml"), env=env)
        try:
            out, _ = run.communicate(timeout=90)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
    assert run.returncode == 0, out[-3000:]
    with open(f"{prefix}_stats.csv", newline="") as f:
        rows = {(r["Type"], r["Name"]): r for r in csv.DictReader(f)}
    assert ("WS", "throughput.latency_ms") in rows, (list(rows), out[-2000:])
    latency = rows[("WS", "throughput.latency_ms")]
    assert int(latency["Request Count"]) >= 5 and int(latency["Failure Count"]) == 0
    assert ("WS", "connections.disconnects") not in rows and ("WS", "throughput.errors") not in rows
