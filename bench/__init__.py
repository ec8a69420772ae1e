"""bench: measure a web chat UI in real Chromium, and the chat server behind it."""

__version__ = "0.1.0"
