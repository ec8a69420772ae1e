"""`bench history`: a real SQLite store, real results files of the bundled app (tests/data/history),
real processes writing at once. No browser (except the one `bench ui --history` test)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import zlib

import pytest

from bench.cli.main import main
from bench.history import location, migrations
from bench.history.backends import Connection, SQLiteBackend
from bench.history.store import Store
from tests.conftest import REPO
from tests.history_data import real_results, shifted, write


def bench(*argv: str) -> int:
    return main(["history", *argv])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The ten real runs, and three copies of the first three with paint.latency_ms +30 ms."""
    folder = tmp_path_factory.mktemp("results")
    real = real_results()
    steady = [write(folder / f"real-{i:02d}.json", r) for i, r in enumerate(real, 1)]
    step = [write(folder / f"step-{i}.json", shifted(r, "paint.latency_ms", 30.0)) for i, r in enumerate(real[:3], 1)]
    return steady, step


def record_all(db, paths, prefix: str, branch: str = "main") -> None:
    for i, path in enumerate(paths):
        assert bench("record", str(path), "--db", str(db), "--commit", f"{prefix}{i:02d}", "--branch", branch) == 0


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bench: error: "), err
    return err[0]


def test_steady_history_passes_and_a_30_ms_step_fails_at_its_first_commit(tmp_path, files, capsys):
    steady, step = files
    db = tmp_path / "h.sqlite"
    record_all(db, steady, "base")
    capsys.readouterr()
    assert bench("check", "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert "PASS: no gated metric broke from its history" in out and "paint.latency_ms" in out

    record_all(db, step, "step")
    capsys.readouterr()
    assert bench("check", "--db", str(db)) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("FAIL: the newest run breaks from the history: paint.latency_ms slower from "
                              "commit step00 on"), out[-1]
    assert [line for line in out if "slower" in line and not line.startswith("FAIL")] == \
        [line for line in out if line.startswith("paint.latency_ms ")]  # no other metric called slower

    # another branch's runs are another history: quiet again (a hostile branch name is just a name)
    feature = 'feat/"ünï" 🚀\nx'
    record_all(db, steady[:6], "feature", branch=feature)
    assert bench("check", "--db", str(db), "--branch", "main", "--metric", "paint.latency_ms") == 1
    capsys.readouterr()
    assert bench("check", "--db", str(db), "--metric", "paint.latency_ms") == 0  # newest run: branch feature
    assert f"branch {feature}, 6 run(s)" in capsys.readouterr().out


def test_show_and_report(tmp_path, files, capsys):
    steady, step = files
    db = tmp_path / "h.sqlite"
    record_all(db, [*steady, *step], "c")
    capsys.readouterr()
    assert bench("show", "--db", str(db), "--metric", "paint.latency_ms,scroll.fps", "--last", "4") == 0
    out = capsys.readouterr().out
    assert "paint.latency_ms (ms)" in out and "scroll.fps (fps)" in out
    latency = out.split("paint.latency_ms (ms)")[1].split("scroll.fps")[0]
    rows = [line.split() for line in latency.splitlines() if line.strip().startswith(("10 ", "11 ", "12 ", "13 "))]
    assert [r[1] for r in rows] == ["c09", "c10", "c11", "c12"]
    expected = [real_results()[9]["metrics"]["paint.latency_ms"]]
    assert rows[0][4] == f"{expected[0]['p50']:.1f}" and rows[0][5] == f"{expected[0]['p50_ci'][0]:.1f}"

    page = tmp_path / "out" / "history.html"
    assert bench("report", "--db", str(db), "--html", str(page), "--metric", "paint.latency_ms,scroll.fps") == 0
    text = page.read_text()
    assert text.count("<svg") == 2 and "paint.latency_ms: 13 runs" in text
    assert "slower since c10" in text and "change at c10" in text  # the step's first commit, in caption and legend
    assert "http://" not in text.replace("http://www.w3.org", "") and "https://" not in text


def test_raw_results_are_kept_and_every_metric_summarized(tmp_path, files):
    steady, _ = files
    with Store(str(tmp_path / "h.sqlite")) as store:
        from bench.history.record import record_file

        run_id = record_file(store, steady[0], commit="abc", branch="main")
        assert store.results(run_id) == json.loads(steady[0].read_text())
        stored = store.metrics([run_id])[run_id]
        original = json.loads(steady[0].read_text())["metrics"]
        assert set(stored) == set(original)
        assert stored["paint.latency_ms"]["p50"] == original["paint.latency_ms"]["p50"]
        latency = stored["paint.latency_ms"]
        assert [latency["p95_lo"], latency["p95_hi"]] == original["paint.latency_ms"]["p95_ci"]
        assert stored["scroll.fps"]["p50_lo"] is None and original["scroll.fps"]["p50_ci"] is None  # 2 passes: no CI
        assert stored["heap.verdict"]["value"] == original["heap.verdict"]["value"]
        blob = store.db.execute("SELECT length(results_zlib) FROM runs").fetchone()[0]
        assert blob < len(steady[0].read_bytes()) / 3  # compressed


def test_results_of_another_schema_are_refused_and_nothing_is_stored(tmp_path, files, capsys):
    db = tmp_path / "h.sqlite"
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"schema": "lhci/2", "metrics": {}}))
    assert bench("record", str(other), "--db", str(db), "--commit", "x") == 2
    assert "results schema 'lhci/2', expected 'bench/1'" in one_error_line(capsys)
    assert bench("record", str(tmp_path / "missing.json"), "--db", str(db), "--commit", "x") == 2
    one_error_line(capsys)
    with Store(str(db)) as store:
        assert store.runs() == []


def test_a_corrupt_store_is_one_line_exit_2(tmp_path, files, capsys):
    steady, _ = files
    db = tmp_path / "h.sqlite"
    db.write_bytes(b"not a database, just text " * 200)
    assert bench("record", str(steady[0]), "--db", str(db), "--commit", "x") == 2
    assert "not a readable history store (file is not a database)" in one_error_line(capsys)
    assert bench("check", "--db", str(tmp_path / "nowhere.sqlite")) == 2
    assert "no history store here yet" in one_error_line(capsys)
    foreign = tmp_path / "foreign.sqlite"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.commit()
    sqlite3.connect(foreign).execute("PRAGMA user_version = 7").connection.commit()
    assert bench("show", "--db", str(foreign)) == 2
    assert "schema v7 is newer than this bench knows (v2)" in one_error_line(capsys)


def test_a_locked_store_waits_then_fails_with_nothing_changed(tmp_path, files, capsys):
    steady, _ = files
    db = tmp_path / "h.sqlite"
    Store(str(db)).close()
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    assert bench("record", str(steady[0]), "--db", str(db), "--commit", "x", "--wait", "0.3") == 2
    assert "store locked by another process for more than 0.3 s" in one_error_line(capsys)
    # released while a writer waits: the writer goes on and the row is there
    threading.Timer(0.5, holder.execute, ("COMMIT",)).start()
    assert bench("record", str(steady[0]), "--db", str(db), "--commit", "y", "--wait", "20") == 0
    holder.close()
    with Store(str(db)) as store:
        assert [r.commit for r in store.runs()] == ["y"]


def test_parallel_ci_jobs_writing_at_once_lose_no_row(tmp_path, files):
    """Real processes, started together on a store that does not exist yet (so they also race to
    create and migrate it): every run is stored exactly once."""
    steady, _ = files
    db = tmp_path / "shared" / "h.sqlite"
    jobs = [subprocess.Popen([sys.executable, "-m", "bench", "history", "record", str(steady[i % len(steady)]),
                              "--db", str(db), "--commit", f"job{i}", "--branch", "main"],
                             cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in range(6)]
    outcomes = [(job.wait(timeout=120), job.stderr.read()) for job in jobs]
    assert all(code == 0 for code, _ in outcomes), outcomes
    with Store(str(db)) as store:
        runs = store.runs()
        assert sorted(r.commit for r in runs) == sorted(f"job{i}" for i in range(6))
        counts = store.db.execute("SELECT run_id, count(*) FROM metrics GROUP BY run_id").fetchall()
        assert len(counts) == 6 and len({n for _, n in counts}) == 1
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_v1_store_is_migrated_and_its_runs_kept(tmp_path, files, capsys):
    steady, step = files
    db = tmp_path / "v1.sqlite"
    old = Connection(sqlite3.connect(db, isolation_level=None), "?")
    migrations.migrate(old, SQLiteBackend, upto=1)
    raw = steady[0].read_bytes()
    env = json.loads(raw)["env"]
    old.execute("INSERT INTO runs (commit_sha, branch, recorded_at, started_at, env, partial, results_zlib, "
                "results_sha256) VALUES ('old1', 'main', '2026-01-01T00:00:00+00:00', NULL, ?, 0, ?, ?)",
                (json.dumps(env), zlib.compress(raw), __import__("hashlib").sha256(raw).hexdigest()))
    old.execute("INSERT INTO metrics (run_id, name, unit, n, p50) VALUES (1, 'paint.latency_ms', 'ms', 3, 25.0)")
    assert migrations.version(old) == 1
    old.close()

    assert bench("record", str(step[0]), "--db", str(db), "--commit", "new1", "--branch", "main") == 0
    with Store(str(db)) as store:
        assert store.version == migrations.LATEST == 2
        runs = store.runs(branch="main", env_key=migrations.env_key(env))
        assert [r.commit for r in runs] == ["old1", "new1"]  # the backfilled key matches the new run's
        assert store.results(runs[0].id) == json.loads(raw)
    capsys.readouterr()
    assert bench("show", "--db", str(db), "--metric", "paint.latency_ms") == 0
    assert "old1" in capsys.readouterr().out


def test_store_location_from_pyproject_and_commit_from_git(tmp_path, files, capsys, monkeypatch):
    steady, _ = files
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.bench]\nhistory = "perf/history.sqlite"\n')
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "trunk"], cwd=project, check=True)
    subprocess.run([*git, "add", "pyproject.toml"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=project, check=True)
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True).stdout.strip()
    monkeypatch.chdir(project)
    assert bench("record", str(steady[0])) == 0
    assert f"commit {sha}, branch trunk -> perf/history.sqlite" in capsys.readouterr().out
    assert (project / "perf" / "history.sqlite").is_file() and not (project / ".bench").exists()
    (project / "pyproject.toml").write_text('[tool.bench]\nhistory = "postgresql://ci@db/bench"\n')
    assert location.resolve(None, project) == "postgresql://ci@db/bench"  # a URL is not a path
    (project / "pyproject.toml").write_text("[tool.bench]\nhistory = 3\n")
    assert bench("show") == 2
    assert "[tool.bench] history must be a path" in one_error_line(capsys)
