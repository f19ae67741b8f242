"""The first screen: the main screen's frame and its message input, drawn while the
project loads on a thread behind it.

A user can type at once; what they typed (and a message they sent) goes over to the
main screen, which replaces this one when the project is loaded. Nothing here imports
the workbench beyond the message input, so the screen is up after Textual's own start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static

from workbench.terminal_text import printable
from workbench.tui.message_input import MESSAGE_PLACEHOLDER, HistoryInput
from workbench.understanding import warmup

if TYPE_CHECKING:
    from workbench.tui.app import Loaded, WorkbenchApp

LOADING = "loading the project…"
MAIN_SCREEN_HOLD_S = 2.0  # at most: the main screen releases it once it is drawn


@dataclass
class ProjectLoaded(Message):
    loaded: Loaded


@dataclass
class LoadFailed(Message):
    error: Exception


class StartingScreen(Screen):
    AUTO_FOCUS = "#chat-input"
    DEFAULT_CSS = """
    StartingScreen #starting-header {
        height: 1;
        padding: 0 1;
        background: $panel;
    }
    StartingScreen #starting-header Label { height: 1; text-wrap: nowrap; }
    StartingScreen #starting-status { padding: 0 2; color: $text-muted; }
    StartingScreen #starting-body { height: 1fr; }
    StartingScreen #starting-chat {
        width: 42%;
        min-width: 34;
        max-width: 90;
        height: 1fr;
        border: round $border;
        border-title-color: $text-accent;
        border-title-style: bold;
    }
    StartingScreen #starting-log { height: 1fr; }
    StartingScreen #starting-queued { height: auto; }
    StartingScreen #starting-panels {
        width: 1fr;
        height: 1fr;
        margin-top: 2;
        padding: 0 1;
        border: round $border-blurred;
        color: $text-muted;
    }
    """

    def __init__(self) -> None:
        super().__init__(id="starting")
        self._loaded: Loaded | None = None

    @property
    def wb(self) -> WorkbenchApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        name = self.wb.root.name if self.wb.root is not None else ""
        with Horizontal(id="starting-header"):
            yield Label(
                Content.from_markup(
                    "[b]CALM Workbench[/] · $project", project=printable(name, multiline=False)
                )
            )
            yield Label(LOADING, id="starting-status")
        with Horizontal(id="starting-body"):
            with Vertical(id="starting-chat"):
                yield Static(id="starting-log")
                yield Static(id="starting-queued")
                yield HistoryInput(placeholder=MESSAGE_PLACEHOLDER, id="chat-input")
            yield Static(LOADING.capitalize(), id="starting-panels")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#starting-chat").border_title = "Chat"
        self.query_one("#starting-queued").display = False
        # once this frame is on the terminal: loading first would only delay it
        self.call_after_refresh(self._load)

    def _load(self) -> None:
        loading = self.wb.loading
        assert loading is not None

        def load() -> None:
            try:
                loaded = loading()
            except Exception as error:  # the app ends and the command line reports it
                self.post_message(LoadFailed(error))
            else:
                self.post_message(ProjectLoaded(loaded))
                # a model's client takes seconds to import: begin now, while the main
                # screen is drawn, rather than once it is up
                warmup.start_for(loaded.conversation.generator)

        # keys typed meanwhile are echoed first (`warmup.hold`, called by the app)
        warmup.start(load, name="project load")

    def on_key(self, event: events.Key) -> None:
        """A key typed before the input has the focus (the very first ones) is typed
        into it all the same."""
        field = self.query_one(HistoryInput)
        if event.is_printable and event.character and self.focused is not field:
            event.stop()
            event.prevent_default()
            field.type_in(event.character)

    @on(Input.Submitted, "#chat-input")
    def _queue(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            return
        if self.wb.queued_message is not None:
            self.notify("One message already waits for the project", severity="warning")
            return
        self.wb.queued_message = text
        field = self.query_one(HistoryInput)
        field.remember(text)
        field.value = ""
        queued = self.query_one("#starting-queued", Static)
        queued.update(
            Content.assemble(
                ("you", "bold $text-primary"),
                f"  {printable(text)}  ",
                ("(sent once the project is loaded)", "$text-muted"),
            )
        )
        queued.display = True

    @on(ProjectLoaded)
    def _loaded_project(self, message: ProjectLoaded) -> None:
        self._loaded = message.loaded
        self._show_main()

    def on_screen_resume(self) -> None:
        self._show_main()  # the project loaded while a dialog was over this screen

    def _show_main(self) -> None:
        if self._loaded is None or not self.is_current:
            return
        self.wb.adopt(self._loaded)
        self._loaded = None
        # after the keys already on their way to the input: they are in what it carries
        self.query_one(HistoryInput).call_later(self._switch)

    def _switch(self) -> None:
        from workbench.tui.screens.main import Carried, MainScreen

        field = self.query_one(HistoryInput)
        carried = Carried(field.value, field.cursor_position, list(field.history))
        # `switch_screen` drops the result callback of the screen it replaces, which a
        # default screen was never given
        self._push_result_callback(self, None)
        # the model's preparation stands aside while the main screen is built (keys
        # typed meanwhile wait for it); the main screen releases it once drawn
        warmup.hold(MAIN_SCREEN_HOLD_S)
        self.app.switch_screen(MainScreen(carried=carried))

    @on(LoadFailed)
    def _failed(self, message: LoadFailed) -> None:
        self.wb.load_error = message.error
        self.app.exit(return_code=1)
