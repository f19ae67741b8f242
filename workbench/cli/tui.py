"""`calm-tui [PROJECT_DIR]`: the workbench's TUI on a project folder."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from workbench.cli.common import project_arg, project_folder, run_verb
from workbench.wiring import (
    add_generator_options,
    add_project_options,
    cassette_path,
    options_from_args,
)

PROG = "calm-tui"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Open the CALM Workbench on a project folder.",
        epilog="verbs: validate, shell, test, sessions (run `calm-tui VERB --help` for details)",
    )
    project_arg(parser)
    add_generator_options(parser)
    add_project_options(parser)
    parser.add_argument("--seed", type=int, default=0, help="seed for response variations")
    parser.add_argument(
        "--no-store",
        action="store_true",
        help="do not save the conversation in PROJECT_DIR/.calm/sessions.db",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    root = project_folder(args.project_dir)
    options = options_from_args(args)
    if options.cassette is not None:  # a usage error, before the screen opens
        cassette_path(options.cassette, root)
    from workbench.tui.app import starting_app

    # the first screen is drawn before the project loads; a failed load ends the app
    app = starting_app(root, options, store=not args.no_store, seed=args.seed)
    app.run()
    if app.load_error is not None:
        raise app.load_error
    return app.return_code or 0


def cmd_tui(argv: Sequence[str]) -> int:
    return run_verb(PROG, parser(), run, argv)
