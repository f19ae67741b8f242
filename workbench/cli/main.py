"""`calm-tui`: one entry point, a verb per job, one module per verb (`cli/<verb>.py`).

This module only picks the verb; each verb parses its own arguments and runs through
`common.run_verb`, which turns how it ended into the exit code (`exits.py`). Verb modules
are imported when chosen, so that `calm-tui validate` and start-up stay fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from workbench.cli.exits import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, PROG, guarded

__all__ = ["EXIT_OK", "EXIT_PROBLEMS", "EXIT_USAGE", "VERBS", "main"]


def cmd_tui(argv: Sequence[str]) -> int:
    from workbench.cli.tui import cmd_tui

    return cmd_tui(argv)


def cmd_validate(argv: Sequence[str]) -> int:
    from workbench.cli.validate import cmd_validate

    return cmd_validate(argv)


def cmd_shell(argv: Sequence[str]) -> int:
    from workbench.cli.shell import cmd_shell

    return cmd_shell(argv)


def cmd_test(argv: Sequence[str]) -> int:
    from workbench.project.collector import batch_command

    with batch_command():
        from workbench.cli.test import cmd_test

        return cmd_test(argv)


def cmd_sessions(argv: Sequence[str]) -> int:
    from workbench.cli.sessions import cmd_sessions

    return cmd_sessions(argv)


def cmd_data(argv: Sequence[str]) -> int:
    from workbench.cli.data import cmd_data

    return cmd_data(argv)


VERBS: dict[str, Callable[[Sequence[str]], int]] = {
    "validate": cmd_validate,
    "shell": cmd_shell,
    "sessions": cmd_sessions,
    "test": cmd_test,
    "data": cmd_data,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in VERBS:
        command, rest = VERBS[argv[0]], argv[1:]
    else:
        command, rest = cmd_tui, argv
    # each verb ends through `common.run_verb`; this catches what fails before it runs
    return guarded(PROG, lambda: command(rest))


if __name__ == "__main__":
    sys.exit(main())
