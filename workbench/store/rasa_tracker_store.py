"""What every reader of a Rasa tracker store gives: the same rows, whatever the store.

A reader lists conversations a page at a time (each with the events a listing needs)
and streams the events of one conversation; it never writes to the store. One
implementation per kind of store: `sql_tracker_store.py` (SQLite, PostgreSQL),
`redis_tracker_store.py`, `mongo_tracker_store.py`; `open_tracker_store` in
`tracker_import.py` picks one for a configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

from workbench.calm.values import JSONObject
from workbench.errors import WorkbenchError

CONNECT_TIMEOUT_S = 5
R = TypeVar("R", bound="ClosedOnExit")


class TrackerStoreError(WorkbenchError, RuntimeError):
    """The tracker store cannot be reached or read."""


class MalformedEventError(WorkbenchError, ValueError):
    """Stored data that is not what Rasa writes: an event that is no JSON object, or a
    stored tracker that is no JSON tracker."""


@dataclass(frozen=True)
class EventRow:
    """One stored event: a row of a SQL store (`data` the event as JSON text, `id` the
    row's), or an entry of a stored tracker's `events` (`data` as decoded from the
    tracker, `id` its place in the list from 1)."""

    id: int
    sender_id: str
    type_name: str
    timestamp: float | None
    data: str | JSONObject | None
    numbered_as: str = "event row"  # how a message names `id`

    @property
    def place(self) -> str:
        return f"conversation '{self.sender_id}', {self.numbered_as} {self.id}"


@dataclass(frozen=True)
class SenderRow:
    """A conversation as the store sums it up."""

    sender_id: str
    first_at: float | None
    last_at: float | None
    user_turns: int
    unreadable: bool = False  # the stored tracker is not JSON Rasa writes


@dataclass(frozen=True)
class Narrowing:
    """What the store may filter on: the time window, one sender, and texts that some
    event of the given types must contain (a coarse first cut; the caller checks each
    conversation exactly)."""

    since: float | None = None
    until: float | None = None
    sender: str | None = None
    contains: tuple[tuple[tuple[str, ...], str], ...] = ()  # ((type names, text), ...)

    def admits(self, sender: SenderRow) -> bool:
        """Whether the time window and the sender keep a conversation (for stores
        that cannot ask the server)."""
        if self.sender is not None and sender.sender_id != self.sender:
            return False
        if self.since is not None and (sender.last_at is None or sender.last_at < self.since):
            return False
        return self.until is None or (sender.first_at is not None and sender.first_at <= self.until)


@dataclass(frozen=True)
class ListedConversation:
    sender: SenderRow
    events: list[EventRow]  # of the types asked for, in order


class TrackerStoreReader(Protocol):
    """The conversations of one tracker store. Use as a context manager."""

    @property
    def label(self) -> str:
        """The store's name without secrets, for titles, messages and imported sessions."""
        ...

    @property
    def newest_first(self) -> bool:
        """Whether `listing` gives conversations newest last event first (the store
        sorts), or in the store's own order."""
        ...

    def listing(
        self, narrowing: Narrowing, types: Sequence[str], page_size: int
    ) -> Iterator[list[ListedConversation]]:
        """Pages of conversations (about `page_size` each) with their events of `types`."""
        ...

    def events(self, sender_id: str) -> Iterator[EventRow]:
        """All events of one conversation in the order Rasa stored them (none: there is
        no such conversation)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> TrackerStoreReader: ...

    def __exit__(self, *exc: object) -> None: ...


@runtime_checkable
class CountingReader(Protocol):
    """A reader whose store counts the conversations a narrowing selects (SQL: one
    query), for the total of a progress bar."""

    def count(self, narrowing: Narrowing) -> int: ...


@runtime_checkable
class BatchReader(Protocol):
    """A reader that reads the events of many conversations with one query, so an
    import of many makes a round trip per batch rather than per conversation."""

    def events_of_senders(
        self, senders: Sequence[str], types: Sequence[str] | None = None
    ) -> list[EventRow]:
        """All events (or those of `types`) of the conversations, each's in order."""
        ...


class ClosedOnExit:
    """A reader that `with` closes at the end."""

    def close(self) -> None:
        raise NotImplementedError

    def _check(self, read: Callable[[], object]) -> None:
        """Make a first `read` that tells the store is there and readable; a reader
        whose store is not is closed before its `TrackerStoreError` goes up."""
        try:
            read()
        except TrackerStoreError:
            self.close()
            raise

    def __enter__(self: R) -> R:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


After = tuple[float, str]  # a page's last conversation: its last event time, its sender


def keyset_pages(
    senders: Callable[[After | None], list[SenderRow]],
    events: Callable[[list[str]], dict[str, list[EventRow]]],
    page_size: int,
) -> Iterator[list[ListedConversation]]:
    """The listing of a store that sorts on its server: pages of up to `page_size`
    conversations, newest last event first (`senders(after)`: the page after `after`),
    each with its events (`events(sender ids)`), until a page comes back short."""
    after: After | None = None
    while True:
        page = senders(after)
        found = events([s.sender_id for s in page])
        # popped: while the caller holds the page, this frame holds no copy of it
        yield [ListedConversation(s, found.pop(s.sender_id, [])) for s in page]
        last = page[-1] if page else None
        if len(page) < page_size or last is None or last.last_at is None:
            return
        after = (last.last_at, last.sender_id)


def as_float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return float(value)
    except ValueError:
        return None
