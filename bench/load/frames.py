"""What a load message looks like on the wire, and finding it again on arrival.

Every message's text starts with a token, bench-<run>-<phase>-<seq>. The
receiver finds the token anywhere in the frame it gets (a regular expression
on the raw text), so it needs no knowledge of the server's own framing: our
JSON broadcast, a plain-text relay or anything that passes the text through.
The sequence number gives the message's scheduled send time
(schedule.Schedule.at), so latency counts from the schedule, not from when
the generator got round to sending (docs/metrics.md, coordinated omission).
"""

from __future__ import annotations

import re
import time

from ..errors import UsageError
from ..targets import protocols

# The bundled app's client->server frame, and a bare text frame.
FORMATS = {
    "json": '{"type":"message","user":"{user}","text":"{text}"}',
    "text": "{text}",
}
PLACEHOLDERS = ("{text}", "{id}", "{user}", "{ts}")
# Heartbeats: the bundled app's {"type":"ping","ts":..} -> {"type":"pong","ts":..},
# or WebSocket ping/pong frames for servers without app heartbeats.
HEARTBEATS = ("app", "ws-ping")
USER = "bench-load"


def token_pattern(run_id: str) -> re.Pattern:
    """Matches this run's tokens; groups: phase, seq."""
    return re.compile(rf"bench-{re.escape(run_id)}-(\d+)-(\d+)")


def make_token(run_id: str, phase: int, seq: int) -> str:
    return f"bench-{run_id}-{phase}-{seq}"


def resolve_template(fmt: str, frame: str | None) -> str:
    """The frame template from --format or --frame; it must carry the text."""
    template = frame if frame is not None else FORMATS.get(fmt)
    if template is None:
        raise UsageError(f"--format {fmt!r}: choose from {', '.join(FORMATS)}, or give --frame TEMPLATE")
    if "{text}" not in template:
        raise UsageError(f"--frame {template!r} has no {{text}} placeholder: the message token "
                         "travels in the text, so the receiver can find it")
    return template


class FrameRenderer:
    """Fills a template for one message; the fixed parts are filled once.

    Placeholders as in bench.targets.target.render_template: {text} {id} {user} {ts}.
    The token and padding are ASCII letters, digits, '-' and ' ', so JSON
    escaping would change nothing and is skipped (this runs 50,000 times a
    second per worker).
    """

    def __init__(self, template: str, message_bytes: int, codec=None):
        # The protocol's client->server frame around the payload (Socket.IO
        # 42["event",...], a SignalR invocation, a Phoenix push), split once
        # around a marker so each message is still two concatenations.
        wrap_head = wrap_tail = ""
        self.codec = protocols.framed(codec)
        # A binary protocol (MessagePack) encodes each message's payload on its own: bytes out.
        self.binary = self.codec is not None and self.codec.binary
        if self.codec is not None:
            if self.codec.payload_format(template) == "text":
                template = '"' + template + '"'  # the token and padding need no JSON escaping
            self.per_frame = self.binary or self.codec.client_frame("a") != self.codec.client_frame("a")
            if not self.per_frame:
                wrap_head, _, wrap_tail = self.codec.client_frame("\x00").partition("\x00")
        else:
            self.per_frame = False
        template = wrap_head + template + wrap_tail
        self.template = template.replace("{user}", USER)
        self.per_message_ts = "{ts}" in self.template or "{id}" in self.template
        self.head, _, self.tail = self.template.partition("{text}")
        self.message_bytes = message_bytes
        self._padding = "x" * message_bytes

    def text(self, token: str) -> str:
        """The token, padded with 'x' to message_bytes (never cut)."""
        pad = self.message_bytes - len(token) - 1
        return token if pad <= 0 else f"{token} {self._padding[:pad]}"

    def render(self, token: str) -> str | bytes:
        text = self.text(token)
        if not self.per_message_ts:
            body = self.head + text + self.tail
        else:
            ts = repr(round(time.time() * 1000, 3))
            body = self.template.replace("{text}", text).replace("{id}", token).replace("{ts}", ts)
        if self.binary:
            return self.codec.client_frame(body)
        if self.per_frame:  # a protocol whose frames differ per message (graphql-ws operation ids)
            head, _, tail = self.codec.client_frame("\x00").partition("\x00")
            return head + body + tail
        return body
