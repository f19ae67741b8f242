"""What the parent of `calm-tui test -n N` tells its workers (`parallel.py`): a module of
its own, light to import before the pool starts and shared by both sides."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workbench.wiring import Options


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker needs to make what the serial run makes."""

    root: Path  # the project folder, absolute
    options: Options
    seed: int
    run_id: str
    try_other_version: bool = True  # False with --repeat
