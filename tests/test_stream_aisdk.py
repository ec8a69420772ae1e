"""The stream scenario on an assistant bench did not shape: the Vercel AI SDK's useChat in React 19.

fixtures/uis/aisdk: the SDK's own client (fetch + its SSE parser) reads the
reply, React re-renders the message list per chunk, and the server speaks the
SDK's UI message stream, which sends control events (start, start-step,
text-start) as soon as the request comes and the first token after ttft_ms.
Measured through its profile only, as a user would run it.
"""

from __future__ import annotations

import importlib.util
import json

from bench.targets.server_process import BundledServer
from tests.conftest import UIS_DIR, run_bench

SERVER = UIS_DIR / "aisdk" / "server.py"
_spec = importlib.util.spec_from_file_location("aisdk_server", SERVER)
aisdk = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(aisdk)  # for reply_text(): the known answer
TTFT_MS, TOKENS, TOKEN_MS = 500, 24, 20


# Not `timing`: its upper bounds in ms (first chunk within 400 ms of its TTFT, each chunk painted within
# 250 ms) hold with a third of the machine (it passed beside two busy loops in sessions of their own, which
# leave it less); it is not marked `background` (starved beside a timing test, the page would get only the
# CPU that test leaves).
def test_ai_sdk_reply_times_start_at_its_first_token_not_its_first_bytes(tmp_path):
    out = tmp_path / "aisdk.json"
    with BundledServer(script=str(SERVER)) as server:
        proc = run_bench("ui", "--profile", str(UIS_DIR / "aisdk" / "profile.toml"), "--url", server.url,
                         "--scenario", "stream", "--replies", "2", "--no-progress", "--json", str(out),
                         "--app-query", f"ttft_ms={TTFT_MS}&tokens={TOKENS}&token_ms={TOKEN_MS}")
        # A new user's first try: the default scenarios, which need a WebSocket this page never opens.
        default = run_bench("ui", "--profile", str(UIS_DIR / "aisdk" / "profile.toml"), "--url", server.url,
                            "--timeout", "2", "--no-progress")
    assert default.returncode == 3, default.stdout + default.stderr
    [line] = default.stderr.strip().splitlines()
    assert "opened no WebSocket within 2 s" in line and "--scenario stream" in line, line
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(out.read_text())
    metrics, replies = results["metrics"], results["records"]["stream"]
    assert "burst" not in results["timings_s"]  # --scenario stream: the page has no WebSocket to need
    # The SDK's control events arrive within milliseconds; they are preamble,
    # and the first chunk is the first token, ttft_ms after the request.
    assert all(r["preamble_chunks"] >= 1 for r in replies), replies
    assert all(TTFT_MS <= t < TTFT_MS + 400 for t in metrics["stream.first_chunk_ms"]["samples"]), metrics
    # Without that, chunk_to_paint's largest sample would be the time to the first token.
    assert max(metrics["stream.chunk_to_paint_ms"]["samples"]) < TTFT_MS / 2
    assert metrics["stream.unpainted"]["samples"] == [0, 0]
    # Every character of the reply reached the DOM: quotes, emoji, a newline, "<not-a-tag>", "&amp;".
    # Counted as the page counts them (textContent.length: UTF-16 code units, an emoji 2).
    expected = [len(aisdk.reply_text(r["prompt"], TOKENS).encode("utf-16-le")) // 2 for r in replies]
    assert metrics["stream.reply_chars"]["samples"] == expected
    assert all(r["kind"] == "fetch" for r in replies)
