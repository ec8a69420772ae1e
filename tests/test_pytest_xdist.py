"""The pytest plugin under pytest-xdist (`pytest -n 2`): the workers' measurements in one results file.

A small suite runs in a subprocess, with real Chromium and the bundled app
started by each worker, once with `-n 2` (each worker's browser on its own
`playwright run-server`) and once in one process; a third session with `-n 2`
loses a worker. The three run at once (module fixture `sessions`). Each test
also writes down what its own call returned (samples, worker), so the merged
file can be checked against what every worker really measured: every
sample is there, in its test, and the counts add up. Nothing is timed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bench.browser.launch import STABLE_FLAGS, find_chromium
from bench.results.records import load_results
from tests.browser_servers import PlaywrightServer, wait_until_gone
from tests.conftest import REPO, run_bench
from tests.test_pytest_plugin import Nested

pytest.importorskip("xdist", reason="pytest-xdist is in the test extra: pip install -e '.[test]'")

pytestmark = [pytest.mark.browser, pytest.mark.harness]

XDIST = ("-p", "xdist.plugin")  # plugin autoloading is off in these subprocesses
BURSTS, SIZE = 2, 5
TESTS = ("a", "b", "c", "d")  # 4 tests, 2 workers: xdist's load scheduling sends each worker 2
SUITE = f'''
import json
import os

BURSTS, SIZE = {BURSTS}, {SIZE}


def keep(name, result):
    """What this test's worker measured, as the test saw it."""
    with open(f"seen-{{name}}.json", "w") as f:
        json.dump({{"worker": os.environ.get("PYTEST_XDIST_WORKER"),
                   "samples": result["paint.latency_ms"].samples,
                   "injected": result["paint.injected"].sum}}, f)
''' + "".join(f'''

def test_{name}(page, chat_bench):
    keep("{name}", chat_bench.burst(page, bursts=BURSTS, size=SIZE))
''' for name in TESTS)

CRASHING_SUITE = '''
import json
import os


def test_measures(page, chat_bench):
    chat_bench.burst(page, bursts=2, size=5)


def test_measures_then_its_worker_dies(page, chat_bench):
    result = chat_bench.burst(page, bursts=2, size=5)
    with open("lost.json", "w") as f:
        json.dump({"worker": os.environ["PYTEST_XDIST_WORKER"], "n": result["paint.latency_ms"].n}, f)
    os._exit(1)  # the worker process dies before its session finishes
'''


def key_of(name: str) -> str:
    return f"test_suite.py::test_{name}[chromium]"


def _dir(tmp_path_factory, label: str, suite: str) -> Path:
    directory = tmp_path_factory.mktemp(label)
    shutil.copy(REPO / "examples" / "conftest.py", directory)
    (directory / "test_suite.py").write_text(suite)
    return directory


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> dict:
    """Three sessions at once (nothing in them is timed, so they may share the CPU), each in its own folder:

    - parallel: the suite with -n 2, each worker on its own `playwright run-server`
      (examples/conftest.py: PLAYWRIGHT_WS_ENDPOINT=ws1,ws2 gives gw0 the first server and gw1
      the second, so the two workers' browsers do not share a machine; here both run on this one);
    - single: the suite in one process, on the first server (the same kind of browser, so the
      two files can be compared field by field);
    - crash: CRASHING_SUITE with -n 2 on local browsers, one worker dying mid-session.
    """
    servers = (PlaywrightServer(), PlaywrightServer())
    with servers[0] as first, servers[1] as second:
        remote = {"BENCH_CHROMIUM": find_chromium()}  # the servers' machine is this one
        dirs = {label: _dir(tmp_path_factory, label, suite)
                for label, suite in (("parallel", SUITE), ("single", SUITE), ("crash", CRASHING_SUITE))}
        nested = [Nested(dirs["parallel"], *XDIST, "-n", "2", "--bench-json", "out",
                         PLAYWRIGHT_WS_ENDPOINT=f"{first.endpoint},{second.endpoint}", **remote),
                  Nested(dirs["single"], "--bench-json", "out", PLAYWRIGHT_WS_ENDPOINT=first.endpoint, **remote),
                  Nested(dirs["crash"], *XDIST, "-n", "2", "--bench-json", "out")]
        try:
            procs = dict(zip(dirs, [n.result() for n in nested]))
        finally:
            for n in nested:
                n.stop()
        # pytest-playwright closed every worker's browser on the servers
        left = {server.endpoint: wait_until_gone(server.browsers) for server in servers}
    return {"servers": [first.endpoint, second.endpoint], "browsers_left": left,
            **{label: Session(dirs[label], procs[label]) for label in dirs}}


class Session:
    """A finished session's folder and process; its files read by the tests (a session that failed
    fails the tests that use it, each with its output)."""

    def __init__(self, directory: Path, proc):
        self.dir, self.proc = directory, proc

    def __getitem__(self, key: str):
        if key in ("dir", "proc"):
            return getattr(self, key)
        if key == "results":
            return load_results(self.dir / "out" / "results.json")
        assert key == "seen"
        return {name: json.loads((self.dir / f"seen-{name}.json").read_text()) for name in TESTS}

    def passed(self) -> "Session":
        assert self.proc.returncode == 0, self.proc.stdout + self.proc.stderr
        return self


def test_the_controller_merges_every_workers_samples_into_one_file(sessions) -> None:
    run = sessions["parallel"].passed()
    directory, seen, results = run["dir"], run["seen"], run["results"]
    assert sorted(p.name for p in (directory / "out").iterdir()) == ["results.json"]  # no file per worker
    workers = {s["worker"] for s in seen.values()}
    assert workers == {"gw0", "gw1"}, seen  # both workers measured
    # Every test's samples, exactly as its worker's call returned them, under its own name.
    for name, saw in seen.items():
        latency = results["metrics"][f"{key_of(name)}::paint.latency_ms"]
        assert latency["samples"] == saw["samples"] and latency["n"] == len(saw["samples"]) > 0
        assert latency["runs"] == [latency["n"]] and len(latency["blocks"]) == BURSTS  # one call, 2 bursts
        assert results["metrics"][f"{key_of(name)}::paint.injected"]["sum"] == saw["injected"] == BURSTS * SIZE
        records = [r for r in results["records"]["paint"] if r["test"] == key_of(name)]
        assert len(records) == BURSTS * SIZE  # a record per injected message, painted or not
    # The counts add up: the file holds the sum of what the workers measured, nothing more.
    all_latency = [m for n, m in results["metrics"].items() if n.endswith("::paint.latency_ms")]
    assert sum(m["n"] for m in all_latency) == sum(len(s["samples"]) for s in seen.values())
    assert len(results["records"]["paint"]) == len(TESTS) * BURSTS * SIZE
    # The summaries are computed from the merged samples (by the controller, as in one process).
    for metric in all_latency:
        assert metric["p50"] == pytest.approx(float(np.percentile(metric["samples"], 50)))
        assert metric["p95"] == pytest.approx(float(np.percentile(metric["samples"], 95)))
    # Which worker measured which test, and that they ran in parallel.
    expected = {w: sorted(key_of(n) for n, s in seen.items() if s["worker"] == w) for w in workers}
    assert {w: sorted(t) for w, t in results["config"]["pytest"]["workers"].items()} == expected
    assert results["env"]["pytest_workers"] == 2 and results["partial"] is False
    assert results["notes"][0].startswith("measured by pytest-xdist workers, 2 at once (gw0: 2 test(s), "
                                          "gw1: 2 test(s)): tests that ran at the same time shared")
    assert "bench: measurements of 4 test(s) from pytest-xdist workers (2 at once) written to out/results.json" \
        in run["proc"].stdout


def test_the_merged_file_has_the_schema_of_a_single_process_session(sessions) -> None:
    parallel, single = (sessions[label].passed()["results"] for label in ("parallel", "single"))
    assert set(parallel) == set(single) and parallel["schema"] == single["schema"] == "bench/1"
    assert set(parallel["metrics"]) == set(single["metrics"])  # the same names, test by test
    for name, metric in single["metrics"].items():
        assert set(parallel["metrics"][name]) == set(metric), name  # the same fields per metric
    assert set(parallel["records"]) == set(single["records"])
    for name, rows in single["records"].items():  # the same fields per record
        assert set().union(*parallel["records"][name]) == set().union(*rows), name
    assert set(parallel["env"]) - set(single["env"]) == {"pytest_workers"}
    assert set(parallel["config"]["pytest"]["tests"]) == set(single["config"]["pytest"]["tests"])
    assert "workers" not in single["config"]["pytest"] and "pytest_workers" not in single["env"]
    # bench compare reads both and matches every metric by its test.
    paths = [str(sessions[label]["dir"] / "out" / "results.json") for label in ("single", "parallel")]
    compared = run_bench("compare", *paths)
    assert compared.returncode in (0, 1), compared.stderr
    assert all(f"{key_of(name)}::paint.latency_ms" in compared.stdout for name in TESTS)


def test_a_worker_that_dies_is_named_and_the_file_is_partial(sessions) -> None:
    tmp_path, proc = sessions["crash"]["dir"], sessions["crash"]["proc"]
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the crashed test fails
    results = sessions["crash"]["results"]
    assert "1 failed, 1 passed" in proc.stdout, proc.stdout + proc.stderr
    lost = json.loads((tmp_path / "lost.json").read_text())
    assert results["partial"] is True
    survivor = "test_suite.py::test_measures[chromium]"
    assert {n.rpartition("::")[0] for n in results["metrics"]} == {survivor}
    assert lost["n"] > 0  # the dead worker had measured: those samples are what is missing
    # xdist replaces the dead worker (gw2 here), so 3 workers ran, never more than 2 at once.
    assert results["env"]["pytest_workers"] == 2
    workers = results["config"]["pytest"]["workers"]
    assert workers[lost["worker"]] == [] and survivor in [t for tests in workers.values() for t in tests]
    # xdist's reason (here "Not properly terminated": its channel to the worker closed) in brackets
    lost_note = next(n for n in results["notes"] if n.startswith(f"pytest-xdist worker {lost['worker']} went down ("))
    assert lost_note.endswith(") before handing over its measurements: they are not in this file")
    assert f"{lost['worker']}: lost" in results["notes"][0]
    assert "bench: measurements of 1 test(s) from pytest-xdist workers (2 at once) written to out/results.json" \
        in proc.stdout
    assert f"bench: {lost_note}" in proc.stdout


def test_each_worker_on_its_own_browser_server(sessions) -> None:
    """The parallel session ran each worker on its own `playwright run-server`."""
    assert sessions["browsers_left"] == {endpoint: set() for endpoint in sessions["servers"]}
    env = sessions["parallel"].passed()["results"]["env"]
    assert env["browser_location"] == "remote-playwright" and env["flags"] == STABLE_FLAGS
    # A field the measurements disagree on lists its values in worker order: gw0 used the first server.
    assert env["browser_endpoint"] == sessions["servers"]
    assert env["pytest_workers"] == 2
    assert sessions["single"]["results"]["env"]["browser_endpoint"] == sessions["servers"][0]
