"""A Target says how to drive one chat UI: its page, socket, selectors, injection.

Targets come from profiles (bench/targets/profile.py); the bundled app's profile is
bench/targets/data/profiles/bundled.toml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

from .messages import Message  # noqa: F401  (type of render_template's message)
from .protocols import NAMES as PROTOCOLS, Codec, Settings, make as make_codec
from .protocols.template import PLACEHOLDERS, render_template, template_format  # noqa: F401

INJECT_MODES = ("intercept", "server")
FRAME_FORMATS = ("json", "text")
__all__ = ["PROTOCOLS", "PLACEHOLDERS", "Target", "render_template", "template_format"]


@dataclass
class Target:
    """The defaults here are a profile's defaults (profile.py fills only the keys a profile sets):
    one set of them. The bundled app's values are in its profile, data/profiles/bundled.toml."""

    name: str
    url: str
    ws_match: str = "**/*"            # glob for the page socket that carries chat (default: any)
    inject: str = "intercept"         # intercept | server
    frame: str = "{text}"             # server->client frame; {text} {id} {ts} {user}
    frame_format: str = "text"        # json: placeholders are JSON-escaped; text: as is (profile: from frame)
    protocol: str = ""                # json | text | socketio | signalr | phoenix | graphql-ws ("": frame_format)
    event: str | None = None          # Socket.IO event, SignalR target, Phoenix event, graphql-ws id
    namespace: str | None = None      # Socket.IO namespace, Phoenix topic
    send_event: str | None = None     # client->server event/target/method when it differs from event
    subscribe: str | None = None      # graphql-ws: the subscription a load receiver sends
    send_frame: str | None = None     # client->server frame (bench throughput --profile); {text} ...
    send_url: str | None = None       # inject = "server": where to POST a message
    send_body: str = '{"text":"{text}"}'
    disconnect_url: str | None = None  # inject = "server": POST {"mode": "close"|"abort"} drops the page's socket
    list_selector: str = "html"       # the scrolling message list (default: the page)
    message_selector: str = "*"       # one rendered message
    ready_selector: str = ""          # exists once the app is ready (default: the list)
    setup: list[dict] = field(default_factory=list)  # steps before measuring
    bundled: bool = False             # the bundled reference app (its knobs apply)
    stream: dict | None = None        # [stream]: start, reply, transport, done (docs/streaming.md)
    input_box: str | None = None      # [input] box: where a person types (None: no input scenario)
    input_send: list[dict] = field(default_factory=list)  # [input] send: actions that send it

    @property
    def protocol_name(self) -> str:
        return self.protocol or self.frame_format

    def codec(self) -> Codec:
        """A fresh codec for this target's protocol (bench/protocols/)."""
        return make_codec(self.protocol_name, Settings(event=self.event, namespace=self.namespace,
                                                       send_event=self.send_event, subscribe=self.subscribe))

    def encode(self, message, codec: Codec | None = None) -> str | bytes:
        """The server->page frame that carries message (injection); bytes for a binary (MessagePack) protocol."""
        codec = codec or self.codec()
        fmt = self.frame_format
        return codec.server_frame(codec.payload_text(render_template(self.frame, message, fmt), fmt))

    def __post_init__(self) -> None:
        self.ready_selector = self.ready_selector or self.list_selector

    def with_url(self, url: str, app_query: str = "") -> "Target":
        """This target at url (plus knobs in app_query); send_url resolved against it."""
        parts = urlsplit(url)
        query = "&".join(q for q in (parts.query, app_query.lstrip("?&")) if q)
        full = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, parts.fragment))
        resolve = lambda u: urljoin(full, u) if u else None  # noqa: E731
        return Target(**{**self.__dict__, "url": full, "send_url": resolve(self.send_url),
                         "disconnect_url": resolve(self.disconnect_url)})
