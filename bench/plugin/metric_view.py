"""Results read from Python: `result["paint.latency_ms"].p95`.

A thin view over the results JSON (schema bench/1, bench/results/records.py) that the
CLI writes: nothing is recomputed, a Metric's attributes are the fields of its
entry in results["metrics"] (unit, n, samples, p50, p95, p99, max, mean,
p50_ci, p95_ci, cv, sum for counts, value/counts for word metrics).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..gate.verdict import number
from ..report.terminal import text_report


class Metric:
    """One metric's entry, with attribute access: m.p95, m.n, m.unit, m.samples, m.value."""

    __slots__ = ("name", "_entry")

    def __init__(self, name: str, entry: dict):
        self.name = name
        self._entry = entry

    def __getattr__(self, field: str):
        try:
            return self._entry[field]
        except KeyError:
            raise AttributeError(f"metric {self.name!r} has no field {field!r} "
                                 f"(it has: {', '.join(sorted(self._entry))})") from None

    def __getitem__(self, field: str):
        return self._entry[field]

    def to_dict(self) -> dict:
        return dict(self._entry)

    def __repr__(self) -> str:
        e, unit = self._entry, self._entry.get("unit", "")
        if "value" in e and "p50" not in e:  # a word metric, e.g. heap.verdict
            return f"<Metric {self.name}: {e['value']} (n={e.get('n')})>"
        return (f"<Metric {self.name}: n={e.get('n')} p50={number(e.get('p50'), unit)} "
                f"p95={number(e.get('p95'), unit)} max={number(e.get('max'), unit)}>")


class MeasuredResults(Mapping):
    """A results dict as a mapping of metric name -> Metric; the whole dict is `.data`."""

    def __init__(self, data: dict):
        self.data = data

    @property
    def env(self) -> dict:
        return self.data["env"]

    @property
    def notes(self) -> list[str]:
        return self.data.get("notes", [])

    @property
    def records(self) -> dict:
        return self.data.get("records", {})

    @property
    def unavailable(self) -> dict[str, str]:
        """Metrics that could not be measured here -> why (e.g. renderer memory of a remote browser)."""
        return {r["metric"]: r["reason"] for r in self.records.get("unavailable", [])}

    def __getitem__(self, name: str) -> Metric:
        metrics = self.data["metrics"]
        if name in metrics:
            return Metric(name, metrics[name])
        if name in self.unavailable:
            raise KeyError(f"{name}: {self.unavailable[name]}")
        raise KeyError(f"{name} was not measured; measured: {', '.join(sorted(metrics)) or 'nothing'}")

    def __iter__(self):
        return iter(self.data["metrics"])

    def __len__(self) -> int:
        return len(self.data["metrics"])

    def table(self) -> str:
        """The terminal report `bench ui` prints."""
        return text_report(self.data)

    def __repr__(self) -> str:
        return f"<MeasuredResults {', '.join(self.data['metrics'])}>"
