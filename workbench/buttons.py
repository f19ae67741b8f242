"""What a typed number means: the shell and the TUI's chat input both let a user answer
a bot message's buttons by number, and both send what pressing that button sends."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from workbench.trace.records import BotMessage, Button


def turn_buttons(bot_messages: Iterable[BotMessage]) -> list[Button]:
    """The buttons of a turn's bot messages, in the order they are numbered (from 1)."""
    return [button for message in bot_messages for button in message.buttons]


def button_text(button: Button) -> str:
    """What pressing the button sends: its payload, else its title (a button without a
    payload is answered with its words, as a user typing them would)."""
    return button.payload or button.title or ""


def typed_choice(text: str, buttons: Sequence[Button]) -> str:
    """The message to send for a typed line: a number from 1 to the number of buttons
    picks that button; any other text is sent as it is."""
    stripped = text.strip()
    if stripped.isdigit() and 0 < int(stripped) <= len(buttons):
        return button_text(buttons[int(stripped) - 1]) or text
    return text
