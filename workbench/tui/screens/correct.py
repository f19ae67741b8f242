"""Correct the model: edit what the command generator answered in the latest turn, and
re-run the conversation with the corrected answer. The corrected output is then what the
session records for that message, so its cassette and an exported test carry it."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static, TextArea

from workbench.terminal_text import printable
from workbench.understanding.dsl.parser import Syntax, parse_commands, write_commands


@dataclass(frozen=True)
class Correction:
    output: str  # the corrected generator output, as the model would have written it
    save_test: bool  # also export the corrected conversation as an e2e test


def reading(text: str, syntax: Syntax) -> tuple[list[str], list[str]]:
    """(the commands `text` reads as, one per line; the lines that read as nothing, with
    why) — as the turn pipeline's parser will read them."""
    result = parse_commands(text, syntax)
    commands = [write_commands([c], syntax) for c in result.commands]
    dropped = [f"{d.line!r}: {d.reason}" for d in result.dropped]
    return commands, dropped


class CorrectScreen(ModalScreen[Correction | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+r", "rerun(False)", "Re-run", priority=True),
        Binding("ctrl+s", "rerun(True)", "Re-run and save test", priority=True),
    ]

    def __init__(self, message: str, output: str, syntax: Syntax) -> None:
        super().__init__(id="correct")
        self.message, self.output, self.syntax = message, output, syntax

    def compose(self) -> ComposeResult:
        with Vertical(id="correct-box", classes="dialog"):
            yield Static(
                f"What should the model have answered to “{printable(self.message)}”?\n"
                "One command per line, as the generator writes them.",
                id="correct-question",
                classes="dialog-question",
                markup=False,
            )
            yield TextArea(self.output, id="correct-output", soft_wrap=True)
            yield Static("", id="correct-reading", markup=False)
            with Horizontal(id="correct-buttons", classes="dialog-buttons"):
                yield Button("Re-run (^r)", variant="primary", id="rerun")
                yield Button("Re-run, save test (^s)", id="save")
                yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#correct-output", TextArea).focus()
        self._show_reading(self.output)

    @on(TextArea.Changed, "#correct-output")
    def _changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self._show_reading(event.text_area.text)

    def _show_reading(self, text: str) -> None:
        commands, dropped = reading(text, self.syntax)
        lines = ["reads as: " + ("; ".join(commands) if commands else "nothing")]
        lines += [f"ignored {line}" for line in dropped]
        self.query_one("#correct-reading", Static).update(printable("\n".join(lines)))

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "cancel":
            self.dismiss(None)
        else:
            self.action_rerun(event.button.id == "save")

    def action_rerun(self, save_test: bool) -> None:
        self.dismiss(Correction(self.query_one("#correct-output", TextArea).text, save_test))

    def action_cancel(self) -> None:
        self.dismiss(None)
