"""`.calm/coverage.json`: the coverage of a project's latest `calm-tui test --coverage`
run, written by the CLI and read by the TUI's Flow panel (which marks the steps no test
reached)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the computation is not needed to read the file (the TUI reads it)
    from workbench.testing.coverage import Coverage

COVERAGE_FILE = Path(".calm") / "coverage.json"


def coverage_path(root: Path) -> Path:
    return root / COVERAGE_FILE


def write_coverage(coverage: Coverage, path: Path) -> None:
    """Written whole, then moved into place: a TUI reading it never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(coverage.as_dict(), indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)


@dataclass(frozen=True)
class FlowMarks:
    """What the chart needs of one flow's coverage: every step it knew, those reached."""

    steps: tuple[str, ...]
    reached: frozenset[str]


@dataclass(frozen=True)
class StoredCoverage:
    """A read coverage file: the flows' marks and when the run wrote it (epoch seconds)."""

    flows: Mapping[str, FlowMarks]
    written: float

    def age(self, now: float | None = None) -> str:
        """`just now`, `3 min ago`, `2 h ago`, `4 days ago`."""
        seconds = max(0.0, (time.time() if now is None else now) - self.written)
        if seconds < 60:
            return "just now"
        if seconds < 3600:
            return f"{int(seconds // 60)} min ago"
        if seconds < 86400:
            return f"{int(seconds // 3600)} h ago"
        days = int(seconds // 86400)
        return f"{days} day{'s' if days > 1 else ''} ago"


def read_coverage(path: Path) -> StoredCoverage | None:
    """The coverage file at `path`; None when there is none or it cannot be read (an old
    or damaged file is simply not shown: the next test run rewrites it)."""
    try:
        written = path.stat().st_mtime
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    flows = data.get("flows") if isinstance(data, dict) else None
    if not isinstance(flows, dict):
        return None
    marks: dict[str, FlowMarks] = {}
    for flow_id, flow in flows.items():
        steps = flow.get("steps") if isinstance(flow, dict) else None
        if not isinstance(steps, list):
            continue
        rows = [s for s in steps if isinstance(s, dict) and isinstance(s.get("id"), str)]
        marks[str(flow_id)] = FlowMarks(
            tuple(s["id"] for s in rows), frozenset(s["id"] for s in rows if s.get("reached"))
        )
    return StoredCoverage(marks, written)


__all__ = ["COVERAGE_FILE", "FlowMarks", "StoredCoverage", "coverage_path", "read_coverage"]
