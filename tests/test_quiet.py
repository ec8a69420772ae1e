"""The paint probe's wait after a burst (PaintProbe.quiet) ends early only when no paint can still come.

Not `timing`: what is asserted is which messages were painted and how the
wait ended; where they are (out of view below the list's top, or in view
but hidden) does not depend on how fast the machine is.
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


def send_unpainted(session, count: int) -> tuple[list[str], dict]:
    """Send `count` messages, wait as after a burst; all of them reach the DOM and none is painted."""
    messages = session.messages.take(count)
    tokens = [m.token for m in messages]
    session.injector.send(messages)
    state = session.wait_delivered(tokens, 30)
    assert state["dom"] == len(tokens) and state["paint"] == 0, state
    return tokens, state


def test_the_wait_ends_when_the_unpainted_messages_are_out_of_view_and_none_of_them_paints_later(app_page):
    # The list scrolled to its top: the bundled app follows the newest
    # message only when the list is at its bottom, so every new message is
    # appended below the view, presented in a frame that does not show it, as
    # a burst's early messages are once the list has scrolled past them.
    # (A burst itself does not make that certain: how many messages one
    # frame gets depends on how fast they arrive, which a loaded machine changes.)
    app = app_page()
    session, page = app.session, app.session.page
    filler = session.messages.take(60)
    session.injector.send(filler)
    session.wait_delivered([m.token for m in filler], 30)
    page.evaluate(f"() => {{ document.querySelector({session.target.list_selector!r}).scrollTop = 0; }}")
    tokens, state = send_unpainted(session, 40)
    assert state["ended"] == "out-of-view", state
    # Half a second later, none of them has been painted: nothing was lost by ending early.
    wait_frames(page, FRAMES_AFTER)
    records = session.paint.take(page, tokens)
    assert [r["paint"] for r in records] == [None] * len(tokens)
    assert all(r["presented"] is not None for r in records)  # every one was presented


def test_the_wait_does_not_end_early_while_an_unpainted_message_is_in_view(app_page):
    # visibility: hidden lays a message out in view but paints nothing of it
    # (Element Timing reports nothing), so to the wait these messages are
    # presented, unpainted and in view: a paint may still come, and it must
    # wait for its stable frames.
    app = app_page()
    session = app.session
    session.page.add_style_tag(content=f"{session.target.message_selector} {{ visibility: hidden }}")
    tokens, state = send_unpainted(session, 20)
    assert state["ended"] == "stable", state
    records = session.paint.take(session.page, tokens)
    assert all(r["presented"] is not None for r in records)
