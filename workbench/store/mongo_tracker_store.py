"""Read a Rasa MongoDB tracker store through the official `pymongo` client (the
`production` extra), never writing to it.

Rasa's MongoTrackerStore keeps each conversation as one document of its collection
(`conversations` by default): `sender_id`, the tracker's state, and `events`, the list of
its events. Only `find` and `aggregate` with read stages are sent. Listing asks the server
for a page of conversations at a time, newest last event first: it narrows them (sender,
texts in events, time window), sums each up to its first and last event time and user
turns, sorts and cuts the page (a top-k sort, so the server keeps one page); then only the
events a listing shows are read for that page. One conversation's import reads its
document's `events`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from workbench.calm.values import JSONValue
from workbench.project.tracker_store import MongoStoreConfig
from workbench.store.rasa_tracker_store import (
    CONNECT_TIMEOUT_S,
    ClosedOnExit,
    EventRow,
    ListedConversation,
    Narrowing,
    SenderRow,
    TrackerStoreError,
    as_float,
    keyset_pages,
)
from workbench.store.stored_trackers import event_rows, tracker_entries

if TYPE_CHECKING:
    from pymongo.collection import Collection

T = TypeVar("T")
Query = dict[str, object]
READ_TIMEOUT_S = 60
# the document's events, or none where `events` is no list (a document Rasa did not write)
_EVENTS = {"$cond": [{"$isArray": "$events"}, "$events", []]}


class MongoTrackerStoreReader(ClosedOnExit):
    """The conversations of a MongoDB tracker store. Use as a context manager."""

    newest_first = True

    def __init__(self, config: MongoStoreConfig) -> None:
        self.config = config
        self.label = config.label
        try:
            import pymongo
            import pymongo.errors
        except ImportError as exc:
            raise TrackerStoreError(
                f"reading {self.label} needs pymongo: pip install 'calm-workbench[production]'"
            ) from exc
        self._errors = pymongo.errors.PyMongoError
        try:
            self._client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
                config.uri,
                serverSelectionTimeoutMS=CONNECT_TIMEOUT_S * 1000,
                connectTimeoutMS=CONNECT_TIMEOUT_S * 1000,
                socketTimeoutMS=READ_TIMEOUT_S * 1000,
                retryWrites=False,
                appname="calm-workbench",
                username=config.username,
                password=config.password,
                authSource=config.auth_source,
            )
        except self._errors as exc:
            raise TrackerStoreError(_error(self.label, exc)) from exc
        self._conversations: Collection[dict[str, object]] = self._client[config.db][
            config.collection
        ]
        self._check(self._has_collection)

    def _has_collection(self) -> None:
        config = self.config
        names = self._run(
            lambda: self._client[config.db].list_collection_names(
                filter={"name": config.collection}
            )
        )
        if not names:
            raise TrackerStoreError(
                f"{self.label} has no collection '{config.collection}': is it a Rasa "
                "MongoDB tracker store?"
            )

    def listing(
        self, narrowing: Narrowing, types: Sequence[str], page_size: int
    ) -> Iterator[list[ListedConversation]]:
        selected = narrowed(narrowing)
        return keyset_pages(
            lambda after: self._senders(selected, window(narrowing, after), page_size),
            lambda senders: self._listing_events(senders, types),
            page_size,
        )

    def _senders(self, selected: Query, within: Query, limit: int) -> list[SenderRow]:
        pipeline = senders_pipeline(selected, within, limit)
        found = self._run(lambda: list(self._conversations.aggregate(pipeline)))
        return [
            SenderRow(
                str(doc.get("sender_id")),
                as_float(doc.get("first_at")),
                as_float(doc.get("last_at")),
                int(str(doc.get("user_turns") or 0)),
                unreadable=doc.get("unreadable") is True,
            )
            for doc in found
        ]

    def _listing_events(
        self, senders: Sequence[str], types: Sequence[str]
    ) -> dict[str, list[EventRow]]:
        if not senders or not types:
            return {}
        pipeline: list[Query] = [
            {"$match": {"sender_id": {"$in": _sender_values(senders)}}},
            {
                "$project": {
                    "_id": 0,
                    "sender_id": {"$toString": "$sender_id"},
                    "events": {
                        "$filter": {
                            "input": _EVENTS,
                            "as": "e",
                            "cond": {"$in": ["$$e.event", list(types)]},
                        }
                    },
                }
            },
        ]
        found = self._run(lambda: list(self._conversations.aggregate(pipeline)))
        rows: dict[str, list[EventRow]] = {}
        for doc in found:
            sender = str(doc.get("sender_id"))
            entries = plain(doc.get("events"))
            rows[sender] = event_rows(sender, entries if isinstance(entries, list) else [])
        return rows

    def events(self, sender_id: str) -> Iterator[EventRow]:
        doc = self._run(
            lambda: self._conversations.find_one(
                {"sender_id": {"$in": _sender_values([sender_id])}},
                projection={"_id": 0, "events": 1},
            )
        )
        if doc is None:
            return
        where = f"'{self.config.collection}' in {self.label}"
        yield from event_rows(sender_id, tracker_entries(sender_id, plain(doc), where))

    def _run(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except self._errors as exc:
            raise TrackerStoreError(_error(self.label, exc)) from exc

    def close(self) -> None:
        self._client.close()


# -- queries --------------------------------------------------------------------------------


def narrowed(narrowing: Narrowing) -> Query:
    """The documents the sender and the texts keep (a filter on stored fields)."""
    clauses: list[Query] = []
    if narrowing.sender is not None:
        clauses.append({"sender_id": {"$in": _sender_values([narrowing.sender])}})
    for types, text in narrowing.contains:
        said = {"$regex": re.escape(text), "$options": "i"}
        clauses.append(
            {
                "events": {
                    "$elemMatch": {
                        "event": {"$in": list(types)},
                        # where Rasa's events keep what a filter looks for
                        "$or": [{"text": said}, {"flow_id": said}, {"update": said}],
                    }
                }
            }
        )
    return {"$and": clauses} if clauses else {}


def window(narrowing: Narrowing, after: tuple[float, str] | None) -> Query:
    """The time window and the page's start, on the summed-up conversations."""
    clauses: list[Query] = []
    if narrowing.since is not None:
        clauses.append({"last_at": {"$gte": narrowing.since}})
    if narrowing.until is not None:
        clauses.append({"first_at": {"$lte": narrowing.until}})
    if after is not None:
        at, sender = after
        clauses.append(
            {"$or": [{"last_at": {"$lt": at}}, {"last_at": at, "sender_id": {"$lt": sender}}]}
        )
    return {"$and": clauses} if clauses else {}


def senders_pipeline(selected: Query, within: Query, limit: int) -> list[Query]:
    return [
        {"$match": selected},
        {
            "$project": {
                "_id": 0,
                "sender_id": {"$toString": "$sender_id"},
                "first_at": {"$min": "$events.timestamp"},
                "last_at": {"$max": "$events.timestamp"},
                "user_turns": {
                    "$size": {
                        "$filter": {
                            "input": _EVENTS,
                            "as": "e",
                            "cond": {"$eq": ["$$e.event", "user"]},
                        }
                    }
                },
                "unreadable": {"$not": [{"$isArray": "$events"}]},
            }
        },
        {"$match": within},
        # with the $limit right after it, the server keeps only `limit` documents
        {"$sort": {"last_at": -1, "sender_id": -1}},
        {"$limit": limit},
    ]


def _sender_values(senders: Sequence[str]) -> list[object]:
    """Sender ids as stored: Rasa once kept numeric ids as numbers."""
    values: list[object] = list(senders)
    values.extend(int(s) for s in senders if s.isdigit())
    return values


def plain(value: object) -> JSONValue:
    """A value read from MongoDB as JSON (its own types, such as ObjectId, as text)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _error(label: str, exc: BaseException) -> str:
    details = getattr(exc, "details", None)
    message = details.get("errmsg") if isinstance(details, Mapping) else None
    text = str(message or exc).strip()
    # a server that cannot be reached: the reason, without the topology dump after it
    text = text.split(", Timeout:", 1)[0].split(" (configured timeouts", 1)[0]
    first = text.splitlines()[0] if text else type(exc).__name__
    return f"cannot read the tracker store {label}: {first}"
