"""The CLI as a user meets it: help, bad input, exit codes, no processes left behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from bench.browser import features
from bench.history.store import Store
from bench.results.records import SCHEMA

from tests.browser_servers import bundled_server_of, wait_for_messages
from tests.conftest import bench_in_process, bench_popen, run_bench


def processes_with_marker(marker: str) -> list[str]:
    """Live processes whose environment carries marker (children inherit it)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker.encode() in (proc / "environ").read_bytes():
                found.append(f"{proc.name} {(proc / 'cmdline').read_bytes()[:120]!r}")
        except OSError:
            continue
    return found


@pytest.fixture
def marked_env():
    env, marker = new_marker()
    yield env, marker
    assert_none_left(marker)


def new_marker() -> tuple[dict, str]:
    """An environment whose processes can be found again: this one's, with a BENCH_TEST_MARKER of its own."""
    marker = f"BENCH_TEST_MARKER={uuid.uuid4().hex}"
    key, value = marker.split("=")
    return {**os.environ, key: value}, marker


def assert_none_left(marker: str, wait_s: float = 10) -> None:
    """No process of the run marked with marker (its environment) is left, after up to wait_s to exit."""
    deadline = time.monotonic() + wait_s
    while processes_with_marker(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_with_marker(marker) == [], "processes outlived the command"


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("bench")
    return lines[0]


def test_help_explains_every_option_and_exit_codes():
    top = run_bench("--help")
    assert top.returncode == 0 and "exit codes" in top.stdout
    ui = bench_in_process("ui", "--help")
    assert ui.returncode == 0
    for option in ("--url", "--app-query", "--inject", "--bursts", "--burst-size", "--rate", "--warmup",
                   "--browser-path", "--headed", "--slowmo", "--cpu-throttle", "--json", "--scenario"):
        assert option in ui.stdout


def test_a_reader_that_goes_away_stops_bench_quietly_with_141(tmp_path):
    # `bench compare A B | head -1`: head exits after its line; bench's next write meets a closed pipe.
    # It printed a Python traceback; now nothing, and the shell's code for a tool whose reader went away.
    from tests.history_data import real_results, write

    base, new = (write(tmp_path / f"{name}.json", r) for name, r in zip(("base", "new"), real_results()))
    read, written = os.pipe()
    os.close(read)  # the reader is gone before bench writes its table
    try:
        proc = bench_popen("compare", str(base), str(new), stdout=written, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(written)
    _, stderr = proc.communicate(timeout=60)
    assert (proc.returncode, stderr) == (141, ""), stderr
    # Output that is not a closed pipe is untouched: the same command, read to the end.
    whole = run_bench("compare", str(base), str(new))
    assert whole.returncode == 0 and "paint.latency_ms" in whole.stdout, whole.stderr


def test_an_unknown_option_is_one_line_naming_it_once():
    # Through `python -m bench`, as a user's shell runs it (other usage errors: bench_in_process).
    proc = run_bench("ui", "--no-such-option")
    assert proc.returncode == 2
    line = one_line_error(proc)
    assert line == "bench: error: unrecognized arguments: --no-such-option", line


def test_bad_browser_path_is_one_line_exit_2(marked_env):
    env, _ = marked_env
    proc = run_bench("ui", "--browser-path", "/nonexistent/chromium", env=env)
    assert proc.returncode == 2
    line = one_line_error(proc)
    assert "/nonexistent/chromium" in line and "install" in line


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_url_is_one_line_exit_3(marked_env):
    env, _ = marked_env
    url = f"http://127.0.0.1:{free_port()}/"
    proc = run_bench("ui", "--url", url, "--timeout", "10", env=env)
    assert proc.returncode == 3
    line = one_line_error(proc)
    assert url in line and "ERR_CONNECTION_REFUSED" in line
    assert line.endswith("(nothing listens there: start the chat app first, or give its address with --url)")


def test_port_in_use_is_one_line_exit_2(marked_env):
    env, _ = marked_env
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = run_bench("serve", "--port", str(port), env=env, timeout=30)
    assert proc.returncode == 2
    assert f"port {port}" in one_line_error(proc)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """One `bench ui` as a user runs it (bundled app, burst and a short scroll pass, --json, --history),
    read by the tests below, each for its own part of the output: one browser start instead of four.
    Its environment is marked: no process of the run may outlive it."""
    tmp = tmp_path_factory.mktemp("cli-run")
    out, db = tmp / "r.json", tmp / "ui.sqlite"
    env, marker = new_marker()
    proc = run_bench("ui", "--scenario", "burst,scroll", "--bursts", "3", "--burst-size", "20", "--warmup", "0",
                     "--scroll-messages", "200", "--scroll-distance", "2000", "--scroll-speed", "1000",
                     "--scroll-repeat", "1", "--no-progress", "--json", str(out), "--history", str(db),
                     env=env)
    assert proc.returncode == 0, proc.stderr
    assert_none_left(marker)
    return {"proc": proc, "data": json.loads(out.read_text()), "db": db}


def test_bench_ui_end_to_end_writes_schema_with_raw_samples(cli_run):
    proc, data = cli_run["proc"], cli_run["data"]
    assert "paint.latency_ms" in proc.stdout and "bench ui took" in proc.stdout
    assert data["schema"] == SCHEMA and data["partial"] is False
    latency = data["metrics"]["paint.latency_ms"]
    assert latency["unit"] == "ms" and latency["n"] == len(latency["samples"]) > 0
    for key in ("p50", "p95", "p99", "max", "mean"):
        assert latency[key] is not None
    env_ = data["env"]
    assert env_["headless"] is True and env_["chromium_version"] and env_["viewport"] == {"width": 1280, "height": 800}
    assert data["config"]["scenarios"]["burst"]["size"] == 20
    # The rest of the machine's load, once per repetition, with its record (bench.browser.host_load).
    load = data["metrics"]["host.other_cpu_pct"]
    assert load["n"] == 1 and 0 <= load["samples"][0] <= 100
    assert data["records"]["host_load"][0]["seconds"] > 0


def test_cli_prints_where_the_time_goes_and_keeps_raw_samples(cli_run):
    proc, data = cli_run["proc"], cli_run["data"]
    assert "where the time goes: burst (medians of 3 bursts)" in proc.stdout
    assert "main thread busy" in proc.stdout and "renderer process  CPU" in proc.stdout
    for name in ("render.main_busy_pct", "render.script_ms", "render.style_ms", "render.layout_ms",
                 "render.layouts_per_message", "render.style_recalcs_per_message", "render.renderer_cpu_pct",
                 "render.renderer_rss_mb"):
        assert data["metrics"][name]["n"] == 3 and len(data["metrics"][name]["samples"]) == 3, name
    assert "render.paint_ms" not in data["metrics"]  # no trace run in this command: left out
    assert len([r for r in data["records"]["render"] if r["scenario"] == "burst"]) == 3
    assert "/proc/<pid>/stat" in data["env"]["renderer_process"]["cpu"]
    assert data["env"]["features_off"] == list(features.OFF)  # the omnibox preload (bench.browser.features)
    assert data["config"]["scenarios"]["burst"]["render_cost"] is True


def test_cli_burst_and_scroll_share_one_table(cli_run) -> None:
    proc, data = cli_run["proc"], cli_run["data"]
    for name in ("paint.latency_ms", "scroll.fps", "scroll.frame_ms", "scroll.dropped_pct",
                 "scroll.long_frames", "scroll.refresh_ms"):
        assert name in proc.stdout
    assert data["metrics"]["scroll.fps"]["n"] == 2 and data["metrics"]["scroll.frame_ms"]["n"] >= 100
    assert len(data["records"]["scroll"]) == 2
    assert data["config"]["scenarios"]["scroll"]["messages"] == 200


def test_bench_ui_history_records_the_run(cli_run):
    assert "history: recorded run 1 in" in cli_run["proc"].stdout
    with Store(str(cli_run["db"])) as store:
        (run,) = store.runs()
        assert store.metrics([run.id])[run.id]["paint.latency_ms"]["n"] > 0
        assert store.results(run.id)["env"]["headless"] is True


def test_url_of_a_running_bundled_app(chat_server, tmp_path):
    proc = run_bench("ui", "--url", chat_server.url, "--scenario", "burst", "--bursts", "1",
                     "--burst-size", "10", "--app-query", "render=batched")
    assert proc.returncode == 0, proc.stderr
    assert "paint.latency_ms" in proc.stdout


def test_interrupt_keeps_partial_results_and_leaves_no_process(tmp_path, marked_env):
    env, marker = marked_env
    out = tmp_path / "partial.json"
    # Paced, so the run lasts long enough to be interrupted mid-way.
    proc = bench_popen("ui", "--scenario", "burst", "--bursts", "50", "--burst-size", "5", "--rate", "20",
                       "--warmup", "0", "--inject", "server", "--json", str(out),
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Interrupted once a few bursts are measured (3 of 50 through its server), however long the
    # browser takes to start on a loaded machine.
    try:
        wait_for_messages(bundled_server_of(marker), 15, proc)
    finally:
        proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    data = json.loads(out.read_text())
    assert data["partial"] is True
    assert 0 < data["metrics"]["paint.injected"]["sum"] < 250


def test_interrupt_while_the_page_load_hangs_stops_at_once(marked_env):
    """Ctrl-C while the browser waits on a server that accepted the connection and never answers: bench
    stops at once, not when the load times out (--timeout 120). Nothing reaches Playwright's loop then, and
    the kernel may hand the signal to a thread that is not the main one (bench/browser/interrupt.py: it
    waited out the timeout, 28 s of 30, before the loop watched Python's wakeup fd)."""
    import threading

    env, _ = marked_env
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    try:
        proc = bench_popen("ui", "--url", f"http://127.0.0.1:{listener.getsockname()[1]}/", "--timeout", "120",
                           "--no-progress", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not accepted:  # the browser is loading the page
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr and proc.stderr.read()
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        stdout, stderr = proc.communicate(timeout=120)
        waited = time.monotonic() - sent
    finally:
        listener.close()
        for conn, _ in accepted:
            conn.close()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert waited < 15, f"{waited:.1f} s from Ctrl-C to exit"


def test_interrupt_after_measuring_keeps_complete_results_and_says_so(tmp_path, marked_env):
    # Ctrl-C in the unmeasured trace passes, after every measured repetition: the results are all
    # there (partial: false), so bench must not call them partial; the archive was never made.
    env, _ = marked_env
    out, traces = tmp_path / "complete.json", tmp_path / "traces"
    # Paced (3 bursts of 10 at 20 msgs/s), so the trace passes last about 1.5 s after their line.
    proc = bench_popen("ui", "--scenario", "burst", "--bursts", "3", "--burst-size", "10", "--rate", "20",
                       "--warmup", "0", "--no-render-cost", "--no-progress", "--trace", "on",
                       "--trace-dir", str(traces), "--json", str(out),
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if line.startswith("trace: recording the unmeasured trace passes"):
                break
    finally:
        proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    stderr = "".join(seen) + stderr
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert f"results: {out} (complete: stopped after measuring" in stdout, stdout
    assert "partial results" not in stdout and "PARTIAL" not in stdout, stdout
    data = json.loads(out.read_text())
    assert data["partial"] is False
    assert data["metrics"]["paint.injected"]["sum"] == 30
    assert not traces.exists() or not any(traces.iterdir())  # no archive: the passes were cut short


def test_a_page_that_stops_answering_is_one_line_exit_3_and_keeps_what_was_measured(tmp_path, marked_env):
    # hang_after=30: the warm-up burst and two measured bursts of 10 are handled, then the page's main
    # thread never returns (an endless loop in its message handler). Playwright's evaluate has no
    # timeout: without bench's watchdog (bench/browser/watchdog.py) the run waited for ever.
    env, _ = marked_env
    out = tmp_path / "partial.json"
    started = time.monotonic()
    proc = run_bench("ui", "--scenario", "burst", "--bursts", "5", "--burst-size", "10", "--warmup", "1",
                     "--app-query", "hang_after=30", "--timeout", "3", "--no-progress", "--json", str(out),
                     env=env, timeout=90)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    line = one_line_error(proc)
    assert line.startswith("bench: error: the page stopped answering: its main thread has not been free "
                           "for 3 s (--timeout)"), line
    # Found within the limit and two checks of it, plus the browser's start (a wide bound: load only delays).
    assert time.monotonic() - started < 45
    data = json.loads(out.read_text())
    assert data["partial"] is True
    assert data["metrics"]["paint.injected"]["sum"] == 20  # the two bursts measured before the hang
    # marked_env: no Chromium of the run is left

