"""The conversation figures (`trace/stats.py`) as rows of text: the one layout that
`calm-tui sessions stats` prints as Rich tables and the session browser's Statistics
view shows in its tables, so both read the same."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.terminal_text import printable
from workbench.trace.stats import ConversationStats, ReasonRow

PATTERN_LABELS = {
    "cancel": "cancel",
    "internal_error": "internal error",
    "cannot_handle": "cannot handle",
    "human_handoff": "human handoff",
}


@dataclass(frozen=True)
class TextTable:
    """Column headers (numbers are right-aligned: `numeric` says which; a header may be
    two lines, so that the tables fit 80 columns) and rows. The JSON has every figure;
    a table shows those that fit."""

    headers: tuple[str, ...]
    numeric: tuple[bool, ...]
    rows: tuple[tuple[str, ...], ...]

    @property
    def header_lines(self) -> int:
        return max((header.count("\n") + 1 for header in self.headers), default=1)


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def when(stamp: str | None) -> str:
    """`2026-11-24T06:01:02.123Z` → `2026-11-24 06:01`."""
    return "?" if not stamp else stamp[:16].replace("T", " ")


def counted(number: int, thing: str) -> str:
    """`1 turn`, `2 turns`."""
    return f"{number} {thing}" if number == 1 else f"{number} {thing}s"


def overview(stats: ConversationStats) -> list[str]:
    """The totals, a line each (plain text)."""
    lines = [
        f"{counted(stats.sessions, 'session')} ({stats.local_sessions} local, "
        f"{stats.imported_sessions} imported) · {counted(stats.turns, 'user turn')}",
    ]
    if stats.first_turn_at:
        lines.append(f"turns from {when(stats.first_turn_at)} to {when(stats.last_turn_at)} UTC")
    lines.append(
        f"{counted(stats.flows_started, 'flow')} started · {stats.flows_completed} completed"
        f" · {stats.flows_cancelled} cancelled"
    )
    lines.append(
        f"{counted(stats.dropped_commands, 'dropped command')} in "
        f"{counted(stats.turns_with_dropped, 'turn')}"
    )
    if stats.unreadable_turns:
        lines.append(f"{counted(stats.unreadable_turns, 'turn')} could not be read: left out")
    return lines


def pattern_table(stats: ConversationStats) -> TextTable:
    return TextTable(
        ("pattern", "sessions", "of sessions", "turns", "of turns", "times"),
        (False, True, True, True, True, True),
        tuple(
            (
                PATTERN_LABELS[row.name],
                str(row.sessions),
                percent(row.session_rate),
                str(row.turns),
                percent(row.turn_rate),
                str(row.started),
            )
            for row in stats.patterns
        ),
    )


def flow_table(stats: ConversationStats) -> TextTable:
    return TextTable(
        ("flow", "started", "completed", "rate", "cancelled", "interrupted"),
        (False, *([True] * 5)),
        tuple(
            (
                printable(row.flow, multiline=False),
                str(row.started),
                str(row.completed),
                percent(row.completion_rate),
                str(row.cancelled),
                str(row.interrupted),
            )
            for row in stats.flows
        ),
    )


def flow_pattern_table(stats: ConversationStats) -> TextTable:
    """The flows in which patterns started (see `trace/stats.py` for which flow that is)."""
    return TextTable(
        ("flow", "internal errors", "cannot handle", "human handoffs"),
        (False, True, True, True),
        tuple(
            (
                printable(row.flow, multiline=False),
                str(row.internal_errors),
                str(row.cannot_handle),
                str(row.human_handoffs),
            )
            for row in stats.flows
            if row.internal_errors or row.cannot_handle or row.human_handoffs
        ),
    )


def day_table(stats: ConversationStats) -> TextTable:
    return TextTable(
        (
            "day",
            "sessions",
            "turns",
            "flows\nstarted",
            "internal\nerrors",
            "cannot\nhandle",
            "handoffs",
            "dropped",
        ),
        (False, *([True] * 7)),
        tuple(
            (
                row.day,
                str(row.sessions),
                str(row.turns),
                str(row.flows_started),
                str(row.internal_errors),
                str(row.cannot_handle),
                str(row.human_handoffs),
                str(row.dropped),
            )
            for row in stats.days
        ),
    )


def reason_text(row: ReasonRow) -> str:
    return printable(row.reason, multiline=False)


def example_text(row: ReasonRow) -> str:
    """`20261124-0601-a3f9 turn 1, ...`: the turns `sessions show ID` prints."""
    return ", ".join(
        f"{printable(e.session_id, multiline=False)} turn {e.turn}" for e in row.examples
    )


# what the tables' figures mean, for a footnote under them
LEGEND = (
    "Rates are of the sessions and user turns counted. A pattern belongs to the flow the "
    "turn was in when it started."
)


__all__ = [
    "LEGEND",
    "PATTERN_LABELS",
    "TextTable",
    "day_table",
    "example_text",
    "flow_pattern_table",
    "flow_table",
    "overview",
    "pattern_table",
    "percent",
    "reason_text",
    "when",
]
