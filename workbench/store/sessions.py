"""`SessionStore`: conversations kept in `<project>/.calm/sessions.db` (SQLite).

Every completed turn is committed before the UI shows it, so the database runs in WAL
mode: a commit is an append to the log, readers (a second `calm-tui sessions list`)
never block the writer, and a killed process loses nothing it committed.
`synchronous=NORMAL` keeps that guarantee for process crashes; only a power cut can
drop the last turns, never corrupt the file.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from workbench.errors import WorkbenchError
from workbench.store.migrations import migrate
from workbench.store.redact import scrub
from workbench.store.text import bot_text_of, is_session_start, title_of
from workbench.trace.records import BotMessage
from workbench.trace.turn import TurnTrace

STORE_DIR = ".calm"
STORE_FILE = "sessions.db"
BUSY_TIMEOUT_S = 5.0  # a TUI and a shell may write to one project's store at once
STATUS_ACTIVE, STATUS_ENDED = "active", "ended"


class AmbiguousIdError(WorkbenchError, ValueError):
    """An id prefix matches more than one session."""

    def __init__(self, prefix: str, matches: list[str]) -> None:
        self.prefix = prefix
        self.matches = matches
        shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
        super().__init__(
            f"session id '{prefix}' is ambiguous: it matches {len(matches)} sessions "
            f"({shown}); type more of the id"
        )


class UnknownSessionError(WorkbenchError, LookupError):
    """A turn was added to a session that does not exist."""


@dataclass(frozen=True)
class SessionSummary:
    id: str
    title: str
    started_at: str
    updated_at: str
    project_fingerprint: str
    generator: str
    sender_id: str
    seed: int
    turn_count: int
    status: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def store_path(path_or_project_root: str | Path) -> Path:
    """A folder is a project root (its `.calm/sessions.db`); anything else is the file."""
    path = Path(path_or_project_root)
    return path / STORE_DIR / STORE_FILE if path.is_dir() else path


def now_iso(at: datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds; one fixed format, so text order is time order."""
    at = at or datetime.now(timezone.utc)
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_session_id(at: datetime | None = None) -> str:
    """Readable and sortable: `20261124-0601-a3f9` (UTC date, time, random suffix)."""
    at = (at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"{at:%Y%m%d-%H%M}-{secrets.token_hex(2)}"


class SessionStore:
    """One project's sessions. Ids may be shortened to a unique prefix wherever a
    session is looked up (not in `add_turn`, which takes the id `create_session` gave).

    A store is a SQLite connection: use it from the thread that opened it (open one
    per worker thread); several stores, in one process or many, may share a file."""

    def __init__(self, path_or_project_root: str | Path) -> None:
        self.path = store_path(path_or_project_root)
        _make_folder(self.path.parent)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        self.db = Database(conn)
        try:
            self.db.enable_wal()
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn)
        except BaseException:
            conn.close()
            raise

    # -- writing ------------------------------------------------------------------------

    def create_session(
        self, generator: str, sender_id: str, seed: int, project_fingerprint: str
    ) -> str:
        stamp = now_iso()
        row = {
            "title": "",
            "started_at": stamp,
            "updated_at": stamp,
            "project_fingerprint": project_fingerprint,
            "generator": generator,
            "sender_id": sender_id,
            "seed": seed,
            "turn_count": 0,
            "status": STATUS_ACTIVE,
        }
        for _ in range(20):  # 65536 suffixes a minute: a clash is rare, a retry enough
            session_id = new_session_id()
            try:
                with self._write():
                    self.db.table("sessions").insert({"id": session_id, **row})
                return session_id
            except sqlite3.IntegrityError:
                continue
        raise RuntimeError("could not find a free session id")  # pragma: no cover

    def add_turn(
        self, session_id: str, trace: TurnTrace, *, finished_at: datetime | None = None
    ) -> None:
        """Store one turn (scrubbed of secrets) and update its session, in one
        transaction that is committed when this returns. `finished_at` (default: now)
        is when the turn ended, for turns saved later than they happened."""
        data = scrub(trace.to_dict())
        user_text = str(data.get("user_text") or "")
        duration = float((trace.timings_ms or {}).get("total") or 0.0)
        finished = finished_at or datetime.now(timezone.utc)
        turn = {
            "session_id": session_id,
            "idx": trace.index,
            "user_text": user_text,
            "bot_text": bot_text_of(data),
            # default=str: a custom action may put anything in an event; keep the turn
            "trace_json": json.dumps(data, ensure_ascii=False, default=str),
            "started_at": now_iso(finished - timedelta(milliseconds=duration)),
            "duration_ms": duration,
        }
        title = "" if is_session_start(user_text) else title_of(user_text)
        with self._write():
            try:
                self.db.table("turns").insert(turn)
            except sqlite3.IntegrityError as exc:
                if self.get_session_exact(session_id) is None:
                    raise UnknownSessionError(f"no session '{session_id}'") from exc
                raise
            self.db.execute(
                """UPDATE sessions SET turn_count = turn_count + 1, updated_at = ?,
                       title = CASE WHEN title = '' THEN ? ELSE title END
                   WHERE id = ?""",
                (now_iso(), title, session_id),
            )

    def rename(self, session_id: str, title: str) -> bool:
        return self._update(session_id, title=title_of(title))

    def end_session(self, session_id: str) -> bool:
        """A session is `active` while a shell or the TUI has it open and `ended` after
        a clean exit; one left `active` by a process that is gone was interrupted."""
        return self._update(session_id, status=STATUS_ENDED)

    def delete_session(self, session_id: str) -> bool:
        full = self.resolve_id(session_id)
        if full is None:
            return False
        with self._write():
            self.db.execute("DELETE FROM sessions WHERE id = ?", (full,))  # turns cascade
        return True

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ------------------------------------------------------------------------

    def resolve_id(self, id_or_prefix: str) -> str | None:
        """The full id of the one session whose id starts with `id_or_prefix` (as git
        does with commits); None if none does, AmbiguousIdError if several do."""
        prefix = id_or_prefix.strip()
        if not prefix:
            return None
        rows = self.db.execute(
            "SELECT id FROM sessions WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 51",
            (len(prefix), prefix),
        ).fetchall()
        ids = [r[0] for r in rows]
        if prefix in ids or len(ids) == 1:
            return prefix if prefix in ids else ids[0]
        if ids:
            raise AmbiguousIdError(prefix, ids)
        return None

    def get_session(self, id_or_prefix: str) -> SessionSummary | None:
        full = self.resolve_id(id_or_prefix)
        return None if full is None else self.get_session_exact(full)

    def get_session_exact(self, session_id: str) -> SessionSummary | None:
        rows = list(self.db.query("SELECT * FROM sessions WHERE id = ?", (session_id,)))
        return _summary(rows[0]) if rows else None

    def list_sessions(self, limit: int = 50, search: str | None = None) -> list[SessionSummary]:
        """Newest first. `search` matches (case-insensitively for ASCII) a substring of
        the id, the title, or anything the user or the bot said in the session."""
        if not search:
            sql, params = "SELECT * FROM sessions", []
        else:
            pattern = "%" + _escape_like(search) + "%"
            sql = (
                "SELECT * FROM sessions WHERE id LIKE ?1 ESCAPE '\\' OR title LIKE ?1 "
                "ESCAPE '\\' OR id IN (SELECT session_id FROM turns WHERE user_text LIKE ?1 "
                "ESCAPE '\\' OR bot_text LIKE ?1 ESCAPE '\\')"
            )
            params = [pattern]
        sql += " ORDER BY updated_at DESC, started_at DESC, id DESC LIMIT ?"
        return [_summary(row) for row in self.db.query(sql, [*params, limit])]

    def get_turns(self, id_or_prefix: str) -> list[TurnTrace]:
        full = self.resolve_id(id_or_prefix)
        if full is None:
            return []
        rows = self.db.execute(
            "SELECT idx, user_text, bot_text, trace_json FROM turns"
            " WHERE session_id = ? ORDER BY idx",
            (full,),
        ).fetchall()
        return [_turn(*row) for row in rows]

    def get_turn_summaries(self, id_or_prefix: str) -> list[TurnTrace]:
        """The turns with just what a transcript shows (user text, source, timing, bot
        messages, commands, dropped commands, errors): SQLite picks those fields out of
        each stored trace, so a session of thousands of turns reads in a blink."""
        full = self.resolve_id(id_or_prefix)
        if full is None:
            return []
        picked = ", ".join(f"'{name}', trace_json -> '$.{name}'" for name in _SUMMARY_FIELDS)
        try:
            rows = self.db.execute(
                f"SELECT idx, user_text, bot_text, json_object({picked}) FROM turns"
                " WHERE session_id = ? ORDER BY idx",
                (full,),
            ).fetchall()
        except sqlite3.OperationalError:
            # a row SQLite cannot read as JSON: read them all the long way, so that one
            # says what is wrong with it and the others show
            return self.get_turns(full)
        return [_turn(*row) for row in rows]

    # -- helpers ------------------------------------------------------------------------

    def _update(self, id_or_prefix: str, **values: Any) -> bool:
        full = self.resolve_id(id_or_prefix)
        if full is None:
            return False
        with self._write():
            self.db.table("sessions").update(full, {**values, "updated_at": now_iso()})
        return True

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction. IMMEDIATE takes the write lock up front, so a second
        writer waits (busy timeout) instead of failing half-way through."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.rollback()
            raise
        self.db.commit()


# what `get_turn_summaries` reads of each stored trace
_SUMMARY_FIELDS = (
    "index",
    "user_text",
    "source",
    "timings_ms",
    "bot_messages",
    "commands",
    "dropped",
    "errors",
)


def _summary(row: dict[str, Any]) -> SessionSummary:
    fields = SessionSummary.__dataclass_fields__
    return SessionSummary(**{k: v for k, v in row.items() if k in fields})


def _turn(idx: int, user_text: str, bot_text: str, trace_json: str) -> TurnTrace:
    """The stored trace; for a damaged row, what the columns still tell (one bad row
    must not make a whole session unreadable)."""
    try:
        return TurnTrace.from_dict(json.loads(trace_json))
    except (ValueError, TypeError, KeyError) as exc:
        return TurnTrace(
            index=idx,
            user_text=user_text,
            bot_messages=[BotMessage(text=line) for line in bot_text.splitlines()],
            errors=[f"the stored trace of this turn is unreadable: {exc}"],
        )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _make_folder(folder: Path) -> None:
    """Create `.calm/` with a `.gitignore` of its own, so a project without a `.calm/`
    line in its .gitignore still never commits its conversations."""
    if folder.is_dir():
        return
    folder.mkdir(parents=True, exist_ok=True)
    if folder.name == STORE_DIR:
        (folder / ".gitignore").write_text("# created by calm-tui\n*\n", encoding="utf-8")
