"""`calm-tui shell [PROJECT_DIR]`: chat with the assistant line by line, on the same
`Session` the TUI uses (built by `wiring.build_conversation`)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from workbench.cli.common import load_or_report, project_arg, project_folder, run_verb
from workbench.wiring import (
    add_generator_options,
    add_project_options,
    build_conversation,
    options_from_args,
)

PROG = "calm-tui shell"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Chat with the assistant line by line. Lines starting with / are "
        "direct commands (/start flow x, /set slot a 5, /SetSlots(a=5)).",
    )
    project_arg(parser)
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


def run(args: argparse.Namespace) -> int:
    root = project_folder(args.project_dir)
    options = options_from_args(args)
    # a project `validate` rejects is refused, not chatted with half-working
    project = load_or_report(root, options, validated=True)
    from workbench.shell import run_shell

    conversation = build_conversation(
        project, options, root=root, store=not args.no_store, seed=args.seed
    )
    try:
        return run_shell(
            conversation.session,
            conversation.label,
            debug=args.debug,
            greet=not args.no_greet,
            on_turn=conversation.recorder,
            scrubber=conversation.parts.scrubber,
        )
    finally:
        conversation.close()  # ends the stored session, stops a started action server


def cmd_shell(argv: Sequence[str]) -> int:
    return run_verb(PROG, parser(), run, argv)
