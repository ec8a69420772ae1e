"""The history store: open, migrate, add a run, read. SQLite by default (the standard library's
sqlite3), PostgreSQL for a postgresql:// location (bench/history/backends.py).

Safe with several writers at once (parallel CI jobs sharing one file): WAL
journal, so readers never block the writer; a busy timeout (--wait), so a
writer waits for another's transaction instead of failing; and each run is
written in one BEGIN IMMEDIATE transaction, so a run is stored whole or not
at all. A store that stays locked past the wait, a file that is not SQLite,
or a damaged one are one-line UsageErrors (exit 2) that say nothing was
recorded; a row is never half written or silently dropped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import zlib
from dataclasses import dataclass

from ..errors import UsageError
from . import migrations
from .backends import backend_for

DEFAULT_WAIT_S = 30.0
ANY = object()  # runs(branch=ANY): every branch
RUN_COLUMNS = "id, commit_sha, branch, recorded_at, started_at, env_key, partial"
SUMMARY_FIELDS = ("unit", "n", "p50", "p50_lo", "p50_hi", "p95", "p95_lo", "p95_hi", "mean", "value")


@dataclass(frozen=True)
class Run:
    id: int
    commit: str
    branch: str | None
    recorded_at: str
    started_at: str | None
    env_key: str
    partial: bool


def metric_row(metric: dict) -> dict:
    """A metric of a results file as the store keeps its summary (CIs split into lo/hi)."""
    row = {"unit": metric.get("unit"), "n": metric.get("n"), "mean": metric.get("mean"),
           "value": metric.get("value") if isinstance(metric.get("value"), str) else None}
    for stat in ("p50", "p95"):
        value = metric.get(stat)
        row[stat] = value if isinstance(value, (int, float)) else None
        ci = metric.get(f"{stat}_ci") or [None, None]
        row[f"{stat}_lo"], row[f"{stat}_hi"] = ci[0], ci[1]
    return row


class Store:
    """One open store. Use as a context manager, or call close()."""

    def __init__(self, path: str, *, create: bool = True, wait_s: float = DEFAULT_WAIT_S):
        self.path = path
        self.wait_s = wait_s
        self.backend = backend_for(path, wait_s, create)
        with self._errors("open"):
            self.db = self.backend.connect()
        try:
            self._migrate()
        except BaseException:
            self.db.close()
            raise

    # -- errors --------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self, doing: str):
        try:
            yield
        except Exception as exc:
            kind = self.backend.classify(exc)
            if kind is None:
                raise
            if kind == "locked":
                raise UsageError(f"{self.path}: store locked by another process for more than {self.wait_s:g} s "
                                 f"({doing}: nothing was changed); retry, or wait longer with --wait") from None
            if kind == "damaged":
                raise UsageError(f"{self.path}: not a readable history store ({exc}); "
                                 f"move it aside to start a new one") from None
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UsageError(f"{self.path}: cannot {doing} the history store: {detail}") from None

    @contextlib.contextmanager
    def _write(self, doing: str):
        """One write transaction, taken at once (BEGIN IMMEDIATE), committed whole or rolled back."""
        with self._errors(doing):
            self.backend.begin_write(self.db)
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._errors("open"):
            current = self.backend.version(self.db)
        if current > migrations.LATEST:
            raise UsageError(f"{self.path}: history store schema v{current} is newer than this bench knows "
                             f"(v{migrations.LATEST}); upgrade bench")
        if current < migrations.LATEST:
            with self._write("migrate") as db:
                migrations.migrate(db, self.backend)  # re-reads the version inside the lock: a racing opener did it
        with self._errors("read"):
            tables = self.backend.tables(self.db)
        if not {"runs", "metrics"} <= tables:
            raise UsageError(f"{self.path}: a database, but not a bench history store (no runs table)")

    @property
    def version(self) -> int:
        return self.backend.version(self.db)

    # -- writing -------------------------------------------------------------
    def add_run(self, *, commit: str, branch: str | None, recorded_at: str, raw: bytes, results: dict) -> int:
        """Store one results file (its raw bytes compressed, its metrics' summaries); the run's id."""
        env = results.get("env") or {}
        with self._write("record a run in") as db:
            cursor = db.execute(
                "INSERT INTO runs (commit_sha, branch, recorded_at, started_at, env, env_key, partial, "
                "results_zlib, results_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (commit, branch, recorded_at, env.get("started_at"), json.dumps(env, sort_keys=True),
                 migrations.env_key(env), int(bool(results.get("partial"))), zlib.compress(raw, 9),
                 hashlib.sha256(raw).hexdigest()))
            run_id = cursor.fetchone()[0]
            db.executemany(
                f"INSERT INTO metrics (run_id, name, {', '.join(SUMMARY_FIELDS)}) "
                f"VALUES (?, ?, {', '.join('?' * len(SUMMARY_FIELDS))})",
                [(run_id, name, *(metric_row(m)[f] for f in SUMMARY_FIELDS))
                 for name, m in results["metrics"].items()])
        return run_id

    # -- reading -------------------------------------------------------------
    def runs(self, branch: str | None | object = ANY, env_key: str | None = None, last: int | None = None) -> list[Run]:
        """Runs in the order they were recorded (oldest first), optionally of one branch (None: runs
        recorded without a branch) and env."""
        where, params = [], []
        if branch is None:
            where.append("branch IS NULL")
        elif branch is not ANY:
            where.append("branch = ?")
            params.append(branch)
        if env_key is not None:
            where.append("env_key = ?")
            params.append(env_key)
        sql = (f"SELECT {RUN_COLUMNS} FROM runs"
               + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY id DESC")
        if last is not None:
            sql += f" LIMIT {int(last)}"
        with self._errors("read"):
            rows = self.db.execute(sql, params).fetchall()
        return [Run(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6])) for r in reversed(rows)]

    def run(self, run_id: int) -> Run:
        with self._errors("read"):
            row = self.db.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise UsageError(f"{self.path}: no run {run_id}")
        return Run(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]))

    def newest(self) -> Run | None:
        runs = self.runs(last=1)
        return runs[0] if runs else None

    def metrics(self, run_ids: list[int]) -> dict[int, dict[str, dict]]:
        """run id -> metric name -> its stored summary."""
        out: dict[int, dict[str, dict]] = {run_id: {} for run_id in run_ids}
        if not run_ids:
            return out
        marks = ", ".join("?" * len(run_ids))
        with self._errors("read"):
            rows = self.db.execute(f"SELECT run_id, name, {', '.join(SUMMARY_FIELDS)} FROM metrics "
                                   f"WHERE run_id IN ({marks})", run_ids).fetchall()
        for run_id, name, *values in rows:
            out[run_id][name] = dict(zip(SUMMARY_FIELDS, values))
        return out

    def results(self, run_id: int) -> dict:
        """The run's results file as it was recorded (decompressed), to recompute any statistic."""
        with self._errors("read"):
            row = self.db.execute("SELECT results_zlib, results_sha256 FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise UsageError(f"{self.path}: no run {run_id}")
        raw = zlib.decompress(bytes(row[0]))
        if hashlib.sha256(raw).hexdigest() != row[1]:
            raise UsageError(f"{self.path}: run {run_id}'s stored results do not match their checksum")
        return json.loads(raw)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
