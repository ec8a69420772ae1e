"""json and text: the frame is the payload (the bundled app, plain relays)."""

from __future__ import annotations

from .base import Codec


class JsonCodec(Codec):
    name = "json"

    def payload_format(self, template: str) -> str:
        return "json"


class TextCodec(Codec):
    name = "text"

    def payload_format(self, template: str) -> str:
        return "text"
