"""`calm-tui sessions import`: production conversations from a Rasa tracker store.

`--list` shows the conversations (filtered); ids (or `--all-matching`) import them into
the project's session store as read-only sessions marked with where they came from. The
tracker store is only ever read: see `store/rasa_tracker_store.py` and its readers.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from workbench.cli.exits import EXIT_OK, EXIT_PROBLEMS
from workbench.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from workbench.cli.run_progress import RunProgress
    from workbench.project.model import Project
    from workbench.project.tracker_store import TrackerStoreConfig
    from workbench.store.rasa_tracker_store import TrackerStoreReader
    from workbench.store.tracker_import import ConversationFilter, Page

PATTERN_CHOICES = ("internal_error", "cannot_handle", "human_handoff")
_RELATIVE = re.compile(r"(\d+)\s*([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="[PROJECT_DIR] ID",
        help="the project folder (default: the current folder; a first argument that is "
        "a folder is taken as it), then the sender ids of the conversations to import",
    )
    parser.add_argument(
        "--tracker-store",
        metavar="URL",
        help="read this store instead of endpoints.yml's `tracker_store`: "
        "postgresql://user:password@host:5432/db, sqlite:///path/to/rasa.db, "
        "redis://[user]:password@host:6379/0[?key_prefix=P] (rediss:// for TLS, "
        "unix:///path/to/redis.sock?db=0), or "
        "mongodb://user:password@host:27017/rasa[?collection=conversations&authSource=admin]",
    )
    parser.add_argument("--list", action="store_true", help="list the conversations")
    parser.add_argument(
        "--all-matching",
        action="store_true",
        help="import every conversation the filters match, reading the store a page at a "
        "time (a progress bar shows on a terminal)",
    )
    filters = parser.add_argument_group("filters (for --list and --all-matching)")
    filters.add_argument(
        "--since",
        metavar="TIME",
        help="last message at or after TIME (2026-11-30, "
        "2026-11-30T14:00 (UTC unless an offset is given), or 7d / 12h / 30m ago)",
    )
    filters.add_argument("--until", metavar="TIME", help="first message at or before TIME")
    filters.add_argument("--sender", metavar="ID", help="only this sender id")
    filters.add_argument("--flow", metavar="FLOW", help="only conversations that started FLOW")
    filters.add_argument(
        "--pattern", choices=PATTERN_CHOICES, help="only conversations that hit this pattern"
    )
    filters.add_argument(
        "--text", metavar="WORDS", help="only conversations where all these words were said"
    )
    parser.add_argument(
        "--limit", type=int, default=50, metavar="N", help="conversations --list shows (50)"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="importing, print no line per conversation and no progress bar: the "
        "conversations not imported and the totals",
    )
    parser.epilog = (
        "The tracker store is only read (read-only transactions, a read-only SQLite file, "
        "Redis read commands, MongoDB find/aggregate). "
        "Imported sessions are marked with their origin and cannot be resumed; "
        "`calm-tui sessions show ID` prints them. PostgreSQL, Redis and MongoDB need the "
        "`production` extra: pip install 'calm-workbench[production]'."
    )


def split_targets(args: argparse.Namespace) -> None:
    """`[PROJECT_DIR] ID...`: a first target that is a folder is the project."""
    targets = list(args.targets)
    args.project_dir = "."
    if targets and Path(targets[0]).is_dir():
        args.project_dir = targets.pop(0)
    args.ids = targets


def run_import(args: argparse.Namespace, console: Console) -> int:
    from workbench.cli.common import project_folder
    from workbench.store.tracker_import import ConversationFilter, open_tracker_store

    root = project_folder(args.project_dir)
    wanted = ConversationFilter(
        since=parse_time(args.since, "--since"),
        until=parse_time(args.until, "--until"),
        sender=args.sender,
        flow=args.flow,
        pattern=args.pattern,
        text=args.text,
    )
    filtering = wanted != ConversationFilter()
    if args.ids and (args.all_matching or args.list or filtering):
        raise UsageError(
            "name conversations by id, or select them with --list / --all-matching and "
            "the filters, not both"
        )
    if args.limit < 1:
        raise UsageError("--limit must be 1 or more")
    project = _project(root)
    config, base = _config(args, root, project)
    with open_tracker_store(config, base) as reader:
        if not args.ids and not args.all_matching:
            return _print_list(reader, wanted, args, console)
        return _import(reader, wanted, args, root, project, console)


def _project(root: Path) -> Project:
    """The project, for its secret slots and its endpoints (a project with errors too:
    importing needs neither its flows nor its actions)."""
    from workbench.wiring import Options, load

    return load(root, Options(), with_tests=False).project


def _config(
    args: argparse.Namespace, root: Path, project: Project
) -> tuple[TrackerStoreConfig, Path]:
    from workbench.project.tracker_store import from_endpoints, from_url

    if args.tracker_store:
        return from_url(args.tracker_store), Path.cwd()
    source = project.endpoints.source.file or "endpoints.yml"
    # a relative SQLite `db` is where Rasa, run in the project folder, keeps it
    return from_endpoints(project.endpoints.raw, source), root


def _print_list(
    reader: TrackerStoreReader,
    wanted: ConversationFilter,
    args: argparse.Namespace,
    console: Console,
) -> int:
    from workbench.store.tracker_import import list_conversations
    from workbench.terminal_text import printable

    found = list_conversations(reader, wanted, args.limit)
    if args.format == "json":
        print(json.dumps([c.as_dict() for c in found], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not found:
        console.print(f"no conversations match in {reader.label}")
        return EXIT_OK
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("sender", style="cyan", no_wrap=True)
    table.add_column("first (UTC)", no_wrap=True)
    table.add_column("last (UTC)", no_wrap=True)
    table.add_column("turns", justify="right", no_wrap=True)
    table.add_column("flows")
    table.add_column("patterns")
    for c in found:
        patterns = ", ".join(c.patterns)
        if c.unreadable:
            patterns = f"{patterns}, " if patterns else ""
            patterns += f"{c.unreadable} unreadable events"
        table.add_row(
            Text(printable(c.sender_id, multiline=False)),
            _minute(c.first_at),
            _minute(c.last_at),
            str(c.user_turns),
            Text(printable(", ".join(c.flows), multiline=False)),
            Text(patterns, style="yellow" if patterns else ""),
        )
    console.print(table)
    console.print(f"[dim]{len(found)} conversations in {reader.label}[/]")
    return EXIT_OK


def _import(
    reader: TrackerStoreReader,
    wanted: ConversationFilter,
    args: argparse.Namespace,
    root: Path,
    project: Project,
    console: Console,
) -> int:
    """Import the conversations named, or (`--all-matching`) those that match, read from
    the store a page at a time as the imports go: each is stored whole in a transaction
    of its own, so one that cannot be read keeps nothing of itself and none of the others
    is lost. A terminal shows a progress bar once it takes longer than a second."""
    from workbench.cli.run_progress import RunProgress
    from workbench.store.redact import Scrubber
    from workbench.store.sessions import SessionStore
    from workbench.store.tracker_import import (
        ImportFailure,
        import_conversations,
        select_matching,
    )
    from workbench.terminal_text import escaped

    label = escaped(reader.label)
    ids: list[str] = list(dict.fromkeys(args.ids))
    pages: Iterable[Page] = ()
    total: int | None = len(ids)
    if args.all_matching:
        selection = select_matching(reader, wanted)
        if selection.total == 0:
            console.print(f"no conversations match in {label}")
            return EXIT_OK
        pages, total = selection.pages, selection.total
    imported = already = failed = 0
    with (
        SessionStore(root) as store,
        RunProgress(console, total, enabled=not args.quiet, label="import") as bar,
    ):
        outcomes = import_conversations(
            reader,
            store,
            _matching_senders(pages, bar) if args.all_matching else ids,
            reader.label,
            lambda: Scrubber.for_project(project),
        )
        for outcome in outcomes:
            sender = escaped(outcome.sender_id)
            bar.advance(failed=isinstance(outcome, ImportFailure))
            if isinstance(outcome, ImportFailure):
                failed += 1
                console.print(f"[red]not imported[/] {escaped(outcome.reason)}")
            elif outcome.already:
                already += 1
                if not args.quiet:
                    console.print(
                        f"{sender}: already imported as session "
                        f"[cyan]{escaped(outcome.session_id)}[/]"
                    )
            else:
                imported += 1
                if not args.quiet:
                    console.print(
                        f"imported {sender} as session "
                        f"[cyan]{escaped(outcome.session_id)}[/] ({outcome.turns} turns)"
                    )
    done = imported + already + failed
    if args.all_matching or args.quiet or done > 1:
        console.print(
            f"[dim]{imported} imported, {already} imported before, {failed} not imported,"
            f" from {label}[/]"
        )
    if failed:
        console.print(f"[red]{failed} of {done} conversations were not imported[/]")
        return EXIT_PROBLEMS
    return EXIT_OK


def _matching_senders(pages: Iterable[Page], bar: RunProgress) -> Iterator[str]:
    """The sender ids of the matching conversations, page by page; the bar counts the
    conversations the exact check left out as done as well."""
    for page in pages:
        bar.advance(page.checked - len(page.matching))
        yield from page.matching


def parse_time(text: str | None, option: str, now: datetime | None = None) -> float | None:
    """An ISO date or time (UTC unless it has an offset), or `7d` / `12h` / `30m` ago;
    as epoch seconds, which Rasa's `timestamp` column holds."""
    if text is None:
        return None
    value = text.strip()
    relative = _RELATIVE.fullmatch(value)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        at = (now or datetime.now(timezone.utc)) - timedelta(**{_UNITS[unit]: amount})
        return at.timestamp()
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(
            f"{option} '{text}' is no time: write 2026-11-30, 2026-11-30T14:00, or 7d / 12h / "
            "30m for that long ago"
        ) from exc
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.timestamp()


def _minute(stamp: float | None) -> str:
    if stamp is None:
        return "?"
    return datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%d %H:%M")


__all__ = ["PATTERN_CHOICES", "import_arguments", "parse_time", "run_import", "split_targets"]
