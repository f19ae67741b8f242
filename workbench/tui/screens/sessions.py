"""The session browser: the project's stored conversations, to open (read-only), resume,
fork or delete; and the read-only view of one session.

A session another process writes (another window, a shell) is not resumed: two writers
would both append turn N. It can be opened read-only, or forked: its turns are replayed
into a new session that this window then writes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Input, Label, Static

from workbench.terminal_text import printable
from workbench.trace.turn import TurnTrace
from workbench.tui import keys
from workbench.tui.screens.confirm import ConfirmScreen
from workbench.tui.widgets.chat import ChatPane
from workbench.tui.widgets.panel_area import WIDE_AT, PanelArea
from workbench.tui.widgets.status import ago

if TYPE_CHECKING:
    from workbench.store.sessions import SessionStore, SessionSummary

# what the browser hands back to the main screen: (session id, turns, seed, fork), where
# fork says to go on in a new session instead of appending to this one
Resume = tuple[str, list[TurnTrace], int, bool]


def in_use(root: Path, session_id: str, current_id: str | None) -> int | None:
    """The pid of another process that writes `session_id` (0: one does, pid unknown),
    None when none does (this window's own session is not "another")."""
    if session_id == current_id:
        return None
    from workbench.store.lease import holder
    from workbench.store.sessions import store_path

    try:
        return holder(store_path(root), session_id)
    except OSError:
        return None


def in_use_message(session_id: str, pid: int, *, reading: bool = False) -> str:
    who = f"pid {pid}" if pid else "another process"
    read = "" if reading else "Enter opens it read-only, "
    return (
        f"Session {session_id} is open in another window ({who}): "
        f"{read}ctrl+n forks it into a new session."
    )


def imported_message(summary: SessionSummary) -> str:
    return (
        f"Session {summary.id} was imported from {summary.origin}: it is read-only and "
        "cannot be resumed."
    )


def _age(stamp: str, now: float) -> str:
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    return ago(now - when.timestamp())


class SessionsScreen(Screen[Resume | None]):
    BINDINGS = keys.bindings(keys.SESSIONS)
    USER_ACTIONS = keys.SESSIONS

    def __init__(
        self,
        root: Path,
        *,
        clock: Callable[[], float],
        current_id: str | None = None,
    ) -> None:
        super().__init__(id="sessions")
        self.root = root
        self.clock = clock
        self.current_id = current_id
        self.store: SessionStore | None = None
        self.summaries: dict[str, SessionSummary] = {}

    def compose(self) -> ComposeResult:
        yield Label(id="sessions-title")
        yield Input(
            placeholder="search titles and messages (type anywhere)",
            id="sessions-search",
            select_on_focus=False,
        )
        yield DataTable(id="sessions-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="sessions-empty")
        yield Static(id="sessions-preview", markup=False)
        with Horizontal(id="sessions-buttons"):
            yield Button("Open", id="open", compact=True)
            yield Button("Resume", id="resume", compact=True, variant="primary")
            yield Button("Delete", id="delete", compact=True, variant="error")
            yield Button("Statistics", id="stats", compact=True)
            yield Button("Back", id="close", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#sessions-title", Label).update(
            Content.from_markup(
                "[b]Sessions[/] · $name · "
                "[dim]Enter opens read-only · ^r resumes · ^n forks · Del deletes[/]",
                name=printable(self.root.name, multiline=False),
            )
        )
        table = self.query_one(DataTable)
        table.add_column("id", key="id")
        table.add_column("title", key="title", width=38)
        table.add_column("turns", key="turns")
        table.add_column("updated", key="updated")
        table.add_column("status", key="status")
        self.reload()
        table.focus()

    def on_unmount(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    def _open_store(self) -> SessionStore | None:
        if self.store is None:
            from workbench.store.sessions import SessionStore, store_path

            if not store_path(self.root).exists():
                return None
            self.store = SessionStore(self.root)
        return self.store

    def reload(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.summaries = {}
        try:
            store = self._open_store()
            search = self.query_one("#sessions-search", Input).value.strip() or None
            summaries = store.list_sessions(limit=500, search=search) if store else []
        except Exception as exc:
            self.notify(f"The session store cannot be read: {exc}", severity="error")
            summaries = []
        now = self.clock()
        for summary in summaries:
            self.summaries[summary.id] = summary
            pid = in_use(self.root, summary.id, self.current_id)
            if summary.id == self.current_id:
                status = "current"
            elif pid is not None:
                status = f"open (pid {pid})" if pid else "open"
            else:
                status = summary.status
            table.add_row(
                printable(summary.id, multiline=False),
                printable(summary.title or "(no message yet)", multiline=False),
                str(summary.turn_count),
                printable(_age(summary.updated_at, now), multiline=False),
                printable(status, multiline=False),
                key=summary.id,
            )
        empty = self.query_one("#sessions-empty", Static)
        empty.display = not summaries
        if self.query_one("#sessions-search", Input).value.strip():
            empty.update("No session matches the search.")
        else:
            empty.update("No sessions saved yet: chat in the main screen and they appear here.")

    # -- the selected session ---------------------------------------------------------------

    def selected(self) -> SessionSummary | None:
        table = self.query_one(DataTable)
        if not self.summaries or table.cursor_row < 0:
            return None
        try:
            key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        except Exception:
            return None
        return self.summaries.get(str(key))

    def transcript_at(self, session_id: str, turn: int) -> TranscriptScreen | None:
        """The read-only view of a session of the store, at its turn `turn` (None, with a
        notification: it is gone, or unreadable)."""
        store = self._open_store()
        try:
            summary = store.get_session_exact(session_id) if store else None
        except Exception as exc:
            self.notify(f"The session cannot be read: {exc}", severity="error")
            return None
        if summary is None:
            self.notify(f"Session {session_id} is no longer in the store", severity="warning")
            return None
        traces = self._turns(summary)
        if traces is None:
            return None
        at = next((i for i, trace in enumerate(traces) if trace.index == turn), None)
        return TranscriptScreen(
            summary, traces, root=self.root, current_id=self.current_id, start_at=at
        )

    def _turns(self, summary: SessionSummary) -> list[TurnTrace] | None:
        store = self._open_store()
        if store is None:
            return None
        try:
            return store.get_turns(summary.id)
        except Exception as exc:
            self.notify(f"The session cannot be read: {exc}", severity="error")
            return None

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.show_preview(self.summaries.get(str(event.row_key.value)))

    def show_preview(self, summary: SessionSummary | None) -> None:
        """The first turns of the highlighted session, a line each side."""
        preview = self.query_one("#sessions-preview", Static)
        store = self._open_store() if summary is not None else None
        try:
            turns = store.preview(summary.id) if store and summary else []
        except Exception as exc:
            turns, preview.display = [], True
            preview.update(f"(the session cannot be read: {exc})")
            return
        preview.display = bool(turns)
        lines = []
        for index, user, bot in turns:
            lines.append(f"{index:>3}  you  {printable(user, multiline=False)}")
            if bot:
                lines.append(f"     bot  {printable(bot, multiline=False)}")
        preview.update(Content("\n".join(lines)))

    # -- actions -------------------------------------------------------------------------------

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    @on(Button.Pressed, "#sessions-buttons Button")
    async def _button(self, event: Button.Pressed) -> None:
        event.stop()
        await self.run_action(str(event.button.id))

    def action_close(self) -> None:
        self.dismiss(None)

    def action_refresh(self) -> None:
        self.reload()

    def on_key(self, event: events.Key) -> None:
        """Typing anywhere searches (no action sits on a letter)."""
        if event.is_printable and event.character and not keys.takes_typing(self.focused):
            event.stop()
            event.prevent_default()
            search = self.query_one("#sessions-search", Input)
            search.cursor_position = len(search.value)
            search.insert_text_at_cursor(event.character)
            search.focus()

    @on(Input.Changed, "#sessions-search")
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.reload()

    @on(Input.Submitted, "#sessions-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one(DataTable).focus()
        self.action_open()

    def action_open(self) -> None:
        summary = self.selected()
        if summary is None:
            return
        traces = self._turns(summary)
        if traces is None:
            return
        self.app.push_screen(
            TranscriptScreen(summary, traces, root=self.root, current_id=self.current_id),
            self._transcript_closed,
        )

    def _transcript_closed(self, result: Resume | None) -> None:
        if result is not None:
            self.dismiss(result)

    def action_stats(self) -> None:
        """The Statistics view of the sessions listed: with a search, those it matches;
        without, every session of the store (the list shows the latest 500)."""
        from workbench.tui.screens.stats import StatsScreen

        search = self.query_one("#sessions-search", Input).value.strip()
        ids: list[str] | None = None
        scope = "every session of the store"
        if search:
            ids = list(self.summaries)
            scope = (
                f"the session that matches “{search}”"
                if len(ids) == 1
                else f"the {len(ids)} sessions that match “{search}”"
            )
        screen = StatsScreen(
            self.root, session_ids=ids, scope=scope, transcript_at=self.transcript_at
        )
        self.app.push_screen(screen, self._transcript_closed)

    def action_resume(self) -> None:
        self._hand_back(fork=False)

    def action_fork(self) -> None:
        self._hand_back(fork=True)

    def _hand_back(self, *, fork: bool) -> None:
        summary = self.selected()
        if summary is None:
            return
        if not fork and summary.imported:
            self.notify(imported_message(summary), severity="warning", timeout=10)
            return
        pid = None if fork else in_use(self.root, summary.id, self.current_id)
        if pid is not None:
            self.notify(in_use_message(summary.id, pid), severity="warning", timeout=10)
            return
        traces = self._turns(summary)
        if traces is not None:
            self.dismiss((summary.id, traces, summary.seed, fork))

    def action_delete(self) -> None:
        summary = self.selected()
        if summary is None:
            return
        if summary.id == self.current_id:
            self.notify(
                "This is the conversation in progress; restart it (ctrl+r) to delete it.",
                severity="warning",
            )
            return
        title = summary.title or "(no message yet)"
        question = printable(
            f"Delete session {summary.id}, “{title}” ({summary.turn_count} turns)?"
        )

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            store = self._open_store()
            if store is None:
                return
            try:
                store.delete_session(summary.id)
            except Exception as exc:
                self.notify(f"Delete failed: {exc}", severity="error")
                return
            self.notify(f"Deleted session {summary.id}")
            self.reload()

        self.app.push_screen(ConfirmScreen(question), answered)


class TranscriptScreen(Screen[Resume | None]):
    """One stored session, read-only: its chat and its turns in the panels."""

    BINDINGS = keys.bindings(keys.TRANSCRIPT)

    def __init__(
        self,
        summary: SessionSummary,
        traces: list[TurnTrace],
        *,
        root: Path | None = None,
        current_id: str | None = None,
        start_at: int | None = None,
    ) -> None:
        super().__init__(id="transcript")
        self.summary = summary
        self.traces = traces
        self.root = root
        self.current_id = current_id
        self.viewing: int | None = None
        self.start_at = start_at  # the turn to show first (None: the latest)

    def compose(self) -> ComposeResult:
        yield Label(id="transcript-title")
        with Horizontal(id="body"):
            yield ChatPane(read_only=True, id="chat")
            yield PanelArea(id="panels")
        yield Footer()

    async def on_mount(self) -> None:
        summary = self.summary
        self.query_one("#transcript-title", Label).update(
            Content.from_markup(
                "[b]Session $id[/] · $title · read-only (^r resumes it, ^n forks it)",
                id=printable(summary.id, multiline=False),
                title=printable(summary.title or "(no message yet)", multiline=False),
            )
        )
        chat = self.query_one(ChatPane)
        await chat.set_turns(self.traces)
        self.query_one(PanelArea).sender_id = lambda: summary.sender_id
        self._show(self.start_at)
        chat.chat_log.focus()

    async def on_resize(self, event) -> None:
        await self.query_one(PanelArea).set_wide(event.size.width >= WIDE_AT)

    @property
    def project(self):
        return self.app.conversation.project  # type: ignore[attr-defined]

    def _show(self, index: int | None) -> None:
        traces = self.traces
        if index is not None and not 0 <= index < len(traces) - 1:
            index = None
        self.viewing = index
        self.query_one(ChatPane).show_viewing(index, len(traces) - 1)
        trace = traces[index] if index is not None else (traces[-1] if traces else None)
        self.query_one(PanelArea).show(trace, self.project, history=traces)

    @on(ChatPane.TurnSelected)
    def _selected(self, event: ChatPane.TurnSelected) -> None:
        self._show(event.index)

    def action_back(self) -> None:
        if self.maximized is not None:
            self.minimize()
        elif self.viewing is not None:
            self._show(None)
        else:
            self.dismiss(None)

    def action_resume(self) -> None:
        summary = self.summary
        if summary.imported:
            self.notify(imported_message(summary), severity="warning", timeout=10)
            return
        pid = in_use(self.root, summary.id, self.current_id) if self.root else None
        if pid is not None:
            message = in_use_message(summary.id, pid, reading=True)
            self.notify(message, severity="warning", timeout=10)
            return
        self.dismiss((summary.id, self.traces, summary.seed, False))

    def action_fork(self) -> None:
        self.dismiss((self.summary.id, self.traces, self.summary.seed, True))

    def action_maximize_panel(self) -> None:
        from workbench.tui.screens.maximize import toggle_maximize

        toggle_maximize(self)
