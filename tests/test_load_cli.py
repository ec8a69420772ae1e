"""Bad input to bench throughput / connections / baseline: one line, the documented exit code,
no process left behind."""

from __future__ import annotations

import resource
import socket

import pytest

from tests.conftest import bench_in_process, run_bench
from tests.test_cli import free_port, marked_env, one_line_error  # noqa: F401 (fixture)

# No browser; usage errors and refusals, one line and an exit code each: may run beside a timing test, in
# the background (tests/cpu_share.py).
pytestmark = pytest.mark.background


def usage_error(*argv: str) -> str:
    """The CLI in this process (bench_in_process) on input refused before anything starts: exit 2 and
    its one line."""
    proc = bench_in_process(*argv)
    assert proc.returncode == 2, proc.stderr
    line = one_line_error(proc)
    assert line.startswith("bench: error:"), line
    return line


@pytest.mark.parametrize("args, words", [
    (["throughput", "--url", "http://127.0.0.1:9/ws"], "ws://"),
    (["throughput", "--frame", '{"body":"x"}'], "{text}"),
    (["throughput", "--rate", "fast"], "or 'max'"),
    (["throughput", "--duration", "1", "--messages", "5"], "not allowed"),
    (["throughput", "--senders", "0"], "--senders"),
    (["throughput", "--rate-start", "500", "--rate-limit", "100"], "--rate-limit"),
    (["throughput", "--profile", "fixtures/uis/shadow/profile.toml"], "--profile goes with --url"),
    (["throughput", "--url", "ws://127.0.0.1:9/ws", "--profile", "no-such.toml"], "no such profile"),
    (["connections", "--server-pid", "1"], "--server-pid goes with --url"),
    (["connections", "--clients", "0"], "--clients"),
    (["connections", "--heartbeat", "smoke"], "--heartbeat"),
    (["connections", "--url", "ws://127.0.0.1:9/ws", "--server-pid", "999999999"], "no such process"),
    (["baseline", "--target", "speed=9"], "--target"),
    (["baseline", "--target", "throughput=fast"], "not a number"),
    (["baseline", "--budgets", "no-such-budgets.toml"], "no such file"),
    (["baseline", "--budgets", "baseline", "--target", "scroll_fps=sixty"], "not a number"),
])
def test_bad_input_is_one_line_exit_2(args, words):
    assert words in usage_error(*args)


def test_a_profile_without_a_send_frame_is_one_line_exit_2(tmp_path):
    profile = tmp_path / "page-only.toml"
    profile.write_text('[websocket]\nframe = \'{"type":"msg","text":"{text}"}\'\n')
    assert "no websocket.send" in usage_error("throughput", "--url", "ws://127.0.0.1:9/ws", "--profile", str(profile))


@pytest.mark.parametrize("command", ["throughput", "connections"])
def test_unreachable_url_is_one_line_exit_3(command, marked_env):
    env, _ = marked_env
    url = f"ws://127.0.0.1:{free_port()}/ws"
    proc = run_bench(command, "--url", url, env=env)
    assert proc.returncode == 3
    line = one_line_error(proc)
    assert url in line and "refused" in line


@pytest.mark.parametrize("command", ["throughput", "connections", "baseline"])
def test_port_in_use_is_one_line_exit_2(command, marked_env):
    env, _ = marked_env
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = run_bench(command, "--port", str(port), env=env)
    assert proc.returncode == 2
    assert f"port {port}" in one_line_error(proc)


def test_fd_limit_too_low_for_clients_is_one_line_exit_2(marked_env):
    def hard_limit_256():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    env, _ = marked_env
    proc = run_bench("connections", "--clients", "1000", env=env, preexec_fn=hard_limit_256)
    assert proc.returncode == 2
    line = one_line_error(proc)
    assert "--clients 1000" in line and "limit here is 256" in line and "ulimit -n" in line
