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
"""

from __future__ import annotations

import json

from .metric_catalog import QUALIFIER_SEPARATOR
from .results import SCHEMA, Results, ScenarioOutput

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
        distinct = []
        for env in envs:
            value = env.get(key)
            if all(json.dumps(value, sort_keys=True) != json.dumps(d, sort_keys=True) for d in distinct):
                distinct.append(value)
        out[key] = distinct[0] if len(distinct) == 1 else distinct
    return out


class SessionResults:
    """Results of every test that measured, one Results per test key, merged on demand."""

    def __init__(self):
        self.tests: dict[str, Results] = {}
        self._calls: dict[tuple[str, str], int] = {}

    def __bool__(self) -> bool:
        return bool(self.tests)

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
        return {
            "schema": SCHEMA,
            "partial": partial or any(r.partial for r in self.tests.values()),
            "env": merged_env([r.env for r in self.tests.values()]),
            "config": {"pytest": {"tests": config}},
            "metrics": metrics,
            "records": records,
            "notes": notes,
        }
