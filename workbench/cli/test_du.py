"""`calm-tui test --du [PROJECT_DIR] [PATHS]`: dialogue-understanding tests, as
`rasa test du`: only the command generator runs per user message (`testing/du_run.py`);
the report lists each turn whose predicted commands differ from the expected ones, and
per command type how many were matched, missed and predicted wrongly."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.cli.common import load_or_report
from workbench.cli.exits import EXIT_OK, EXIT_PROBLEMS
from workbench.errors import UsageError, WorkbenchError
from workbench.wiring import Options, make_actions, make_generator

if TYPE_CHECKING:
    from rich.console import Console

    from workbench.actions.protocol import CustomActionRunner
    from workbench.project.model import Project
    from workbench.testing.du import DUCase
    from workbench.testing.du_run import DURun


def add_du_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("dialogue understanding")
    group.add_argument(
        "--du",
        action="store_true",
        help="run dialogue-understanding tests (user steps with expected `commands`; "
        "default PATHS: dialogue_understanding_tests/): only the command generator is "
        "tested, turn by turn",
    )


def run_du(root: Path, paths: list[str], options: Options, console: Console) -> int:
    from workbench.testing.du import DU_TEST_DIR

    project = load_or_report(root, options)
    cases = read_cases(project, paths or [DU_TEST_DIR])
    if not cases:
        console.print(f"[yellow]no dialogue-understanding test cases found in {root.name}[/]")
        return EXIT_OK
    notes: list[str] = list(project.notes)
    generator, label = make_generator(project, options, notes)
    console.print(
        f"running {len(cases)} dialogue-understanding test case(s) · generator: {label}",
        markup=False,
        soft_wrap=True,
    )
    fallback = make_actions(project, options)

    def actions_for(du_case: DUCase) -> CustomActionRunner | None:
        stubs = du_case.test_file.stub_custom_actions
        if not stubs:
            return fallback
        from workbench.actions.stubs import StubbedActions
        from workbench.testing.case_data import stub_case_name

        return StubbedActions(stubs, stub_case_name(du_case.case.name), fallback)

    from workbench.project.collector import start_up_done
    from workbench.testing.du_run import run_du_cases

    start_up_done()
    try:
        run = asyncio.run(run_du_cases(project, generator, cases, actions_for))
    finally:
        fallback.close()
        write = getattr(generator, "write_cassette", None)
        if callable(write):
            write()
    for note in notes:
        console.print(f"note: {note}", markup=False, style="dim")
    print_du_report(run, console)
    return EXIT_OK if run.ok else EXIT_PROBLEMS


def read_cases(project: Project, paths: list[str]) -> list[DUCase]:
    """The DU cases of the files and folders named (`file.yml::case` selects one)."""
    from rich.console import Console

    from workbench.cli.common import shown_issues
    from workbench.project.issues import IssueList
    from workbench.project.report import print_issues
    from workbench.testing.du import read_du_file

    cases: list[DUCase] = []
    issues = IssueList()
    for target in paths:
        name, _, only = target.partition("::")
        path = Path(name) if Path(name).exists() else project.root / name
        if not path.exists():
            raise UsageError(f"{name}: no such file or folder")
        files = sorted(path.rglob("*.y*ml")) if path.is_dir() else [path]
        for file in files:
            try:
                found = read_du_file(project.root, file, issues)
            except (OSError, UnicodeDecodeError) as error:
                raise WorkbenchError(f"cannot read {file}: {error}") from error
            cases.extend(c for c in found if not only or c.case.name == only)
    if issues:
        print_issues(shown_issues(issues), Console(stderr=True), project.root.name)
    if issues.errors:
        raise WorkbenchError("the dialogue-understanding tests do not load; fix the errors above")
    return cases


def print_du_report(run: DURun, console: Console) -> None:
    from rich.table import Table

    from workbench.testing.du import command_text
    from workbench.testing.du_run import failing

    def listed(commands: object) -> str:
        items = list(commands) if isinstance(commands, (list, tuple)) else []
        return ", ".join(command_text(c) for c in items) or "(none)"

    for turn in failing(run.turns):
        console.print(
            f"✗ {turn.source} {turn.case} · user: {turn.text!r}", markup=False, soft_wrap=True
        )
        if turn.error:
            console.print(f"    error:      {turn.error}", markup=False, soft_wrap=True)
        console.print(f"    expected:   {listed(turn.expected)}", markup=False, soft_wrap=True)
        console.print(f"    predicted:  {listed(turn.predicted)}", markup=False, soft_wrap=True)
        if turn.missing:
            console.print(f"    missing:    {listed(turn.missing)}", markup=False, soft_wrap=True)
        if turn.unexpected:
            console.print(
                f"    unexpected: {listed(turn.unexpected)}", markup=False, soft_wrap=True
            )
    table = Table("command", "matched", "missed", "wrong", "precision", "recall", "F1")
    for name, score in run.scores().items():
        table.add_row(
            name,
            str(score.matched),
            str(score.missing),
            str(score.unexpected),
            *(_ratio(v) for v in (score.precision, score.recall, score.f1)),
        )
    if run.turns:
        console.print(table)
    passed_turns = sum(turn.passed for turn in run.turns)
    passed_cases = sum(run.cases.values())
    console.print(
        f"{passed_turns} of {len(run.turns)} user turns predicted as expected"
        f" ({_ratio(passed_turns / len(run.turns) if run.turns else None)} accuracy); "
        f"{passed_cases} of {len(run.cases)} test cases passed",
        markup=False,
        soft_wrap=True,
    )


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
