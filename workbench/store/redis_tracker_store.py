"""Read a Rasa Redis tracker store through the official `redis` client (the `production`
extra), never writing to it.

Rasa's RedisTrackerStore keeps each conversation as one string, the tracker's JSON,
under `tracker:<sender_id>` (`<key_prefix>:tracker:<sender_id>` with a key prefix).
Listing walks the keys with SCAN and a cursor (never KEYS, which blocks the server)
and reads each batch's values with one MGET, so memory holds one batch at a time; Redis
cannot sort or filter the trackers, so the caller keeps the newest it needs. Only read
commands are sent: every command goes through `_ReadCommands`, which refuses any other
before it reaches the server.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from workbench.project.tracker_store import RedisStoreConfig
from workbench.store.rasa_tracker_store import (
    CONNECT_TIMEOUT_S,
    ClosedOnExit,
    EventRow,
    ListedConversation,
    Narrowing,
    TrackerStoreError,
)
from workbench.store.stored_trackers import decoded_tracker, event_rows, listed, tracker_entries

if TYPE_CHECKING:
    import redis

# the commands a reader may send (the connection's own AUTH / HELLO / SELECT are sent by
# the client when it connects)
READ_COMMANDS = frozenset({"PING", "SCAN", "MGET"})
READ_TIMEOUT_S = 30


class RedisTrackerStoreReader(ClosedOnExit):
    """The conversations of a Redis tracker store. Use as a context manager."""

    newest_first = False

    def __init__(self, config: RedisStoreConfig) -> None:
        self.config = config
        self.label = config.label
        self.prefix = config.tracker_prefix
        self._redis = _ReadCommands(config, self.label)
        self._check(lambda: self._redis.run("PING"))

    def listing(
        self, narrowing: Narrowing, types: Sequence[str], page_size: int
    ) -> Iterator[list[ListedConversation]]:
        if narrowing.sender is not None:
            yield self._listed([self.prefix + narrowing.sender], narrowing, types)
            return
        # the prefix is alphanumeric (or Rasa's own), so it holds no glob characters
        pattern = self.prefix + "*"
        cursor = 0
        while True:
            cursor, names = self._redis.scan(cursor, pattern, page_size)
            if names:
                yield self._listed(names, narrowing, types)
            if cursor == 0:
                return

    def _listed(
        self, keys: list[str], narrowing: Narrowing, types: Sequence[str]
    ) -> list[ListedConversation]:
        values = self._redis.values(keys)
        page = []
        for key, value in zip(keys, values, strict=True):
            if value is None:  # gone since SCAN, or not a string (not a tracker)
                continue
            sender = key[len(self.prefix) :]
            try:
                tracker = decoded_tracker(sender, value, f"'{key}'")
            except ValueError:
                tracker = None
            conversation = listed(sender, tracker, f"'{key}'", types)
            if narrowing.admits(conversation.sender):
                page.append(conversation)
        return page

    def events(self, sender_id: str) -> Iterator[EventRow]:
        key = self.prefix + sender_id
        [value] = self._redis.values([key])
        if value is None:
            return
        entries = tracker_entries(
            sender_id, decoded_tracker(sender_id, value, f"'{key}'"), f"'{key}'"
        )
        yield from event_rows(sender_id, entries)

    def close(self) -> None:
        self._redis.close()


class _ReadCommands:
    """A connection that sends only `READ_COMMANDS`, and says what went wrong in terms
    of the store."""

    def __init__(self, config: RedisStoreConfig, label: str) -> None:
        self.label = label
        try:
            import redis
        except ImportError as exc:
            raise TrackerStoreError(
                f"reading {label} needs the redis client: pip install 'calm-workbench[production]'"
            ) from exc
        self._errors = redis.RedisError
        self._client: redis.Redis | None = None
        try:
            self._client = _connected(config)
        except redis.RedisError as exc:
            raise TrackerStoreError(_error(label, exc)) from exc

    def run(self, command: str, *args: object) -> object:
        if command.upper() not in READ_COMMANDS:
            raise TrackerStoreError(
                f"refused to send {command.upper()} to {self.label}: the tracker store is only read"
            )
        if self._client is None:
            raise TrackerStoreError(f"{self.label} is closed")
        try:
            return self._client.execute_command(command, *args)
        except self._errors as exc:
            raise TrackerStoreError(_error(self.label, exc)) from exc

    def scan(self, cursor: int, pattern: str, count: int) -> tuple[int, list[str]]:
        """One step of SCAN: the next cursor (0 at the end) and the keys it found."""
        reply = self.run("SCAN", cursor, "MATCH", pattern, "COUNT", count)
        if not isinstance(reply, (list, tuple)) or len(reply) != 2:
            raise TrackerStoreError(f"{self.label} answered SCAN with {reply!r}")
        after, keys = reply
        return int(after), [_text(k) for k in keys]

    def values(self, keys: Sequence[str]) -> list[bytes | None]:
        """MGET: the strings under the keys (None where a key is gone or holds no string)."""
        reply = self.run("MGET", *keys)
        if not isinstance(reply, list):
            raise TrackerStoreError(f"{self.label} answered MGET with {reply!r}")
        return [v if isinstance(v, bytes) else None for v in reply]

    def close(self) -> None:
        if self._client is None:
            return
        try:
            self._client.close()
        except self._errors:  # a connection that broke may fail to close; it is gone
            pass


def _connected(config: RedisStoreConfig) -> redis.Redis:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis(
        host=config.host,
        port=config.port,
        db=config.db,
        username=config.username,
        password=config.password,
        unix_socket_path=config.socket,
        ssl=config.use_ssl,
        ssl_keyfile=config.ssl_keyfile,
        ssl_certfile=config.ssl_certfile,
        ssl_ca_certs=config.ssl_ca_certs,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=READ_TIMEOUT_S,
        # a store that is down is said at once, not after a series of retries
        retry=Retry(NoBackoff(), 0),
        # one connection, made at once: a store that is down is said here
        single_connection_client=True,
    )


def _error(label: str, exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return f"cannot read the tracker store {label}: {first}"


def _text(key: object) -> str:
    return key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
