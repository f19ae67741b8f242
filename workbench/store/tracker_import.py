"""List the conversations of a Rasa tracker store, and import them as sessions.

Listing pages through the store: the store gives a page of conversations at a time
(narrowed by time, sender and the texts a filter needs, where it can) with the events a
listing shows, and each conversation is checked exactly here. Only the newest `limit`
matches are kept, so a store that cannot sort (Redis) is walked once in bounded memory.
`--all-matching` reads bigger pages, one at a time as the imports go, so memory holds
one page however big the store. An import reads one conversation and stores it in one
transaction: a conversation that cannot be read whole (a row whose data is no event)
is not stored at all."""

from __future__ import annotations

import heapq
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.project.tracker_store import (
    MongoStoreConfig,
    RedisStoreConfig,
    SqlStoreConfig,
    TrackerStoreConfig,
)
from workbench.store.rasa_import import (
    LISTING_TYPES,
    WATCHED_PATTERNS,
    ConversationInfo,
    conversation_info,
    event_of,
    turns_of,
)
from workbench.store.rasa_tracker_store import (
    BatchReader,
    CountingReader,
    EventRow,
    ListedConversation,
    MalformedEventError,
    Narrowing,
    TrackerStoreReader,
)
from workbench.store.redact import Scrubber
from workbench.store.sessions import SessionStore

PAGE_SIZE = 200  # conversations aggregated per query
# per query of `--all-matching`: where no index serves a filter, each query reads the
# whole table, so a bulk import takes bigger pages (memory holds one page's listing)
BULK_PAGE_SIZE = 1000
IMPORT_BATCH = 25  # conversations whose events one query reads for an import


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


def open_tracker_store(config: TrackerStoreConfig, base: Path | None = None) -> TrackerStoreReader:
    """The reader for the store (a relative SQLite path is taken from `base`)."""
    if isinstance(config, SqlStoreConfig):
        from workbench.store.sql_tracker_store import SqlTrackerStoreReader

        return SqlTrackerStoreReader(config, base)
    if isinstance(config, RedisStoreConfig):
        from workbench.store.redis_tracker_store import RedisTrackerStoreReader

        return RedisTrackerStoreReader(config)
    if isinstance(config, MongoStoreConfig):
        from workbench.store.mongo_tracker_store import MongoTrackerStoreReader

        return MongoTrackerStoreReader(config)
    raise TypeError(f"no reader for {config!r}")


def list_conversations(
    reader: TrackerStoreReader, wanted: ConversationFilter, limit: int
) -> list[ConversationInfo]:
    """Up to `limit` conversations that match, newest last message first."""
    # the newest `limit` matches so far, oldest on top; by sender, as a store may give
    # one twice (Redis' SCAN does while its table grows)
    kept: list[tuple[tuple[float, str], ConversationInfo]] = []
    senders: set[str] = set()
    for page in reader.listing(wanted.narrowing(), LISTING_TYPES, PAGE_SIZE):
        for listed in page:
            info = conversation_info(listed.sender, listed.events)
            if info.sender_id in senders or not wanted.matches(info):
                continue
            entry = (_newness(info), info)
            if len(kept) < limit:
                heapq.heappush(kept, entry)
                senders.add(info.sender_id)
            elif entry[0] > kept[0][0]:
                senders.discard(heapq.heappushpop(kept, entry)[1].sender_id)
                senders.add(info.sender_id)
        if reader.newest_first and len(kept) >= limit:
            break
    return [info for _, info in sorted(kept, key=lambda e: e[0], reverse=True)]


def _newness(info: ConversationInfo) -> tuple[float, str]:
    return (info.last_at if info.last_at is not None else float("-inf"), info.sender_id)


@dataclass(frozen=True)
class Page:
    """One page of the store: how many conversations it gave, and the sender ids of
    those that match exactly (their events are not kept)."""

    checked: int
    matching: list[str]


@dataclass(frozen=True)
class Selection:
    """What `--all-matching` imports: `total` conversations the store selected (the
    exact check of each may still drop a few; None: not known before the end), and the
    pages, each read when the one before has been imported."""

    total: int | None
    pages: Iterator[Page]


def select_matching(reader: TrackerStoreReader, wanted: ConversationFilter) -> Selection:
    """Pages of `BULK_PAGE_SIZE`, so memory holds one page however many match. The
    first is read at once: a store that sorts gives a short page only at its end, so
    then it is all; else a store that counts gives the total with one more query."""
    narrowing = wanted.narrowing()
    pages = _pages(reader.listing(narrowing, LISTING_TYPES, BULK_PAGE_SIZE), wanted)
    first = next(pages, Page(0, []))
    total: int | None = None
    if reader.newest_first and first.checked < BULK_PAGE_SIZE:
        total = first.checked
    elif isinstance(reader, CountingReader):
        total = max(reader.count(narrowing), first.checked)
    return Selection(total, itertools.chain([first], pages))


def _pages(
    listing: Iterator[list[ListedConversation]], wanted: ConversationFilter
) -> Iterator[Page]:
    for listed in listing:
        infos = (conversation_info(c.sender, c.events) for c in listed)
        page = Page(len(listed), [info.sender_id for info in infos if wanted.matches(info)])
        del listed  # the page's events go before the next page is read
        yield page


@dataclass(frozen=True)
class ImportOutcome:
    sender_id: str
    session_id: str
    turns: int
    already: bool = False  # imported before: that session is kept as it is


@dataclass(frozen=True)
class ImportFailure:
    """A conversation not imported, and why (what could not be read)."""

    sender_id: str
    reason: str


def import_conversations(
    reader: TrackerStoreReader,
    store: SessionStore,
    senders: Iterable[str],
    origin: str,
    scrubber: Callable[[], Scrubber],
) -> Iterator[ImportOutcome | ImportFailure]:
    """Store the conversation of each sender, in turn as they come, as a read-only
    session marked with its `origin` (the store's label), scrubbed by a fresh
    `scrubber()`; a conversation imported from the same origin before is not imported
    twice. A store that can (`BatchReader`) reads the events of `IMPORT_BATCH`
    conversations with one query, a round trip per batch rather than per conversation.
    Each is stored in a transaction of its own: one that cannot be read whole
    (`ImportFailure`) keeps nothing of itself and stops none of the others."""
    batched = isinstance(reader, BatchReader)
    for batch in _batched(senders, IMPORT_BATCH if batched else 1):
        existing = {sender: store.find_imported(origin, sender) for sender in batch}
        read: dict[str, list[EventRow]] = {}
        if isinstance(reader, BatchReader):
            fresh = [sender for sender, session in existing.items() if session is None]
            for row in reader.events_of_senders(fresh):
                read.setdefault(row.sender_id, []).append(row)
        for sender, session in existing.items():
            if session is not None:
                yield ImportOutcome(sender, session, 0, already=True)
                continue
            try:
                rows = read.pop(sender, []) if batched else list(reader.events(sender))
                yield _store(store, sender, rows, origin, scrubber)
            except (MalformedEventError, UnknownConversationError) as exc:
                yield ImportFailure(sender, str(exc))


def _store(
    store: SessionStore,
    sender_id: str,
    rows: list[EventRow],
    origin: str,
    scrubber: Callable[[], Scrubber],
) -> ImportOutcome:
    events = [event_of(row) for row in rows]
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


def _batched(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """Lists of up to `size` items, taken as they come (the items may be read lazily)."""
    source = iter(items)
    while batch := list(itertools.islice(source, size)):
        yield batch
