"""Phoenix Channels and graphql-ws chats on their real JavaScript clients, measured through their profiles.

The pages (fixtures/protocols/static/phoenix.html, graphql-ws.html) use the
official clients, vendored unchanged: phoenix.js 1.8.17 (`new Socket("/socket")`,
a channel on "room:lobby", `channel.on("new_msg")`) and graphql-ws 6.4.2
(`createClient`, a subscription `messageAdded`). The server is the echo
server of each protocol (fixtures/protocols/echo_server.py). bench knows
nothing of the pages but their profiles: what it injects must be decoded by
the client library itself into the exact text, and `bench profile init`,
watching someone talk, must propose what the client needs.
"""

from __future__ import annotations

import asyncio
import json
import threading

import aiohttp
import pytest

from bench.browser.launch import BrowserOptions
from bench.run.profile_init import propose_profile
from bench.scenarios.burst import BurstConfig, BurstScenario
from bench.targets.profile import parse_profile, resolve_target
from bench.targets.server_process import BundledServer
from tests.conftest import TEST_FIXTURES, in_fresh_thread, open_session
from tests.test_msgpack import deliver_hard

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

pytestmark = pytest.mark.browser

ROWS = {"phoenix": "#messages > p", "graphql-ws": "#messages > li"}
SHORT = {"phoenix": "phx", "graphql-ws": "gql"}  # in message tokens, which are bench-<letters and digits>-<n>
SOCKET_PATH = {"phoenix": "socket/websocket?vsn=2.0.0", "graphql-ws": "graphql"}
MUTATION = "mutation ($text: String!, $user: String) { send(text: $text, user: $user) }"


@pytest.fixture(scope="module", params=["phoenix", "graphql-ws"])
def protocol_server(request):
    with BundledServer(script=str(TEST_FIXTURES / "protocols/echo_server.py"),
                       args=["--protocol", request.param]) as server:
        yield request.param, server


def test_hard_messages_and_a_burst_arrive_intact_through_the_real_client(page, protocol_server):
    protocol, server = protocol_server
    target = resolve_target(str(TEST_FIXTURES / f"protocols/{protocol}.toml"), server.url, "")
    session = open_session(page, target, seed=6)
    messages, rows = deliver_hard(session, f"bench-{SHORT[protocol]}", ROWS[protocol])
    assert rows == [m.text for m in messages]  # decoded by phoenix.js / graphql-ws into the exact text
    outputs = []
    BurstScenario(BurstConfig(bursts=1, size=50, warmup=0, render_cost=False)).run(session, outputs.append)
    m = outputs[-1].metrics
    assert m["paint.injected"][1] == [50] and m["paint.unpainted"][1] == [0], m
    assert len(m["paint.presented_ms"][1]) == 50
    session.close()


async def _talk(protocol: str, base_url: str, stop: threading.Event) -> None:
    """Another user of the chat, speaking the protocol on its own socket: a message every 0.25 s."""
    url = base_url.replace("http", "ws", 1) + SOCKET_PATH[protocol]
    subprotocols = ("graphql-transport-ws",) if protocol == "graphql-ws" else ()
    async with aiohttp.ClientSession() as http, http.ws_connect(url, protocols=subprotocols) as ws:
        if protocol == "phoenix":
            await ws.send_str(json.dumps(["1", "1", "room:lobby", "phx_join", {}]))
        else:
            await ws.send_str('{"type":"connection_init"}')
        n = 0
        while not stop.is_set():
            n += 1
            text = f'a real "message", number {n}'
            if protocol == "phoenix":
                frame = ["1", str(n + 1), "room:lobby", "new_msg", {"body": text, "user": "ann"}]
            else:
                frame = {"id": f"t{n}", "type": "subscribe",
                         "payload": {"query": MUTATION, "variables": {"text": text, "user": "ann"}}}
            await ws.send_str(json.dumps(frame))
            await asyncio.sleep(0.25)


def test_profile_init_proposes_what_the_real_client_needs(page, protocol_server):
    # Someone talks while init watches. Found this way: phoenix.js connects to
    # /socket/websocket?vsn=2.0.0, and the proposed match (the path alone) matched no socket.
    protocol, server = protocol_server
    stop = threading.Event()
    talker = threading.Thread(target=lambda: asyncio.run(_talk(protocol, server.url, stop)), daemon=True)
    talker.start()
    try:
        text = in_fresh_thread(propose_profile, server.url, BrowserOptions(), 1.5)
    finally:
        stop.set()
        talker.join(10)
    proposed = parse_profile(tomllib.loads(text), "proposed.toml")
    written = resolve_target(str(TEST_FIXTURES / f"protocols/{protocol}.toml"), server.url, "")
    assert proposed.protocol == protocol, text
    assert (proposed.event, proposed.frame) == (written.event, written.frame), text
    assert proposed.namespace == written.namespace, text  # Phoenix: the topic the events came on
    assert (proposed.list_selector, proposed.message_selector) == ("#messages", ROWS[protocol]), text
    # The proposal, as written, on the page: its match finds the client's socket, and what it injects
    # is rendered.
    session = open_session(page, proposed, seed=6)
    messages, rows = deliver_hard(session, f"bench-init{SHORT[protocol]}", ROWS[protocol])
    assert rows[-len(messages):] == [m.text for m in messages]
    session.close()
