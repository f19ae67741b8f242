"""`calm-tui`: one entry point, a verb per job. Heavy imports happen inside the verbs so
that `calm-tui validate` and start-up stay fast."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def _project_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "project_dir",
        nargs="?",
        default=".",
        metavar="PROJECT_DIR",
        help="the CALM project folder (default: the current folder)",
    )


def _tui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="calm-tui",
        description="Open the CALM Workbench on a project folder.",
        epilog="verbs: validate (run `calm-tui VERB --help` for details)",
    )
    _project_arg(parser)
    return parser


def _validate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="calm-tui validate",
        description="Load and check a project; print problems as file:line with a hint.",
    )
    _project_arg(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 on warnings as well as errors"
    )
    return parser


def _check_dir(path: str) -> Path | None:
    root = Path(path)
    if not root.is_dir():
        print(f"calm-tui: error: '{path}' is not a folder", file=sys.stderr)
        return None
    return root


def cmd_validate(argv: Sequence[str]) -> int:
    args = _validate_parser().parse_args(argv)
    root = _check_dir(args.project_dir)
    if root is None:
        return EXIT_USAGE
    from rich.console import Console

    from .project.report import issues_json, print_issues
    from .project.validate import validate_path

    result = validate_path(root)
    issues = result.issues
    if args.format == "json":
        print(issues_json(issues, str(result.project.root)))
    else:
        print_issues(issues, Console(highlight=False), root.resolve().name)
    failed = bool(issues.errors) or (args.strict and bool(issues))
    return EXIT_PROBLEMS if failed else EXIT_OK


def cmd_tui(argv: Sequence[str]) -> int:
    args = _tui_parser().parse_args(argv)
    root = _check_dir(args.project_dir)
    if root is None:
        return EXIT_USAGE
    from .tui.app import run_app

    return run_app(root)


VERBS: dict[str, Callable[[Sequence[str]], int]] = {
    "validate": cmd_validate,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in VERBS:
        return VERBS[argv[0]](argv[1:])
    return cmd_tui(argv)


if __name__ == "__main__":
    sys.exit(main())
