"""What a typed number means: the shell and the TUI's chat input both let a user answer
a bot message's buttons by number, and both send what pressing that button sends.

Messages and buttons may be the trace's dicts or typed records with the same field
names (`buttons`; `title`, `payload`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def _field(item: object, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def turn_buttons(bot_messages: Iterable[object]) -> list[Any]:
    """The buttons of a turn's bot messages, in the order they are numbered (from 1)."""
    return [button for message in bot_messages for button in (_field(message, "buttons") or [])]


def button_text(button: object) -> str:
    """What pressing the button sends: its payload, else its title (a button without a
    payload is answered with its words, as a user typing them would)."""
    return str(_field(button, "payload") or _field(button, "title") or "")


def typed_choice(text: str, buttons: Sequence[object]) -> str:
    """The message to send for a typed line: a number from 1 to the number of buttons
    picks that button; any other text is sent as it is."""
    stripped = text.strip()
    if stripped.isdigit() and 0 < int(stripped) <= len(buttons):
        return button_text(buttons[int(stripped) - 1]) or text
    return text
