"""Benchmark messages: a unique token in realistic text from the seeded corpus."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from .bundled import load_fixture_module

CORPUS_SIZE = 1000  # cycled; enough variety that no two bursts look alike


@dataclass(frozen=True)
class Message:
    token: str  # bench-<run>-<seq>, in the visible text, found by the paint probe
    user: str
    text: str


# The hardest texts for a frame encoding: quotes and backslashes, newlines
# and a code block, emoji with joiners and right-to-left script, 10 kB.
HARD_TEXTS = (
    'quotes "double" \'single\' and back\\slashes \\n \\u0041 \\',
    "line one\nline two\r\n```js\nsocket.send(\"}\");\n```",
    "emoji 👩‍💻👨‍👩‍👧‍👦🏳️‍🌈 🇩🇪 and RTL: مرحبا، كيف حالك؟ שלום",
    "long " + "lorem ipsum dolor sit amet " * 370,
)


class MessageSource:
    """Hands out messages in order; same seed, same texts (tokens differ per run)."""

    def __init__(self, seed: int = 1, run_id: str | None = None):
        generator = load_fixture_module("messages/generator.py")
        self._corpus = generator.generate_messages(CORPUS_SIZE, seed=seed)
        self.run_id = run_id or secrets.token_hex(3)
        self._seq = 0

    def hard(self) -> list[Message]:
        """One message per HARD_TEXTS entry, each with its own token."""
        out = []
        for text in HARD_TEXTS:
            token = f"bench-{self.run_id}-{self._seq}"
            out.append(Message(token, 'a "user"\\', f"{token} {text}"))
            self._seq += 1
        return out

    def take(self, count: int) -> list[Message]:
        out = []
        for _ in range(count):
            item = self._corpus[self._seq % len(self._corpus)]
            token = f"bench-{self.run_id}-{self._seq}"
            # Token first, so it is on the first line however long the text.
            out.append(Message(token, item["user"], f"{token} {item['text']}"))
            self._seq += 1
        return out
