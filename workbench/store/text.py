"""The plain text the store keeps next to each trace (for the list, titles and search)."""

from __future__ import annotations

from typing import Any

SESSION_START = "/session_start"
TITLE_LENGTH = 80


def is_session_start(user_text: str) -> bool:
    """The automatic greeting turn a shell or the TUI sends; not something the user said."""
    return user_text.strip() == SESSION_START


def bot_text_of(trace: dict[str, Any]) -> str:
    """The bot messages of a turn dict, one per line."""
    messages = trace.get("bot_messages") or []
    return "\n".join(m["text"] for m in messages if isinstance(m, dict) and m.get("text"))


def title_of(user_text: str) -> str:
    """The first user message on one line, short enough for a table cell."""
    text = " ".join(user_text.split())
    if len(text) > TITLE_LENGTH:
        text = text[: TITLE_LENGTH - 1].rstrip() + "…"
    return text
