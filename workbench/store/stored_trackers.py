"""A tracker as Redis and MongoDB keep it: one JSON object per conversation, its events a
list inside it (Rasa's `{"events": [...], "name": ..., "sender_id": ..., ...}`), read as
the rows every tracker store reader gives."""

from __future__ import annotations

import json
from collections.abc import Sequence

from workbench.calm.values import JSONValue
from workbench.store.rasa_tracker_store import (
    EventRow,
    ListedConversation,
    MalformedEventError,
    SenderRow,
    as_float,
)


def decoded_tracker(sender_id: str, text: bytes | str, where: str) -> JSONValue:
    """The JSON of a stored tracker (`where` names the key it is under)."""
    try:
        value: JSONValue = json.loads(text)
    except ValueError as exc:  # UnicodeDecodeError too
        raise MalformedEventError(
            f"conversation '{sender_id}': the tracker stored under {where} is not JSON ({exc})"
        ) from exc
    return value


def tracker_entries(sender_id: str, tracker: JSONValue, where: str) -> list[JSONValue]:
    """The `events` list of a stored tracker."""
    events = tracker.get("events") if isinstance(tracker, dict) else None
    if not isinstance(events, list):
        shown = "an object without an `events` list" if isinstance(tracker, dict) else "no object"
        raise MalformedEventError(
            f"conversation '{sender_id}': what is stored under {where} is {shown}, "
            "not a Rasa tracker"
        )
    return events


def event_rows(
    sender_id: str, entries: Sequence[JSONValue], types: Sequence[str] | None = None
) -> list[EventRow]:
    """The entries as rows (those of `types`, or all), numbered by place from 1."""
    rows = []
    for place, entry in enumerate(entries, 1):
        kind = entry.get("event") if isinstance(entry, dict) else None
        if types is not None and isinstance(entry, dict) and kind not in types:
            continue
        rows.append(
            EventRow(
                place,
                sender_id,
                str(kind or ""),
                as_float(entry.get("timestamp")) if isinstance(entry, dict) else None,
                # an entry that is no object is handed on as its JSON text, for the
                # import to name it
                entry if isinstance(entry, dict) else json.dumps(entry),
                numbered_as="event",
            )
        )
    return rows


def summed_up(sender_id: str, entries: Sequence[JSONValue]) -> SenderRow:
    """First and last event time (as the SQL stores aggregate them) and user turns."""
    stamps = [
        s
        for s in (as_float(e.get("timestamp")) for e in entries if isinstance(e, dict))
        if s is not None
    ]
    users = sum(1 for e in entries if isinstance(e, dict) and e.get("event") == "user")
    return SenderRow(
        sender_id, min(stamps) if stamps else None, max(stamps) if stamps else None, users
    )


def listed(
    sender_id: str, tracker: JSONValue, where: str, types: Sequence[str]
) -> ListedConversation:
    """A stored tracker as a listing shows it; one that is not a tracker is listed as
    unreadable (with no times, so a time filter leaves it out)."""
    try:
        entries = tracker_entries(sender_id, tracker, where)
    except MalformedEventError:
        return ListedConversation(SenderRow(sender_id, None, None, 0, unreadable=True), [])
    return ListedConversation(summed_up(sender_id, entries), event_rows(sender_id, entries, types))
