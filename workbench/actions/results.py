"""What custom actions hand back, checked the way Rasa and rasa_sdk check it."""

from __future__ import annotations

from workbench.actions.tracker_state import plain
from workbench.calm.names import ACTION_EXECUTION_REJECTED
from workbench.calm.values import JSONObject

REJECTED = ACTION_EXECUTION_REJECTED


def rejected_event(action_name: str, message: str | None = None) -> JSONObject:
    """Rasa's ``ActionExecutionRejected``: the action declined to run (not a failure)."""
    event: JSONObject = {
        "event": REJECTED,
        "name": action_name,
        "policy": None,
        "confidence": None,
    }
    if message:
        event["metadata"] = {"message": message}
    return event


def is_rejection(exc: BaseException) -> bool:
    """rasa_sdk's and workbench.sdk's ``ActionExecutionRejection`` (matched by name, so
    neither needs importing)."""
    return any(cls.__name__ == "ActionExecutionRejection" for cls in type(exc).__mro__)


def action_events(returned: object, action_name: str) -> tuple[list[JSONObject], list[str]]:
    """The events of an action's ``run()`` result and notes on the items dropped.

    Like rasa_sdk: None means no events, and items that are not event dicts are
    dropped (rasa_sdk logs them; we return a note). Anything but a list or tuple is an
    error (rasa_sdk would iterate a dict's keys and drop them all)."""
    if returned is None:
        return [], []
    if not isinstance(returned, (list, tuple)):
        raise TypeError(
            f"action '{action_name}' returned {type(returned).__name__}, not a list of events"
        )
    events, notes = [], []
    for index, item in enumerate(returned):
        if not isinstance(item, dict) and callable(getattr(item, "as_dict", None)):
            item = item.as_dict()
        if isinstance(item, dict) and isinstance(item.get("event"), str) and item["event"]:
            events.append(plain(item))
        else:
            notes.append(f"action '{action_name}' returned a non-event at index {index}: {item!r}")
    return events, notes


def response_shape_problem(body: object) -> str | None:
    """Why an action server's JSON reply is not ``{"events": [...], "responses": [...]}``."""
    if not isinstance(body, dict):
        return f"expected a JSON object, got {type(body).__name__}"
    events = body.get("events", [])
    if not isinstance(events, list) or not all(
        isinstance(e, dict) and isinstance(e.get("event"), str) for e in events
    ):
        return "'events' must be a list of event objects with an 'event' name"
    responses = body.get("responses", [])
    if not isinstance(responses, list) or not all(isinstance(r, dict) for r in responses):
        return "'responses' must be a list of objects"
    return None
