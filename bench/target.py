"""A Target says how to drive one chat UI: its page, socket, selectors, injection.

Targets come from profiles (bench/profile.py); the bundled app's profile is
fixtures/profiles/bundled.toml.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

from .messages import Message

INJECT_MODES = ("intercept", "server")
FRAME_FORMATS = ("json", "text")


@dataclass
class Target:
    name: str
    url: str
    ws_match: str = "**/ws*"          # glob for the page socket that carries chat
    inject: str = "intercept"         # intercept | server
    frame: str = "{text}"             # server->client frame; {text} {id} {ts} {user}
    frame_format: str = "json"        # json: placeholders are JSON-escaped; text: as is
    send_frame: str | None = None     # client->server frame (bench throughput --profile); {text} ...
    send_url: str | None = None       # inject = "server": where to POST a message
    send_body: str = '{"text":"{text}"}'
    disconnect_url: str | None = None  # inject = "server": POST {"mode": "close"|"abort"} drops the page's socket
    list_selector: str = "#messages"  # the scrolling message list
    message_selector: str = ".message"
    ready_selector: str = "body"
    setup: list[dict] = field(default_factory=list)  # steps before measuring
    bundled: bool = False             # the bundled reference app (its knobs apply)
    input_box: str | None = None      # [input] box: where a person types (None: no input scenario)
    input_send: list[dict] = field(default_factory=list)  # [input] send: actions that send it

    def with_url(self, url: str, app_query: str = "") -> "Target":
        """This target at url (plus knobs in app_query); send_url resolved against it."""
        parts = urlsplit(url)
        query = "&".join(q for q in (parts.query, app_query.lstrip("?&")) if q)
        full = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, parts.fragment))
        resolve = lambda u: urljoin(full, u) if u else None  # noqa: E731
        return Target(**{**self.__dict__, "url": full, "send_url": resolve(self.send_url),
                         "disconnect_url": resolve(self.disconnect_url)})


def _escaped(value: str, frame_format: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1] if frame_format == "json" else value


def render_template(template: str, message: Message, frame_format: str = "json") -> str:
    """Fill {text} {id} {user} (JSON-escaped for JSON templates) and {ts} (epoch ms)."""
    values = {
        "{text}": _escaped(message.text, frame_format),
        "{id}": _escaped(message.token, frame_format),
        "{user}": _escaped(message.user, frame_format),
        "{ts}": repr(round(time.time() * 1000, 3)),
    }
    out = template
    for key, value in values.items():
        out = out.replace(key, value)
    return out


PLACEHOLDERS = ("{text}", "{id}", "{user}", "{ts}")


def template_format(template: str) -> str:
    """JSON when the template, placeholders aside, looks like a JSON object or array."""
    bare = template
    for placeholder in PLACEHOLDERS:
        bare = bare.replace(placeholder, "")
    return "json" if bare.lstrip()[:1] in ("{", "[") else "text"


def bundled_target(base_url: str, app_query: str = "", inject: str = "intercept") -> Target:
    """The bundled reference app at base_url, with knobs from app_query."""
    from .profile import resolve_target  # profile imports this module

    return resolve_target(None, base_url, app_query, inject)
