"""Ctrl-C raised where Playwright's sync API can take it (the CLI's SIGTERM handler is the same function).

Python runs a signal handler in whatever greenlet is running. Playwright's sync
API runs its asyncio loop in a greenlet of its own (the dispatcher) while a call
waits; a KeyboardInterrupt raised there can unwind the loop in the middle of a
task (the pipe to the driver is one) and the connection is lost: closing the
browser afterwards raises "connection closed" instead of the interrupt, and the
exit is 1, not 130. So the interrupt is thrown into the root greenlet, the bench
code suspended in the Playwright call, and the dispatcher stays where it was; the
next call (closing the browser) resumes it.

The call the interrupt abandons may still fail later, when bench closes its
page or browser on the way out ("Target page, context or browser has been
closed"). Nobody waits for it any more, so asyncio would print its traceback
("Task exception was never retrieved") after bench's one line; once an
interrupt was thrown, Playwright's loop drops those reports for Playwright's
own errors (seen in a run stopped in its trace passes).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading

import greenlet  # Playwright's own dependency: its sync API is built on it
from playwright.sync_api import Error as PlaywrightError, sync_playwright


def interrupt(signum, frame) -> None:
    """A signal handler raising KeyboardInterrupt in the root greenlet."""
    throw_in_caller(KeyboardInterrupt)


def in_playwright_call() -> bool:
    """Whether bench's code is suspended in a Playwright call (the dispatcher greenlet runs)."""
    return greenlet.getcurrent() is not _root()


def throw_in_caller(exc) -> None:
    """Raise exc in bench's code (the root greenlet), wherever the signal handler that calls this runs."""
    _quiet_abandoned_calls()
    root = _root()
    if greenlet.getcurrent() is root:
        raise exc
    root.throw(exc)


def _quiet_abandoned_calls() -> None:
    """From now on, Playwright's loop does not report the failures of calls nobody waits for. Wherever the
    handler runs: an interrupt in the root greenlet abandons a call too, one whose task is made but not yet
    switched to (seen: Browser.new_context in the trace passes). The loop is the running one in both
    greenlets: Playwright sets it again in bench's after every call."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    loop.set_exception_handler(_drop_abandoned_failures)


def _drop_abandoned_failures(loop, context: dict) -> None:
    if isinstance(context.get("exception"), PlaywrightError) and "never retrieved" in context.get("message", ""):
        return
    loop.default_exception_handler(context)


def _root():
    root = greenlet.getcurrent()
    while root.parent is not None:
        root = root.parent
    return root


@contextlib.contextmanager
def interruptible_playwright():
    """sync_playwright() with Ctrl-C delivered to the caller, never inside the dispatcher.

    Only around Playwright: asyncio.run (the load commands) installs its own
    SIGINT handler only when it finds Python's default one.
    """
    install = (threading.current_thread() is threading.main_thread()
               and signal.getsignal(signal.SIGINT) is signal.default_int_handler)  # not when the shell ignores it
    if install:
        signal.signal(signal.SIGINT, interrupt)
    try:
        with sync_playwright() as playwright, _signals_wake_the_loop(install):
            yield playwright
    finally:
        if install:
            signal.signal(signal.SIGINT, signal.default_int_handler)


@contextlib.contextmanager
def _signals_wake_the_loop(install: bool):
    """A signal wakes Playwright's loop, whichever of bench's threads the kernel hands it to.

    Python runs a signal's handler in the main thread, once that thread runs Python code again. The kernel
    may deliver the signal to another thread (the watchdog's, a library's); a main thread asleep in the
    loop's select() with nothing to read then sleeps on: a page load that hangs sends nothing for the whole
    --timeout, and Ctrl-C waited for it (seen: 28 s). Python writes every signal to the wakeup fd, from any
    thread; the loop watches its other end, so the select() returns and the handler runs at once.
    """
    try:
        loop = asyncio.get_running_loop()  # Playwright's: it marks it running in this greenlet between calls
    except RuntimeError:
        loop = None
    if not install or loop is None:
        yield
        return
    reader, writer = socket.socketpair()
    previous = None
    try:  # set up inside: a signal between two steps still finds the cleanup armed
        reader.setblocking(False)
        writer.setblocking(False)
        previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        loop.add_reader(reader.fileno(), _drain, reader)
        yield
    finally:
        if previous is not None:
            signal.set_wakeup_fd(previous)
        with contextlib.suppress(Exception):  # the loop may be closed already, or the reader not added
            loop.remove_reader(reader.fileno())
        reader.close()
        writer.close()


def _drain(reader: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while reader.recv(64):
            pass
