"""`calm-tui`: one entry point, a verb per job. Heavy imports happen inside the verbs so
that `calm-tui validate` and start-up stay fast."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.markup import escape

from workbench.wiring import (
    Options,
    UsageError,
    add_generator_options,
    add_project_options,
    load,
    make_actions,
    make_generator,
    options_from_args,
)

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
        epilog="verbs: validate, shell, test, sessions (run `calm-tui VERB --help` for details)",
    )
    _project_arg(parser)
    add_generator_options(parser)
    add_project_options(parser)
    parser.add_argument("--seed", type=int, default=0, help="seed for response variations")
    parser.add_argument(
        "--no-store",
        action="store_true",
        help="do not save the conversation in PROJECT_DIR/.calm/sessions.db",
    )
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
    add_project_options(parser)
    return parser


def _check_dir(path: str) -> Path | None:
    root = Path(path)
    if not root.is_dir():
        print(f"calm-tui: error: '{path}' is not a folder", file=sys.stderr)
        return None
    return root


def _options(args: argparse.Namespace, prog: str) -> Options | None:
    try:
        return options_from_args(args)
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return None


def cmd_validate(argv: Sequence[str]) -> int:
    args = _validate_parser().parse_args(argv)
    root = _check_dir(args.project_dir)
    options = _options(args, "calm-tui validate")
    if root is None or options is None:
        return EXIT_USAGE
    from rich.console import Console

    from workbench.project.report import issues_json, print_issues
    from workbench.project.validate import validate_loaded

    result = validate_loaded(load(root, options), actions_python=options.actions_python)
    issues = result.issues
    if args.format == "json":
        print(issues_json(issues, str(result.project.root), result.project.notes))
    else:
        console = Console(highlight=False)
        for note in result.project.notes:
            console.print(f"[dim]note: {escape(note)}[/]", soft_wrap=True)
        print_issues(issues, console, root.resolve().name)
    failed = bool(issues.errors) or (args.strict and bool(issues))
    return EXIT_PROBLEMS if failed else EXIT_OK


def cmd_tui(argv: Sequence[str]) -> int:
    args = _tui_parser().parse_args(argv)
    root = _check_dir(args.project_dir)
    options = _options(args, "calm-tui")
    if root is None or options is None:
        return EXIT_USAGE
    from workbench.tui.app import make_app

    try:
        app = make_app(root, options=options, store=not args.no_store, seed=args.seed)
    except Exception as exc:  # e.g. an unreadable cassette: say so, no traceback
        print(f"calm-tui: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    app.run()
    return app.return_code or 0


def _shell_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="calm-tui shell",
        description="Chat with the assistant line by line. Lines starting with / are "
        "direct commands (/start flow x, /set slot a 5, /SetSlots(a=5)).",
    )
    _project_arg(parser)
    parser.add_argument("--debug", action="store_true", help="print each turn's trace")
    parser.add_argument("--seed", type=int, default=0, help="seed for response variations")
    parser.add_argument(
        "--no-greet", action="store_true", help="do not send /session_start at the start"
    )
    add_generator_options(parser)
    add_project_options(parser)
    parser.add_argument(
        "--no-store",
        action="store_true",
        help="do not save the conversation in PROJECT_DIR/.calm/sessions.db",
    )
    return parser


def _load_or_report(root: Path, options: Options):
    """Load a project for chatting; on errors print them and return None."""
    from rich.console import Console

    from workbench.project.report import print_issues

    result = load(root, options)
    if result.issues.errors:
        print_issues(result.issues.errors, Console(stderr=True), root.resolve().name)
        return None
    return result.project


def cmd_shell(argv: Sequence[str]) -> int:
    args = _shell_parser().parse_args(argv)
    root = _check_dir(args.project_dir)
    options = _options(args, "calm-tui shell")
    if root is None or options is None:
        return EXIT_USAGE
    project = _load_or_report(root, options)
    if project is None:
        return EXIT_PROBLEMS
    from workbench.session import Session
    from workbench.shell import run_shell

    try:
        generator, label = make_generator(project, options)
    except Exception as exc:  # e.g. an unreadable cassette: say so, no traceback
        print(f"calm-tui shell: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    actions = make_actions(project, options)
    session = Session(project, generator, actions=actions, seed=args.seed)
    recorder = None
    if not args.no_store:
        from workbench.store.recorder import SessionRecorder

        recorder = SessionRecorder(
            root,
            generator=label,
            sender_id=session.tracker.sender_id,
            seed=session.tracker.seed,
            project_fingerprint=project.fingerprint,
        )
    try:
        return run_shell(
            session, label, debug=args.debug, greet=not args.no_greet, on_turn=recorder
        )
    finally:
        actions.close()  # stops an action server the workbench started
        if recorder is not None:
            recorder.close()


def cmd_test(argv: Sequence[str]) -> int:
    from workbench.cli.test import cmd_test as run

    return run(argv)


def cmd_sessions(argv: Sequence[str]) -> int:
    from workbench.cli.sessions import run

    return run(argv)


VERBS: dict[str, Callable[[Sequence[str]], int]] = {
    "validate": cmd_validate,
    "shell": cmd_shell,
    "sessions": cmd_sessions,
    "test": cmd_test,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in VERBS:
        return VERBS[argv[0]](argv[1:])
    return cmd_tui(argv)


if __name__ == "__main__":
    sys.exit(main())
