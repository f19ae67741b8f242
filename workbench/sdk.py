"""A drop-in for the parts of ``rasa_sdk`` that project actions import.

Projects written against ``rasa_sdk`` run unchanged when it is installed. With the
default install they can fall back to this module::

    try:
        from rasa_sdk import Action
        from rasa_sdk.events import SlotSet
    except ImportError:
        from workbench.sdk import Action, SlotSet

Events are plain dicts in the Rasa event format, exactly as ``rasa_sdk`` returns them.
"""

from __future__ import annotations

from typing import Any

EventType = dict[str, Any]


class Action:
    """Base class of a custom action: subclasses define ``name()`` and ``run()``."""

    def name(self) -> str:
        raise NotImplementedError("an action must define name()")

    def run(self, dispatcher: Any, tracker: Any, domain: dict[str, Any]) -> list[EventType]:
        raise NotImplementedError("an action must define run()")

    def __str__(self) -> str:
        return f"Action('{self.name()}')"


def SlotSet(key: str, value: Any = None) -> EventType:
    return {"event": "slot", "name": key, "value": value}


def FollowupAction(name: str) -> EventType:
    return {"event": "followup", "name": name}


def AllSlotsReset() -> EventType:
    return {"event": "reset_slots"}


def Restarted() -> EventType:
    return {"event": "restart"}


def BotUttered(text: str | None = None, data: dict | None = None) -> EventType:
    return {"event": "bot", "text": text, "data": data or {}}
