"""The sessions.db schema, as the ordered list of migrations that builds it.

`PRAGMA user_version` holds how many migrations a database has had. A migration is
never edited once released: a change to the schema is a new function at the end of
`MIGRATIONS`, so that every database ever written can be brought up to date.

The trace JSON in `turns.trace_json` is not rewritten: `TurnTrace.from_dict` reads every
form it was ever stored in (tests/fixtures/stores/v1_sessions.db holds the first).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

from workbench.errors import WorkbenchError


class SchemaTooNewError(WorkbenchError, RuntimeError):
    """The database was written by a newer calm-tui than this one."""


def _v1_initial(conn: sqlite3.Connection) -> None:
    """The first schema: a row per session, a row per turn with the whole trace."""
    for statement in (
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            started_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            project_fingerprint TEXT NOT NULL DEFAULT '',
            generator TEXT NOT NULL DEFAULT '',
            sender_id TEXT NOT NULL DEFAULT 'default',
            seed INTEGER NOT NULL DEFAULT 0,
            turn_count INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'active'
        )""",
        # the session list is always newest first
        "CREATE INDEX sessions_updated_at ON sessions (updated_at DESC)",
        """CREATE TABLE turns (
            session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            user_text TEXT NOT NULL DEFAULT '',
            trace_json TEXT NOT NULL,
            started_at TEXT NOT NULL,
            duration_ms REAL,
            PRIMARY KEY (session_id, idx)
        )""",
    ):
        conn.execute(statement)


def _v2_bot_text(conn: sqlite3.Connection) -> None:
    """The bot's replies as plain text next to the user's, so that search and the
    session list never have to parse trace JSON; backfilled from the stored traces."""
    conn.execute("ALTER TABLE turns ADD COLUMN bot_text TEXT NOT NULL DEFAULT ''")
    rows = conn.execute("SELECT rowid, trace_json FROM turns").fetchall()
    for rowid, trace_json in rows:
        # written out rather than shared with add_turn: a migration must not change
        # when the code around it does
        try:
            messages = json.loads(trace_json).get("bot_messages") or []
            text = "\n".join(m["text"] for m in messages if isinstance(m, dict) and m.get("text"))
        except (ValueError, TypeError, AttributeError):  # damaged: keeps its row, no text
            text = ""
        conn.execute("UPDATE turns SET bot_text = ? WHERE rowid = ?", (text, rowid))


def _v3_origin(conn: sqlite3.Connection) -> None:
    """Where a session came from when it was not had here: '' for a conversation held in
    the workbench, the tracker store's address (no password) for one imported from it."""
    conn.execute("ALTER TABLE sessions ADD COLUMN origin TEXT NOT NULL DEFAULT ''")


def _v4_imported_index(conn: sqlite3.Connection) -> None:
    """Each conversation a bulk import reads is first looked up among the sessions
    imported before (`find_imported`): without an index that lookup reads the whole
    table, ~30 ms at 100,000 sessions, more than the import itself."""
    conn.execute("CREATE INDEX sessions_origin_sender ON sessions (origin, sender_id)")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _v1_initial,
    _v2_bot_text,
    _v3_origin,
    _v4_imported_index,
]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to `SCHEMA_VERSION`; returns the version it had before.

    All pending migrations run in one IMMEDIATE transaction together with the
    `user_version` bump: two processes opening an old database at once cannot both
    migrate it, and a crash half-way leaves the old version intact."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return version
    _check_not_newer(version)
    conn.execute("BEGIN IMMEDIATE")
    try:
        # re-read under the write lock: another process may have migrated meanwhile
        before = conn.execute("PRAGMA user_version").fetchone()[0]
        _check_not_newer(before)
        for migration in MIGRATIONS[before:]:
            migration(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return before


def _check_not_newer(version: int) -> None:
    if version > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"sessions.db has schema version {version}, but this calm-tui knows versions "
            f"up to {SCHEMA_VERSION}: upgrade calm-workbench to open it"
        )
