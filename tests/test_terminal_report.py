"""The terminal table's units: rows of one unit in one family share a scale (no browser)."""

from __future__ import annotations

import pytest

from bench.report.terminal import metrics_table

# No browser, no server, no clock: may run beside a timing test, in the background (tests/cpu_share.py).
pytestmark = pytest.mark.background


def row(p50: float, unit: str) -> dict:
    return {"n": 1, "unit": unit, "p50": p50, "p95": p50, "p99": p50, "max": p50}


def test_a_slope_and_its_ci_bounds_are_shown_in_one_scale():
    # Found in `make bench`: the slope (495.2) printed in bytes/cycle, its CI bounds in KiB/cycle
    # (-10.2, 11.2), so the slope read larger than its own upper bound.
    table = metrics_table({"metrics": {
        "heap.used_bytes": row(14_000_000, "bytes"),
        "heap.slope_bytes_per_cycle": row(495.2, "bytes/cycle"),
        "heap.slope_ci95_low_bytes_per_cycle": row(-10_445, "bytes/cycle"),
        "heap.slope_ci95_high_bytes_per_cycle": row(11_469, "bytes/cycle"),
        "connections.server_bytes_per_connection": row(512, "bytes"),  # another family: its own scale
    }})
    cells = {line.split()[0]: line.split() for line in table.splitlines()[2:]}
    assert cells["heap.slope_bytes_per_cycle"][2] == "0.5" and cells["heap.slope_bytes_per_cycle"][-1] == "KiB/cycle"
    assert cells["heap.slope_ci95_low_bytes_per_cycle"][2] == "-10.2"
    assert cells["heap.slope_ci95_high_bytes_per_cycle"][2] == "11.2"
    assert cells["heap.used_bytes"][-1] == "MiB"
    assert cells["connections.server_bytes_per_connection"][2] == "512"
    assert cells["connections.server_bytes_per_connection"][-1] == "bytes"
