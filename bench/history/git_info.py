"""Commit and branch of the checkout, for `bench history record` without --commit / --branch."""

from __future__ import annotations

import os
import subprocess

# CI variables naming the branch when the checkout is a detached HEAD (GitHub Actions checks out
# a pull request's merge commit detached: GITHUB_HEAD_REF is the PR's branch there).
BRANCH_VARIABLES = ("GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "BRANCH_NAME")


def _git(*args: str, cwd: str | None = None) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def commit(cwd: str | None = None) -> str | None:
    """Full SHA of HEAD, with "-dirty" when tracked files are modified (the run measured those)."""
    sha = _git("rev-parse", "HEAD", cwd=cwd)
    if sha is None:
        return None
    dirty = _git("status", "--porcelain", "--untracked-files=no", cwd=cwd)
    return sha + ("-dirty" if dirty else "")


def branch(cwd: str | None = None) -> str | None:
    """The checked-out branch, else the CI's branch variable, else None (a detached HEAD)."""
    name = _git("symbolic-ref", "--short", "-q", "HEAD", cwd=cwd)
    if name:
        return name
    return next((os.environ[v] for v in BRANCH_VARIABLES if os.environ.get(v)), None)
