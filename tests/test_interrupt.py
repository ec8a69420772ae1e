"""Ctrl-C in the middle of a Playwright call reaches bench's code, and the browser is still ours.

A child process interrupts itself every few milliseconds while it makes page
calls: with Python's default handler the KeyboardInterrupt lands in Playwright's
dispatcher greenlet often enough to lose the connection to the driver within a
second (seen here: after 8 calls); with bench's handler every interrupt reaches
the caller and the browser still closes cleanly. Only the interrupts that land
mid-call are raised: one landing between calls, in the test's own loop, would
escape its `try` (a first-pass failure in a full suite run once).
"""

import subprocess
import sys

import pytest

from tests.conftest import REPO, default_sigint_then

CHILD = r"""
import os, random, signal, threading, time
from playwright.sync_api import Error
from bench.browser.interrupt import in_playwright_call, interrupt, interruptible_playwright
from bench.browser.launch import BrowserOptions, launch

done = threading.Event()
def pester():
    while not done.is_set():
        time.sleep(random.uniform(0.002, 0.02))
        os.kill(os.getpid(), signal.SIGINT)

def mid_call_only(signum, frame):
    # The interrupts this test is about land while a page call waits. One landing in the loop's own
    # bookkeeping (the while test, the except clause) would escape it: plain Python, not under test.
    if in_playwright_call():
        interrupt(signum, frame)

calls = interrupts = 0
with interruptible_playwright() as playwright:
    signal.signal(signal.SIGINT, mid_call_only)
    browser = launch(playwright, BrowserOptions())
    page = browser.new_page()
    threading.Thread(target=pester, daemon=True).start()
    started = time.monotonic()
    while time.monotonic() - started < 3 or interrupts < 50:
        try:
            page.evaluate("() => new Promise(r => setTimeout(() => r(1), 1))")
            calls += 1
        except KeyboardInterrupt:
            interrupts += 1
        except Error as exc:
            print("lost:", str(exc).splitlines()[0], flush=True)
            break
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    done.set()
    browser.close()
print("calls", calls, "interrupts", interrupts)
"""


def test_interrupts_mid_call_reach_the_caller_and_keep_the_connection():
    proc = subprocess.run([sys.executable, "-c", CHILD], cwd=REPO, capture_output=True, text=True, timeout=120,
                          preexec_fn=default_sigint_then())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "lost:" not in proc.stdout, proc.stdout
    words = proc.stdout.split()
    calls, interrupts = int(words[-3]), int(words[-1])
    assert interrupts >= 50 and calls > 0, proc.stdout


ABANDONED = r"""
import asyncio, gc, os, signal, sys, threading, time
from playwright.sync_api import Error
from bench.browser.interrupt import interruptible_playwright
from bench.browser.launch import BrowserOptions, launch

async def fails(exc):
    raise exc

with interruptible_playwright() as playwright:
    browser = launch(playwright, BrowserOptions())
    page = browser.new_page()
    loops = []
    page.on("console", lambda message: loops.append(asyncio.get_running_loop()))  # Playwright's loop
    page.evaluate("console.log('hello')")
    try:
        if sys.argv[1] == "in-a-call":  # the handler runs in Playwright's dispatcher greenlet
            threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
            page.evaluate("() => new Promise(r => setTimeout(r, 10000))")  # still waiting when Ctrl-C comes
        else:  # between calls: the handler runs in bench's own (root) greenlet
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        print("not interrupted", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    # What a call abandoned by the interrupt does when bench closes the page under it: fails, unawaited.
    # Another error (a bug of ours) must still be reported.
    abandoned = [loops[0].create_task(fails(kind("Target page, context or browser has been closed")))
                 for kind in (Error, ValueError)]
    page.evaluate("1")  # the loop runs them
    del abandoned
    gc.collect()
    browser.close()
"""


@pytest.mark.parametrize("where", ["in-a-call", "between-calls"])
def test_a_call_abandoned_by_ctrl_c_fails_quietly_when_the_browser_closes(where):
    # bench ui stopped in its trace passes printed asyncio's "Task exception was never retrieved" and a
    # traceback (Page.route_web_socket: Target page, context or browser has been closed) after its one line;
    # later, with the interrupt in bench's own greenlet (Browser.new_context, in a CI run), the same.
    proc = subprocess.run([sys.executable, "-c", ABANDONED, where], cwd=REPO, capture_output=True, text=True, timeout=120,
                          preexec_fn=default_sigint_then())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == "interrupted\n"
    # Only the ValueError is reported: one "never retrieved", and no Playwright error in it.
    assert proc.stderr.count("Task exception was never retrieved") == 1, proc.stderr
    assert "ValueError: Target page" in proc.stderr and "playwright" not in proc.stderr.lower(), proc.stderr
