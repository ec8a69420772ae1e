"""The calibration store: each machine's run-to-run noise, as `bench calibrate` measured it.

One JSON file ($BENCH_CALIBRATION, else ~/.cache/bench/calibration.json), an
entry per machine key (host, Chromium major, headless, CPU throttle, browser
location) holding the relative run-to-run sd of each calibrated metric
(bench.stats.run_noise estimates it; bench compare folds it into its CIs).
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from ..results.records import write_text_atomic


def store_path() -> Path:
    """$BENCH_CALIBRATION, else ~/.cache/bench/calibration.json ($XDG_CACHE_HOME honoured)."""
    if os.environ.get("BENCH_CALIBRATION"):
        return Path(os.environ["BENCH_CALIBRATION"])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "bench" / "calibration.json"


def machine_key(env: dict) -> str:
    """What must match for a calibration to apply: host, Chromium major, headless, throttle, location."""
    major = str(env.get("chromium_version") or "").split(".")[0] or "?"
    return (f"{env.get('hostname') or platform.node()}|chromium {major}|"
            f"{'headless' if env.get('headless', True) else 'headed'}|throttle {env.get('cpu_throttle', 1)}|"
            f"{env.get('browser_location', 'local')}")


def load(env: dict) -> dict[str, float]:
    """Stored run-to-run sds (metric -> fraction of p50) for the machine `env` describes; {} if none."""
    try:
        data = json.loads(store_path().read_text())
    except (OSError, ValueError):
        return {}
    entry = data.get(machine_key(env)) if isinstance(data, dict) else None
    sds = entry.get("run_sd") if isinstance(entry, dict) else None
    return {k: float(v) for k, v in sds.items() if isinstance(v, (int, float))} if isinstance(sds, dict) else {}


def save(env: dict, run_sd: dict[str, float], detail: dict) -> Path:
    """Store this machine's run-to-run sds (atomically, beside other machines' entries)."""
    path = store_path()
    try:
        data = json.loads(path.read_text())
        data = data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        data = {}
    data[machine_key(env)] = {"run_sd": run_sd, **detail}
    write_text_atomic(path, json.dumps(data, indent=1))
    return path
