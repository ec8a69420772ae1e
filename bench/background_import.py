"""Import a module in a thread while the browser works, so its first use does not wait for it.

scipy's submodules take 0.2-0.5 s of CPU to import: at the top of a module
they would slow every `bench` start, on first use they would add to a
scenario's time. Python's import lock makes the later real import wait for
the thread's, so nothing is imported twice.
"""

from __future__ import annotations

import importlib
import threading


def start(name: str) -> None:
    threading.Thread(target=importlib.import_module, args=(name,), daemon=True,
                     name=f"import {name}").start()
