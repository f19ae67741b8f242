"""`calm-tui test [PROJECT_DIR] [PATHS...]`: run e2e test cases headless."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.cli.common import load_or_report, project_folder, run_verb
from workbench.cli.exits import EXIT_OK, EXIT_PROBLEMS
from workbench.cli.test_compare import add_compare_options, parse_side, report_comparison, side_root
from workbench.cli.test_du import add_du_options, run_du
from workbench.cli.test_failures import add_failure_options, keep_failures, open_first
from workbench.cli.test_lab import add_lab_options, number_runs, repeated, report_lab
from workbench.errors import WorkbenchError
from workbench.wiring import (
    Options,
    add_generator_options,
    add_project_options,
    make_actions,
    make_generator,
    options_from_args,
)

EXIT_FAILED = EXIT_PROBLEMS
PROG = "calm-tui test"

if TYPE_CHECKING:
    from rich.console import Console

    from workbench.project.model import Project, TestCase, TestFile
    from workbench.testing.results import CaseResult, RunResult
    from workbench.testing.runner import E2ERunner


def test_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run e2e test cases (Rasa's e2e format) headless on the workbench engine.",
        epilog="PATHS are relative to the project (or absolute): a folder, a test file, or "
        "'file.yml::test case name'. Without PATHS every test file of the project runs. "
        "The first argument is taken as PROJECT_DIR when it is a project folder "
        "(config.yml, domain or endpoints.yml inside). "
        "Exit codes: 0 all passed, 1 some failed (or the project does not load), "
        "2 usage error.",
    )
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="[PROJECT_DIR] [PATHS]",
        help="the project folder (default: the current folder), then what to run",
    )
    add_generator_options(parser)
    add_project_options(parser)
    parser.add_argument("--junit", metavar="FILE", help="also write the results as JUnit XML")
    parser.add_argument(
        "--fail-fast", action="store_true", help="stop after the first failing test case"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for response variations")
    add_lab_options(parser)
    add_coverage_options(parser)
    add_failure_options(parser)
    add_compare_options(parser)
    add_du_options(parser)
    return parser


def add_coverage_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("coverage")
    group.add_argument(
        "--coverage",
        action="store_true",
        help="report which steps, branches, collects, rejections, responses and patterns "
        "the run reached; written to PROJECT_DIR/.calm/coverage.json (the TUI marks it)",
    )
    group.add_argument(
        "--coverage-json",
        metavar="FILE",
        help="also write the coverage as JSON to FILE (implies --coverage)",
    )


def report_coverage(
    args: argparse.Namespace, project: Project, run: RunResult, console: Console
) -> None:
    """The coverage table, and the JSON files, when asked for."""
    if not (args.coverage or args.coverage_json):
        return
    from workbench.testing.coverage import measure
    from workbench.testing.coverage_file import coverage_path, write_coverage
    from workbench.testing.coverage_report import print_coverage

    coverage = measure(project, (result.traces for result in run.results))
    print_coverage(coverage, console)
    paths = [coverage_path(project.root)]
    if args.coverage_json:
        paths.append(Path(args.coverage_json))
    for path in paths:
        try:
            write_coverage(coverage, path)
        except OSError as exc:
            raise WorkbenchError(f"cannot write {path}: {exc}") from exc
    if args.coverage_json:
        console.print(f"coverage written to {args.coverage_json}", highlight=False)


def _looks_like_project(folder: Path) -> bool:
    names = (
        "config.yml",
        "config.yaml",
        "config",
        "domain.yml",
        "domain.yaml",
        "endpoints.yml",
        "domain",
    )
    return any((folder / name).exists() for name in names)


def split_targets(targets: Sequence[str]) -> tuple[str, list[str]]:
    """(project dir, paths): the first target is the project when it is a project folder
    (or whenever the current folder is no project)."""
    if not targets:
        return ".", []
    if not _looks_like_project(Path(".")):
        return targets[0], list(targets[1:])
    first = Path(targets[0])
    if "::" not in targets[0] and first.is_dir() and _looks_like_project(first):
        return targets[0], list(targets[1:])
    return ".", list(targets)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(highlight=False)
    project_dir, paths = split_targets(args.targets)
    args.project_dir = project_dir  # where a crash report goes
    root = project_folder(project_dir)
    options = options_from_args(args)
    if args.du:
        return run_du(root, paths, options, console)
    if args.compare:
        return run_compared(args, root, paths, options, console)
    project = load_or_report(root, options)

    from workbench.testing.runner import select_cases

    selected = select_cases(project, paths)  # a SelectionError is a usage error
    selected = repeated(selected, args.repeat, args)
    if not selected:
        console.print(f"[yellow]no e2e test cases found in {root.resolve().name}[/]")
        return EXIT_OK
    run = _run_suite(project, options, selected, args, console)

    from workbench.testing.report import print_report, write_junit

    print_report(run, console)
    if args.junit:
        try:
            write_junit(run, args.junit)
        except OSError as exc:
            raise WorkbenchError(f"cannot write {args.junit}: {exc}") from exc
        console.print(f"JUnit XML written to {args.junit}", highlight=False)
    within_limits = report_lab(run, args, project, console)
    report_coverage(args, project, run, console)
    open_first(keep_failures(args, root, project, run, console), root, options)
    return EXIT_OK if run.ok and within_limits else EXIT_FAILED


def _run_suite(
    project: Project,
    options: Options,
    selected: list[tuple[TestFile, TestCase]],
    args: argparse.Namespace,
    console: Console,
) -> RunResult:
    notes: list[str] = list(project.notes)
    generator, label = make_generator(project, options, notes)

    import asyncio

    from workbench.testing.runner import E2ERunner

    # the runner makes the action runner when a case first needs one, and stops it
    runner = E2ERunner(
        project,
        generator,
        seed=args.seed,
        actions=lambda p: make_actions(p, options),
        offline=options.offline,
        # a repeated case measures the model: a rerun under the other profile would take
        # its own model calls and blur the pass rate
        try_other_version=args.repeat < 2,
    )
    run = asyncio.run(_run_with_progress(runner, selected, args.fail_fast, console, label))
    run.notes[:0] = notes
    run.generator = label
    number_runs(run, args.repeat)
    return run


def run_compared(
    args: argparse.Namespace, root: Path, paths: list[str], options: Options, console: Console
) -> int:
    """`--compare A B`: the selection run under each configuration, its report printed,
    then the two compared case by case."""
    from workbench.testing.report import print_report
    from workbench.testing.runner import select_cases

    sides = tuple(parse_side(text, options) for text in args.compare)
    results = []
    for side in sides:
        console.rule(f"{side.label}", style="bold")
        with side_root(side, root) as side_folder:
            project = load_or_report(side_folder, side.options)
            selected = select_cases(project, paths)
            run = _run_suite(project, side.options, selected, args, console)
            print_report(run, console)
            results.append(list(run.results))
    labels = (sides[0].label, sides[1].label)
    both_pass = report_comparison(labels, (results[0], results[1]), console)
    return EXIT_OK if both_pass else EXIT_FAILED


def cmd_test(argv: Sequence[str]) -> int:
    return run_verb(PROG, test_parser(), run, argv)


async def _run_with_progress(
    runner: E2ERunner,
    selected: list[tuple[TestFile, TestCase]],
    fail_fast: bool,
    console: Console,
    label: str,
) -> RunResult:
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console.print(
        f"running {len(selected)} test case(s) of [bold]{escape(runner.project.root.name)}[/] "
        f"· generator: [cyan]{escape(label)}[/] · Rasa {escape(runner.project.rasa_version)}"
    )
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with progress:
        task = progress.add_task("e2e", total=len(selected))

        def on_start(test_file: TestFile, case: TestCase) -> None:
            progress.update(task, description=escape(f"{test_file.path}::{case.name}"))

        def on_result(result: CaseResult) -> None:
            progress.advance(task)

        return await runner.run(
            selected, fail_fast=fail_fast, on_start=on_start, on_result=on_result
        )


def main() -> int:  # `python -m workbench.cli.test`
    return cmd_test(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
