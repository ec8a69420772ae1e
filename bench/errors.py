"""Errors a user can act on, each with its documented exit code.

Exit codes (README, "Exit codes"): 0 ok, 1 a budget or regression failed,
2 usage or input error, 3 the target or browser failed, 130 interrupted.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED_GATE = 1
EXIT_USAGE = 2
EXIT_TARGET = 3
EXIT_INTERRUPTED = 130
EXIT_OUTPUT_CLOSED = 141  # 128 + SIGPIPE: what a shell reports for a Unix tool whose reader went away


class BenchError(Exception):
    """A failure explained in one line; `exit_code` says whose fault it is."""

    exit_code = EXIT_TARGET

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UsageError(BenchError):
    """Bad input: options, files, ports. Exit 2."""

    exit_code = EXIT_USAGE


class TargetError(BenchError):
    """The page, its server or the browser did not do what was needed. Exit 3."""

    exit_code = EXIT_TARGET


def first_line(exc: BaseException) -> str:
    """An exception's message, first line only (Playwright's carry a call log below it); its type if empty."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
