"""Results: flat metrics with raw samples, plus env and config (schema bench/1).

    {"schema": "bench/1", "env": {...}, "config": {...},
     "metrics": {"paint.latency_ms": {"unit": "ms", "n": .., "samples": [...],
                 "runs": [n per repetition], "blocks": [n per measurement],
                 "p50": .., "p50_ci": [lo, hi], "p95_ci": [lo, hi], "cv": .., ...}, ...},
     "records": {"paint": [per-message records]}, "partial": false}
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..stats.descriptive import metric_stats

SCHEMA = "bench/1"


@dataclass
class MetricSeries:
    """One metric's raw samples, kept per repetition."""

    unit: str
    runs: list[list[float]] = field(default_factory=list)
    # Per repetition, the sizes of the blocks its samples arrived in: one
    # block per sink() call (one burst, one pass). Blocks are the unit the
    # bootstrap resamples (bench/stats/bootstrap.py).
    block_runs: list[list[int]] = field(default_factory=list)

    @property
    def samples(self) -> list[float]:
        return [s for run in self.runs for s in run]

    @property
    def blocks(self) -> list[int]:
        return [size for run in self.block_runs for size in run]

    # The statistics of the samples as they are now (stats.descriptive.metric_stats), kept until the
    # next add(): the bootstrap runs once per change, however often the results are serialised.
    _stats: dict | None = field(default=None, init=False, repr=False, compare=False)

    def add(self, repetition: int, samples: list) -> None:
        while len(self.runs) <= repetition:
            self.runs.append([])
            self.block_runs.append([])
        self.runs[repetition].extend(samples)
        self.block_runs[repetition].append(len(samples))
        self._stats = None

    def stats(self) -> dict:
        """The statistics of the raw samples, computed when first asked after a change."""
        if self._stats is None:
            self._stats = metric_stats(self.unit, self.samples, [len(run) for run in self.runs], self.blocks)
        return self._stats

    def to_json(self) -> dict:
        """Raw samples and their statistics; the sum of a count metric comes last, as it always has."""
        stats = dict(self.stats())
        tail = {"sum": stats.pop("sum")} if "sum" in stats else {}
        return {"unit": self.unit, **stats, "samples": self.samples,
                "runs": [len(run) for run in self.runs], "blocks": self.blocks, **tail}


@dataclass
class ScenarioOutput:
    """What one scenario measured in one repetition."""

    metrics: dict[str, tuple[str, list[float]]] = field(default_factory=dict)  # name -> (unit, samples)
    records: dict[str, list[dict]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # scenario -> wall seconds
    # A note with a count, as text -> count: Results sums them over the run into one "{total} {text}" note
    # (one note per burst, each with its own count, would be kept once when the counts were equal).
    tallies: dict[str, int] = field(default_factory=dict)

    def extend(self, other: "ScenarioOutput") -> "ScenarioOutput":
        """Add another measurement of the same moment (e.g. a burst's render cost); returns self."""
        self.metrics.update(other.metrics)
        for name, records in other.records.items():
            self.records.setdefault(name, []).extend(records)
        self.notes.extend(other.notes)
        for text, count in other.tallies.items():
            self.tallies[text] = self.tallies.get(text, 0) + count
        return self


@dataclass
class Results:
    env: dict
    config: dict
    metrics: dict[str, MetricSeries] = field(default_factory=dict)
    records: dict[str, list[dict]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # scenario -> wall seconds, all repetitions
    partial: bool = False
    tallies: dict[str, int] = field(default_factory=dict)  # ScenarioOutput.tallies summed; in notes as totals

    def add(self, repetition: int, output: ScenarioOutput) -> None:
        for name, (unit, samples) in output.metrics.items():
            self.metrics.setdefault(name, MetricSeries(unit)).add(repetition, samples)
        for name, records in output.records.items():
            self.records.setdefault(name, []).extend({"repetition": repetition, **r} for r in records)
        self.notes.extend(n for n in output.notes if n not in self.notes)
        for text, count in output.tallies.items():
            self._tally(text, count)
        for name, seconds in output.timings.items():
            self.timings[name] = self.timings.get(name, 0.0) + seconds

    def _tally(self, text: str, count: int) -> None:
        """The note "{total} {text}", its total brought up to date where it stands among the notes."""
        before = self.tallies.get(text)
        self.tallies[text] = total = (before or 0) + count
        old = f"{before} {text}"
        if before is not None and old in self.notes:
            self.notes[self.notes.index(old)] = f"{total} {text}"
        else:
            self.notes.append(f"{total} {text}")

    def to_json(self) -> dict:
        return {
            "schema": SCHEMA,
            "partial": self.partial,
            "env": self.env,
            "config": self.config,
            "metrics": {name: series.to_json() for name, series in self.metrics.items()},
            "records": self.records,
            "notes": self.notes,
            "timings_s": self.timings,
        }

    def write(self, path: str | Path) -> None:
        write_json_atomic(path, self.to_json())


def json_text(data: dict) -> str:
    """The results file's text: strict JSON (no NaN), indented, one trailing newline."""
    return json.dumps(_finite(data), indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def _finite(value):
    """NaN and infinities become null: strict JSON readers (JavaScript's) refuse them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def write_json_atomic(path: str | Path, data: dict) -> None:
    """The results file's text (json_text), written atomically (write_text_atomic)."""
    write_text_atomic(path, json_text(data))


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write to a uniquely named temporary file beside the target, then rename: never half a file,
    and two processes writing the same path at once each replace it whole (the last one wins)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; the file is for reading, as open() would
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_results(path: str | Path) -> dict:
    """Read a results file; a wrong schema or broken JSON is a one-line UsageError."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such results file") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a results file (not UTF-8 text)") from None
    except OSError as exc:  # a directory, no permission
        raise UsageError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise UsageError(f"{path}: results schema {found!r}, expected {SCHEMA!r}")
    if not isinstance(data.get("metrics"), dict):
        raise UsageError(f"{path}: results file has no metrics table")
    return data
