"""Test data for the history tests: real results files of the bundled app (tests/data/history/README.md)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from bench.results.records import MetricSeries, json_text

DATA = Path(__file__).parent / "data" / "history"
RUNS = sorted(DATA.glob("run-*.json.gz"))


def real_results() -> list[dict]:
    return [json.loads(gzip.decompress(path.read_bytes())) for path in RUNS]


def real_p50s(metric: str) -> list[float]:
    return [r["metrics"][metric]["p50"] for r in real_results()]


def series_of(metric: dict) -> MetricSeries:
    """A results file's metric back as the MetricSeries that wrote it (runs of blocks of samples)."""
    samples, runs, blocks = metric["samples"], metric["runs"], list(metric["blocks"])
    series, start = MetricSeries(metric["unit"]), 0
    for repetition, size in enumerate(runs):
        taken = 0
        while taken < size:
            block = blocks.pop(0)
            series.add(repetition, samples[start + taken:start + taken + block])
            taken += block
        start += size
    return series


def shifted(results: dict, metric: str, add: float) -> dict:
    """The results with every sample of `metric` moved by `add`, summaries and CIs recomputed."""
    out = json.loads(json.dumps(results))
    series = series_of(out["metrics"][metric])
    series.runs = [[s + add for s in run] for run in series.runs]
    out["metrics"][metric] = series.to_json()
    return out


def write(path: Path, results: dict) -> Path:
    path.write_text(json_text(results), encoding="utf-8")
    return path
