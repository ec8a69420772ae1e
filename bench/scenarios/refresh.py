"""Refresh scenario: the page's idle refresh interval from requestAnimationFrame (probes/refresh.js).

Metric: page.refresh_ms, one sample per frame delta (one block per call).
Not in MODULES (bench ui does not run it); bench calibrate does, because
the known answer of message-to-paint depends on the frame interval.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..probes import probe_script
from ..results.records import ScenarioOutput

NAME = "refresh"


@dataclass
class RefreshConfig:
    frames: int = 20  # a third of a second at 60 Hz: the median of 20 deltas is the interval


class RefreshScenario:
    name = NAME

    def __init__(self, config: RefreshConfig | None = None):
        self.config = config or RefreshConfig()

    def expected_messages(self) -> int:
        return 0

    def run(self, session, sink, advance=lambda n: None) -> None:
        deltas = session.page.evaluate(probe_script("refresh.js"), self.config.frames)
        sink(ScenarioOutput(metrics={"page.refresh_ms": ("ms", deltas)}))
