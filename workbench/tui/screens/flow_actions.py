"""What to do with a flow picked in the Flows or Stack table: show it in the Flow tab,
start it now, or cancel the active flow. Starting and cancelling change the
conversation, so they are asked here rather than done on Enter."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

SHOW, START, CANCEL = "show", "start", "cancel"


class FlowActionScreen(ModalScreen[str | None]):
    """Dismissed with SHOW, START, CANCEL or None (closed)."""

    BINDINGS = [
        Binding("f", "choose('show')", "Show"),
        Binding("s", "choose('start')", "Start"),
        Binding("c", "choose('cancel')", "Cancel flow"),
        Binding("escape", "choose(None)", "Close"),
    ]

    def __init__(self, flow: str, *, startable: bool, active: str | None) -> None:
        super().__init__(id="flow-actions")
        self.flow, self.startable, self.active = flow, startable, active

    def compose(self) -> ComposeResult:
        question = f"Flow {self.flow}"
        if self.active is not None:
            question += f"\nThe active flow is {self.active}."
        with Vertical(classes="dialog"):
            yield Static(question, classes="dialog-question", markup=False)
            with Vertical(classes="dialog-choices"):
                yield Button("Show in the Flow tab (f)", id=SHOW)
                if self.startable:
                    yield Button("Start it now (s)", variant="primary", id=START)
                if self.active is not None:
                    yield Button(f"Cancel {self.active} (c)", variant="error", id=CANCEL)
                yield Button("Close (esc)", id="close")

    def on_mount(self) -> None:
        self.query_one(f"#{SHOW}", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        choice = event.button.id
        self.dismiss(choice if choice in (SHOW, START, CANCEL) else None)

    def action_choose(self, choice: str | None) -> None:
        if (choice == START and not self.startable) or (choice == CANCEL and not self.active):
            return
        self.dismiss(choice)
