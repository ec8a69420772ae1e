"""`bench profile init`: watch a chat page and propose a profile to edit."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

from .browser import BrowserOptions, launch, new_context
from .errors import TargetError
from .probes import probe_script
from .probes.paint import PaintProbe
from .session import _first_line


def _frame_template(sample: str | None) -> tuple[str, str]:
    """A frame template from a frame the page received: its longest string becomes {text}."""
    if not sample:
        return "{text}", "no frame arrived while watching: edit this to what the server sends"
    try:
        data = json.loads(sample)
    except ValueError:
        return "{text}", "frames looked like plain text"
    if not isinstance(data, dict):
        return "{text}", "frames were JSON but not objects: edit this"
    strings = {k: v for k, v in data.items() if isinstance(v, str)}
    if not strings:
        return "{text}", "no string field found in a frame: edit this"
    text_key = max(strings, key=lambda k: len(strings[k]))
    template = json.dumps({k: ("{text}" if k == text_key else v) for k, v in data.items()},
                          ensure_ascii=False, separators=(",", ":"))
    return template, f"from a frame the page received; {text_key!r} carries the text"


def _toml_string(value: str) -> str:
    return "'" + value + "'" if "'" not in value and "\n" not in value else json.dumps(value)


def propose_profile(url: str, browser_options: BrowserOptions, watch_s: float = 5,
                    timeout_s: float = 30) -> str:
    with sync_playwright() as playwright:
        browser = launch(playwright, browser_options)
        try:
            page = new_context(browser).new_page()
            frames: dict[str, list[str]] = {}

            def on_socket(ws):
                frames.setdefault(ws.url, [])
                ws.on("framereceived", lambda payload: frames[ws.url].append(payload)
                      if isinstance(payload, str) else None)

            page.on("websocket", on_socket)
            PaintProbe().install(page)
            try:
                page.goto(url, wait_until="load", timeout=timeout_s * 1000)
            except Exception as exc:
                raise TargetError(f"cannot load {url}: {_first_line(exc)}") from None
            page.wait_for_timeout(watch_s * 1000)
            found = page.evaluate(probe_script("discover.js"))
        finally:
            browser.close()
    if not frames:
        raise TargetError(f"{url}: the page opened no WebSocket within {watch_s:g} s of watching "
                          "(try --watch longer, or log in first with page.setup steps)")
    socket_url = max(frames, key=lambda u: len(frames[u]))  # the busiest socket carries chat
    path = urlsplit(socket_url).path or "/"
    sample = next((f for f in frames[socket_url] if f.strip()), None)
    frame, frame_note = _frame_template(sample)
    lines = [
        f"# Proposed by `bench profile init --url {url}`; check it with `bench profile check`.",
        f"name = {_toml_string(urlsplit(url).netloc)}",
        f"url = {_toml_string(url)}",
        "",
        "[websocket]",
        f"match = {_toml_string('**' + path)}        # sockets seen: {', '.join(sorted(frames))}",
        'inject = "intercept"',
        f"frame = {_toml_string(frame)}   # {frame_note}",
        "",
        "[dom]",
        f"list = {_toml_string(found['list'])}   # scroll containers seen: "
        f"{', '.join(found['listCandidates']) or 'none; the page itself scrolls'}",
        f"message = {_toml_string(found['message'] or '*')}   # "
        + (f"{found['messageCount']} such children in the list" if found["message"]
           else "the list was empty: edit this to one rendered message"),
        "",
        "[page]",
        f"ready = {_toml_string(found['list'])}",
        "setup = []   # e.g. [{click = \"#login\"}, {fill = [\"#name\", \"bench\"]}]",
    ]
    return "\n".join(lines) + "\n"
