"""A conversation as Rasa hands it to custom actions: the tracker state dict.

Both the in-process runner (through ``Tracker.from_dict``) and the action server client
(as the request's ``tracker``) use this one shape, so an action sees the same thing
either way.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Mapping
from typing import TypedDict

from workbench.calm.names import WORKBENCH_EVENTS
from workbench.calm.parse_data import message_parse_data
from workbench.calm.values import JSONObject, JSONValue, SlotValue, UncheckedJSON
from workbench.engine.events import Event
from workbench.engine.tracker import Tracker


class TrackerState(TypedDict):
    """Rasa's tracker state (`EventVerbosity.ALL`), as actions are handed it."""

    sender_id: str
    slots: dict[str, SlotValue]
    latest_message: Event  # the latest user message's parse data
    latest_event_time: JSONValue
    followup_action: str | None
    paused: bool
    inactive: bool
    terminated: bool
    stack: list[JSONObject]
    events: list[Event]
    latest_input_channel: JSONValue
    active_loop: JSONObject
    latest_action: JSONObject
    latest_action_name: str | None
    user_id: str | None
    conversation_started_timestamp: float | None
    current_session_id: str | None


def plain(value: object) -> UncheckedJSON:
    """A deep copy made of built-in types only.

    Project data comes from ruamel.yaml (CommentedMap, ScalarFloat, ...); actions and the
    JSON encoder must see ordinary dicts, lists, strings and numbers, and must not be
    able to change the workbench's own objects through what they were given."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bool) or type(value).__name__ == "ScalarBoolean":
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def latest_message(tracker: Tracker) -> Event:
    """The latest user message as Rasa's parse data (text, intent, entities, commands)."""
    event = tracker.latest_message
    if not event:
        return {}
    copied = plain(event)
    assert isinstance(copied, dict)
    return message_parse_data(copied)


class _EventCopies:
    """The plain copies (and JSON texts) of one tracker's events made so far.

    A tracker's event log only grows, so each action call copies just the events added
    since the last call: the cost of a call does not grow with the conversation."""

    def __init__(self) -> None:
        self.seen: list[JSONObject] = []  # the tracker's own event objects, to notice a swap
        self.kept: list[JSONObject] = []  # plain copies of the events actions see
        self.texts: list[str] = []  # their JSON, made on first use (the action server)

    def clear(self) -> None:
        self.seen, self.kept, self.texts = [], [], []

    def update(self, events: list[JSONObject]) -> None:
        count = len(self.seen)
        if count > len(events) or (count and events[count - 1] is not self.seen[-1]):
            self.clear()  # the log was replaced (not appended to): start over
            count = 0
        for event in events[count:]:
            self.seen.append(event)
            if event.get("event") not in WORKBENCH_EVENTS:
                copied = plain(event)
                assert isinstance(copied, dict)
                self.kept.append(copied)

    def json_texts(self, count: int) -> list[str]:
        for event in self.kept[len(self.texts) : count]:
            # default=str: a custom action may put anything in an event
            self.texts.append(json.dumps(event, default=str))
        return self.texts[:count]


_COPIES: weakref.WeakKeyDictionary[Tracker, _EventCopies] = weakref.WeakKeyDictionary()


def _copies(tracker: Tracker) -> _EventCopies:
    copies = _COPIES.get(tracker)
    if copies is None:
        copies = _COPIES[tracker] = _EventCopies()
    copies.update(tracker.events)
    return copies


def _event_count(copies: _EventCopies, running: str | None) -> int:
    """How many of the kept events an action is shown (its own `action` event is not)."""
    count = len(copies.kept)
    last = copies.kept[-1] if count else {}
    if running and last.get("event") == "action" and last.get("name") == running:
        count -= 1
    return count


def tracker_state(
    tracker: Tracker, running: str | None = None, *, with_events: bool = True
) -> TrackerState:
    """Rasa's ``tracker.current_state(EventVerbosity.ALL)`` for this conversation.

    The session logs an action's ``action`` event before running it, while Rasa logs it
    afterwards; `running` names that action so its own event is left out, and
    ``latest_action_name`` is the action before it, as under Rasa. The events are
    copies kept from call to call (a new list each time); `with_events=False` leaves
    them out, for `tracker_state_json`."""
    copies = _copies(tracker)
    count = _event_count(copies, running)
    kept = copies.kept
    latest_action = next(
        (kept[i] for i in range(count - 1, -1, -1) if kept[i].get("event") == "action"), None
    )
    latest_user = next(
        (kept[i] for i in range(count - 1, -1, -1) if kept[i].get("event") == "user"), None
    )
    name = latest_action.get("name") if latest_action else None
    latest_action_name = name if isinstance(name, str) else None
    state: TrackerState = {
        "sender_id": tracker.sender_id,
        "slots": plain(tracker.slots),
        "latest_message": latest_message(tracker),
        "latest_event_time": kept[count - 1].get("timestamp") if count else None,
        "followup_action": None,
        "paused": False,
        "inactive": False,
        "terminated": False,
        "stack": plain(tracker.stack.as_dicts()),
        "events": kept[:count] if with_events else [],
        "latest_input_channel": latest_user.get("input_channel") if latest_user else None,
        "active_loop": {},
        "latest_action": {"action_name": latest_action_name} if latest_action_name else {},
        "latest_action_name": latest_action_name,
        "user_id": None,
        "conversation_started_timestamp": None,
        "current_session_id": None,
    }
    return state


def tracker_state_json(tracker: Tracker, running: str | None = None) -> str:
    """`tracker_state` as JSON, its events joined from texts encoded once per event."""
    copies = _copies(tracker)
    texts = copies.json_texts(_event_count(copies, running))
    state = tracker_state(tracker, running, with_events=False)
    head = json.dumps({k: v for k, v in state.items() if k != "events"}, default=str)
    return f'{head[:-1]}, "events": [{", ".join(texts)}]}}'


def active_flow(stack: list[JSONObject]) -> str | None:
    """The topmost user flow's id (patterns such as collect sit above it)."""
    for frame in reversed(stack):
        if frame.get("type") == "flow":
            flow_id = frame.get("flow_id")
            return flow_id if isinstance(flow_id, str) else None
    return None
