"""Progress on stderr for long runs; silent when stderr is not a terminal."""

from __future__ import annotations

import sys

from tqdm import tqdm


class Progress:
    def __init__(self, total: int, desc: str, enabled: bool | None = None):
        # disable=None: tqdm switches itself off when stderr is not a TTY.
        self._bar = tqdm(total=total, desc=desc, unit="msg", file=sys.stderr, leave=False,
                         disable=None if enabled is None else not enabled, dynamic_ncols=True)

    def describe(self, desc: str) -> None:
        self._bar.set_description_str(desc)

    def advance(self, n: int) -> None:
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()
