"""The end of a benchmark run on its own (python benchmarks/NAME.py): print, write JSON, exit code."""

from __future__ import annotations

import json
from pathlib import Path


def finish(seconds: float, detail: dict, json_path: str | None) -> int:
    """Print the summary and the verdict, write every figure to json_path; 0 when the target was met."""
    print(detail["summary"])
    print(f"{seconds:.1f} s; target {detail['target_text']}: {'met' if detail['target_met'] else 'MISSED'}")
    if json_path:
        Path(json_path).write_text(json.dumps(detail, indent=1))
    return 0 if detail["target_met"] else 1
