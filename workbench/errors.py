"""The workbench's own errors: one base class, so that the command line can tell a
problem the user can fix (a message, exit code 1; a usage error, exit code 2) from a bug
(an internal error with a traceback written to a file).

This module imports nothing, so every layer may raise these.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """A problem the user can fix: the message says what is wrong and, where it can,
    what to do. `exit_code` is what the command line exits with when it ends a verb."""

    exit_code = 1


class UsageError(WorkbenchError, ValueError):
    """Options that contradict each other or name something that is not there."""

    exit_code = 2
