"""POST /api/disconnect on the bundled chat server: a clean close or a cut connection."""

from __future__ import annotations

import aiohttp
import pytest

from tests.test_chat_server import TIMEOUT, health, run_async, running_server, wait_for_health

# No browser; the server in this process, asserting how a socket closes: may run beside a timing test, in
# the background (tests/cpu_share.py).
pytestmark = pytest.mark.background


@pytest.mark.parametrize("mode, closed_by_frame", [("close", True), ("abort", False)])
def test_disconnect_drops_every_client(mode: str, closed_by_frame: bool) -> None:
    async def scenario() -> None:
        async with running_server() as base, aiohttp.ClientSession() as session:
            clients = [await session.ws_connect(f"{base}/ws") for _ in range(2)]
            await wait_for_health(session, base, lambda h: h["clients"] == 2)
            async with session.post(f"{base}/api/disconnect", json={"mode": mode}) as resp:
                assert resp.status == 200
                assert await resp.json() == {"disconnected": 2}
            for ws in clients:
                msg = await ws.receive(timeout=TIMEOUT)
                if closed_by_frame:  # a close frame with 1000
                    assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 1000
                else:  # no close frame: the stream just ends
                    assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
                    assert ws.close_code != 1000
            await wait_for_health(session, base, lambda h: h["clients"] == 0)
            assert (await health(session, base))["dropped_clients"] == 0  # not a back-pressure drop

    run_async(scenario)


@pytest.mark.parametrize("body", [b"", b"[]", b'{"mode": "later"}', b'{"mode": 1}'])
def test_disconnect_rejects_bad_body(body: bytes) -> None:
    async def scenario() -> None:
        async with running_server() as base, aiohttp.ClientSession() as session:
            async with session.post(f"{base}/api/disconnect", data=body) as resp:
                assert resp.status == 400
                assert "error" in await resp.json()

    run_async(scenario)
