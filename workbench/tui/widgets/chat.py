"""The chat pane: the conversation as a list of turns, the reply indicator, the
"viewing an earlier turn" bar and the message input with history.

It renders `TurnTrace`s and posts what the user does (`Send`, `TurnSelected`,
`RewindRequested`); the screen decides what happens.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.markup import escape
from textual.message import Message
from textual.widgets import Button, Input, Label, ListItem, ListView, LoadingIndicator, Static

from workbench.buttons import button_text, turn_buttons, typed_choice
from workbench.calm.names import SESSION_START_MESSAGE, is_session_start
from workbench.terminal_text import printable
from workbench.trace.records import Button as TraceButton
from workbench.trace.text import message_content, message_source, rephrase_note, translation_note
from workbench.trace.turn import TurnTrace
from workbench.tui.message_input import MESSAGE_PLACEHOLDER, HistoryInput


class ChatButton(Button):
    """A button of a bot message; pressing it sends its payload."""

    def __init__(self, number: int, button: TraceButton, *, disabled: bool) -> None:
        title = button.title or button.payload or "?"
        label = Content.assemble(
            (f"{number}", "bold $text-accent"), "  ", printable(title, multiline=False)
        )
        super().__init__(label, compact=True, disabled=disabled, classes="chat-button")
        self.payload = button_text(button) or title
        self.tooltip = printable(self.payload)


class TurnItem(ListItem):
    """One turn: what the user said, what the bot answered, and its buttons."""

    def __init__(
        self,
        trace: TurnTrace,
        *,
        buttons_live: bool = False,
        offered: list[TraceButton] | None = None,
    ) -> None:
        super().__init__(classes="turn")
        self.trace = trace
        self.buttons_live = buttons_live
        self.offered = offered or []  # the buttons of the turn before

    def on_resize(self) -> None:
        # the turn grew as its buttons and notes were laid out: a scroll to the end made
        # when it was added fell short of its last lines
        log = self.parent
        if isinstance(log, ChatLog) and log.children and log.children[-1] is self:
            log.follow_newest()

    def compose(self) -> ComposeResult:
        trace = self.trace
        if is_session_start(trace.user_text):
            yield Static(Content("session start"), classes="line system", markup=False)
        else:
            pressed = _pressed(trace.user_text, self.offered)
            with Horizontal(classes="line user"):
                yield Label("you", classes="who")
                if pressed is None:
                    yield Static(printable(trace.user_text), classes="text", markup=False)
                else:
                    yield Static(
                        Content.from_markup(
                            "$title [dim]$payload[/]",
                            title=printable(pressed, multiline=False),
                            payload=printable(trace.user_text),
                        ),
                        classes="text",
                    )
        number = 0
        for message in trace.bot_messages:
            for text in message_content(message):
                with Horizontal(classes="line bot"):
                    yield Label("bot", classes="who")
                    yield Static(text, classes="text", markup=False)
            source = message_source(message)
            if source is not None:  # a knowledge answer: where it came from
                yield Static(source, classes="line source", markup=False)
            translation = translation_note(message)
            if translation is not None:  # the language the response was sent in
                yield Static(translation, classes="line source", markup=False)
            note = rephrase_note(message)
            if note is not None:  # shown while the chat shows originals (o)
                yield Static(note, classes="line original", markup=False)
            if message.buttons:
                with Vertical(classes="buttons"):
                    for button in message.buttons:
                        number += 1
                        yield ChatButton(number, button, disabled=not self.buttons_live)
        notes = _notes(trace)
        if notes:
            yield Static(Content.from_markup(notes), classes="line notes")

    def set_buttons_live(self, live: bool) -> None:
        self.buttons_live = live
        for button in self.query(ChatButton):
            button.disabled = not live

    @property
    def buttons(self) -> list[TraceButton]:
        return turn_buttons(self.trace.bot_messages)


def _pressed(text: str, offered: list[TraceButton]) -> str | None:
    """The title of the offered button whose payload the user sent, if any."""
    for button in offered:
        if button.payload and button.payload.strip() == text.strip():
            return f"▸ {button.title or button.payload}"
    return None


def _notes(trace: TurnTrace) -> str:
    """The small print under a turn: errors and dropped commands, as markup."""
    parts = []
    if trace.errors:
        first = escape(printable(trace.errors[0]))
        more = f" (+{len(trace.errors) - 1})" if len(trace.errors) > 1 else ""
        parts.append(f"[$text-error]⚠ {first}{more}[/]")
    if trace.notices:
        first = escape(printable(trace.notices[0]))
        more = f" (+{len(trace.notices) - 1})" if len(trace.notices) > 1 else ""
        parts.append(f"[$text-warning]ℹ {first}{more}[/]")
    if trace.dropped:
        count = len(trace.dropped)
        parts.append(f"[$text-warning]{count} command{'s' if count > 1 else ''} dropped[/]")
    return "  ".join(parts)


class ChatLog(ListView):
    """The turns. Up/down (or a click) selects one; End or Escape returns to live."""

    BINDINGS = [
        Binding("end", "live", "Live", show=False),
        Binding("home", "first", "First turn", show=False),
    ]

    class Live(Message):
        """The user asked to go back to the latest turn."""

    # at the newest line as of the last scroll: the log follows what is added while this
    # holds, and stays where the user scrolled to otherwise
    at_end = True

    def on_mount(self) -> None:
        self.watch(self, "scroll_y", self._scrolled, init=False)

    def _scrolled(self, scroll_y: float) -> None:
        self.at_end = scroll_y >= self.max_scroll_y

    def follow_newest(self) -> None:
        """While live (no earlier turn selected) and at the end, keep the newest line in
        view."""
        if self.index is None and self.at_end:
            self.scroll_end(animate=False)

    def action_cursor_up(self) -> None:
        # from live (nothing selected), "up" means the turn before the latest one
        if self.index is None and len(self) > 1:
            self.index = len(self) - 2
        else:
            super().action_cursor_up()

    def action_live(self) -> None:
        self.post_message(self.Live())

    def action_first(self) -> None:
        if len(self):
            self.index = 0


class ChatPane(Vertical):
    """The conversation and the input. `read_only` shows a stored session: no input."""

    ALLOW_MAXIMIZE = True

    class Send(Message):
        """The user sent a message (typed, a button, or a button's number)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class TurnSelected(Message):
        """An earlier turn was selected (`index` into the turns), or None for live."""

        def __init__(self, index: int | None) -> None:
            super().__init__()
            self.index = index

    class RewindRequested(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, *, read_only: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.read_only = read_only
        self.busy = False
        self._viewing: int | None = None

    def compose(self) -> ComposeResult:
        yield ChatLog(initial_index=None, id="chat-log")
        with Vertical(id="typing"):
            with Horizontal(id="pending", classes="line user"):
                yield Label("you", classes="who")
                yield Static(id="pending-text", classes="text", markup=False)
            with Horizontal(id="thinking"):
                yield LoadingIndicator()
                yield Label("the assistant is thinking…")
        with Vertical(id="viewing"):
            with Horizontal(id="viewing-row"):
                yield Static(id="viewing-text")
                if not self.read_only:
                    yield Button(
                        "⟲ rewind here",
                        id="rewind",
                        compact=True,
                        tooltip="Restart from this turn (w)",
                    )
            yield Static("Esc or End: back to the latest turn", id="viewing-hint")
        if not self.read_only:
            yield HistoryInput(placeholder=MESSAGE_PLACEHOLDER, id="chat-input")

    def on_mount(self) -> None:
        self.border_title = "Chat"
        self.set_busy(False)
        self.show_viewing(None, 0)

    # -- what the screen calls --------------------------------------------------------------

    @property
    def chat_log(self) -> ChatLog:
        return self.query_one(ChatLog)

    def toggle_originals(self) -> bool:
        """Show or hide what rephrased messages said before (and why others were not
        rephrased); returns whether they are shown now."""
        return self.chat_log.toggle_class("-originals").has_class("-originals")

    @property
    def input(self) -> HistoryInput:
        return self.query_one(HistoryInput)

    @property
    def turn_count(self) -> int:
        return len(self.chat_log)

    async def add_turn(self, trace: TurnTrace) -> None:
        log = self.chat_log
        for item in log.query(TurnItem):
            if item.buttons_live:
                item.set_buttons_live(False)
        offered = self.current_buttons()
        await log.append(TurnItem(trace, buttons_live=not self.read_only, offered=offered))
        log.index = None
        log.at_end = True  # a new turn is always shown
        log.scroll_end(animate=False)

    async def set_turns(self, traces: Iterable[TurnTrace]) -> None:
        log = self.chat_log
        await log.clear()
        traces = list(traces)
        last = len(traces) - 1
        items = []
        offered: list[TraceButton] = []
        for i, trace in enumerate(traces):
            item = TurnItem(trace, buttons_live=not self.read_only and i == last, offered=offered)
            items.append(item)
            offered = item.buttons
        await log.extend(items)
        log.index = None
        log.scroll_end(animate=False)

    def set_busy(self, busy: bool, text: str | None = None) -> None:
        """Show (or hide) the reply indicator, with the message being answered."""
        self.busy = busy
        self.query_one("#typing").display = busy
        pending = busy and bool(text) and text != SESSION_START_MESSAGE
        self.query_one("#pending").display = pending
        if pending:
            self.query_one("#pending-text", Static).update(printable(text or ""))
            self.chat_log.scroll_end(animate=False)

    def show_viewing(self, index: int | None, last: int) -> None:
        """The "viewing turn 3 of 7" bar; None hides it (live)."""
        self._viewing = index
        bar = self.query_one("#viewing")
        bar.display = index is not None
        if index is not None:
            self.query_one("#viewing-text", Static).update(
                Content.from_markup(f"[b]◀ viewing turn {index} of {last}[/]")
            )
        if index is None and self.chat_log.index is not None:
            self.chat_log.index = None

    def select(self, index: int | None) -> None:
        self.chat_log.index = index

    def current_buttons(self) -> list[TraceButton]:
        items = list(self.chat_log.query(TurnItem))
        return items[-1].buttons if items else []

    def focus_input(self) -> None:
        if not self.read_only:
            self.input.focus()

    def type_into_input(self, text: str) -> None:
        """Text typed or pasted elsewhere: appended to the message and the input focused
        (a read-only chat has no input and drops it)."""
        if not self.read_only:
            self.input.type_in(text)

    # -- events ---------------------------------------------------------------------------

    @on(Input.Submitted, "#chat-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            return
        if self.busy:
            self.app.notify("Still answering the last message…", severity="warning", timeout=2)
            return
        self.input.remember(text)
        self.input.value = ""
        self.post_message(self.Send(typed_choice(text, self.current_buttons())))

    @on(Button.Pressed, ".chat-button")
    def _button(self, event: Button.Pressed) -> None:
        event.stop()
        if self.busy or self.read_only:
            return
        assert isinstance(event.button, ChatButton)
        self.post_message(self.Send(event.button.payload))

    @on(Button.Pressed, "#rewind")
    def _rewind(self, event: Button.Pressed) -> None:
        event.stop()
        if self._viewing is not None:
            self.post_message(self.RewindRequested(self._viewing))

    @on(ListView.Highlighted, "#chat-log")
    def _highlighted(self, event: ListView.Highlighted) -> None:
        event.stop()
        log = self.chat_log
        index = log.index
        # the latest turn is "live"
        self.post_message(
            self.TurnSelected(None if index is None or index >= len(log) - 1 else index)
        )

    @on(ListView.Selected, "#chat-log")
    def _selected(self, event: ListView.Selected) -> None:
        event.stop()

    @on(ChatLog.Live)
    def _live(self, event: ChatLog.Live) -> None:
        event.stop()
        self.chat_log.index = None
        self.post_message(self.TurnSelected(None))
        self.focus_input()
