"""The paint probe's wait after a burst (PaintProbe.quiet) ends early only when no paint can still come.

Not `timing`: what is asserted is which messages were painted and how the
wait ended, and a loaded machine only makes more messages scroll past
before a frame shows them.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

FRAMES_AFTER = 30  # half a second of frames at 60 Hz after the wait ended


def wait_frames(page, count: int) -> None:
    page.evaluate("""(count) => new Promise((resolve) => {
        let seen = 0;
        const frame = () => (++seen >= count ? resolve() : requestAnimationFrame(frame));
        requestAnimationFrame(frame);
    })""", count)


def test_the_wait_ends_when_the_unpainted_messages_are_out_of_view_and_none_of_them_paints_later(app_page):
    # render=batched: the app renders what arrived since the last frame in one
    # go and keeps the list scrolled to the newest, so of 200 messages sent at
    # once most are scrolled past before any frame shows them.
    app = app_page("render=batched")
    session = app.session
    messages = session.messages.take(200)
    tokens = [m.token for m in messages]
    session.injector.send(messages)
    state = session.wait_delivered(tokens, 30)
    assert state["dom"] == len(tokens)
    assert 0 < state["paint"] < len(tokens), state
    assert state["ended"] == "out-of-view", state
    # Half a second later, no message the wait left unpainted has been painted.
    wait_frames(session.page, FRAMES_AFTER)
    records = session.paint.take(session.page, tokens)
    assert sum(r["paint"] is not None for r in records) == state["paint"]
    assert all(r["presented"] is not None for r in records)  # every one was presented, painted or not


def test_the_wait_does_not_end_early_while_an_unpainted_message_is_in_view(app_page):
    # visibility: hidden lays a message out in view but paints nothing of it
    # (Element Timing reports nothing), so to the wait these messages are
    # presented, unpainted and in view: a paint may still come, and it must
    # wait for its stable frames.
    app = app_page()
    session = app.session
    session.page.add_style_tag(content=f"{session.target.message_selector} {{ visibility: hidden }}")
    messages = session.messages.take(20)
    tokens = [m.token for m in messages]
    session.injector.send(messages)
    state = session.wait_delivered(tokens, 30)
    assert state["dom"] == len(tokens) and state["paint"] == 0, state
    assert state["ended"] == "stable", state
    records = session.paint.take(session.page, tokens)
    assert all(r["presented"] is not None for r in records)
