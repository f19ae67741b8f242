"""What a knowledge search reads from the conversation: the search query, the transcript
and the slots, as Rasa's EnterpriseSearchPolicy reads them."""

from __future__ import annotations

from workbench.calm.names import (
    DIALOGUE_STACK,
    FLOW_HASHES,
    REQUESTED_SLOT,
    SESSION_STARTED_METADATA,
)
from workbench.calm.values import JSONObject
from workbench.engine import events as ev
from workbench.engine.tracker import Tracker
from workbench.project.model import Project
from workbench.understanding.prompt import sanitize, transcript

# slots Rasa keeps out of the prompt (plus the stack, which the workbench keeps apart)
HIDDEN_SLOTS = frozenset(
    {REQUESTED_SLOT, SESSION_STARTED_METADATA, FLOW_HASHES, DIALOGUE_STACK, "mocked_datetime"}
)


def search_query(tracker: Tracker, messages: int) -> str:
    """The last `messages` user and bot texts of this session, newest first, joined by
    spaces (Rasa searches with what was just said, the question first)."""
    texts: list[str] = []
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind in ("session_started", "restart"):
            break
        if kind in ("user", "bot"):
            texts.append(sanitize(ev.text(event)))
            if len(texts) >= messages:
                break
    return " ".join(texts)


def latest_user_text(tracker: Tracker) -> str:
    """The user's latest message: what an offline answer searches with (the bot's
    previous answer, which Rasa's query also holds, would outweigh it in a word match)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return sanitize(ev.text(event))
    return ""


def conversation_text(tracker: Tracker, max_history: int | None) -> str:
    """`USER: ...` / `AI: ...` lines, the last `max_history` of them (all when None)."""
    return "\n".join(transcript(tracker, max_lines=max_history or 0))


def prompt_slots(project: Project, tracker: Tracker) -> list[JSONObject]:
    """The project's slots that hold a value: [{name, value (as text), type}] (the
    built-in slots of patterns and the workbench's own stay out)."""
    slots: list[JSONObject] = []
    for name, value in tracker.slots.items():
        slot = project.slot(name)
        if name in HIDDEN_SLOTS or value is None or (slot is not None and slot.is_builtin):
            continue
        slots.append({"name": name, "value": str(value), "type": slot.type if slot else "any"})
    return slots
