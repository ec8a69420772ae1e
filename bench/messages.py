"""Benchmark messages: a unique token in realistic text from the seeded corpus."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from .fixtures import load_fixture_module

CORPUS_SIZE = 1000  # cycled; enough variety that no two bursts look alike


@dataclass(frozen=True)
class Message:
    token: str  # bench-<run>-<seq>, in the visible text, found by the paint probe
    user: str
    text: str


class MessageSource:
    """Hands out messages in order; same seed, same texts (tokens differ per run)."""

    def __init__(self, seed: int = 1, run_id: str | None = None):
        generator = load_fixture_module("messages/generator.py")
        self._corpus = generator.generate_messages(CORPUS_SIZE, seed=seed)
        self.run_id = run_id or secrets.token_hex(3)
        self._seq = 0

    def take(self, count: int) -> list[Message]:
        out = []
        for _ in range(count):
            item = self._corpus[self._seq % len(self._corpus)]
            token = f"bench-{self.run_id}-{self._seq}"
            # Token first, so it is on the first line however long the text.
            out.append(Message(token, item["user"], f"{token} {item['text']}"))
            self._seq += 1
        return out
