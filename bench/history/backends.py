"""The two kinds of store: a SQLite file (standard library, the default) and PostgreSQL (optional).

Everything that differs between them is here: connecting, taking the write
lock, where the schema version lives, column types, placeholders, and which
errors mean "locked" or "not a store". bench/history/store.py and
migrations.py write one SQL for both, with `?` placeholders.

PostgreSQL is for one store shared by many CI machines (`--db
postgresql://user@host/db`). It needs the optional extra `bench[postgres]`
(psycopg 3, the PostgreSQL project's maintained Python driver, with its
bundled libpq): it is not one of the project's own dependencies because
most users keep a file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import UsageError

LOCK_KEY = 0x62656E6368  # "bench": the advisory lock every writer of a PostgreSQL store takes


def is_postgres(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


class Connection:
    """A DB-API connection in autocommit mode, with `?` placeholders whatever the driver wants."""

    def __init__(self, raw, placeholder: str):
        self.raw = raw
        self.placeholder = placeholder

    def _sql(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("%", "%%").replace("?", self.placeholder)

    def execute(self, sql: str, params=()):
        cursor = self.raw.cursor()
        cursor.execute(self._sql(sql), params)
        return cursor

    def executemany(self, sql: str, rows) -> None:
        self.raw.cursor().executemany(self._sql(sql), rows)

    def close(self) -> None:
        self.raw.close()


class SQLiteBackend:
    kind = "sqlite"
    types = {"id": "INTEGER PRIMARY KEY AUTOINCREMENT", "blob": "BLOB", "real": "REAL"}

    def __init__(self, path: str, wait_s: float, create: bool):
        if not create and not Path(path).exists():
            raise UsageError(f"{path}: no history store here yet; record a run first "
                             f"(bench history record RESULTS.json)")
        if create:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path, self.wait_s = path, wait_s

    def connect(self) -> Connection:
        # isolation_level=None: no implicit transactions; every write says BEGIN IMMEDIATE.
        db = Connection(sqlite3.connect(self.path, timeout=self.wait_s, isolation_level=None), "?")
        try:
            db.execute(f"PRAGMA busy_timeout = {int(self.wait_s * 1000)}")
            db.execute("PRAGMA journal_mode = WAL")  # readers never block the writer
            db.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def begin_write(db: Connection) -> None:
        db.execute("BEGIN IMMEDIATE")  # the write lock now, not at the first write: no deadlock between writers

    @staticmethod
    def version(db: Connection) -> int:
        return db.execute("PRAGMA user_version").fetchone()[0]

    @staticmethod
    def set_version(db: Connection, number: int) -> None:
        db.execute(f"PRAGMA user_version = {int(number)}")

    @staticmethod
    def tables(db: Connection) -> set[str]:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()}

    @staticmethod
    def classify(exc: BaseException) -> str | None:
        """'locked', 'damaged', 'other' for the driver's errors; None for anything else."""
        if isinstance(exc, sqlite3.OperationalError):
            return "locked" if "locked" in str(exc) or "busy" in str(exc) else "other"
        if isinstance(exc, sqlite3.DatabaseError):  # "file is not a database", "disk image is malformed"
            return "damaged"
        return None


class PostgresBackend:
    kind = "postgresql"
    types = {"id": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "blob": "BYTEA", "real": "DOUBLE PRECISION"}

    def __init__(self, url: str, wait_s: float, create: bool):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise UsageError("a postgresql:// store needs the optional extra: pip install 'bench[postgres]' "
                             "(psycopg 3)") from None
        self.path, self.wait_s, self.create = url, wait_s, create

    def connect(self) -> Connection:
        import psycopg

        raw = psycopg.connect(self.path, autocommit=True, connect_timeout=max(1, int(self.wait_s)))
        db = Connection(raw, "%s")
        # lock_timeout: a writer waits this long for another's lock, then fails (as SQLite's busy timeout)
        db.execute(f"SET lock_timeout = {int(self.wait_s * 1000)}")
        if not self.create and "runs" not in self.tables(db):
            db.close()
            raise UsageError(f"{self.path}: no history store here yet; record a run first "
                             f"(bench history record RESULTS.json)")
        return db

    @staticmethod
    def begin_write(db: Connection) -> None:
        db.execute("BEGIN")
        # One writer at a time, as in SQLite: also makes creating and migrating the schema race-free.
        db.execute("SELECT pg_advisory_xact_lock(?)", (LOCK_KEY,))

    @staticmethod
    def version(db: Connection) -> int:
        if db.execute("SELECT to_regclass('bench_schema')").fetchone()[0] is None:
            return 0
        row = db.execute("SELECT version FROM bench_schema").fetchone()
        return row[0] if row else 0

    @staticmethod
    def set_version(db: Connection, number: int) -> None:
        db.execute("CREATE TABLE IF NOT EXISTS bench_schema (version INTEGER NOT NULL)")
        db.execute("DELETE FROM bench_schema")
        db.execute("INSERT INTO bench_schema (version) VALUES (?)", (number,))

    @staticmethod
    def tables(db: Connection) -> set[str]:
        return {r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
                .fetchall()}

    @staticmethod
    def classify(exc: BaseException) -> str | None:
        import psycopg

        if isinstance(exc, (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled)):
            return "locked"
        if isinstance(exc, psycopg.Error):
            return "other"
        return None


def backend_for(location: str, wait_s: float, create: bool):
    if is_postgres(location):
        return PostgresBackend(location, wait_s, create)
    return SQLiteBackend(location, wait_s, create)
