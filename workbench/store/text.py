"""The plain text the store keeps next to each trace (for the list, titles and search)."""

from __future__ import annotations

from collections.abc import Mapping

from workbench.calm.values import JSONValue
from workbench.trace.records import BotMessage
from workbench.trace.text import bot_text

TITLE_LENGTH = 80


def bot_text_of(trace: Mapping[str, JSONValue]) -> str:
    """The bot messages of a stored (scrubbed) turn, one per line."""
    messages = trace.get("bot_messages")
    if not isinstance(messages, (list, tuple)):
        return bot_text(())
    return bot_text(BotMessage.from_dict(m) for m in messages if isinstance(m, Mapping))


def title_of(user_text: str) -> str:
    """The first user message on one line, short enough for a table cell."""
    text = " ".join(user_text.split())
    if len(text) > TITLE_LENGTH:
        text = text[: TITLE_LENGTH - 1].rstrip() + "…"
    return text
