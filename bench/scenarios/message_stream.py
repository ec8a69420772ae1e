"""Messages arriving at a fixed rate while a scenario acts on the page (the input scenario's busy phase).

Open loop: message i is due at start + i / rate, whatever the page or the
scenario is doing. make_stream() picks the thread that sends them.
"""

from __future__ import annotations

import threading
import time

from ..targets.inject import ServerInjector
from .page import PageSession


class MessageStream:
    """Messages injected at a fixed rate, each at its scheduled time (open loop), pumped between actions.

    Through the target's injection path in this thread, as the burst
    scenario does: while a key press waits for the page (Playwright returns
    once the page has handled the key), no message can be sent, so arrivals
    bunch up behind slow keystrokes. ThreadedStream avoids that where it can.
    """

    threaded = False

    def __init__(self, session: PageSession, rate: float):
        self.session, self.rate = session, rate
        self.start = time.monotonic()
        self.sent: list[str] = []

    def next_due(self) -> float:
        return self.start + len(self.sent) / self.rate

    def pump(self) -> None:
        due = int((time.monotonic() - self.start) * self.rate) + 1 - len(self.sent)
        if due > 0:
            messages = self.session.messages.take(due)
            self.session.injector.send(messages)
            self.sent.extend(m.token for m in messages)

    def stop(self, raise_error: bool = True) -> None:
        pass


class ThreadedStream(MessageStream):
    """The same schedule, POSTed to the chat server (server injection) from a thread of its own.

    Arrivals then owe nothing to the typing: the key presses wait for the
    page, this thread does not wait for them (a person types whatever the
    server is doing, and the server sends whatever the person is doing).
    """

    threaded = True

    def __init__(self, session: PageSession, rate: float):
        super().__init__(session, rate)
        self._injector = ServerInjector(session.target, session.timeout_s)
        self._stop = threading.Event()
        self.error: Exception | None = None
        self._messages = session.messages
        self._thread = threading.Thread(target=self._run, name="bench-input-stream", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                message = self._messages.take(1)
                due = self.start + len(self.sent) / self.rate
                self._stop.wait(max(0.0, due - time.monotonic()))
                if self._stop.is_set():
                    return
                self._injector.send(message)
                self.sent.append(message[0].token)
        except Exception as exc:  # reported by stop(), in the scenario's thread
            self.error = exc

    def next_due(self) -> float:
        return float("inf")  # nothing for the scenario's thread to send

    def pump(self) -> None:
        if self.error is not None:
            raise self.error

    def stop(self, raise_error: bool = True) -> None:
        self._stop.set()
        self._thread.join()
        self._injector.close()
        if raise_error and self.error is not None:
            raise self.error


def make_stream(session: PageSession, rate: float) -> MessageStream:
    """A thread of its own when the target can take messages through its server, else this thread."""
    if session.target.send_url:
        return ThreadedStream(session, rate)
    return MessageStream(session, rate)


def wait_until(page, deadline: float, stream: MessageStream | None) -> None:
    """Until `deadline` (time.monotonic()), injecting every message that falls due meanwhile."""
    while True:
        now = time.monotonic()
        if stream is not None:
            stream.pump()
        wake = deadline if stream is None else min(deadline, stream.next_due())
        if now >= deadline:
            return
        if wake - now > 0.001:
            page.wait_for_timeout((wake - now) * 1000)
