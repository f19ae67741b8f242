"""A drop-in for the parts of ``rasa_sdk`` that project actions import.

Projects written against ``rasa_sdk`` run unchanged when it is installed. With the
default install they can fall back to this module::

    try:
        from rasa_sdk import Action
        from rasa_sdk.events import SlotSet
    except ImportError:
        from workbench.sdk import Action, SlotSet

Events are plain dicts in the Rasa event format, exactly as ``rasa_sdk`` returns them.
``Tracker`` and ``CollectingDispatcher`` are what the workbench hands to an action's
``run()`` when ``rasa_sdk`` is not installed (with it, the real classes are used).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import TYPE_CHECKING

from workbench.calm.names import ACTION_EXECUTION_REJECTED, ACTION_LISTEN
from workbench.calm.values import JSONObject, JSONValue, SlotValue

if TYPE_CHECKING:
    from workbench.actions.tracker_state import TrackerState

EventType = JSONObject


class Action:
    """Base class of a custom action: subclasses define ``name()`` and ``run()``."""

    def name(self) -> str:
        raise NotImplementedError("an action must define name()")

    def run(self, dispatcher: object, tracker: object, domain: JSONObject) -> list[EventType]:
        raise NotImplementedError("an action must define run()")

    def __str__(self) -> str:
        return f"Action('{self.name()}')"


def SlotSet(key: str, value: SlotValue = None) -> EventType:
    return {"event": "slot", "name": key, "value": value}


def FollowupAction(name: str) -> EventType:
    return {"event": "followup", "name": name}


def AllSlotsReset() -> EventType:
    return {"event": "reset_slots"}


def Restarted() -> EventType:
    return {"event": "restart"}


def BotUttered(text: str | None = None, data: JSONObject | None = None) -> EventType:
    return {"event": "bot", "text": text, "data": data or {}}


def ActionExecutionRejected(
    action_name: str, policy: str | None = None, confidence: float | None = None
) -> EventType:
    return {
        "event": ACTION_EXECUTION_REJECTED,
        "name": action_name,
        "policy": policy,
        "confidence": confidence,
    }


class ActionExecutionRejection(Exception):
    """Raised by an action that declines to run; the conversation goes on without it."""

    def __init__(self, action_name: str, message: str | None = None) -> None:
        self.action_name = action_name
        self.message = message or f"Custom action '{action_name}' rejected execution."
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class CollectingDispatcher:
    """Collects the messages an action sends, in the shape ``rasa_sdk`` produces."""

    def __init__(self) -> None:
        self.messages: list[JSONObject] = []

    def utter_message(
        self,
        text: str | None = None,
        image: str | None = None,
        json_message: JSONObject | None = None,
        response: str | None = None,
        attachment: str | None = None,
        buttons: list[JSONObject] | None = None,
        elements: list[JSONObject] | None = None,
        template: str | None = None,
        **kwargs: JSONValue,
    ) -> None:
        response = response or template  # `template` is rasa_sdk's old name for it
        message: JSONObject = {
            "text": text,
            "buttons": buttons or [],
            "elements": elements or [],
            "custom": json_message or {},
            "template": response,
            "response": response,
            "image": image,
            "attachment": attachment,
        }
        message.update(kwargs)
        self.messages.append(message)


class Tracker:
    """The conversation as an action sees it; the same API as ``rasa_sdk.Tracker``."""

    @classmethod
    def from_dict(cls, state: TrackerState) -> Tracker:
        return cls(
            state["sender_id"],
            state.get("slots", {}),
            state.get("latest_message", {}),
            state.get("events", []),
            state.get("paused", False),
            state.get("followup_action"),
            state.get("active_loop", {}),
            state.get("latest_action_name"),
            state.get("stack", []),
            state.get("user_id"),
        )

    def __init__(
        self,
        sender_id: str,
        slots: dict[str, SlotValue],
        latest_message: EventType | None,
        events: list[EventType],
        paused: bool,
        followup_action: str | None,
        active_loop: JSONObject,
        latest_action_name: str | None,
        stack: list[JSONObject] | None = None,
        user_id: str | None = None,
    ) -> None:
        self.sender_id = sender_id
        self.slots = slots
        self.latest_message = latest_message or {}
        self.events = events
        self._paused = paused
        self.followup_action = followup_action
        self.active_loop = active_loop or {}
        self.latest_action_name = latest_action_name
        self.stack = stack or []
        self.user_id = user_id

    @property
    def active_flow(self) -> str | None:
        """The flow the user is in: the topmost user flow on the stack."""
        for frame in reversed(self.stack):
            if frame.get("type") == "flow":
                flow_id = frame.get("flow_id")
                return flow_id if isinstance(flow_id, str) else None
        return None

    @property
    def active_loop_name(self) -> str | None:
        name = self.active_loop.get("name")
        return name if isinstance(name, str) and name != "should_not_be_set" else None

    def current_state(self) -> JSONObject:
        return {
            "sender_id": self.sender_id,
            "slots": self.slots,
            "latest_message": self.latest_message,
            "latest_event_time": self.events[-1].get("timestamp") if self.events else None,
            "paused": self.is_paused(),
            "events": self.events,
            "latest_input_channel": self.get_latest_input_channel(),
            "active_loop": self.active_loop,
            "latest_action_name": self.latest_action_name,
            "stack": self.stack,
            "user_id": self.user_id,
        }

    def current_slot_values(self) -> dict[str, SlotValue]:
        return self.slots

    def get_slot(self, key: str) -> SlotValue:
        return self.slots.get(key)

    def get_latest_entity_values(
        self, entity_type: str, entity_role: str | None = None, entity_group: str | None = None
    ) -> Iterator[JSONValue]:
        return (
            entity.get("value")
            for entity in _records(self.latest_message.get("entities"))
            if entity.get("entity") == entity_type
            and entity.get("group") == entity_group
            and entity.get("role") == entity_role
        )

    def get_latest_input_channel(self) -> str | None:
        for event in reversed(self.events):
            if event.get("event") == "user":
                channel = event.get("input_channel")
                return channel if isinstance(channel, str) else None
        return None

    def get_intent_of_latest_message(self, skip_fallback_intent: bool = True) -> str | None:
        names = [item.get("name") for item in _records(self.latest_message.get("intent_ranking"))]
        if skip_fallback_intent and names and names[0] == "nlu_fallback":
            names = names[1:]
        first = names[0] if names else None
        return first if isinstance(first, str) else None

    def is_paused(self) -> bool:
        return self._paused

    def events_after_latest_restart(self) -> list[EventType]:
        start = 0
        for index, event in enumerate(self.events):
            if event.get("event") == "restart":
                start = index + 1
        return list(self.events[start:])

    def get_last_event_for(
        self, event_type: str, exclude: list[str] | None = None, skip: int = 0
    ) -> EventType | None:
        excluded = set(exclude or [])
        found = (
            event
            for event in reversed(self.events_after_latest_restart())
            if event.get("event") == event_type
            and not (event_type == "action" and event.get("name") in excluded)
        )
        for _ in range(skip):
            next(found, None)
        return next(found, None)

    def last_executed_action_has(self, name: str, skip: int = 0) -> bool:
        last = self.get_last_event_for("action", exclude=[ACTION_LISTEN], skip=skip)
        return last is not None and last.get("name") == name

    def copy(self) -> Tracker:
        """A deep copy, as rasa_sdk's (which goes through `current_state`, so the
        follow-up action is not kept)."""
        slots, latest, events, loop, stack = copy.deepcopy(
            (self.slots, self.latest_message, self.events, self.active_loop, self.stack)
        )
        return Tracker(
            self.sender_id,
            slots,
            latest,
            events,
            self.is_paused(),
            None,
            loop,
            self.latest_action_name,
            stack,
            self.user_id,
        )


def _records(value: JSONValue) -> list[JSONObject]:
    """The records in a list of the parse data (`entities`, `intent_ranking`)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
