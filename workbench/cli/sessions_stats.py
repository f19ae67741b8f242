"""`calm-tui sessions stats`: where the assistant fails, across the stored sessions (local
and imported): flows started and completed, the cancel / internal-error / cannot-handle /
handoff rates, the most frequent reasons commands were dropped (with turns to look at),
per flow and per day. The figures come from `store/stats.py`; the layout of the tables
from `trace/stats_text.py`, which the session browser's Statistics view shares.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone

from rich.console import Console
from rich.table import Table
from rich.text import Text

from workbench.cli.common import open_store, positive_int, project_arg
from workbench.cli.exits import EXIT_OK
from workbench.cli.sessions_import import parse_time
from workbench.errors import UsageError
from workbench.store.sessions import now_iso
from workbench.store.stats import ORIGINS, StatsFilter, conversation_stats
from workbench.terminal_text import escaped, json_printable
from workbench.trace.stats import EXAMPLES, ConversationStats, StatsBuilder
from workbench.trace.stats_text import (
    LEGEND,
    TextTable,
    day_table,
    example_text,
    flow_pattern_table,
    flow_table,
    overview,
    pattern_table,
    reason_text,
)


def stats_arguments(parser: argparse.ArgumentParser) -> None:
    project_arg(parser)
    parser.add_argument(
        "--since",
        metavar="TIME",
        help="only turns at or after TIME (2026-11-30, 2026-11-30T14:00 (UTC unless an "
        "offset is given), or 7d / 12h / 30m ago)",
    )
    parser.add_argument("--until", metavar="TIME", help="only turns at or before TIME")
    parser.add_argument(
        "--origin",
        choices=ORIGINS,
        default="all",
        help="sessions had in the workbench (local), imported from a tracker store, or all "
        "(default)",
    )
    parser.add_argument("--flow", metavar="FLOW", help="only sessions that started FLOW")
    parser.add_argument(
        "--top",
        type=positive_int,
        default=10,
        metavar="N",
        help="the N most frequent dropped-command reasons (default 10)",
    )
    parser.add_argument(
        "--examples",
        type=positive_int,
        default=EXAMPLES,
        metavar="K",
        help=f"example turns shown per reason, the latest (default {EXAMPLES})",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.epilog = (
        "Turns are counted by the time they started; a session counts when one of its turns "
        "does. `calm-tui sessions show ID` prints an example turn's session. "
        "The JSON keys are listed in the README (calm-tui sessions stats)."
    )


def run_stats(args: argparse.Namespace, console: Console) -> int:
    since, until = _iso(parse_time(args.since, "--since")), _iso(parse_time(args.until, "--until"))
    if since is not None and until is not None and since > until:
        raise UsageError(f"--since {args.since} is later than --until {args.until}")
    wanted = StatsFilter(since=since, until=until, origin=args.origin, flow=args.flow)
    store = open_store(args.project_dir)
    if store is None:
        stats = StatsBuilder(top=args.top).result()
    else:
        try:
            stats = conversation_stats(store, wanted, top=args.top, examples=args.examples)
        finally:
            store.close()
    if args.format == "json":
        data = {"filters": _filters(wanted), **stats.as_dict()}
        print(json_printable(json.dumps(data, indent=2, ensure_ascii=False)))
        return EXIT_OK
    if not stats.sessions and not stats.unreadable_turns:
        said = "no sessions match the filters" if _described(wanted) else "no sessions yet"
        console.print(f"{said} in {escaped(args.project_dir)}")
        return EXIT_OK
    print_stats(stats, wanted, console)
    return EXIT_OK


def print_stats(stats: ConversationStats, wanted: StatsFilter, console: Console) -> None:
    described = _described(wanted)
    if described:
        console.print(f"[dim]{escaped(described)}[/]")
    for line in overview(stats):
        console.print(escaped(line))
    console.print()
    console.print(_table("Patterns", pattern_table(stats)))
    if stats.flows:
        console.print()
        console.print(_table("Flows", flow_table(stats)))
    failing = flow_pattern_table(stats)
    if failing.rows:
        console.print()
        console.print(_table("Patterns by flow", failing))
    if stats.dropped_reasons:
        console.print()
        console.print(_reasons(stats))
    if stats.days:
        console.print()
        console.print(_table("Per day (UTC)", day_table(stats)))
    console.print(f"[dim]{escaped(LEGEND)}[/]")


def _table(title: str, spec: TextTable) -> Table:
    table = _plain(title)
    for header, numeric in zip(spec.headers, spec.numeric, strict=True):
        # names keep their line; a header of figures may break into two where it is narrow
        table.add_column(header, justify="right" if numeric else "left", no_wrap=not numeric)
    for row in spec.rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


def _plain(title: str) -> Table:
    # one space between columns and none at the edges: the tables fit 80 columns
    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=None,
        header_style="bold",
        pad_edge=False,
        collapse_padding=True,
    )


def _reasons(stats: ConversationStats) -> Table:
    table = _plain("Dropped commands, most frequent reasons")
    table.add_column("count", justify="right", no_wrap=True)
    table.add_column("turns", justify="right", no_wrap=True)
    table.add_column("reason / latest turns (calm-tui sessions show ID)")
    for row in stats.dropped_reasons:
        cell = Text(reason_text(row))
        cell.append("\n" + example_text(row), style="cyan")
        table.add_row(str(row.count), str(row.turns), cell)
    if stats.other_reasons:
        table.add_row("", "", Text(f"and {stats.other_reasons} other reasons (--top)", "dim"))
    return table


def _described(wanted: StatsFilter) -> str:
    parts = []
    if wanted.since:
        parts.append(f"since {wanted.since}")
    if wanted.until:
        parts.append(f"until {wanted.until}")
    if wanted.origin != "all":
        parts.append(f"{wanted.origin} sessions")
    if wanted.flow:
        parts.append(f"sessions that started {wanted.flow}")
    return ", ".join(parts)


def _filters(wanted: StatsFilter) -> dict[str, str | None]:
    return {
        "since": wanted.since,
        "until": wanted.until,
        "origin": wanted.origin,
        "flow": wanted.flow,
    }


def _iso(stamp: float | None) -> str | None:
    """Epoch seconds as the store writes times (`2026-11-30T14:00:00.000Z`)."""
    return None if stamp is None else now_iso(datetime.fromtimestamp(stamp, timezone.utc))


__all__ = ["print_stats", "run_stats", "stats_arguments"]
