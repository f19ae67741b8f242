"""The message input: an Input that remembers what was sent.

Both the first screen (drawn while the project loads) and the chat pane use it, so it
imports only Textual.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input

HISTORY_LIMIT = 200
MESSAGE_PLACEHOLDER = "Message (↑ history, 1-9 buttons)"


class HistoryInput(Input):
    """An Input that remembers what was sent: up/down walk through it."""

    BINDINGS = [
        Binding("up", "history(-1)", "Previous message", show=False),
        Binding("down", "history(1)", "Next message", show=False),
    ]

    def __init__(self, *, placeholder: str = "", id: str | None = None) -> None:
        # a draft is kept when the focus comes back, not selected for the next key to replace
        super().__init__(placeholder=placeholder, id=id, select_on_focus=False)
        self.history: list[str] = []
        self._position = 0
        self._draft = ""

    def remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
            del self.history[:-HISTORY_LIMIT]
        self._position = len(self.history)
        self._draft = ""

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        if self._position == len(self.history):
            self._draft = self.value
        position = max(0, min(len(self.history), self._position + step))
        if position == self._position:
            return
        self._position = position
        self.value = self.history[position] if position < len(self.history) else self._draft
        self.cursor_position = len(self.value)

    def type_in(self, text: str) -> None:
        """Text typed or pasted where the focus was elsewhere: appended to the message,
        and the input focused."""
        self.cursor_position = len(self.value)
        self.insert_text_at_cursor(text)
        self.focus()
