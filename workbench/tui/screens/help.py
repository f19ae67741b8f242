"""The help screen: every action of the screen it was opened from, with its key, made
from the same registry as the footer and the palette."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from workbench.tui.keys import UserAction

TYPING = (
    "Typing goes to the message input wherever the focus is: no action sits on a letter. "
    "Tab moves the focus between the panes; ↑ in the chat log selects an earlier turn; "
    "ctrl+p opens the command palette; ctrl+q quits."
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1", "dismiss", "Close")]

    def __init__(self, actions: tuple[UserAction, ...]) -> None:
        super().__init__(id="help")
        self.actions = actions

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static("[b]Keys and actions[/]  [dim]Esc closes[/]", id="help-title")
            for action in self.actions:
                title = f"{action.title} (asks)" if action.asks else action.title
                with Horizontal(classes="help-row"):
                    yield Static(action.shown_key if action.key else "palette", classes="-key")
                    yield Static(title, classes="-title", markup=False)
                    yield Static(action.help, classes="-help", markup=False)
            yield Static(TYPING, id="help-typing", markup=False)
