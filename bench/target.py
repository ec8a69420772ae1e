"""A Target says how to drive one chat UI: its page, socket, selectors, injection."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from .messages import Message

INJECT_MODES = ("intercept", "server")

BUNDLED_FRAME = '{"type":"message","id":"{id}","user":"{user}","text":"{text}","ts":{ts}}'


@dataclass
class Target:
    name: str
    url: str
    ws_match: str = "**/ws*"          # glob for the page socket that carries chat
    inject: str = "intercept"         # intercept | server
    frame: str = BUNDLED_FRAME        # server->client frame; {text} {id} {ts} {user}
    send_url: str | None = None       # inject = "server": where to POST a message
    send_body: str = '{"text":"{text}","user":"{user}"}'
    disconnect_url: str | None = None  # inject = "server": POST {"mode": "close"|"abort"} drops the page's socket
    list_selector: str = "#messages"  # the scrolling message list
    message_selector: str = ".message"
    ready_selector: str = "#messages"


def _json_escaped(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


def render_template(template: str, message: Message) -> str:
    """Fill {text} {id} {user} (JSON-escaped) and {ts} (epoch ms) of a frame or body."""
    values = {
        "{text}": _json_escaped(message.text),
        "{id}": _json_escaped(message.token),
        "{user}": _json_escaped(message.user),
        "{ts}": repr(round(time.time() * 1000, 3)),
    }
    out = template
    for key, value in values.items():
        out = out.replace(key, value)
    return out


def bundled_target(base_url: str, app_query: str = "", inject: str = "intercept") -> Target:
    """The reference chat app at base_url, with knobs from app_query."""
    parts = urlsplit(base_url)
    root = f"{parts.scheme}://{parts.netloc}"
    url = f"{root}/"
    query = "&".join(q for q in (parts.query, app_query.lstrip("?&")) if q)
    if query:
        url += "?" + query
    return Target(
        name="bundled chat app",
        url=url,
        inject=inject,
        send_url=f"{root}/api/messages",
        disconnect_url=f"{root}/api/disconnect",
    )
