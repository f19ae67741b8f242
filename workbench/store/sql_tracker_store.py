"""Read a Rasa SQL tracker store (its `events` table), never writing to it.

SQLite is opened read-only through the standard library (`mode=ro`, `query_only`);
PostgreSQL through SQLAlchemy and psycopg2 (the `production` extra), each query in a
READ ONLY transaction on a session that defaults to read-only too. Queries page through
the table: conversations are aggregated per sender by the server and read a page at a
time (ORDER BY / LIMIT), the events of one conversation in chunks of its rows.

Rasa's schema: `events (id, sender_id, type_name, timestamp, intent_name, action_name,
data)`, `data` the event as JSON text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote

from workbench.project.tracker_store import POSTGRESQL, SQLITE, SqlStoreConfig
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

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

# query parameters by name (`:name` in the SQL text: both sqlite3 and SQLAlchemy read it)
Params = dict[str, object]
Row = Sequence[object]

CHUNK_ROWS = 500  # events read per query of one conversation


class _Connection(Protocol):
    def rows(self, sql: str, params: Params) -> list[Row]: ...

    def close(self) -> None: ...


class SqlTrackerStoreReader(ClosedOnExit):
    """The conversations of a SQL tracker store. Use as a context manager."""

    newest_first = True

    def __init__(self, config: SqlStoreConfig, base: Path | None = None) -> None:
        self.config = config
        self.label = config.label
        self._conn: _Connection
        if config.dialect == SQLITE:
            self._conn = _SqliteConnection(config, base)
        else:
            self._conn = _PostgresConnection(config)
        self._check(lambda: self._conn.rows("SELECT id FROM events LIMIT 1", {}))

    def listing(
        self, narrowing: Narrowing, types: Sequence[str], page_size: int
    ) -> Iterator[list[ListedConversation]]:
        def events(senders: list[str]) -> dict[str, list[EventRow]]:
            rows: dict[str, list[EventRow]] = {}
            for row in self.events_of_senders(senders, types):
                rows.setdefault(row.sender_id, []).append(row)
            return rows

        return keyset_pages(
            lambda after: self.senders(narrowing, page_size, after), events, page_size
        )

    def senders(
        self,
        narrowing: Narrowing,
        limit: int,
        after: tuple[float, str] | None = None,
    ) -> list[SenderRow]:
        """Up to `limit` conversations, newest last event first, starting after the
        (last event time, sender) `after` (the end of the previous page)."""
        narrowed, params = _narrowed(narrowing, after, self.config.dialect)
        params["limit"] = limit
        sql = (
            "SELECT sender_id, MIN(timestamp), MAX(timestamp),"
            " SUM(CASE WHEN type_name = 'user' THEN 1 ELSE 0 END)"
            + narrowed
            + " ORDER BY MAX(timestamp) DESC, sender_id DESC LIMIT :limit"
        )
        return [
            SenderRow(str(s), as_float(first), as_float(last), _int(users or 0))
            for s, first, last, users in self._conn.rows(sql, params)
        ]

    def count(self, narrowing: Narrowing) -> int:
        """How many conversations `listing` gives for `narrowing`: one query, which
        reads what a page reads (the whole table where no index helps)."""
        narrowed, params = _narrowed(narrowing, None, self.config.dialect)
        rows = self._conn.rows(f"SELECT COUNT(*) FROM (SELECT sender_id{narrowed}) AS c", params)
        return _int(rows[0][0]) if rows else 0

    def events_of_senders(
        self, senders: Sequence[str], types: Sequence[str] | None = None
    ) -> list[EventRow]:
        """The events (of the given types, else all) of some conversations, in order."""
        if not senders or (types is not None and not types):
            return []
        params: Params = {f"s{i}": s for i, s in enumerate(senders)}
        sql = (
            "SELECT id, sender_id, type_name, timestamp, data FROM events"
            f" WHERE sender_id IN ({', '.join(f':s{i}' for i in range(len(senders)))})"
        )
        if types is not None:
            params.update({f"t{i}": t for i, t in enumerate(types)})
            sql += f" AND type_name IN ({', '.join(f':t{i}' for i in range(len(types)))})"
        return [_event(row) for row in self._conn.rows(sql + " ORDER BY sender_id, id", params)]

    def events(self, sender_id: str) -> Iterator[EventRow]:
        """All events of one conversation in the order Rasa stored them."""
        last = -1
        while True:
            rows = self._conn.rows(
                "SELECT id, sender_id, type_name, timestamp, data FROM events"
                " WHERE sender_id = :sender AND id > :last ORDER BY id LIMIT :limit",
                {"sender": sender_id, "last": last, "limit": CHUNK_ROWS},
            )
            yield from (_event(row) for row in rows)
            if len(rows) < CHUNK_ROWS:
                return
            last = _int(rows[-1][0])

    def close(self) -> None:
        self._conn.close()


# A user event's data is `{"event", "timestamp", "metadata", "text", "parse_data", ...}`
# (Rasa writes the keys in that order), and `parse_data` holds the prompts the model was
# sent, which name every flow and command: a word looked for in what was said is looked
# for before it (an event without `parse_data` is searched whole).
_PARSE_DATA = "'\"parse_data\"'"  # the SQL string '"parse_data"'
_SAID = {
    SQLITE: f"SUBSTR(data, 1, INSTR(data || {_PARSE_DATA}, {_PARSE_DATA}))",
    POSTGRESQL: f"LEFT(data, STRPOS(data || {_PARSE_DATA}, {_PARSE_DATA}))",
}


def _narrowed(
    narrowing: Narrowing, after: tuple[float, str] | None, dialect: str
) -> tuple[str, Params]:
    """`FROM events ... GROUP BY sender_id [HAVING ...]` for the conversations that
    `narrowing` selects after the page end `after`, and its parameters."""
    said = _SAID.get(dialect, "data")
    where: list[str] = []
    having: list[str] = []
    params: Params = {}
    if narrowing.sender is not None:
        where.append("sender_id = :sender")
        params["sender"] = narrowing.sender
    for n, (types, text) in enumerate(narrowing.contains):
        names = ", ".join(f":t{n}_{i}" for i in range(len(types)))
        params.update({f"t{n}_{i}": name for i, name in enumerate(types)})
        params[f"like{n}"] = "%" + _escape_like(text.lower()) + "%"
        where.append(
            f"sender_id IN (SELECT sender_id FROM events WHERE type_name IN ({names})"
            f" AND LOWER({said}) LIKE :like{n} ESCAPE '!')"
        )
    if narrowing.since is not None:
        having.append("MAX(timestamp) >= :since")
        params["since"] = narrowing.since
    if narrowing.until is not None:
        having.append("MIN(timestamp) <= :until")
        params["until"] = narrowing.until
    if after is not None:
        having.append(
            "(MAX(timestamp) < :after_at OR (MAX(timestamp) = :after_at"
            " AND sender_id < :after_sender))"
        )
        params["after_at"], params["after_sender"] = after
    sql = (
        " FROM events"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " GROUP BY sender_id"
        + (" HAVING " + " AND ".join(having) if having else "")
    )
    return sql, params


def _event(row: Row) -> EventRow:
    ident, sender, type_name, timestamp, data = row
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    return EventRow(
        _int(ident),
        str(sender),
        str(type_name or ""),
        as_float(timestamp),
        None if data is None else str(data),
    )


def _int(value: object) -> int:
    return int(value) if isinstance(value, (int, float, str)) else 0


def _escape_like(text: str) -> str:
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


# -- SQLite ---------------------------------------------------------------------------------


class _SqliteConnection:
    def __init__(self, config: SqlStoreConfig, base: Path | None) -> None:
        path = Path(config.db).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        self.label = f"sqlite:///{path}"
        if not path.is_file():
            raise TrackerStoreError(f"the tracker store {self.label} does not exist")
        # mode=ro: SQLite refuses every write on this connection, and creates no file
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        try:
            self.conn = sqlite3.connect(uri, uri=True, timeout=CONNECT_TIMEOUT_S)
            self.conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            raise TrackerStoreError(f"cannot open the tracker store {self.label}: {exc}") from exc
        self.conn.text_factory = lambda raw: raw.decode("utf-8", "replace")

    def rows(self, sql: str, params: Params) -> list[Row]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise TrackerStoreError(_read_error(self.label, exc)) from exc

    def close(self) -> None:
        self.conn.close()


# -- PostgreSQL -----------------------------------------------------------------------------


class _PostgresConnection:
    def __init__(self, config: SqlStoreConfig) -> None:
        self.label = config.label
        try:
            import sqlalchemy as sa
            from sqlalchemy.pool import NullPool
        except ImportError as exc:
            raise TrackerStoreError(
                f"reading {self.label} needs SQLAlchemy and psycopg2: "
                "pip install 'calm-workbench[production]'"
            ) from exc
        url = sa.URL.create(
            "postgresql+psycopg2",
            username=config.username,
            password=config.password,
            host=config.host,
            port=config.port,
            database=config.db,
            query=dict(config.query),
        )
        try:
            self.engine = sa.create_engine(
                url,
                poolclass=NullPool,
                # every transaction of the session is read-only unless it says otherwise,
                # and each of ours says READ ONLY as well
                connect_args={
                    "connect_timeout": CONNECT_TIMEOUT_S,
                    "options": "-c default_transaction_read_only=on",
                },
            )
        except ImportError as exc:
            raise TrackerStoreError(
                f"reading {self.label} needs psycopg2: pip install 'calm-workbench[production]'"
            ) from exc
        self.conn: Connection | None = None

    def rows(self, sql: str, params: Params) -> list[Row]:
        import sqlalchemy as sa

        try:
            if self.conn is None:
                self.conn = self.engine.connect()
            conn = self.conn
            with conn.begin():
                conn.execute(sa.text("SET TRANSACTION READ ONLY"))
                return [tuple(row) for row in conn.execute(sa.text(sql), params)]
        except sa.exc.OperationalError as exc:
            self._drop()
            raise TrackerStoreError(_connect_error(self.label, exc)) from exc
        except sa.exc.DBAPIError as exc:
            raise TrackerStoreError(_read_error(self.label, exc.orig or exc)) from exc

    def _drop(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # a connection that broke may fail to close; it is gone
                pass
            self.conn = None

    def close(self) -> None:
        self._drop()
        self.engine.dispose()


def _connect_error(label: str, exc: BaseException) -> str:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"cannot read the tracker store {label}: {detail[0] if detail else exc}"


def _read_error(label: str, exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    if "events" in first and ("no such table" in first or "does not exist" in first):
        return f"{label} has no `events` table: is it a Rasa SQL tracker store?"
    return f"cannot read the tracker store {label}: {first}"
