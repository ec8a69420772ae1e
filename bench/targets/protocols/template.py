"""Payload templates: {text} {id} {user} {ts} filled in, escaped for the template's encoding."""

from __future__ import annotations

import json
import time

PLACEHOLDERS = ("{text}", "{id}", "{user}", "{ts}")
FORMATS = ("json", "text")


def _escaped(value: str, fmt: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1] if fmt == "json" else value


def render_template(template: str, message, fmt: str = "json") -> str:
    """Fill {text} {id} {user} (JSON-escaped for JSON templates) and {ts} (epoch ms).

    message: anything with .text, .token and .user (bench.targets.messages.Message).
    """
    values = {
        "{text}": _escaped(message.text, fmt),
        "{id}": _escaped(message.token, fmt),
        "{user}": _escaped(message.user, fmt),
        "{ts}": repr(round(time.time() * 1000, 3)),
    }
    out = template
    for key, value in values.items():
        out = out.replace(key, value)
    return out


def template_format(template: str, json_strings: bool = False) -> str:
    """JSON when the template, placeholders aside, looks like a JSON object or array
    (or, with json_strings, a JSON string: inside a JSON-carrying protocol)."""
    bare = template
    for placeholder in PLACEHOLDERS:
        bare = bare.replace(placeholder, "")
    starts = ("{", "[", '"') if json_strings else ("{", "[")
    return "json" if bare.lstrip()[:1] in starts else "text"
