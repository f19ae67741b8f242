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
        epilog="verbs: validate, shell, test, sessions (run `calm-tui VERB --help` for details)",
    )
    _project_arg(parser)
    _generator_args(parser)
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
    parser.add_argument(
        "--actions-python",
        metavar="PATH",
        help="the Python the custom actions run on (default: the project's .venv, else this one)",
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

    result = validate_path(root, actions_python=args.actions_python)
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
    if not _generator_args_ok(args, "calm-tui"):
        return EXIT_USAGE
    from .tui.app import make_app

    try:
        app = make_app(
            root,
            offline=args.offline,
            model=args.model,
            cassette=args.cassette,
            record=args.record,
            store=not args.no_store,
            seed=args.seed,
        )
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
    _generator_args(parser)
    _actions_args(parser)
    parser.add_argument(
        "--no-store",
        action="store_true",
        help="do not save the conversation in PROJECT_DIR/.calm/sessions.db",
    )
    return parser


def _actions_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("custom actions")
    group.add_argument(
        "--actions",
        choices=("auto", "inprocess", "server", "off"),
        default="auto",
        help="where custom actions run (default: as endpoints.yml declares them)",
    )
    group.add_argument(
        "--actions-python",
        metavar="PATH",
        help="the Python the actions run on, on an action server (default: the project's "
        ".venv or venv, else this one)",
    )


def _generator_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("command generator")
    group.add_argument("--offline", action="store_true", help="use the offline generator")
    group.add_argument("--model", metavar="NAME", help="a litellm model, e.g. openai/gpt-4o-mini")
    group.add_argument("--cassette", metavar="FILE", help="replay recorded model output")
    group.add_argument("--record", metavar="FILE", help="record the model output to FILE")


def _generator_args_ok(args: argparse.Namespace, prog: str) -> bool:
    if args.cassette and args.record:
        print(f"{prog}: error: --cassette and --record exclude each other", file=sys.stderr)
        return False
    return True


def _generator(project, args):
    """The generator the options ask for, and its label for headers and the store."""
    from .understanding.choose import choose_generator

    if args.cassette:
        from .understanding.cassette import CassetteGenerator

        return CassetteGenerator(args.cassette), f"cassette {Path(args.cassette).name}"
    generator, label = choose_generator(project, offline=args.offline, model=args.model)
    if args.record:
        from .understanding.cassette import RecordingGenerator

        generator = RecordingGenerator(generator, args.record)
        label = f"{label}, recording to {Path(args.record).name}"
    return generator, label


def _load_or_report(root: Path):
    """Load a project for chatting; on errors print them and return None."""
    from rich.console import Console

    from .project.loader import load_project
    from .project.report import print_issues

    result = load_project(root)
    if result.issues.errors:
        print_issues(result.issues.errors, Console(stderr=True), root.resolve().name)
        return None
    return result.project


def cmd_shell(argv: Sequence[str]) -> int:
    args = _shell_parser().parse_args(argv)
    root = _check_dir(args.project_dir)
    if root is None:
        return EXIT_USAGE
    project = _load_or_report(root)
    if project is None:
        return EXIT_PROBLEMS
    from .actions.runner import make_action_runner
    from .session import Session
    from .shell import run_shell

    if not _generator_args_ok(args, "calm-tui shell"):
        return EXIT_USAGE
    try:
        generator, label = _generator(project, args)
    except Exception as exc:  # e.g. an unreadable cassette: say so, no traceback
        print(f"calm-tui shell: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    actions = make_action_runner(project, mode=args.actions, python=args.actions_python)
    session = Session(project, generator, actions=actions, seed=args.seed)
    recorder = None
    if not args.no_store:
        from .store.recorder import SessionRecorder

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
    from .testing.cli import cmd_test as run

    return run(argv)


def cmd_sessions(argv: Sequence[str]) -> int:
    from .cli_sessions import run

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
