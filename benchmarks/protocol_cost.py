"""Protocol codecs' cost (docs/protocols.md): injection per message, and the load
generator's speed through Socket.IO framing against bare JSON.

    python benchmarks/protocol_cost.py

injection: Target.encode (payload template filled, escaped, wrapped in the
    protocol's server->client frame) over the 1000-message corpus, microseconds
    per message for every protocol; then `injector.send` of 1000 messages into
    the Socket.IO fixture page through Playwright's route, milliseconds per message
    (the whole injection path: encode + route.send + the page's own decoding).
generator: `bench throughput` offering 40,000 msgs/s for 2 s into a sink
    (fixtures/protocols/echo_server.py --protocol json|socketio: frames counted,
    nothing answered but the Engine.IO handshake), 2 senders, no receivers:
    msgs/s sent with bare JSON frames and with 42["chat message",{...}] frames
    after a real Engine.IO/Socket.IO handshake. Goal: Socket.IO within 20 % of JSON.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEST_FIXTURES = REPO / "fixtures"  # test data that stays in the repository
sys.path.insert(0, str(REPO))


from bench.targets.messages import MessageSource  # noqa: E402
from bench.targets.profile import parse_profile  # noqa: E402
from bench.targets.server_process import BundledServer  # noqa: E402

GOAL_RATIO = 0.8
OFFERED = 40_000
PAYLOADS = {
    "json": '{"type":"message","id":"{id}","user":"{user}","text":"{text}","ts":{ts}}',
    "text": "{user}: {text}",
    "socketio": '{"user":"{user}","text":"{text}"}',
    "signalr": '["{user}","{text}"]',
    "phoenix": '{"body":"{text}","user":"{user}"}',
    "graphql-ws": '{"data":{"messageAdded":{"text":"{text}","user":"{user}"}}}',
    "socketio-msgpack": '{"user":"{user}","text":"{text}"}',
    "signalr-msgpack": '["{user}","{text}"]',
}


def encode_cost() -> dict:
    messages = MessageSource(seed=1).take(1000)
    out = {}
    for protocol, frame in PAYLOADS.items():
        target = parse_profile({"websocket": {"protocol": protocol, "frame": frame, "event": "chat"}}, "bench")
        codec = target.codec()
        best = float("inf")
        for _ in range(5):  # the best of 5: the machine is shared
            started = time.perf_counter()
            for m in messages:
                target.encode(m, codec)
            best = min(best, time.perf_counter() - started)
        out[protocol] = round(best / len(messages) * 1e6, 2)
    return out


def route_cost() -> dict:
    from playwright.sync_api import sync_playwright

    from bench.browser.launch import BrowserOptions, launch, new_context
    from bench.targets.profile import resolve_target
    from bench.scenarios.page import PageSession

    out = {}
    with BundledServer(script=str(TEST_FIXTURES / "uis/socketio/server.py")) as server, sync_playwright() as p:
        browser = launch(p, BrowserOptions())
        try:
            for query in ("transports=websocket", ""):
                target = resolve_target(str(TEST_FIXTURES / "uis/socketio/profile.toml"), server.url, query)
                page = new_context(browser).new_page()
                session = PageSession(page, target, MessageSource(seed=1), 30)
                session.prepare()
                session.open()
                messages = session.messages.take(1000)
                started = time.perf_counter()
                session.injector.send(messages)
                state = session.paint.quiet(page, [m.token for m in messages], 60)
                elapsed = time.perf_counter() - started
                out[f"socketio-page{'-' + query if query else '-default-transports'}"] = {
                    "ms_per_message": round(elapsed / len(messages) * 1000, 3), "in_dom": state["dom"]}
                session.close()
                page.context.close()
        finally:
            browser.close()
    return out


def generator_rate(protocol: str) -> float:
    import subprocess
    import tempfile

    with BundledServer(script=str(TEST_FIXTURES / "protocols/echo_server.py"), args=["--protocol", protocol]) as sink, \
            tempfile.TemporaryDirectory() as tmp:
        url = sink.url.replace("http://", "ws://", 1) + "ws"
        out = Path(tmp) / "t.json"
        args = ["--url", url, "--rate", str(OFFERED), "--duration", "2", "--warmup", "0.2",
                "--senders", "2", "--receivers", "0", "--json", str(out), "--no-progress"]
        if protocol == "socketio":
            args += ["--profile", str(TEST_FIXTURES / "uis/socketio/profile.toml")]
        proc = subprocess.run([sys.executable, "-m", "bench", "throughput", *args], cwd=REPO,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip())
        data = json.loads(out.read_text())
        with urllib.request.urlopen(sink.url + "stats", timeout=5) as response:
            counted = json.loads(response.read())["messages"]
    sent = data["metrics"]["throughput.sent_msgs_per_s"]["samples"][0]
    return sent if counted >= data["metrics"]["throughput.sent"]["sum"] * 0.99 else float("nan")


def measure() -> tuple[float, dict]:
    started = time.monotonic()
    result = {"encode_us_per_message": encode_cost(), "injection": route_cost()}
    rates = {p: generator_rate(p) for p in ("json", "socketio")}
    ratio = rates["socketio"] / rates["json"]
    result["generator_msgs_per_s"] = {p: round(r) for p, r in rates.items()}
    result["socketio_vs_json"] = round(ratio, 3)
    result["goal"] = f"socketio >= {GOAL_RATIO:.0%} of json: {'met' if ratio >= GOAL_RATIO else 'MISSED'}"
    return time.monotonic() - started, result


if __name__ == "__main__":
    seconds, result = measure()
    print(json.dumps(result, indent=2))
    print(f"took {seconds:.1f} s")
