"""How a verb ends: its exit code, and what the user sees when it ends early.

Exit codes: 0 ok; 1 problems found (validation errors, failing tests, a `WorkbenchError`
the user can fix: the message says what); 2 usage errors only (argparse's own errors and
`UsageError`); 70 an internal error (a bug in the workbench, sysexits' EX_SOFTWARE), so
that a CI job tells "the tests failed" (1) from "the tool broke" (70). An internal error
prints one line naming the file the full traceback was written to; both have the
secrets the process has seen masked (a traceback quotes local values and messages).
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

from workbench.errors import WorkbenchError

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 70
EXIT_INTERRUPTED = 130  # as a shell reports a command ended by Ctrl+C
PROG = "calm-tui"
CRASH_DIR = Path(".calm") / "logs"


def guarded(
    prog: str, call: Callable[[], int], project_dir: Callable[[], str | Path | None] = lambda: None
) -> int:
    """Run a verb and turn how it ended into an exit code: the one place that does."""
    try:
        return call()
    except WorkbenchError as exc:
        print(f"{prog}: error: {_printable(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        return report_crash(exc, project_dir())


def report_crash(exc: BaseException, project_dir: str | Path | None = None) -> int:
    """One line on stderr; the full traceback in a file (the project's `.calm/logs/`, or
    the system's temp folder when there is no writable project)."""
    where = write_crash(traceback.format_exc(), project_dir)
    message = _printable(_scrubbed(" ".join(str(exc).split())))
    if len(message) > 200:
        message = message[:199] + "…"
    what = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    if where is None:
        print(f"{PROG}: internal error: {what} (no file could be written)", file=sys.stderr)
        print(_scrubbed(traceback.format_exc()), file=sys.stderr, end="")
    else:
        print(f"{PROG}: internal error: {what} (traceback written to {where})", file=sys.stderr)
    return EXIT_INTERNAL


def _printable(text: str) -> str:
    """An error may quote a project file or a model: its controls are shown, not obeyed."""
    from workbench.terminal_text import printable

    return printable(text)


def write_crash(text: str, project_dir: str | Path | None = None) -> Path | None:
    now = dt.datetime.now(dt.timezone.utc)
    name = f"crash-{now:%Y%m%d-%H%M%S-%f}.txt"
    report = (
        f"calm-tui internal error at {now:%Y-%m-%d %H:%M:%S} UTC\n"
        f"command: {' '.join(sys.argv)}\n"
        f"python: {sys.version.split()[0]} ({sys.executable})\n\n{text}"
    )
    report = _scrubbed(report)
    targets: list[Path] = []
    if project_dir is not None and Path(project_dir).is_dir():
        targets.append(Path(project_dir) / CRASH_DIR / name)
    targets.append(Path(tempfile.gettempdir()) / f"calm-tui-{name}")
    for target in targets:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(report, encoding="utf-8")
        except OSError:
            continue
        return target.resolve()
    return None


def _scrubbed(text: str) -> str:
    """`text` with secrets masked; if masking itself fails, nothing of it is kept."""
    try:
        from workbench.store.redact import scrub_crash_text

        return scrub_crash_text(text)
    except Exception as exc:  # a crash report must never leak, nor crash itself
        return f"(withheld: masking its secrets failed with {type(exc).__name__})\n"
