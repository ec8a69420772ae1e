"""`bench history` against a real PostgreSQL server, started for these tests in a temporary directory.

Skipped, with the reason, where the optional driver (psycopg, `pip install 'bench[postgres]'`) or the
server's programs (initdb, pg_ctl: Debian's postgresql package) are missing.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile

import pytest

from bench.cli.main import main
from bench.history import migrations
from bench.history.backends import LOCK_KEY, Connection, PostgresBackend
from bench.history.store import Store
from tests.conftest import REPO
from tests.history_data import real_results, shifted, write

psycopg = pytest.importorskip("psycopg", reason="the optional PostgreSQL driver is not installed: "
                                                "pip install 'bench[postgres]'")


def _server_bin(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    initdb, pg_ctl = _server_bin("initdb"), _server_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("no PostgreSQL server programs (initdb, pg_ctl) on this machine: apt-get install postgresql")
    # PostgreSQL refuses to run as root: as root, run it as the postgres user the package creates.
    as_user = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None or subprocess.run(["id", "postgres"], capture_output=True).returncode:
            pytest.skip("running as root without a 'postgres' user to start the server as")
        as_user = ["runuser", "-u", "postgres", "--"]
    folder = tempfile.mkdtemp(prefix="bench-pg-")
    if as_user:
        shutil.chown(folder, "postgres")
    data, port = os.path.join(folder, "data"), _free_port()
    subprocess.run([*as_user, initdb, "-D", data, "-A", "trust", "-U", "postgres"], check=True, capture_output=True)
    started = subprocess.run([*as_user, pg_ctl, "-D", data, "-l", os.path.join(folder, "log"), "-w", "-t", "60",
                              "-o", f"-p {port} -k {folder} -c listen_addresses=''", "start"], capture_output=True,
                             text=True)
    if started.returncode:
        pytest.skip(f"could not start PostgreSQL: {started.stderr.strip() or started.stdout.strip()}")
    try:
        yield f"postgresql://postgres@/postgres?host={folder}&port={port}", folder, port
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def url(server, request):
    """A fresh database per test."""
    admin, folder, port = server
    name = "t_" + request.node.name.lower().replace("[", "_").replace("]", "")[:50]
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}"')
        db.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres@/{name}?host={folder}&port={port}"


def bench(*argv: str) -> int:
    return main(["history", *argv])


def test_record_check_show_on_postgres(url, tmp_path, capsys):
    real = real_results()
    steady = [write(tmp_path / f"r{i}.json", r) for i, r in enumerate(real)]
    step = [write(tmp_path / f"s{i}.json", shifted(r, "paint.latency_ms", 30.0)) for i, r in enumerate(real[:3])]
    assert bench("check", "--db", url) == 2
    assert "no history store here yet" in capsys.readouterr().err
    for i, path in enumerate([*steady, *step]):
        prefix = "base" if i < len(steady) else "step"
        number = i if i < len(steady) else i - len(steady)
        assert bench("record", str(path), "--db", url, "--commit", f"{prefix}{number:02d}", "--branch", "main") == 0
    capsys.readouterr()
    assert bench("check", "--db", url, "--metric", "paint.latency_ms,scroll.fps") == 1
    assert "paint.latency_ms slower from commit step00 on" in capsys.readouterr().out
    assert bench("show", "--db", url, "--metric", "paint.latency_ms", "--last", "2") == 0
    assert "step02" in capsys.readouterr().out
    with Store(url) as store:
        assert store.version == migrations.LATEST
        first = store.runs()[0]
        assert store.results(first.id) == real[0]


def test_parallel_writers_on_postgres_lose_no_row(url, tmp_path):
    path = write(tmp_path / "r.json", real_results()[0])
    jobs = [subprocess.Popen([sys.executable, "-m", "bench", "history", "record", str(path), "--db", url,
                              "--commit", f"job{i}", "--branch", "main"], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for i in range(4)]
    outcomes = [(job.wait(timeout=120), job.stderr.read()) for job in jobs]
    assert all(code == 0 for code, _ in outcomes), outcomes
    with Store(url) as store:
        assert sorted(r.commit for r in store.runs()) == [f"job{i}" for i in range(4)]


def test_a_locked_postgres_store_fails_after_the_wait(url, tmp_path, capsys):
    path = write(tmp_path / "r.json", real_results()[0])
    Store(url).close()
    with psycopg.connect(url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        assert bench("record", str(path), "--db", url, "--commit", "x", "--wait", "0.5") == 2
        assert "store locked by another process for more than 0.5 s" in capsys.readouterr().err
    with Store(url) as store:
        assert store.runs() == []


def test_a_v1_postgres_store_is_migrated(url, tmp_path):
    raw = psycopg.connect(url, autocommit=True)
    db = Connection(raw, "%s")
    PostgresBackend.begin_write(db)
    migrations.migrate(db, PostgresBackend, upto=1)
    db.execute("COMMIT")
    assert PostgresBackend.version(db) == 1
    raw.close()
    with Store(url) as store:
        assert store.version == 2 and "env_key" in {
            r[0] for r in store.db.execute("SELECT column_name FROM information_schema.columns "
                                           "WHERE table_name = 'runs'").fetchall()}
