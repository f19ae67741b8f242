"""Set or clear one slot to try a branch: the answer is a `/SetSlots(...)` message, sent
as the next turn, so the change is an event of the conversation like any button press —
stored, replayed and exported as Rasa understands it."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from workbench.calm.values import SlotValue
from workbench.project.model import Slot
from workbench.slot_input import checked_value, set_slots_message
from workbench.terminal_text import printable
from workbench.trace.text import value_text


class SlotEditScreen(ModalScreen[str | None]):
    """Asks for a slot's new value; answers the `/SetSlots` message (None: cancelled)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, slot: Slot, current: SlotValue) -> None:
        super().__init__(id="slot-edit")
        self.slot = slot
        self.current = current

    def compose(self) -> ComposeResult:
        slot = self.slot
        kind = slot.type + (f" ({', '.join(slot.values)})" if slot.values else "")
        with Vertical(id="slot-edit-box", classes="dialog"):
            yield Static(
                f"Set slot {printable(slot.name, multiline=False)} · {kind}\n"
                f"now: {value_text(self.current, 200)}\n"
                "It is sent as the next message, /SetSlots(...), as a button would.",
                id="slot-edit-question",
                classes="dialog-question",
                markup=False,
            )
            shown = "" if self.current is None else value_text(self.current, 500).strip("'")
            yield Input(shown, id="slot-edit-value", compact=True, select_on_focus=True)
            yield Static("", id="slot-edit-error", markup=False)
            with Horizontal(id="slot-edit-buttons", classes="dialog-buttons"):
                yield Button("Set", variant="primary", id="set")
                yield Button("Clear", id="clear")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#slot-edit-value", Input).focus()
        self._check(self.query_one("#slot-edit-value", Input).value)

    @on(Input.Changed, "#slot-edit-value")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self._check(event.value)

    def _check(self, text: str) -> str | None:
        _, error = checked_value(self.slot, text)
        self.query_one("#slot-edit-error", Static).update(error or "")
        self.query_one("#set", Button).disabled = error is not None
        return error

    @on(Input.Submitted, "#slot-edit-value")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()  # never the chat input's Enter
        self._set(event.value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "set":
            self._set(self.query_one("#slot-edit-value", Input).value)
        elif event.button.id == "clear":
            self.dismiss(set_slots_message(self.slot.name, None))
        else:
            self.dismiss(None)

    def _set(self, text: str) -> None:
        value, error = checked_value(self.slot, text)
        if error is None:
            self.dismiss(set_slots_message(self.slot.name, value))

    def action_cancel(self) -> None:
        self.dismiss(None)
