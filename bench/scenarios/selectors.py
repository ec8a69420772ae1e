"""A target's selectors, checked once its page is open: one that cannot be parsed is a usage error that
names its key (exit 2), not a traceback from deep inside a measurement (seen: Locator.count in the scroll
preload, after the bursts were measured) nor "matched nothing" after a whole --timeout.

The selectors the probes use inside the page (dom.list, dom.message, stream.reply, stream.done) are read
by document.querySelector and Element.matches, so they must be CSS; page.ready is read by Playwright,
where its own syntax (`>>`, `text=`) works too.
"""

from __future__ import annotations

from playwright.sync_api import Error as PlaywrightError

from ..errors import UsageError, first_line

# A fragment parses the selector without looking at the page's DOM: only the syntax is checked.
_CSS_ERROR = ("(s) => { try { document.createDocumentFragment().querySelector(s); return null; } "
              "catch (e) { return String(e && e.message || e); } }")


def check_css(page, key: str, selector: str) -> None:
    try:
        error = page.evaluate(_CSS_ERROR, selector)
    except PlaywrightError:
        return  # no document to ask now (the page navigates on after its load): the waits that follow say why
    if error:
        raise UsageError(f"{key} {selector!r} is not a CSS selector, as it must be (the probes use it inside "
                         f"the page): {error}")


def check_playwright(page, key: str, selector: str) -> None:
    try:
        page.locator(selector).count()
    except PlaywrightError as exc:
        if "selector" not in str(exc).lower():
            return  # not the selector's fault (a navigation under way): wait_ready's wait goes through it
        raise UsageError(f"{key} {selector!r} is not a valid selector: {first_line(exc)}") from None


def check_target(page, target) -> None:
    """Every selector of target that bench reads, by the key a profile gives it."""
    check_playwright(page, "page.ready", target.ready_selector)
    check_css(page, "dom.list", target.list_selector)
    check_css(page, "dom.message", target.message_selector)
    for key in ("reply", "done"):
        selector = (target.stream or {}).get(key)
        if selector:
            check_css(page, f"stream.{key}", selector)
