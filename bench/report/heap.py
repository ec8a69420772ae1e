"""Terminal report of the cycles scenario's leak suspects (formatting only)."""

from __future__ import annotations

from tabulate import tabulate

MAX_ROWS = 10
MAX_NAME = 60


def _short(name: str) -> str:
    return name if len(name) <= MAX_NAME else name[:MAX_NAME - 1] + "…"


def suspects_table(results: dict) -> list[str]:
    """The heap snapshot diff's suspects, most retained growth first; nothing when there are none."""
    found = results.get("records", {}).get("heap.suspects", [])
    if not found:
        return []
    rows = [[_short(s["constructor"]), f"{s['count_before']} -> {s['count_after']}", f"+{s['per_cycle']}",
             f"{s['retained_size_growth_bytes'] / 1024:+.1f}", f"{s['self_size_growth_bytes'] / 1024:+.1f}"]
            for s in found[:MAX_ROWS]]
    table = tabulate(rows, headers=["leak suspect (constructor)", "instances", "per cycle",
                                    "retained growth KiB", "self growth KiB"],
                     colalign=("left", "right", "right", "right", "right"))
    more = [f"(+{len(found) - MAX_ROWS} more suspects in the results JSON)"] if len(found) > MAX_ROWS else []
    return ["", table, *more]
