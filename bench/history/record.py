"""A results file (schema bench/1) -> one run in the history store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..errors import UsageError
from ..results.records import json_text, load_results
from . import git_info
from .store import Store


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def commit_and_branch(results: dict, commit: str | None, branch: str | None) -> tuple[str, str | None]:
    """--commit/--branch, else git's (HEAD, its branch or the CI's), else the results' own git revision."""
    commit = commit or git_info.commit() or (results.get("env") or {}).get("git_revision")
    if not commit:
        raise UsageError("no commit for this run: not in a git checkout and the results name none; pass --commit SHA")
    return commit, branch if branch is not None else git_info.branch()


def record_data(store: Store, data: dict, *, commit: str | None = None, branch: str | None = None,
                raw: bytes | None = None) -> int:
    """Store results already in memory (bench ui --history); raw: the file's bytes if there is one."""
    commit, branch = commit_and_branch(data, commit, branch)
    if raw is None:
        raw = json_text(data).encode()
    return store.add_run(commit=commit, branch=branch, recorded_at=now(), raw=raw, results=data)


def record_file(store: Store, path: str | Path, *, commit: str | None = None, branch: str | None = None) -> int:
    """Store a results file: checked first (a wrong schema is exit 2 and nothing is stored)."""
    data = load_results(path)
    return record_data(store, data, commit=commit, branch=branch, raw=Path(path).read_bytes())
