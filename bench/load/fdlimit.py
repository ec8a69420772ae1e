"""Enough open files for C connections, checked before anything starts.

Each client is a socket in a load worker and another in the server (the
bundled server is our child and inherits our limit), plus the files a
Python process has open anyway.
"""

from __future__ import annotations

from ..errors import UsageError

BASE_FILES = 100  # Python, aiohttp, pipes, the listening socket: measured ~40, with margin


def files_needed(connections: int) -> int:
    return connections + BASE_FILES


def ensure_fd_limit(connections: int, option: str = "--clients") -> str | None:
    """Raise the soft RLIMIT_NOFILE up to the hard limit if needed; UsageError if even that is too low.

    Returns a note when the limit was raised, else None.
    """
    try:
        import resource
    except ImportError:  # Windows: no RLIMIT_NOFILE; sockets are not file descriptors there
        return None
    needed = files_needed(connections)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return None
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise UsageError(
            f"{option} {connections} needs about {needed} open files per process (a socket per client "
            f"in this process and in the server, plus {BASE_FILES}), but the limit here is {soft} "
            f"(hard limit {hard}); raise it (`ulimit -n {max(needed, 4096)}`) or use fewer clients")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return f"raised the open-file limit from {soft} to {needed} for {connections} connections"
