"""`bench throughput` and `bench connections`: their options and how a run is reported."""

from __future__ import annotations

import argparse
import time

from ..errors import EXIT_OK, UsageError
from ..load.connections import ConnectionsConfig, ConnectionsRun
from ..load.frames import FORMATS, HEARTBEATS
from ..load.report import text_report
from ..load.throughput import ThroughputConfig, ThroughputRun
from ..load.workers import default_workers
from ..targets import protocols
from .options import add_command, add_output, add_timeout, positive_float


def rate_or_max(text: str) -> float | None:
    """--rate: msgs/s, or 'max' (None) to search for the highest sustainable rate."""
    if text.strip().lower() == "max":
        return None
    try:
        return positive_float(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (msgs/s, or 'max')") from None


def add_generator_options(group) -> None:
    """--port and --workers, shared with bench baseline."""
    group.add_argument("--port", type=int, default=0,
                       help="port for the bundled chat app (default 0: a free one)")
    group.add_argument("--workers", type=int, default=default_workers(), metavar="N",
                       help=f"load generator processes (default: the CPU count, {default_workers()})")


def add_server_options(group) -> None:
    group.add_argument("--url", metavar="WS_URL",
                       help="the chat server's WebSocket, ws://HOST:PORT/PATH; default: start the "
                            "bundled chat app on a free port and use its /ws")
    add_generator_options(group)
    add_timeout(group, 10, "a WebSocket to open")


def add_parsers(sub) -> None:
    tp = add_command(
        sub, "throughput", help="open-loop message load on the chat server: rate, delivery, latency",
        description="Send messages at a fixed rate (open loop) through S sender connections and "
                    "time their arrival at R receiver connections, from each message's scheduled "
                    "send time. --rate max finds the highest rate the server sustains.")
    g = tp.add_argument_group("server")
    add_server_options(g)
    g.add_argument("--format", choices=list(FORMATS), default="json",
                   help="frame format: json = the bundled app's {\"type\":\"message\",...}; "
                        "text = the bare message text (default json)")
    g.add_argument("--frame", metavar="TEMPLATE",
                   help="frame template instead of --format, with {text} (required) and optionally "
                        "{id} {user} {ts}, e.g. '{\"op\":\"say\",\"body\":\"{text}\"}'")
    g.add_argument("--profile", metavar="FILE.toml",
                   help="take the frame from a bench ui target profile's websocket.send (what a client "
                        "of that chat sends); goes with --url; --frame wins over it")
    g = tp.add_argument_group("load")
    g.add_argument("--rate", type=rate_or_max, default=500.0, metavar="MSGS_PER_S|max",
                   help="messages scheduled per second, over all senders (default 500); 'max': step "
                        "the rate up until delivery falls behind or p99 crosses --slo-ms")
    amount = g.add_mutually_exclusive_group()
    amount.add_argument("--duration", type=positive_float, metavar="S",
                        help="measured seconds of load (default 5; with --rate max, per step, default 2)")
    amount.add_argument("--messages", type=int, metavar="N", help="measured messages instead of --duration")
    g.add_argument("--warmup", type=float, default=1.0, metavar="S",
                   help="seconds of load at the same rate before measuring, not counted (default 1)")
    g.add_argument("--senders", type=int, default=1, help="sender connections (default 1)")
    g.add_argument("--receivers", type=int, default=10,
                   help="receiver connections; every message is expected at each (default 10; 0: "
                        "send only)")
    g.add_argument("--message-bytes", type=int, default=64, metavar="B",
                   help="message text length, token included (default 64)")
    g.add_argument("--late-ms", type=positive_float, default=1000, metavar="MS",
                   help="a delivery later than this after its scheduled time counts as late, not "
                        "delivered; receivers listen until 2 x this past the last message (default 1000)")
    g = tp.add_argument_group("--rate max")
    g.add_argument("--slo-ms", type=positive_float, default=100, metavar="MS",
                   help="a step whose latency p99 exceeds this is not sustainable (default 100)")
    g.add_argument("--rate-start", type=positive_float, default=100, metavar="MSGS_PER_S",
                   help="first rate tried; each next step doubles it (default 100)")
    g.add_argument("--rate-limit", type=positive_float, default=200_000, metavar="MSGS_PER_S",
                   help="highest rate tried (default 200000)")
    add_output(tp)

    cp = add_command(
        sub, "connections", help="C clients heartbeating for a duration: stability, RTT, server memory",
        description="Open C WebSocket clients, each sending a heartbeat every interval for the "
                    "duration; measure answers, round-trip time, disconnects, connect time and the "
                    "server process's memory per connection.")
    g = cp.add_argument_group("server")
    add_server_options(g)
    g.add_argument("--server-pid", type=int, metavar="PID",
                   help="the --url server's process id, for its memory per connection (Linux /proc); "
                        "known already for the bundled app")
    g = cp.add_argument_group("clients")
    g.add_argument("--clients", type=int, default=10, help="connections (default 10)")
    g.add_argument("--interval", type=positive_float, default=500, metavar="MS",
                   help="heartbeat interval per client (default 500)")
    g.add_argument("--duration", type=positive_float, default=10, metavar="S",
                   help="seconds of heartbeats (default 10)")
    g.add_argument("--heartbeat", choices=list(HEARTBEATS), default="app",
                   help="app: {\"type\":\"ping\",\"ts\":...} answered by {\"type\":\"pong\",\"ts\":...} "
                        "(the bundled app's protocol); ws-ping: WebSocket ping/pong frames, for "
                        "servers without app heartbeats (default app)")
    g.add_argument("--profile", metavar="FILE.toml",
                   help="speak this target profile's websocket.protocol (handshake, the server's pings "
                        "answered); --heartbeat app then uses the protocol's own heartbeat: Phoenix and "
                        "graphql-ws clients send it every --interval and time the answer; Socket.IO and "
                        "SignalR servers ping on their own timer and the client's answers are counted; "
                        "docs/protocols.md")
    add_output(cp)


def profile_frame(profile: str | None, url: str | None) -> str | None:
    """--profile: the client->server frame of the chat the profile describes (websocket.send)."""
    if profile is None:
        return None
    if url is None:
        raise UsageError("--profile goes with --url: the bundled app speaks its own format")
    from ..targets.profile import load_profile

    frame = load_profile(profile).send_frame
    if frame is None:
        raise UsageError(f"{profile}: no websocket.send (the frame a client sends, e.g. "
                         "send = '{\"type\":\"say\",\"text\":\"{text}\"}'); add it, or give --frame")
    return frame


def profile_protocol(profile: str | None) -> dict | None:
    """--profile: its websocket.protocol and settings, when it is not bare json/text (docs/protocols.md)."""
    if profile is None:
        return None
    from ..targets.profile import load_profile

    target = load_profile(profile)
    if target.protocol_name in protocols.PLAIN:
        return None
    return {"name": target.protocol_name, "event": target.event, "namespace": target.namespace,
            "send_event": target.send_event, "subscribe": target.subscribe}


def throughput_config(args) -> ThroughputConfig:
    frame = args.frame if args.frame is not None else profile_frame(args.profile, args.url)
    return ThroughputConfig(
        url=args.url, port=args.port, format=args.format, frame=frame, rate=args.rate,
        protocol=profile_protocol(args.profile),
        duration_s=args.duration, messages=args.messages, warmup_s=args.warmup, senders=args.senders,
        receivers=args.receivers, workers=args.workers, message_bytes=args.message_bytes,
        late_ms=args.late_ms, slo_ms=args.slo_ms, rate_start=args.rate_start, rate_limit=args.rate_limit,
        timeout_s=args.timeout)


def connections_config(args) -> ConnectionsConfig:
    return ConnectionsConfig(
        url=args.url, port=args.port, server_pid=args.server_pid, clients=args.clients,
        interval_ms=args.interval, duration_s=args.duration, heartbeat=args.heartbeat,
        protocol=profile_protocol(getattr(args, "profile", None)),
        workers=args.workers, timeout_s=args.timeout)


def report_run(run, args, name: str) -> int:
    """Execute; print the table (partial too, on failure or Ctrl-C) and write --json."""
    started = time.monotonic()
    try:
        results = run.execute()
    except BaseException:
        if run.results is not None and run.results.metrics:
            run.results.partial = True
            print(text_report(run.results.to_json()))
            if args.json:
                run.results.write(args.json)
                print(f"partial results: {args.json}")
        raise
    if args.json:
        results.write(args.json)
    print(text_report(results.to_json()))
    print(f"bench {name} took {time.monotonic() - started:.1f} s")
    if args.json:
        print(f"results: {args.json}")
    return EXIT_OK


def cmd_throughput(args) -> int:
    return report_run(ThroughputRun(throughput_config(args), progress=False if args.no_progress else None),
                      args, "throughput")


def cmd_connections(args) -> int:
    return report_run(ConnectionsRun(connections_config(args), progress=False if args.no_progress else None),
                      args, "connections")
