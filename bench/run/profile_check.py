"""`bench profile check`: does a profile fit its page? Every check is one line."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import Error as PlaywrightError

from ..browser import watchdog
from ..browser.interrupt import interruptible_playwright
from ..browser.launch import BrowserOptions, launch, new_context
from ..errors import BenchError
from ..targets.messages import MessageSource
from ..probes import probe_script
from ..scenarios.page import PageSession
from ..targets.target import Target


@dataclass
class Check:
    ok: bool
    what: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.what}"


def _count(page, selector: str) -> int:
    try:
        return page.locator(selector).count()
    except PlaywrightError:
        return -1  # not a valid selector


def check_profile(target: Target, browser_options: BrowserOptions, timeout_s: float = 15) -> list[Check]:
    """Open the page, verify selectors and socket, inject one message and follow it."""
    checks: list[Check] = []
    with interruptible_playwright() as playwright, watchdog.armed(timeout_s, browser_options.source.location):
        browser = launch(playwright, browser_options)
        try:
            page = new_context(browser).new_page()
            session = PageSession(page, target, MessageSource(seed=1), timeout_s,
                                  browser_location=browser_options.source.location)
            session.prepare()
            try:
                session.open()
            except BenchError as exc:
                return checks + [Check(False, exc.message)]
            checks.append(Check(True, f"page loaded, ready selector {target.ready_selector!r} found"))
            sockets = page.evaluate("() => window.__bench.sockets()")
            checks.append(Check(True, f"WebSockets the page opened: "
                                      f"{', '.join(sorted({s['url'] for s in sockets}))}"))
            for key, selector in (("dom.list", target.list_selector), ("dom.message", target.message_selector)):
                n = _count(page, selector)
                if n < 0:
                    checks.append(Check(False, f"{key} {selector!r} is not a valid selector"))
                elif key == "dom.list":
                    checks.append(Check(n == 1, f"{key} {selector!r} matches {n} element(s)"
                                                + ("" if n == 1 else "; it must match exactly one")))
                else:
                    checks.append(Check(True, f"{key} {selector!r} matches {n} element(s) before injecting"))
            checks.extend(_follow_one_message(session, timeout_s))
            if all(c.ok for c in checks):
                checks.extend(_hard_messages(session, timeout_s))
                checks.append(_list_scrolls(session))
        finally:
            watchdog.close(browser)
    return checks


def _follow_one_message(session: PageSession, timeout_s: float) -> list[Check]:
    page, target = session.page, session.target
    message = session.messages.take(1)[0]
    try:
        session.injector.send([message])
    except BenchError as exc:
        return [Check(False, f"injecting a message ({target.inject}): {exc.message}")]
    state = session.paint.quiet(page, [message.token], timeout_s)
    record = session.paint.take(page, [message.token])[0]
    where = page.evaluate("([t, m, l]) => window.__bench.locate(t, m, l)",
                          [message.token, target.message_selector, target.list_selector])
    if not state["recv"]:
        return [Check(False, f"the injected message never reached the page's socket ({target.inject})")]
    checks = [Check(True, "the page's socket received the injected message")]
    if not where.get("found") or record["dom"] is None:
        where_to = {"socketio": ("namespace", "/"), "socketio-msgpack": ("namespace", "/"),
                    "phoenix": ("topic", "room:lobby")}.get(target.protocol_name)
        also = (f", and websocket.namespace {target.namespace or where_to[1]!r} the {where_to[0]} its client "
                f"joined" if where_to else "")
        return checks + [Check(False, f"the message never appeared in the DOM (is websocket.frame the format the "
                                      f"app expects{also}?)")]
    checks.append(Check(True, f"the message appeared in the DOM at {where['path']}"
                              + (" (inside a shadow root)" if where["inShadowTree"] else "")))
    checks.append(Check(where["inMessage"], f"its text is {'' if where['inMessage'] else 'NOT '}under "
                                            f"dom.message {target.message_selector!r}"))
    checks.append(Check(where["inList"], f"it is {'' if where['inList'] else 'NOT '}inside dom.list "
                                         f"{target.list_selector!r}"))
    if record["paint"] is None:
        checks.append(Check(False, "it was never painted (out of view, or not visible)"))
    else:
        checks.append(Check(True, f"painted {record['paint'] - record['recv']:.1f} ms after it arrived "
                                  f"(method: {record['method']})"))
    return checks


def _hard_messages(session: PageSession, timeout_s: float) -> list[Check]:
    """The hardest texts for a frame encoding (bench.targets.messages.HARD_TEXTS) must all arrive, and the socket live on."""
    page, target = session.page, session.target
    messages = session.messages.hard()
    tokens = [m.token for m in messages]
    try:
        session.injector.send(messages)
    except BenchError as exc:
        return [Check(False, f"injecting the hard messages: {exc.message}")]
    socket_id = session.injector.socket_id  # the socket they went into
    state = session.paint.quiet(page, tokens, timeout_s, closed_grace_s=session.closed_grace_s,
                                socket_ids=session.injector.sockets_of(tokens))
    records = {r["token"]: r for r in session.paint.take(page, tokens)}
    checks = []
    for message in messages:
        what = _describe(message.text)
        if records[message.token]["dom"] is None:
            checks.append(Check(False, f"a message with {what} never appeared in the DOM"))
    if socket_id is not None:
        info = page.evaluate("() => window.__bench.sockets()")[socket_id]
        if info["closed"] is not None:
            checks.append(Check(False, f"the page's socket {info['url']} closed (code {info['closeCode']}) after "
                                       f"the hard messages were injected: the app could not read one of them "
                                       f"(is websocket.protocol {target.protocol_name!r} right?)"))
    if not checks:
        checks.append(Check(True, f"{len(messages)} hard messages (quotes and backslashes, newlines and code, "
                                  f"emoji and RTL, 10 kB) all appeared; the socket stayed open"))
    elif state.get("timedOut"):
        checks.append(Check(False, f"waited {timeout_s:g} s for them"))
    return checks


def _describe(text: str) -> str:
    if len(text) > 5000:
        return f"{len(text) // 1000} kB of text"
    if "```" in text:
        return "newlines and a code block"
    if '"' in text:
        return "quotes and backslashes"
    return "emoji and right-to-left text"


def _list_scrolls(session: PageSession) -> Check:
    """dom.list must be the element that scrolls: with the messages in it, it overflows and moves."""
    selector = session.target.list_selector
    # Through a locator: it pierces open shadow roots, as dom.list may sit inside one.
    locator = session.page.locator(":root" if selector == "html" else selector).first
    if not _count(session.page, ":root" if selector == "html" else selector) > 0:
        return Check(False, f"dom.list {selector!r} matches nothing")
    return list_scroll_check(selector, locator.evaluate(probe_script("list_scrolls.js")))


def list_scroll_check(selector: str, state: dict) -> Check:
    """The check from list_scrolls.js's answer. A list whose few test messages do not fill it is not failed
    for that, when it is a scroll container and nothing around it overflows: the scroll scenario fills it."""
    if state["moved"]:
        return Check(True, f"dom.list {selector!r} scrolls ({state['scrollHeight']} px of content in "
                           f"{state['clientHeight']} px)")
    if state["scrollHeight"] > state["clientHeight"]:
        why = f"its content overflows but it does not move (overflow-y: {state['overflowY']})"
    elif state.get("scrollingAncestor"):
        why = (f"its content never grew past its height, while {state['scrollingAncestor']} overflows: that one "
               f"scrolls (is the list its child?)")
    elif state["overflowY"] in ("auto", "scroll", "overlay"):
        return Check(True, f"dom.list {selector!r} is a scroll container (overflow-y: {state['overflowY']}) "
                           f"that these few messages do not fill yet ({state['scrollHeight']} px of content in "
                           f"{state['clientHeight']} px)")
    else:
        why = (f"its content never grew past its height and it is no scroll container "
               f"(overflow-y: {state['overflowY']})")
    return Check(False, f"dom.list {selector!r} cannot scroll: {why}")
