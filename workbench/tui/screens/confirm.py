"""Yes or no, asked before an action that writes a file, deletes or changes the
conversation."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(
        self, question: str, *, yes: str = "Delete", no: str = "Keep", danger: bool = True
    ) -> None:
        super().__init__(id="confirm")
        self.question = question
        self.yes, self.no, self.danger = yes, no, danger

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="dialog"):
            yield Static(
                self.question, id="confirm-question", classes="dialog-question", markup=False
            )
            with Horizontal(id="confirm-buttons", classes="dialog-buttons"):
                yield Button(
                    f"{self.yes} (y)", variant="error" if self.danger else "primary", id="yes"
                )
                yield Button(f"{self.no} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
