"""A few hundred corruptions of the sample project's files (fixed seed): each is loaded
and validated, every fourth also reloaded the way the TUI does it (`ProjectWatcher.load`
in a thread). Nothing may crash the interpreter, raise, or report a problem other than
as a `file:line: message` issue. The cases run in a subprocess (tests/fuzz_project.py),
so a segfault fails this test and names its case instead of ending the test run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fuzz_project import MUTATIONS

DRIVER = Path(__file__).parent / "fuzz_project.py"
SEED = 13
CASES = 300


def test_corrupted_projects_never_crash_nor_raise(tmp_path):
    progress = tmp_path / "progress.txt"
    done = subprocess.run(
        [
            sys.executable,
            str(DRIVER),
            f"--seed={SEED}",
            f"--cases={CASES}",
            f"--progress={progress}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(DRIVER.parent.parent)},
    )
    last = progress.read_text(encoding="utf-8") if progress.exists() else "before the first case"
    assert done.returncode == 0, f"crashed ({done.returncode}) at {last}:\n{done.stderr[-3000:]}"
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["cases"] == CASES
    assert set(summary["kinds"]) == set(MUTATIONS)  # deep nesting both shapes, bombs, ...
    failures = summary["failures"]
    assert not failures, "\n\n".join(f"{f['case']}:\n{f['problem']}" for f in failures[:5])
    assert summary["seconds"] < 60, summary
