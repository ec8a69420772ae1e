"""A real Socket.IO chat (python-socketio server, official socket.io-client in
the page, fixtures/uis/socketio/): hostile messages arrive intact through the
client's own decoder, on its default transports (long-polling, then the
upgrade); injection follows the page across reconnects; a socket that dies
and does not come back is one TargetError within seconds; a worker's socket
is named as such."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

import bench.scenarios.page
import bench.targets.inject
from bench.errors import TargetError
from bench.targets.inject import RECHECK_S
from bench.targets.messages import Message
from bench.targets.profile import resolve_target
from bench.scenarios.burst import BurstConfig, BurstScenario
from bench.targets.server_process import BundledServer
from bench.scenarios.page import PageSession
from tests.conftest import TEST_FIXTURES, open_session
from tests.test_protocols import HARD

PROFILE = str(TEST_FIXTURES / "uis/socketio/profile.toml")
GRACE_S = 1.5


@pytest.fixture(scope="module")
def sio_server():
    with BundledServer(script=str(TEST_FIXTURES / "uis/socketio/server.py")) as server:
        yield server


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def open_sio(page, server, query: str = "", path: str = "", timeout_s: float = 15) -> PageSession:
    return open_session(page, resolve_target(PROFILE, server.url + path, query), seed=2, timeout_s=timeout_s)


def test_hard_messages_arrive_intact_on_default_transports(page, sio_server):
    session = open_sio(page, sio_server)
    messages = [Message(f"bench-sio-{i}", 'a "user"\\', f"bench-sio-{i} {text}") for i, text in enumerate(HARD)]
    messages += session.messages.take(100)
    session.injector.send(messages)
    state = session.paint.quiet(page, [m.token for m in messages], 20)
    assert state["dom"] == len(messages), state
    # The client's own decoder turned every frame back into the exact text.
    rows = page.evaluate("() => [...document.querySelectorAll('#log .msg')].map((r) => r.lastChild.data)")
    assert rows[-len(messages):] == [m.text for m in messages]
    # Injection went through the upgraded WebSocket, and says so.
    (socket,) = [s for s in page.evaluate("() => window.__bench.sockets()")]
    assert "sid=" in socket["url"] and "5" in socket["sent"]
    assert any("long-polling" in note for note in session.injector.notes)
    session.close()


def test_injection_follows_reconnects_and_a_dead_socket_is_an_error(page, sio_server):
    # The client retries every 200-300 ms (reconnect_ms, with its jitter), not after its default 1 s backoff.
    session = open_sio(page, sio_server, "transports=websocket&reconnect_ms=250")
    # A dead socket is an error after the injector's grace (SOCKET_GRACE_S, 5 s; 1.5 s here, as the injector
    # sets it): a third of what each burst's --timeout (15 s) would take.
    session.injector.grace_s = GRACE_S
    outputs = []
    burst = BurstScenario(BurstConfig(bursts=1, size=10, warmup=0, render_cost=False))
    burst.run(session, outputs.append)
    assert outputs[-1].metrics["paint.unpainted"][1] == [0]
    for _ in range(2):  # the server drops every client; the app reconnects on a new socket
        post(sio_server.url + "api/disconnect", {})
        burst.run(session, outputs.append)  # racing the close: what the dying socket lost is counted apart
        m = outputs[-1].metrics
        assert m["paint.unpainted"][1] == [0]
        assert m["paint.injected"][1][0] + m.get("paint.no_socket", ("", [0]))[1][0] == 10
        burst.run(session, outputs.append)  # on the new socket, all of them
        assert outputs[-1].metrics["paint.unpainted"][1] == [0] and outputs[-1].metrics["paint.injected"][1] == [10]
    sockets = page.evaluate("() => window.__bench.sockets()")
    assert len(sockets) == 3 and [s["closeCode"] is not None for s in sockets] == [True, True, False]
    assert {r["socket"] for r in outputs[-1].records["paint"]} == {2}
    # Now the server drops every client and refuses them for a minute.
    post(sio_server.url + "api/disconnect", {"refuse_s": 60})
    # Once the page has seen the close (else the burst can win the race and arrive whole).
    page.wait_for_function("() => window.__bench.openSockets() === 0")
    started = time.monotonic()
    with pytest.raises(TargetError) as info:
        burst.run(session, outputs.append)
    elapsed = time.monotonic() - started
    assert "WebSocket ws://" in info.value.message and "closed (code" in info.value.message, info.value.message
    assert f"no new socket came within {GRACE_S:g} s" in info.value.message, info.value.message
    assert elapsed < GRACE_S + 5, elapsed  # the grace and the page's polling, never a timeout per burst
    assert len(outputs) == 5  # what was measured before is kept
    post(sio_server.url + "api/disconnect", {"refuse_s": 0})
    session.close()


def test_paced_messages_with_no_socket_are_counted_apart(page, sio_server):
    # The client retries every 200-300 ms (reconnect_ms, with its jitter), so
    # the page is back soon after the 0.5 s refusal: well inside the 2 s burst.
    session = open_sio(page, sio_server, "transports=websocket&reconnect_ms=250")
    session.injector.send(session.messages.take(1))
    post(sio_server.url + "api/disconnect", {"refuse_s": 0.5})
    page.wait_for_function("() => window.__bench.openSockets() === 0")
    outputs = []
    # 12 msgs/s for 2 s: the first ones fall while no socket is open. The burst
    # does not wait for messages that were never sent: it ends well before
    # --timeout (it used to wait all of it, 15 s here, for them).
    started = time.monotonic()
    BurstScenario(BurstConfig(bursts=1, size=24, rate=12, warmup=0, render_cost=False)).run(session, outputs.append)
    elapsed = time.monotonic() - started
    m = outputs[-1].metrics
    skipped = m["paint.no_socket"][1][0]
    print(f"\n{skipped} of 24 sent while no socket was open; burst took {elapsed:.1f} s")
    print(m); assert elapsed < session.timeout_s
    assert 1 <= skipped < 24
    assert m["paint.injected"][1] == [24 - skipped] and m["paint.unpainted"][1] == [0]
    session.close()


def test_a_paced_send_after_a_check_found_the_socket_closed_is_not_injected_into_it(page, sio_server):
    # A paced send checks the page at most every RECHECK_S and trusts the last check in between; a check
    # that found the socket closed must not be trusted: the next send went into the dead socket, and the
    # burst then waited its whole --timeout for a message that could never arrive.
    session = open_sio(page, sio_server, "transports=websocket&reconnect_ms=60000")  # no reconnect here
    session.injector.send(session.messages.take(1))
    post(sio_server.url + "api/disconnect", {})
    page.wait_for_function("() => window.__bench.openSockets() === 0")
    time.sleep(RECHECK_S + 0.1)  # the next paced send checks the page
    first, second = session.messages.take(2)
    session.injector.send([first], wait=False)
    session.injector.send([second], wait=False)  # within RECHECK_S of the check that found it closed
    assert {first.token, second.token} <= session.injector.no_socket
    assert second.token not in session.injector.sent_on
    session.close()


def test_a_message_lost_with_an_earlier_socket_is_not_waited_for(page, sio_server, monkeypatch):
    # A paced send trusts the check that found the socket open for RECHECK_S (30 s here, so the race
    # below is certain): a message sent after the socket closed in between goes into the dead socket.
    # By the wait, the page is on a new socket and a later message went there: the wait ends once that
    # one arrived (the lost one is the socket's, not unpainted), not at the timeout.
    monkeypatch.setattr(bench.targets.inject, "RECHECK_S", 30.0)
    session = open_sio(page, sio_server, "transports=websocket&reconnect_ms=1500")
    first, checked, lost, later = session.messages.take(4)
    session.injector.send([first], wait=False)
    session.injector.send([checked], wait=False)  # the check: open
    dead = session.injector.socket_id
    post(sio_server.url + "api/disconnect", {})
    page.wait_for_function("(id) => window.__bench.sockets()[id].closed !== null", arg=dead)
    session.injector.send([lost], wait=False)  # trusted the check: into the dead socket
    assert session.injector.sent_on[lost.token] == dead
    page.wait_for_function("() => window.__bench.openSockets() > 0")  # the client reconnected
    session.injector.send([later])  # waits for the new socket
    assert session.injector.socket_id != dead
    started = time.monotonic()
    state = session.wait_delivered([m.token for m in (first, checked, lost, later)], 15)
    assert time.monotonic() - started < 5, state
    assert state["dom"] == 3 and state["socketClosed"], state
    assert session.injector.lost_with_socket([lost.token]) == {lost.token}
    session.close()


def test_worker_socket_is_named_and_server_injection_still_measures(page, sio_server, monkeypatch):
    # How long a page with a worker gets to open a socket of its own: 3 s in bench, 1 s here (both opens
    # below wait it out, the page never opens one).
    monkeypatch.setattr(bench.scenarios.page, "WORKER_GRACE_S", 1.0)
    started = time.monotonic()
    with pytest.raises(TargetError, match=r"Worker.*inject = \"server\""):
        open_sio(page, sio_server, path="static/worker.html")
    assert time.monotonic() - started < 8  # said after the grace, not after the 15 s timeout
    target = resolve_target(PROFILE, sio_server.url + "static/worker.html", inject="server")
    session = open_session(page, target, seed=2)
    messages = session.messages.take(5)
    session.injector.send(messages)
    state = session.paint.quiet(page, [m.token for m in messages], 15)
    assert state["recv"] == 5 and state["dom"] == 5, state  # arrival taken from the worker's messages


def test_profile_check_catches_a_wrong_encoding_and_a_list_that_does_not_scroll(sio_server):
    import dataclasses

    from bench.browser.launch import BrowserOptions
    from concurrent.futures import ThreadPoolExecutor

    from bench.run.profile_check import check_profile

    target = resolve_target(PROFILE, sio_server.url, "transports=websocket")
    # What a user wrote before protocols existed: the whole packet as a text template.
    wrong = dataclasses.replace(target, protocol="text", frame_format="text", list_selector="body",
                                frame='42["chat message",{"user":"{user}","text":"{text}"}]')
    # The two checks (a browser each) side by side.
    with ThreadPoolExecutor(2) as pool:
        wrong_checks, right = pool.map(lambda t: check_profile(t, BrowserOptions(), 10), (wrong, target))
    lines = [c.line() for c in wrong_checks]
    failed = [line for line in lines if line.startswith("FAIL")]
    assert any("quotes and backslashes never appeared" in line for line in failed), lines
    assert any("closed (code" in line and "after the hard messages" in line for line in failed), lines
    assert any("dom.list 'body' cannot scroll" in line for line in failed), lines
    assert all(c.ok for c in right), [c.line() for c in right]
    assert any("4 hard messages" in c.what for c in right)


def proposed_while_talking(server, url: str) -> str:
    """`bench profile init`'s proposal for url, watched 1.5 s while someone posts a message every 0.25 s."""
    import threading

    from bench.browser.launch import BrowserOptions
    from bench.run.profile_init import propose_profile
    from tests.conftest import in_fresh_thread

    stop = threading.Event()

    def chat():
        while not stop.wait(0.25):
            post(server.url + "api/messages", {"user": "ann", "text": 'a real "message", with quotes'})

    talker = threading.Thread(target=chat, daemon=True)
    talker.start()
    try:
        return in_fresh_thread(propose_profile, url, BrowserOptions(), 1.5)
    finally:
        stop.set()
        talker.join()


def test_profile_init_recognises_socketio_and_where_messages_go(sio_server):
    from bench.targets.profile import parse_profile

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    text = proposed_while_talking(sio_server, sio_server.url + "?transports=websocket")
    target = parse_profile(tomllib.loads(text), "proposed.toml")
    assert target.protocol == "socketio" and target.event == "chat message", text
    assert target.ws_match == "**/socket.io/?**", text  # the path alone matched no socket (?EIO=4&...)
    assert target.frame == '{"user":"{user}","text":"{text}"}', text
    assert target.list_selector == "#log" and target.message_selector == "#log > div.msg", text


@pytest.fixture(scope="module")
def sio_ns_server():
    with BundledServer(script=str(TEST_FIXTURES / "uis/socketio_ns/server.py")) as server:
        yield server


def test_profile_init_proposes_the_namespace_and_a_message_selector_that_matches(page, sio_ns_server):
    # Found by a user: a page on io("/chat") (frames 42/chat,["said",{...}]) whose messages are
    # #scroller > ul#thread > li.bubble > span.who + span.body. init left out `namespace`, so the
    # proposal's injections went to "/" (check: "the page's socket received the injected message", then
    # "never appeared in the DOM"), and proposed dom.message '#scroller > span.body' ("0 such children").
    from bench.targets.profile import parse_profile

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    text = proposed_while_talking(sio_ns_server, sio_ns_server.url)  # the page's default transports, as the
    # user's: long-polling, then the upgrade
    proposed = parse_profile(tomllib.loads(text), "proposed.toml")
    written = resolve_target(str(TEST_FIXTURES / "uis/socketio_ns/profile.toml"), sio_ns_server.url, "")
    assert (proposed.protocol_name, proposed.event, proposed.namespace, proposed.frame) \
        == (written.protocol_name, written.event, "/chat", written.frame), text
    assert (proposed.list_selector, proposed.message_selector) == ("#scroller", "#scroller li.bubble"), text
    assert " 0 such" not in text, text
    # The proposal, as written, on the page: what it injects reaches the page's namespace and is
    # rendered, and dom.message matches each rendered message, once.
    session = open_session(page, proposed, seed=3)
    messages = [Message(f"bench-ns-{i}", 'a "user"\\', f"bench-ns-{i} {t}") for i, t in enumerate(HARD)]
    session.injector.send(messages)
    state = session.paint.quiet(page, [m.token for m in messages], 10)
    assert state["recv"] == state["dom"] == len(messages), state
    rows = page.evaluate("(s) => [...document.querySelectorAll(s)].map((r) => r.querySelector('.body').textContent)",
                         proposed.message_selector)
    assert rows[-len(messages):] == [m.text for m in messages]
    assert len(rows) == page.locator("li.bubble").count()
    session.close()


def test_profile_check_without_the_namespace_says_to_look_at_it(sio_ns_server):
    """The namespaced page's profile without its namespace: the socket receives the injected message on "/",
    where the page's client does not listen, and the check's FAIL says to look at websocket.namespace."""
    import dataclasses

    from bench.browser.launch import BrowserOptions
    from bench.run.profile_check import check_profile

    target = resolve_target(str(TEST_FIXTURES / "uis/socketio_ns/profile.toml"), sio_ns_server.url, "")
    from tests.conftest import in_fresh_thread  # a thread of its own: a page fixture's loop may run in this one

    checks = in_fresh_thread(check_profile, dataclasses.replace(target, namespace=None), BrowserOptions(), 5)
    lines = [c.line() for c in checks]
    assert "ok    the page's socket received the injected message" in lines, lines
    assert any(line.startswith("FAIL  the message never appeared in the DOM") and
               "websocket.namespace '/' the namespace its client joined" in line for line in lines), lines
