"""The session browser's Statistics view: the figures of `calm-tui sessions stats` for the
sessions the browser lists (all of the store, or those its search matches), in tabs:
overview and pattern rates, flows, dropped-command reasons with the turns that hit them
(Enter opens the session at that turn), and days.

The store is read in a thread worker with a connection of its own; the figures come back
in a `StatsReady` message and only the screen's handler touches the tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    DataTable,
    Footer,
    Label,
    Select,
    Static,
    TabbedContent,
    TabPane,
    Tabs,
)

from workbench.terminal_text import printable
from workbench.trace.stats_text import (
    LEGEND,
    TextTable,
    day_table,
    flow_pattern_table,
    flow_table,
    overview,
    pattern_table,
    reason_text,
)
from workbench.tui import keys

if TYPE_CHECKING:
    from workbench.trace.stats import ConversationStats
    from workbench.tui.screens.sessions import Resume

ORIGIN_CHOICES = (("all sessions", "all"), ("local only", "local"), ("imported only", "imported"))


@dataclass
class StatsReady(Message):
    """The figures of the sessions asked for (None: the store has none yet), or the
    error that kept them from being counted."""

    stats: ConversationStats | None
    error: str = ""


class StatsScreen(Screen["Resume | None"]):
    BINDINGS = keys.bindings(keys.STATS)
    USER_ACTIONS = keys.STATS

    def __init__(
        self,
        root: Path,
        *,
        session_ids: Sequence[str] | None,
        scope: str,
        transcript_at: Callable[[str, int], Screen[Resume | None] | None],
    ) -> None:
        super().__init__(id="stats")
        self.root = root
        self.session_ids = session_ids  # None: every session of the store
        self.scope = scope  # what the title says the figures are of
        # the browser's read-only view of a session at a turn (None: it cannot be read)
        self.transcript_at = transcript_at
        self.stats: ConversationStats | None = None
        self.counted_origin = "all"
        # the turn each row of the Dropped table opens: an example its own, a reason its
        # latest example
        self.targets: dict[str, tuple[str, int]] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(id="stats-top"):
            yield Label(id="stats-title")
            yield Select(
                ORIGIN_CHOICES, value="all", allow_blank=False, compact=True, id="stats-origin"
            )
        yield Static("Counting ...", id="stats-status", markup=False)
        with TabbedContent(id="stats-tabs"):
            with TabPane("Overview", id="stats-overview"), VerticalScroll():
                yield Static(id="stats-totals", markup=False)
                yield _table("stats-patterns")
            with TabPane("Flows", id="stats-flows"), VerticalScroll():
                yield _table("stats-flow-table")
                yield Label("Patterns by flow", classes="stats-heading")
                yield _table("stats-flow-patterns")
            with TabPane("Dropped", id="stats-dropped"):
                yield Label(
                    "Enter opens the session at the turn", classes="stats-heading", id="stats-hint"
                )
                yield _table("stats-reasons")
            with TabPane("Days", id="stats-days"):
                yield _table("stats-day-table")
        yield Static(LEGEND, id="stats-legend", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#stats-title", Label).update(
            Content.from_markup(
                "[b]Statistics[/] · $scope", scope=printable(self.scope, multiline=False)
            )
        )
        # ←/→ go from tab to tab, ↓ (or Tab) into the tab's table
        self.query_one("#stats-tabs", TabbedContent).query_one(Tabs).focus()
        self.count()

    # -- counting ------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        value = self.query_one("#stats-origin", Select).value
        return value if isinstance(value, str) else "all"

    def count(self) -> None:
        self.counted_origin = self.origin
        status = self.query_one("#stats-status", Static)
        status.update("Counting ...")
        status.display = True
        self._count(self.origin)

    @work(thread=True, exclusive=True, group="stats", exit_on_error=False)
    def _count(self, origin: str) -> None:
        from workbench.store.sessions import SessionStore, store_path
        from workbench.store.stats import StatsFilter, conversation_stats

        try:
            if not store_path(self.root).exists():  # reading never creates the store
                self.post_message(StatsReady(None))
                return
            wanted = StatsFilter(origin=origin, session_ids=self.session_ids)
            with SessionStore(self.root) as store:
                stats = conversation_stats(store, wanted)
        except Exception as exc:
            self.post_message(StatsReady(None, error=str(exc) or type(exc).__name__))
            return
        self.post_message(StatsReady(stats))

    @on(StatsReady)
    def _ready(self, message: StatsReady) -> None:
        status = self.query_one("#stats-status", Static)
        if message.error:
            status.update(f"The session store cannot be read: {message.error}")
            self.notify(f"The statistics cannot be counted: {message.error}", severity="error")
            return
        stats = self.stats = message.stats
        if stats is None:
            said = "No sessions saved yet: chat in the main screen and they appear here."
        elif not stats.sessions:
            said = "None of these sessions has a turn of this origin."
        else:
            said = ""
        status.update(said)
        status.display = bool(said)
        if stats is None:
            return
        self.query_one("#stats-totals", Static).update("\n".join(overview(stats)))
        _fill(self.query_one("#stats-patterns", DataTable), pattern_table(stats))
        _fill(self.query_one("#stats-flow-table", DataTable), flow_table(stats))
        _fill(self.query_one("#stats-flow-patterns", DataTable), flow_pattern_table(stats))
        _fill(self.query_one("#stats-day-table", DataTable), day_table(stats))
        self._fill_reasons(stats)

    def _fill_reasons(self, stats: ConversationStats) -> None:
        """A row per reason, then a row per example turn under it (Enter opens it)."""
        table = self.query_one("#stats-reasons", DataTable)
        table.clear(columns=True)
        table.add_column(Text("count", justify="right"), key="count")
        table.add_column(Text("turns", justify="right"), key="turns")
        table.add_column("reason · the latest turns that dropped one", key="reason")
        self.targets = {}
        for row in stats.dropped_reasons:
            latest = row.examples[-1] if row.examples else None
            key = f"reason {len(self.targets)}"
            if latest is not None:
                self.targets[key] = (latest.session_id, latest.turn)
            table.add_row(
                Text(str(row.count), justify="right"),
                Text(str(row.turns), justify="right"),
                Text(reason_text(row), style="bold"),
                key=key,
            )
            for example in row.examples:
                key = f"turn {len(self.targets)}"
                self.targets[key] = (example.session_id, example.turn)
                table.add_row(
                    "",
                    "",
                    Text(
                        f"  {printable(example.session_id, multiline=False)} turn {example.turn}",
                        style="cyan",
                    ),
                    key=key,
                )
        if stats.other_reasons:
            table.add_row("", "", f"and {stats.other_reasons} other reasons")
        if not stats.dropped_reasons:
            table.add_row("", "", "no command was dropped")

    @on(Select.Changed, "#stats-origin")
    def _origin_changed(self, event: Select.Changed) -> None:
        event.stop()
        if self.origin != self.counted_origin:  # not the Select settling on its first value
            self.count()

    # -- actions -------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#stats-reasons")
    def _reason_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        """Open the session of the highlighted example turn, at that turn."""
        table = self.query_one("#stats-reasons", DataTable)
        if not table.row_count or table.cursor_row < 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        target = self.targets.get(str(key))
        if target is not None:
            self.open_turn(*target)

    def open_turn(self, session_id: str, turn: int) -> None:
        screen = self.transcript_at(session_id, turn)
        if screen is not None:
            self.app.push_screen(screen, self._transcript_closed)

    def _transcript_closed(self, result: Resume | None) -> None:
        if result is not None:  # resumed or forked: the browser hands it on
            self.dismiss(result)

    def action_refresh(self) -> None:
        self.count()

    def action_into_table(self) -> None:
        """↓ on the tabs goes into the table of the tab shown."""
        pane = self.query_one("#stats-tabs", TabbedContent).active_pane
        if pane is not None and pane.query(DataTable):
            pane.query(DataTable).first().focus()

    def action_back(self) -> None:
        self.dismiss(None)


def _table(table_id: str) -> DataTable:
    return DataTable(id=table_id, cursor_type="row", zebra_stripes=True, classes="stats-table")


def _fill(table: DataTable, spec: TextTable) -> None:
    table.clear(columns=True)
    table.header_height = spec.header_lines
    for header, numeric in zip(spec.headers, spec.numeric, strict=True):
        table.add_column(Text(header, justify="right" if numeric else "left"))
    for row in spec.rows:
        table.add_row(
            *(
                Text(cell, justify="right" if numeric else "left")
                for cell, numeric in zip(row, spec.numeric, strict=True)
            )
        )
