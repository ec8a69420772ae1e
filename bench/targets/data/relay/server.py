"""A minimal, fast WebSocket relay: the server the load generator is measured against.

The bundled chat app parses JSON, stamps ids and queues per client; that is
the server under test. This one does as little as possible, so a throughput
run against it measures the load generator, not the server (docs/suite-speed.md,
"Targets": the generator must drive 50,000 msgs/s). Its knobs make servers
with a known defect, each a known answer for a test:

  --mode relay        every text frame goes, unchanged, to every OTHER client
  --mode sink         frames are counted and dropped; nothing is answered
  --stall-ms 50 --stall-every-s 1
                      block the whole event loop for 50 ms once a second
                      (time.sleep, so nothing is read or written meanwhile)
  --drop-every N      do not relay every Nth frame received (a lost message)
  --delay-every N --delay-ms D
                      relay every Nth frame D ms late (a late message)
  --work-us U         spin the CPU U microseconds per frame received: a server
                      whose capacity is known (1e6 / U frames/s at most)
  --bytes-per-connection B
                      hold B bytes of touched memory per open connection
                      (a known server_bytes_per_connection)

WebSocket pings are answered by aiohttp itself (autoping) in every mode;
app-level {"type": "ping"} frames are not (relayed, or dropped in sink mode).

GET /stats -> {"received", "relayed", "clients", "pid"}.
Run it: python bench/targets/data/relay/server.py --port 0 [knobs]; it prints
"relay server listening on http://HOST:PORT/" once bound.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from bench.targets import serving


@dataclass
class Knobs:
    mode: str = "relay"
    stall_ms: float = 0
    stall_every_s: float = 1.0
    drop_every: int = 0
    delay_every: int = 0
    delay_ms: float = 0
    bytes_per_connection: int = 0
    work_us: float = 0


@dataclass
class RelayState:
    knobs: Knobs
    clients: set = field(default_factory=set)
    received: int = 0
    relayed: int = 0
    delayed: set = field(default_factory=set)  # tasks of late frames, kept from the GC


STATE = web.AppKey("relay_state", RelayState)


async def relay(state: RelayState, sender, data: str) -> None:
    # Awaited one by one: a reader that stops reading paces the relay (TCP
    # back-pressure). Simple and fast; fine for a fixture, not for production.
    for ws in list(state.clients):
        if ws is not sender and not ws.closed:
            try:
                await ws.send_str(data)
            except ConnectionError:
                continue
            state.relayed += 1


async def relay_later(state: RelayState, sender, data: str) -> None:
    await asyncio.sleep(state.knobs.delay_ms / 1000)
    await relay(state, sender, data)


def relay_now(state: RelayState, sender, data: str) -> bool:
    """Count the frame; False when a knob says not to relay it now."""
    state.received += 1
    knobs = state.knobs
    if knobs.work_us:
        spin_until = time.perf_counter() + knobs.work_us / 1e6
        while time.perf_counter() < spin_until:
            pass
    if knobs.mode == "sink":
        return False
    n = state.received
    if knobs.drop_every and n % knobs.drop_every == 0:
        return False
    if knobs.delay_every and n % knobs.delay_every == 0:
        task = asyncio.get_running_loop().create_task(relay_later(state, sender, data))
        state.delayed.add(task)
        task.add_done_callback(state.delayed.discard)
        return False
    return True


async def websocket(request: web.Request) -> web.WebSocketResponse:
    state = request.app[STATE]
    ws = web.WebSocketResponse(compress=False, max_msg_size=0)
    await ws.prepare(request)
    # Touched (non-zero), so the pages are really resident, not lazily mapped.
    ballast = bytearray(b"\x01") * state.knobs.bytes_per_connection
    state.clients.add(ws)
    try:
        async for msg in ws:
            if msg.type is WSMsgType.TEXT and relay_now(state, ws, msg.data):
                await relay(state, ws, msg.data)
    finally:
        state.clients.discard(ws)
        del ballast
    return ws


async def stats(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response({"received": state.received, "relayed": state.relayed,
                              "clients": len(state.clients), "pid": os.getpid()})


def _stall_forever(knobs: Knobs) -> None:
    loop = asyncio.get_running_loop()

    def stall() -> None:
        time.sleep(knobs.stall_ms / 1000)  # blocks the event loop: the point of the knob
        loop.call_later(knobs.stall_every_s, stall)

    loop.call_later(knobs.stall_every_s, stall)


def create_app(knobs: Knobs) -> web.Application:
    app = web.Application()
    app[STATE] = RelayState(knobs)
    app.router.add_get("/ws", websocket)
    app.router.add_get("/stats", stats)

    async def start_stalls(app: web.Application) -> None:
        if knobs.stall_ms > 0:
            _stall_forever(knobs)

    app.on_startup.append(start_stalls)
    return app


def main(argv: list[str] | None = None) -> int:
    p = serving.argument_parser(__doc__.splitlines()[0], default_port=0)
    p.add_argument("--mode", choices=["relay", "sink"], default="relay")
    p.add_argument("--stall-ms", type=float, default=0)
    p.add_argument("--stall-every-s", type=float, default=1.0)
    p.add_argument("--drop-every", type=int, default=0)
    p.add_argument("--delay-every", type=int, default=0)
    p.add_argument("--delay-ms", type=float, default=0)
    p.add_argument("--bytes-per-connection", type=int, default=0)
    p.add_argument("--work-us", type=float, default=0)
    args = p.parse_args(argv)
    knobs = Knobs(args.mode, args.stall_ms, args.stall_every_s, args.drop_every, args.delay_every,
                  args.delay_ms, args.bytes_per_connection, args.work_us)
    try:
        # No signal handlers: SIGTERM ends the process on the spot, SIGINT
        # arrives as KeyboardInterrupt.
        return serving.exit_code(_run, args.host, args.port, knobs)
    except KeyboardInterrupt:
        return 0


def _run(host: str, port: int, knobs: Knobs) -> None:
    serving.run(create_app(knobs), host, port, name="relay server", stop_on_signals=False)


if __name__ == "__main__":
    sys.exit(main())
