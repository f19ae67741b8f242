"""`calm-tui validate [PROJECT_DIR]`: load and check a project; print problems as
file:line with a hint. Exit 1 when there are errors (or warnings, with --strict)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from workbench.cli.common import project_arg, project_folder, run_verb, shown_issues
from workbench.cli.exits import EXIT_OK, EXIT_PROBLEMS
from workbench.wiring import add_project_options, load, options_from_args

PROG = "calm-tui validate"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Load and check a project; print problems as file:line with a hint.",
    )
    project_arg(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 on warnings as well as errors"
    )
    add_project_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    root = project_folder(args.project_dir)
    options = options_from_args(args)
    from rich.console import Console

    from workbench.project.report import issues_json, print_issues
    from workbench.project.validate import validate_loaded
    from workbench.terminal_text import escaped

    result = validate_loaded(load(root, options), actions_python=options.actions_python)
    if not result.issues.errors:
        from workbench.knowledge.store_checks import vector_store_issues

        result.issues.extend(vector_store_issues(result.project))
    issues = result.issues
    if args.format == "json":
        print(issues_json(issues, str(result.project.root), result.project.notes))
    else:
        console = Console(highlight=False)
        for note in result.project.notes:
            console.print(f"[dim]note: {escaped(note)}[/]", soft_wrap=True)
        print_issues(shown_issues(issues), console, root.resolve().name)
    failed = bool(issues.errors) or (args.strict and bool(issues))
    return EXIT_PROBLEMS if failed else EXIT_OK


def cmd_validate(argv: Sequence[str]) -> int:
    return run_verb(PROG, parser(), run, argv)
