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
from workbench.errors import UsageError, WorkbenchError
from workbench.wiring import (
    Options,
    add_generator_options,
    add_project_options,
    make_generator,
    options_from_args,
)

EXIT_FAILED = EXIT_PROBLEMS
PROG = "calm-tui test"

if TYPE_CHECKING:
    from rich.console import Console

    from workbench.project.model import Project, TestCase, TestFile
    from workbench.testing.parallel import ParallelRun
    from workbench.testing.results import RunResult
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
    add_parallel_options(parser)
    return parser


def add_parallel_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("parallel and sharded runs")
    group.add_argument(
        "-n",
        "--workers",
        metavar="N",
        type=_workers,
        default=1,
        help="run the test cases in N processes, this one and N-1 workers ('auto': one per "
        "core); the report is the one a serial run prints",
    )
    group.add_argument(
        "--shard",
        metavar="K/N",
        type=_shard,
        help="run only shard K of N: the cases sorted by file::name, dealt round-robin "
        "(a CI matrix runs 1/N .. N/N)",
    )
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no header, no progress bar and no table of every case: the failures, "
        "the notes and the totals",
    )


def _workers(text: str) -> int:
    if text == "auto":
        from workbench.testing.parallel import auto_workers

        return auto_workers()
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"-n {text}: give a number of workers (1 or more) or auto")
    return count


def _shard(text: str) -> tuple[int, int]:
    from workbench.testing.shards import parse_shard

    try:
        return parse_shard(text)
    except WorkbenchError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


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
        if args.workers > 1 or args.shard:
            raise UsageError("--du runs in this process: leave out -n and --shard")
        return run_du(root, paths, options, console)
    from workbench.testing.results import new_run_id

    # one for the whole run: this process and the workers of -n put it in sender ids
    args.run_id = new_run_id()
    if args.compare:
        if args.workers > 1 or args.shard:
            raise UsageError("--compare runs each side in this process: leave out -n and --shard")
        if args.repeat > 1:
            raise UsageError("--compare runs each case once per side: leave out --repeat")
        return run_compared(args, root, paths, options, console)
    pool = _start_workers(args, root, options)
    try:
        return _run_selection(args, console, root, paths, options, pool)
    finally:
        if pool is not None:
            pool.close()


def _run_selection(
    args: argparse.Namespace,
    console: Console,
    root: Path,
    paths: list[str],
    options: Options,
    pool: ParallelRun | None,
) -> int:
    project = load_or_report(root, options)

    from workbench.testing.runner import select_cases

    selected = select_cases(project, paths)  # a SelectionError is a usage error
    if args.shard:
        from workbench.testing.shards import shard_cases

        selected = shard_cases(selected, *args.shard)
    selected = repeated(selected, args.repeat, args)
    if not selected:
        where = f"shard {'/'.join(map(str, args.shard))} of " if args.shard else ""
        console.print(f"[yellow]no e2e test cases found in {where}{root.resolve().name}[/]")
        return EXIT_OK
    run = _run_suite(project, options, selected, args, console, pool)

    from workbench.testing.report import print_report, write_junit

    print_report(run, console, cases=not args.quiet)
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
    pool: ParallelRun | None = None,
) -> RunResult:
    notes: list[str] = list(project.notes)
    generator, label = make_generator(project, options, notes)
    if pool is not None:
        from workbench.testing.cassette_order import order_dependence

        reason = order_dependence(generator, selected)
        if reason is not None:
            notes.append(
                f"-n {args.workers} ran the cases one after another: {reason} (give the "
                "entries `test_case:` to run in parallel)"
            )
            pool.close()
            pool = None

    from workbench.testing.runner import options_runner

    runner = options_runner(
        project,
        generator,
        options,
        seed=args.seed,
        run_id=args.run_id,
        try_other_version=_try_other_version(args),
    )
    if pool is not None:
        run = _run_in_workers(pool, runner, selected, args, console, label)
    else:
        import asyncio

        from workbench.project.collector import start_up_done

        start_up_done()
        run = asyncio.run(
            _run_with_progress(runner, selected, args.fail_fast, console, label, args.quiet)
        )
    run.notes[:0] = notes
    run.generator = label
    number_runs(run, args.repeat)
    return run


def _try_other_version(args: argparse.Namespace) -> bool:
    # a repeated case measures the model: a rerun under the other profile would take its
    # own model calls and blur the pass rate
    return bool(args.repeat < 2)


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
            print_report(run, console, cases=not args.quiet)
            results.append(list(run.results))
    labels = (sides[0].label, sides[1].label)
    both_pass = report_comparison(labels, (results[0], results[1]), console)
    return EXIT_OK if both_pass else EXIT_FAILED


def cmd_test(argv: Sequence[str]) -> int:
    return run_verb(PROG, test_parser(), run, argv)


def _header(console: Console, project: Project, count: int, label: str, how: str = "") -> None:
    from rich.markup import escape

    console.print(
        f"running {count} test case(s) of [bold]{escape(project.root.name)}[/]{how} "
        f"· generator: [cyan]{escape(label)}[/] · Rasa {escape(project.rasa_version)}"
    )


async def _run_with_progress(
    runner: E2ERunner,
    selected: list[tuple[TestFile, TestCase]],
    fail_fast: bool,
    console: Console,
    label: str,
    quiet: bool = False,
) -> RunResult:
    from workbench.cli.run_progress import RunProgress

    if not quiet:
        _header(console, runner.project, len(selected), label)
    with RunProgress(console, len(selected), enabled=not quiet) as progress:

        def on_start(test_file: TestFile, case: TestCase) -> None:
            progress.running(f"{test_file.path}::{case.name}")

        return await runner.run(
            selected, fail_fast=fail_fast, on_start=on_start, on_result=progress.done
        )


# --- -n N: worker processes ---------------------------------------------------------------


def _start_workers(args: argparse.Namespace, root: Path, options: Options) -> ParallelRun | None:
    """The worker pool of `-n N`: forked once the project is loaded here, or (where
    processes cannot be forked) spawned now, so that they load it meanwhile."""
    if args.workers < 2:
        return None
    if options.record is not None:
        raise UsageError(
            "--record writes one cassette in the order of one run: record without -n, "
            "then replay the cassette with -n"
        )
    from workbench.testing.parallel import ParallelRun
    from workbench.testing.worker_setup import WorkerSetup

    setup = WorkerSetup(root.resolve(), options, args.seed, args.run_id, _try_other_version(args))
    return ParallelRun(setup, args.workers)


def _run_in_workers(
    pool: ParallelRun,
    runner: E2ERunner,
    selected: list[tuple[TestFile, TestCase]],
    args: argparse.Namespace,
    console: Console,
    label: str,
) -> RunResult:
    import time

    from workbench.cli.run_progress import RunProgress
    from workbench.testing.parallel_worker import Chunks
    from workbench.testing.results import RunResult

    started = time.perf_counter()
    project = runner.project
    how = f" in {args.workers} processes"
    if not args.quiet:
        _header(console, project, len(selected), label, how)
    local = Chunks(runner)
    try:
        with RunProgress(console, len(selected), enabled=not args.quiet, label=how.strip()) as bar:
            results, notes = pool.run(selected, local, fail_fast=args.fail_fast, on_result=bar.done)
    finally:
        local.close()
    return RunResult(
        results,
        notes=notes,
        generator=label,
        duration_s=time.perf_counter() - started,
        rasa_version=project.rasa_version,
    )


def main() -> int:  # `python -m workbench.cli.test`
    return cmd_test(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
