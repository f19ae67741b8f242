"""What a typed number means: the shell and the TUI's chat input both let a user answer
a bot message's buttons by number, and both send what pressing that button sends."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def turn_buttons(bot_messages: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The buttons of a turn's bot messages, in the order they are numbered (from 1)."""
    return [b for m in bot_messages for b in (m.get("buttons") or []) if isinstance(b, dict)]


def button_text(button: dict[str, Any]) -> str:
    """What pressing the button sends: its payload, else its title (a button without a
    payload is answered with its words, as a user typing them would)."""
    return str(button.get("payload") or button.get("title") or "")


def typed_choice(text: str, buttons: Sequence[dict[str, Any]]) -> str:
    """The message to send for a typed line: a number from 1 to the number of buttons
    picks that button; any other text is sent as it is."""
    stripped = text.strip()
    if stripped.isdigit() and 0 < int(stripped) <= len(buttons):
        return button_text(buttons[int(stripped) - 1]) or text
    return text
