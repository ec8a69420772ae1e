"""Every measurement of a pytest session in one results file (schema bench/1).

Metric names are qualified by the test that measured them,
"<test id>::<metric>" (metric_catalog.QUALIFIER_SEPARATOR), e.g.
"tests/test_chat.py::test_burst[chromium]::paint.latency_ms". Two sessions of
the same suite then have the same names, so `bench compare` matches each
test's metric with the same test's in the other session, and never pools
samples of two tests that measured different pages or settings. Direction,
gating and noise floors follow the metric after the last "::".

Within one test, each call of the same scenario is one repetition (a
"run" in the results, resampled as such by the bootstrap); a call with
name="..." is kept apart as "<test id>::<name>::<metric>".

With pytest-xdist each worker process measures its own tests. A worker hands
its measurements to the controller as a part (to_part: raw samples per
repetition and block, records, notes, env; no statistic), the controller
absorbs every worker's part and writes the one file, so the summaries and
bootstrap CIs come from the same code, over the same samples, as in a
single-process session.
"""

from __future__ import annotations

import json

from ..results.metric_catalog import QUALIFIER_SEPARATOR
from ..results.records import SCHEMA, MetricSeries, Results, ScenarioOutput

# env fields that differ between any two measurements by nature
PER_MEASUREMENT_ENV = ("started_at",)


def qualified(test_key: str, metric: str) -> str:
    return f"{test_key}{QUALIFIER_SEPARATOR}{metric}"


def merged_env(envs: list[dict]) -> dict:
    """One env for the session: a field all measurements agree on keeps its value; one they
    differ on becomes the list of its distinct values (in order seen), so compare sees the mix."""
    if not envs:
        return {}
    out = dict(envs[0])
    for key in {k for env in envs for k in env}:
        if key in PER_MEASUREMENT_ENV:
            continue
        distinct, seen = [], set()
        for env in envs:
            value = env.get(key)
            text = json.dumps(value, sort_keys=True)  # values may be lists or dicts: compare their JSON
            if text not in seen:
                seen.add(text)
                distinct.append(value)
        out[key] = distinct[0] if len(distinct) == 1 else distinct
    return out


def results_part(results: Results) -> dict:
    """One test's Results as plain data (JSON-able): the raw samples, nothing computed."""
    return {"env": results.env, "config": results.config, "partial": results.partial,
            "metrics": {name: {"unit": series.unit, "runs": series.runs, "block_runs": series.block_runs}
                        for name, series in results.metrics.items()},
            "records": results.records, "notes": results.notes, "timings": results.timings}


def results_from_part(part: dict) -> Results:
    metrics = {name: MetricSeries(m["unit"], m["runs"], m["block_runs"]) for name, m in part["metrics"].items()}
    return Results(env=part["env"], config=part["config"], metrics=metrics, records=part["records"],
                   notes=part["notes"], timings=part["timings"], partial=part["partial"])


def parallel_note(workers: dict[str, list[str]], lost: set[str], at_once: int) -> str:
    shares = ", ".join(f"{worker}: {'lost' if worker in lost else f'{len(tests)} test(s)'}"
                       for worker, tests in workers.items())
    return (f"measured by pytest-xdist workers, {at_once} at once ({shares}): tests that ran at the same time "
            f"shared this machine's CPUs (unless their browsers ran elsewhere); compare with a session run "
            f"with the same -n")


class SessionResults:
    """Results of every test that measured, one Results per test key, merged on demand."""

    def __init__(self):
        self.tests: dict[str, Results] = {}
        self._calls: dict[tuple[str, str], int] = {}
        # pytest-xdist, on the controller: worker id -> the test keys it measured (every worker that
        # finished, also one that measured nothing), and what could not be absorbed
        self.workers: dict[str, list[str]] = {}
        self._worker_of: dict[str, str] = {}
        self._split: set[str] = set()  # test keys measured by several workers, kept apart per worker
        self.lost: list[str] = []  # a note per worker lost
        self._lost_workers: set[str] = set()
        self.partial = False
        self.most_workers_at_once = 0  # as the controller counted them
        self._running: set[str] = set()
        # worker id -> what it handed over as it went down (JSON text, None: it measured nothing),
        # or why it went down without a part; absorbed at the session's end (absorb_workers)
        self._down: dict[str, tuple[str | None, str | None]] = {}

    def __bool__(self) -> bool:
        return bool(self.tests or self.lost)

    @property
    def workers_at_once(self) -> int:
        return self.most_workers_at_once or len(self.workers)

    def start_call(self, test_key: str, scenario: str, env: dict, call_config: dict):
        """A sink for one measurement call: its outputs go into the test's results as the
        next repetition of this scenario."""
        results = self.tests.setdefault(test_key, Results(env=env, config={"calls": []}))
        results.config["calls"].append(call_config)
        repetition = self._calls.get((test_key, scenario), 0)
        self._calls[(test_key, scenario)] = repetition + 1

        def sink(output: ScenarioOutput) -> None:
            results.add(repetition, output)

        return sink

    def mark_partial(self, test_key: str) -> None:
        if test_key in self.tests:
            self.tests[test_key].partial = True

    def worker_up(self, worker: str) -> None:
        """pytest-xdist, on the controller: a worker is up (counted: how many measured at once)."""
        self._running.add(worker)
        self.most_workers_at_once = max(self.most_workers_at_once, len(self._running))

    def worker_down(self, worker: str, part: str | None, error: str | None = None) -> None:
        """A worker finished, handing over its part (JSON text; None: it measured nothing), or went
        down without one (error). Kept for absorb_workers; an interrupted worker is reported down
        twice (finished, then with the error): the first report stands."""
        if worker in self._down:
            return
        self._running.discard(worker)
        self._down[worker] = (part, error)

    def absorb_workers(self) -> None:
        """Every worker's part, in worker order (gw0, gw1, ..., gw10)."""
        for worker in sorted(self._down, key=lambda w: (len(w), w)):
            part, error = self._down[worker]
            if error is not None:
                self.worker_lost(worker, error)
            else:
                self.absorb(None if part is None else json.loads(part), worker)
        self._down.clear()

    def to_part(self, partial: bool = False) -> dict:
        """This process's measurements for another to absorb (an xdist worker's, for the controller)."""
        return {"partial": partial, "tests": {key: results_part(r) for key, r in self.tests.items()}}

    def absorb(self, part: dict | None, worker: str) -> None:
        """A worker's part. A test two workers both measured (--dist each) is kept apart per worker,
        "<test id>@<worker>", never pooled: they may have run on different machines."""
        self.workers.setdefault(worker, [])
        if part is None:
            return
        self.partial = self.partial or part["partial"]
        for key, data in part["tests"].items():
            if key in self.tests:  # another worker measured it too
                first = self._worker_of.pop(key)
                self._rename(key, f"{key}@{first}", first)
                self._split.add(key)
            stored = f"{key}@{worker}" if key in self._split else key
            self.tests[stored] = results_from_part(data)
            self._worker_of[stored] = worker
            self.workers[worker].append(stored)

    def _rename(self, key: str, new_key: str, worker: str) -> None:
        self.tests[new_key] = self.tests.pop(key)
        self._worker_of[new_key] = worker
        self.workers[worker] = [new_key if k == key else k for k in self.workers[worker]]

    def worker_lost(self, worker: str, error: str) -> None:
        """A worker that went down without handing over its part: its measurements are missing."""
        self.workers.setdefault(worker, [])
        self._lost_workers.add(worker)
        self.partial = True
        self.lost.append(f"pytest-xdist worker {worker} went down ({error}) before handing over its "
                         f"measurements: they are not in this file")

    def to_json(self, partial: bool = False) -> dict:
        metrics, records, notes, config = {}, {}, [], {}
        for key, results in self.tests.items():
            data = results.to_json()
            for name, metric in data["metrics"].items():
                metrics[qualified(key, name)] = metric
            for name, rows in data["records"].items():
                records.setdefault(name, []).extend({"test": key, **row} for row in rows)
            notes.extend(f"{key}: {note}" for note in data["notes"])
            config[key] = data["config"]
        env, pytest_config = merged_env([r.env for r in self.tests.values()]), {"tests": config}
        if self.workers:
            env["pytest_workers"] = self.workers_at_once
            pytest_config["workers"] = self.workers
            notes = [parallel_note(self.workers, self._lost_workers, self.workers_at_once), *self.lost, *notes]
        return {
            "schema": SCHEMA,
            "partial": partial or self.partial or any(r.partial for r in self.tests.values()),
            "env": env,
            "config": {"pytest": pytest_config},
            "metrics": metrics,
            "records": records,
            "notes": notes,
        }
