"""The few /proc files bench reads (Linux), parsed in one place.

Callers decide what "not available" means for them; these raise OSError
(or ValueError on a malformed file) or return None as documented.
"""

from __future__ import annotations

import os
from pathlib import Path


def stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces): fields 3 onwards (state, ppid, ...)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()


def schedstat_ns(task: int | str) -> tuple[int, int] | None:
    """(time on a CPU, time ready to run but waiting for one) in ns, from /proc/<task>/schedstat, or None.

    task: a pid, which names that process's main thread (the thread whose id
    is the pid), or "thread-self". None where the kernel keeps no schedstat.
    """
    try:
        run_ns, wait_ns = Path(f"/proc/{task}/schedstat").read_text().split()[:2]
        return int(run_ns), int(wait_ns)
    except (OSError, ValueError):
        return None


def process_tree(root: int | None = None) -> dict[int, list[str]]:
    """root (default: this process) and its live descendants, each with its stat_fields, from one pass
    over /proc/*/stat (a process that exits meanwhile is left out)."""
    root = os.getpid() if root is None else root
    fields_of: dict[int, list[str]] = {}
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = stat_fields(int(entry.name))
        except (OSError, ValueError):
            continue  # exited while we looked
        fields_of[int(entry.name)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree: dict[int, list[str]] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid in tree or pid not in fields_of:
            continue
        tree[pid] = fields_of[pid]
        todo.extend(children.get(pid, []))
    return tree
