"""What several verbs share: the PROJECT_DIR argument, running a verb with its arguments
parsed and its errors turned into exit codes, and loading the project to chat with."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.cli.exits import guarded
from workbench.errors import UsageError, WorkbenchError
from workbench.wiring import Options, load

if TYPE_CHECKING:
    from workbench.project.issues import Issue
    from workbench.project.model import Project
    from workbench.store.sessions import SessionStore


def project_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "project_dir",
        nargs="?",
        default=".",
        metavar="PROJECT_DIR",
        help="the CALM project folder (default: the current folder)",
    )


def project_folder(path: str) -> Path:
    root = Path(path)
    if not root.is_dir():
        raise UsageError(f"'{path}' is not a folder")
    return root


def positive_int(text: str) -> int:
    """An option's whole number of 1 or more (argparse says which option is wrong)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is no whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def open_store(project_dir: str) -> SessionStore | None:
    """The project's session store, None when it has none yet: a verb that only reads
    never creates it."""
    import sqlite3

    from workbench.store.migrations import SchemaTooNewError
    from workbench.store.sessions import SessionStore, store_path

    path = store_path(Path(project_dir))
    if not path.exists():
        return None
    try:
        return SessionStore(path)
    except (SchemaTooNewError, OSError) as exc:
        raise WorkbenchError(str(exc)) from exc
    except sqlite3.DatabaseError as exc:  # not a database, or a damaged one
        raise WorkbenchError(f"cannot open {path}: {exc}") from exc


def run_verb(
    prog: str,
    parser: argparse.ArgumentParser,
    run: Callable[[argparse.Namespace], int],
    argv: Sequence[str],
) -> int:
    """Parse `argv` (argparse exits 2 on its own errors) and run the verb; errors end it
    as `exits.guarded` says. A crash report goes to the project the verb was given."""
    args = parser.parse_args(list(argv))
    return guarded(prog, lambda: run(args), lambda: getattr(args, "project_dir", None))


def shown_issues(issues: Iterable[Issue]) -> list[Issue]:
    """Issues as a terminal may show them: a message quoting a project file keeps the
    file's control characters visible (`printable`), not obeyed."""
    from dataclasses import replace

    from workbench.terminal_text import printable

    return [
        replace(
            issue,
            file=printable(issue.file, multiline=False),
            message=printable(issue.message),
            hint=printable(issue.hint),
        )
        for issue in issues
    ]


class ProjectDoesNotLoad(WorkbenchError):
    def __init__(self, problem: str = "does not load") -> None:
        super().__init__(f"the project {problem}; fix the errors above")


def load_or_report(root: Path, options: Options, *, validated: bool = False) -> Project:
    """The project to chat with or test; its load errors (with `validated`, also what
    `calm-tui validate` rejects) are printed (file:line) and end the verb with exit
    code 1."""
    from rich.console import Console

    from workbench.project.report import print_issues
    from workbench.project.validate import validate_loaded

    result = load(root, options)
    problem = "does not load"
    if validated and not result.issues.errors:
        result = validate_loaded(result, actions_python=options.actions_python)
        problem = "does not validate"
    if result.issues.errors:
        errors = shown_issues(result.issues.errors)
        print_issues(errors, Console(stderr=True), root.resolve().name)
        raise ProjectDoesNotLoad(problem)
    return result.project
