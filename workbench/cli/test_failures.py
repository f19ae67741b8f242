"""`calm-tui test --open-failures`: each failed case is kept as a session of the project
(`calm-tui sessions show ID`, the TUI's session browser), and the workbench opens on the
first one, read-only, every panel on the turn where the test diverged."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from workbench.project.model import Project
    from workbench.testing.failures import StoredFailure
    from workbench.testing.results import RunResult
    from workbench.wiring import Options


def add_failure_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("failures")
    group.add_argument(
        "--open-failures",
        action="store_true",
        help="keep each failed case as a session and open the workbench on the first one, "
        "at the turn where it diverged (on a terminal; elsewhere only the sessions are kept)",
    )


def keep_failures(
    args: argparse.Namespace, root: Path, project: Project, run: RunResult, console: Console
) -> list[StoredFailure]:
    """Store the failed cases as sessions and say where they are."""
    if not args.open_failures or not run.failed:
        return []
    from workbench.store.redact import Scrubber
    from workbench.testing.failures import store_failures

    stored = store_failures(root, run, run.generator, Scrubber.for_project(project))
    for failure in stored:
        at = "its last turn" if failure.turn is None else f"turn {failure.turn}"
        console.print(
            f"kept as session {failure.session_id} ({failure.title}; diverged at {at}): "
            f"calm-tui sessions show {failure.session_id}",
            highlight=False,
            markup=False,
        )
    return stored


def open_first(stored: list[StoredFailure], root: Path, options: Options) -> None:
    """The workbench on the first failure, when there is a terminal to draw it on."""
    if not stored or not (sys.stdin.isatty() and sys.stdout.isatty()):
        return
    from workbench.tui.app import make_app

    first = stored[0]
    app = make_app(root, options=options, greet=False, open_session=(first.session_id, first.turn))
    app.run()
