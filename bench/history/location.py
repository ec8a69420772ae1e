"""Where the history store is: --db, else [tool.bench] history in ./pyproject.toml, else the default."""

from __future__ import annotations

from pathlib import Path

from ..gate.budgets import _read_toml
from ..errors import UsageError
from .backends import is_postgres

DEFAULT_DB = Path(".bench") / "history.sqlite"


def pyproject_history(directory: str | Path = ".") -> str | None:
    """[tool.bench] history = "..." of DIRECTORY/pyproject.toml, or None."""
    path = Path(directory) / "pyproject.toml"
    if not path.is_file():
        return None
    data, _ = _read_toml(path, "pyproject")
    value = data.get("tool", {}).get("bench", {}).get("history")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{path}: [tool.bench] history must be a path (a non-empty string)")
    return value


def resolve(option: str | None, directory: str | Path = ".") -> str:
    """The store to use: the option, else pyproject's, else .bench/history.sqlite (relative to DIRECTORY)."""
    if option:
        return option
    configured = pyproject_history(directory)
    if configured:
        if is_postgres(configured) or Path(configured).is_absolute():
            return configured
        return str(Path(directory) / configured)
    return str(Path(directory) / DEFAULT_DB)
