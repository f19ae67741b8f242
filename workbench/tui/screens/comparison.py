"""The conversation replayed under another understanding (the offline generator, or the
project's model), turn by turn against what it did: the A/B of one session. The same
report as `calm-tui sessions replay ID --offline | --model NAME`."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from workbench.testing.replay import ReplayReport, difference_lines


def comparison_text(report: ReplayReport, label: str) -> str:
    differing = report.differing
    head = (
        f"Replayed {len(report.turns)} turns with {label}: {len(differing)} behave differently."
        if differing
        else f"Replayed {len(report.turns)} turns with {label}: every turn behaves the same."
    )
    lines = [head]
    for turn in differing:
        who = "(session start)" if turn.user_text.startswith("/session_start") else turn.user_text
        lines.append("")
        lines.append(f"turn {turn.index} · {who}")
        lines.extend(difference_lines(turn))
    return "\n".join(lines)


class ComparisonScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q", "close", "Close")]

    def __init__(self, report: ReplayReport, label: str) -> None:
        super().__init__(id="comparison")
        self.text = comparison_text(report, label)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="comparison-box"):
            with VerticalScroll(id="comparison-body"):
                yield Static(self.text, markup=False, id="comparison-text")
            yield Static("Esc closes", classes="dialog-question")

    def action_close(self) -> None:
        self.dismiss(None)
