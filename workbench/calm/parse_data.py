"""A user message as Rasa hands it on (`tracker.latest_message`): its parse data (intent,
entities, commands, ...) with its text, message id and metadata. Custom actions get it in
their tracker state, and the TUI's tracker view shows it."""

from __future__ import annotations

from collections.abc import Mapping

from workbench.calm.values import JSONObject, JSONValue


def message_parse_data(user_event: Mapping[str, JSONValue]) -> JSONObject:
    """The latest message Rasa makes of a `user` event (its dict form)."""
    given = user_event.get("parse_data")
    parse_data: JSONObject = dict(given) if isinstance(given, Mapping) else {}
    metadata = user_event.get("metadata")
    message: JSONObject = {
        "intent": parse_data.pop("intent", None) or {},
        "entities": parse_data.pop("entities", None) or [],
        "text": user_event.get("text"),
        "message_id": user_event.get("message_id"),
        "metadata": dict(metadata) if isinstance(metadata, Mapping) else {},
    }
    message.update(parse_data)
    message.setdefault("commands", [])
    return message
