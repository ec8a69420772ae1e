"""The store's schema, one numbered step per version (SQLite's PRAGMA user_version holds the version;
PostgreSQL's, a one-row table bench_schema).

A step runs inside the caller's write transaction (BEGIN IMMEDIATE, or
PostgreSQL's transaction with the writers' advisory lock), so two
processes opening a new or old store at once cannot both migrate it: the
second waits, then finds the version already raised and does nothing.

v1  runs (one row per recorded results file: commit, branch, time, env, the
    raw file zlib-compressed) and metrics (each metric's summary per run).
v2  runs.env_key: the environment fields that make runs comparable
    (bench/gate/compare.py ENV_MUST_MATCH), so a check never mixes a headed run
    with a headless one; backfilled from each run's stored env.
"""

from __future__ import annotations

import json

from ..gate import compare
from .backends import Connection, SQLiteBackend

V1 = """
CREATE TABLE runs (
    id {id},
    commit_sha TEXT NOT NULL,
    branch TEXT,
    recorded_at TEXT NOT NULL,
    started_at TEXT,
    env TEXT NOT NULL,
    partial INTEGER NOT NULL,
    results_zlib {blob} NOT NULL,
    results_sha256 TEXT NOT NULL
);
CREATE TABLE metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    unit TEXT,
    n INTEGER,
    p50 {real}, p50_lo {real}, p50_hi {real},
    p95 {real}, p95_lo {real}, p95_hi {real},
    mean {real},
    value TEXT,
    PRIMARY KEY (run_id, name)
);
CREATE INDEX metrics_name ON metrics(name, run_id);
"""


def env_key(env: dict) -> str:
    """The comparable part of an environment as canonical JSON: equal keys, comparable runs."""
    key = {field: compare.chromium_major(env) if field == "chromium_major" else env.get(field)
           for field in compare.ENV_MUST_MATCH}
    return json.dumps(key, sort_keys=True)


def _v1(db: Connection, backend) -> None:
    for statement in V1.format(**backend.types).split(";"):
        if statement.strip():
            db.execute(statement)


def _v2(db: Connection, backend) -> None:
    db.execute("ALTER TABLE runs ADD COLUMN env_key TEXT")
    for run_id, env in db.execute("SELECT id, env FROM runs").fetchall():
        db.execute("UPDATE runs SET env_key = ? WHERE id = ?", (env_key(json.loads(env)), run_id))
    db.execute("CREATE INDEX runs_series ON runs(branch, env_key, id)")


STEPS = {1: _v1, 2: _v2}
LATEST = max(STEPS)


def version(db: Connection, backend=SQLiteBackend) -> int:
    return backend.version(db)


def migrate(db: Connection, backend=SQLiteBackend, upto: int = LATEST) -> list[int]:
    """Apply the missing steps up to `upto` (call inside a write transaction); the steps applied."""
    applied = []
    for number in range(backend.version(db) + 1, upto + 1):
        STEPS[number](db, backend)
        backend.set_version(db, number)
        applied.append(number)
    return applied
