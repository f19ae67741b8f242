"""List the conversations of a Rasa tracker store, and import them as sessions.

Listing pages through the store: the server aggregates a page of conversations (and
narrows them by time, sender and the texts a filter needs), then only the events a
listing shows are read for that page, and each conversation is checked exactly.
An import reads one conversation and stores it in one transaction: a conversation
that cannot be read whole (a row whose data is no event) is not stored at all."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from workbench.errors import WorkbenchError
from workbench.store.rasa_import import (
    LISTING_TYPES,
    WATCHED_PATTERNS,
    ConversationInfo,
    conversation_info,
    event_of,
    turns_of,
)
from workbench.store.rasa_tracker_store import EventRow, Narrowing, TrackerStoreReader
from workbench.store.redact import Scrubber
from workbench.store.sessions import SessionStore

PAGE_SIZE = 200  # conversations aggregated per query


class UnknownConversationError(WorkbenchError, LookupError):
    """No conversation of that sender id is in the tracker store."""


@dataclass(frozen=True)
class ConversationFilter:
    """`--since/--until` (epoch seconds), `--sender`, `--flow` (a flow it started),
    `--pattern` (a short name of `WATCHED_PATTERNS`) and `--text` (words the user or
    the bot said, all of them, in any case)."""

    since: float | None = None
    until: float | None = None
    sender: str | None = None
    flow: str | None = None
    pattern: str | None = None
    text: str | None = None

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.text.lower().split()) if self.text else ()

    def narrowing(self) -> Narrowing:
        contains: list[tuple[tuple[str, ...], str]] = []
        if self.flow:
            contains.append((("flow_started",), self.flow))
        if self.pattern:
            contains.append((("flow_started", "stack"), WATCHED_PATTERNS[self.pattern]))
        # a word JSON writes as it is (Rasa's JSON escapes anything not ASCII)
        contains.extend(
            (("user", "bot"), word)
            for word in self.words
            if word.isascii() and json.dumps(word)[1:-1] == word
        )
        return Narrowing(self.since, self.until, self.sender, tuple(contains))

    def matches(self, info: ConversationInfo) -> bool:
        if self.flow and self.flow not in info.flows:
            return False
        if self.pattern and self.pattern not in info.patterns:
            return False
        said = "\n".join(info.texts).lower()
        return all(word in said for word in self.words)


def list_conversations(
    reader: TrackerStoreReader, wanted: ConversationFilter, limit: int
) -> list[ConversationInfo]:
    """Up to `limit` conversations that match, newest last message first."""
    narrowing = wanted.narrowing()
    found: list[ConversationInfo] = []
    after: tuple[float, str] | None = None
    while len(found) < limit:
        page = reader.senders(narrowing, PAGE_SIZE, after)
        rows: dict[str, list[EventRow]] = {}
        for row in reader.events_of_senders([s.sender_id for s in page], LISTING_TYPES):
            rows.setdefault(row.sender_id, []).append(row)
        for sender in page:
            info = conversation_info(sender, rows.get(sender.sender_id, []))
            if wanted.matches(info):
                found.append(info)
        last = page[-1] if page else None
        if len(page) < PAGE_SIZE or last is None or last.last_at is None:
            break
        after = (last.last_at, last.sender_id)
    return found[:limit]


@dataclass(frozen=True)
class ImportOutcome:
    sender_id: str
    session_id: str
    turns: int
    already: bool = False  # imported before: that session is kept as it is


def import_conversation(
    reader: TrackerStoreReader,
    store: SessionStore,
    sender_id: str,
    origin: str,
    scrubber: Callable[[], Scrubber],
) -> ImportOutcome:
    """Store the conversation of `sender_id` as a read-only session marked with its
    `origin` (the store's label), scrubbed by a fresh `scrubber()`; a conversation
    imported from the same origin before is not imported twice."""
    existing = store.find_imported(origin, sender_id)
    if existing is not None:
        return ImportOutcome(sender_id, existing, 0, already=True)
    events = [event_of(row) for row in reader.events(sender_id)]
    if not events:
        raise UnknownConversationError(f"no conversation '{sender_id}' in {origin}")
    turns = turns_of(events)
    session_id = store.import_session(
        title=f"imported: {sender_id} from {origin}",
        sender_id=sender_id,
        origin=origin,
        turns=turns,
        scrubber=scrubber(),
    )
    return ImportOutcome(sender_id, session_id, len(turns))
