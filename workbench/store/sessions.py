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

from sqlite_utils import Database

from workbench.calm.names import is_session_start
from workbench.calm.values import JSONObject, JSONValue
from workbench.errors import WorkbenchError
from workbench.store.lease import SessionInUseError, holder
from workbench.store.migrations import migrate
from workbench.store.redact import Scrubber
from workbench.store.text import bot_text_of, title_of
from workbench.trace.records import BotMessage
from workbench.trace.turn import TurnTrace

STORE_DIR = ".calm"
STORE_FILE = "sessions.db"
BUSY_TIMEOUT_S = 5.0  # a TUI and a shell may write to one project's store at once
STATUS_ACTIVE, STATUS_ENDED = "active", "ended"
# a conversation read from a Rasa tracker store: kept as recorded, never resumed
STATUS_IMPORTED = "imported"
# the error a turn read back from a damaged row carries (see `_turn`)
UNREADABLE_TURN = "the stored trace of this turn is unreadable"


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


class TurnExistsError(WorkbenchError, sqlite3.IntegrityError):
    """A turn was added under an index the session already has: another process wrote
    the session meanwhile (see `lease.py`, which keeps that from happening)."""

    def __init__(self, session_id: str, index: int) -> None:
        self.session_id = session_id
        self.index = index
        super().__init__(f"session {session_id} already has a turn {index}")


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
    # where an imported session came from (the tracker store, no password); "" for one
    # held in the workbench
    origin: str = ""

    @property
    def imported(self) -> bool:
        return bool(self.origin)

    def as_dict(self) -> JSONObject:
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
        self._scrubbers: dict[str, Scrubber] = {}
        self._masked: dict[str, set[str]] = {}  # per session: secrets no stored turn holds
        _make_folder(self.path.parent)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        # a damaged or foreign row may hold bytes that are not UTF-8: show them as �
        # rather than fail the whole read (a trace is checked on its own, in `_turn`)
        conn.text_factory = _lenient_text
        self.db = Database(conn)
        try:
            self.db.enable_wal()
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            # a row rewritten to mask a secret leaves no copy in freed space
            conn.execute("PRAGMA secure_delete = ON")
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
        self,
        session_id: str,
        trace: TurnTrace,
        *,
        finished_at: datetime | None = None,
        scrubber: Scrubber | None = None,
    ) -> None:
        """Store one turn (scrubbed of secrets) and update its session, in one
        transaction that is committed when this returns. `finished_at` (default: now)
        is when the turn ended, for turns saved later than they happened. `scrubber`:
        the conversation's (default: one per session id for this store), which masks
        the secrets of earlier turns in this one too (a PIN in a later prompt's history)."""
        if scrubber is None:
            scrubber = self._scrubbers.setdefault(session_id, Scrubber())
        data = scrubber.scrub_record(trace.to_dict())
        # secrets the earlier stored turns may still hold (the scrubber may have learned
        # one elsewhere, e.g. the `--record` cassette, before this turn came)
        masked = self._masked.setdefault(session_id, set())
        learned = [secret for secret in scrubber.known if secret not in masked]
        turn = _turn_row(session_id, trace, data, finished_at or datetime.now(timezone.utc))
        user_text = str(turn["user_text"])
        title = "" if is_session_start(user_text) else title_of(user_text)
        with self._write():
            try:
                self.db.table("turns").insert(turn)
            except sqlite3.IntegrityError as exc:
                if self.get_session_exact(session_id) is None:
                    raise UnknownSessionError(f"no session '{session_id}'") from exc
                raise TurnExistsError(session_id, trace.index) from exc
            self.db.execute(
                """UPDATE sessions SET turn_count = turn_count + 1, updated_at = ?,
                       title = CASE WHEN title = '' THEN ? ELSE title END
                   WHERE id = ?""",
                (now_iso(), title, session_id),
            )
            rewritten = self._mask_earlier(session_id, learned, scrubber) if learned else 0
        masked.update(learned)
        if rewritten:
            # the old rows' text is still in the log's frames until a checkpoint
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def import_session(
        self,
        *,
        title: str,
        sender_id: str,
        origin: str,
        turns: list[tuple[TurnTrace, datetime]],
        scrubber: Scrubber,
    ) -> str:
        """Store a conversation recorded elsewhere (`origin`, e.g. a Rasa tracker store)
        as a new session with all its turns, each with the time it ended, in one
        transaction: it is there whole or not at all. Scrubbed as a live session is, with
        the secrets of later turns masked in earlier ones too. Its id."""
        # the first pass learns every secret of the conversation, the second masks them
        records = [trace.to_dict() for trace, _ in turns]
        for record in records:
            scrubber.learn_from(record)
        rows = [
            _turn_row("", trace, scrubber.masked(record), finished)
            for (trace, finished), record in zip(turns, records, strict=True)
        ]
        started = str(rows[0]["started_at"]) if rows else now_iso()
        updated = now_iso(turns[-1][1]) if turns else started
        for _ in range(20):
            session_id = new_session_id()
            try:
                with self._write():
                    self.db.table("sessions").insert(
                        {
                            "id": session_id,
                            "title": title_of(scrubber.text(title)),
                            "started_at": started,
                            "updated_at": updated,
                            "project_fingerprint": "",
                            "generator": "imported",
                            "sender_id": sender_id,
                            "seed": 0,
                            "turn_count": len(rows),
                            "status": STATUS_IMPORTED,
                            "origin": origin,
                        }
                    )
                    if rows:
                        self.db.table("turns").insert_all(
                            [{**row, "session_id": session_id} for row in rows]
                        )
                return session_id
            except sqlite3.IntegrityError:
                continue
        raise RuntimeError("could not find a free session id")  # pragma: no cover

    def find_imported(self, origin: str, sender_id: str) -> str | None:
        """The id of the session imported from `origin` for `sender_id`, if there is one."""
        row = self.db.execute(
            "SELECT id FROM sessions WHERE origin = ? AND sender_id = ? ORDER BY started_at"
            " LIMIT 1",
            (origin, sender_id),
        ).fetchone()
        return None if row is None else str(row[0])

    def _mask_earlier(self, session_id: str, secrets: list[str], scrubber: Scrubber) -> int:
        """Mask `secrets`, just learned, in the session's earlier turns (a PIN typed a
        turn before the model put it in its slot); how many turns were rewritten."""
        forms = {form for s in secrets for form in (s, json.dumps(s, ensure_ascii=False)[1:-1])}
        found = " OR ".join("instr(trace_json, ?) > 0 OR instr(user_text, ?) > 0" for _ in forms)
        rows = self.db.execute(
            f"SELECT idx, trace_json FROM turns WHERE session_id = ? AND ({found})",
            (session_id, *(form for form in forms for _ in range(2))),
        ).fetchall()
        for idx, trace_json in rows:
            try:
                loaded = json.loads(trace_json)
                data = scrubber.scrub_record(loaded if isinstance(loaded, dict) else {})
            except ValueError:
                data = {"user_text": "", "errors": ["the stored trace of this turn was masked"]}
            self.db.execute(
                "UPDATE turns SET user_text = ?, bot_text = ?, trace_json = ?"
                " WHERE session_id = ? AND idx = ?",
                (
                    str(data.get("user_text") or ""),
                    bot_text_of(data),
                    json.dumps(data, ensure_ascii=False, default=str),
                    session_id,
                    idx,
                ),
            )
        if rows:
            title = self.db.execute("SELECT title FROM sessions WHERE id = ?", (session_id,))
            (old,) = title.fetchone()
            self.db.execute(
                "UPDATE sessions SET title = ? WHERE id = ?", (scrubber.text(old), session_id)
            )
        return len(rows)

    def next_index(self, session_id: str) -> int:
        """The index the next turn of `session_id` gets (how many turns it has)."""
        row = self.db.execute(
            "SELECT COALESCE(MAX(idx) + 1, 0) FROM turns WHERE session_id = ?", (session_id,)
        ).fetchone()
        return int(row[0])

    def fork_session(self, session_id: str, before: int) -> str:
        """A new session holding a copy of `session_id`'s turns below index `before`
        (the turns are copied as stored, already scrubbed); its id."""
        for _ in range(20):
            fork_id = new_session_id()
            try:
                with self._write():
                    self._copy(session_id, fork_id, before)
                return fork_id
            except sqlite3.IntegrityError:
                continue
        raise RuntimeError("could not find a free session id")  # pragma: no cover

    def _copy(self, session_id: str, fork_id: str, before: int) -> None:
        stamp = now_iso()
        copied = self.db.execute(
            """INSERT INTO sessions (id, title, started_at, updated_at, project_fingerprint,
                   generator, sender_id, seed, turn_count, status)
               SELECT ?, title, started_at, ?, project_fingerprint, generator, sender_id,
                   seed, 0, ? FROM sessions WHERE id = ?""",
            (fork_id, stamp, STATUS_ACTIVE, session_id),
        )
        if copied.rowcount != 1:
            raise UnknownSessionError(f"no session '{session_id}'")
        self.db.execute(
            """INSERT INTO turns (session_id, idx, user_text, bot_text, trace_json,
                   started_at, duration_ms)
               SELECT ?, idx, user_text, bot_text, trace_json, started_at, duration_ms
               FROM turns WHERE session_id = ? AND idx < ?""",
            (fork_id, session_id, before),
        )
        self.db.execute(
            "UPDATE sessions SET turn_count = (SELECT COUNT(*) FROM turns WHERE session_id = ?)"
            " WHERE id = ?",
            (fork_id, fork_id),
        )

    def reopen_session(self, session_id: str) -> bool:
        """Mark a resumed session `active` again (until its next clean exit)."""
        return self._update(session_id, status=STATUS_ACTIVE)

    def rename(self, session_id: str, title: str) -> bool:
        return self._update(session_id, title=title_of(title))

    def end_session(self, session_id: str) -> bool:
        """A session is `active` while a shell or the TUI has it open and `ended` after
        a clean exit; one left `active` by a process that is gone was interrupted."""
        return self._update(session_id, status=STATUS_ENDED)

    def delete_session(self, session_id: str) -> bool:
        """Delete a session and its turns; SessionInUseError while a process writes it
        (its next turns would have nowhere to go)."""
        full = self.resolve_id(session_id)
        if full is None:
            return False
        pid = holder(self.path, full)
        if pid is not None:
            raise SessionInUseError(full, pid or None)
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
            "SELECT idx, user_text, bot_text, CAST(trace_json AS BLOB) FROM turns"
            " WHERE session_id = ? ORDER BY idx",
            (full,),
        ).fetchall()
        return [_turn(*row) for row in rows]

    def preview(self, session_id: str, limit: int = 6) -> list[tuple[int, str, str]]:
        """(index, user text, bot text) of the first `limit` turns after the greeting:
        what a session browser shows of a session before it is opened."""
        rows = self.db.execute(
            "SELECT idx, user_text, bot_text FROM turns WHERE session_id = ? AND idx > 0"
            " ORDER BY idx LIMIT ?",
            (session_id, limit),
        ).fetchall()
        return [(int(i), str(user or ""), str(bot or "")) for i, user, bot in rows]

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
                # a row that is no JSON object is read whole, so that its reader says so
                "SELECT idx, user_text, bot_text, CAST(CASE json_type(trace_json)"
                f" WHEN 'object' THEN json_object({picked}) ELSE trace_json END AS BLOB)"
                " FROM turns"
                " WHERE session_id = ? ORDER BY idx",
                (full,),
            ).fetchall()
        except sqlite3.OperationalError:
            # a row SQLite cannot read as JSON: read them all the long way, so that one
            # says what is wrong with it and the others show
            return self.get_turns(full)
        return [_turn(i, user, bot, data, picked=True) for i, user, bot, data in rows]

    # -- helpers ------------------------------------------------------------------------

    def _update(self, id_or_prefix: str, **values: object) -> bool:
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


def _turn_row(
    session_id: str, trace: TurnTrace, data: JSONObject, finished: datetime
) -> dict[str, JSONValue]:
    """The `turns` row of a trace already scrubbed to `data`, which ended at `finished`."""
    duration = float((trace.timings_ms or {}).get("total") or 0.0)
    return {
        "session_id": session_id,
        "idx": trace.index,
        "user_text": str(data.get("user_text") or ""),
        "bot_text": bot_text_of(data),
        # default=str: a custom action may put anything in an event; keep the turn
        "trace_json": json.dumps(data, ensure_ascii=False, default=str),
        "started_at": now_iso(finished - timedelta(milliseconds=duration)),
        "duration_ms": duration,
    }


def _summary(row: JSONObject) -> SessionSummary:
    def text(name: str) -> str:
        return str(row.get(name) or "")

    def number(name: str) -> int:
        value = row.get(name)
        if isinstance(value, (int, float, str)):
            try:
                return int(value)
            except ValueError:
                return 0
        return 0

    return SessionSummary(
        id=text("id"),
        title=text("title"),
        started_at=text("started_at"),
        updated_at=text("updated_at"),
        project_fingerprint=text("project_fingerprint"),
        generator=text("generator"),
        sender_id=text("sender_id"),
        seed=number("seed"),
        turn_count=number("turn_count"),
        status=text("status"),
        origin=text("origin"),
    )


def _turn(
    idx: int, user_text: str, bot_text: str, trace_json: bytes | None, picked: bool = False
) -> TurnTrace:
    """The stored trace; for a damaged row (bytes that are not UTF-8 or JSON, a shape
    this version does not know), what the columns still tell, with the reason: one bad
    row must not make a whole session unreadable."""
    try:
        data = json.loads((trace_json or b"").decode("utf-8"))
        if not isinstance(data, dict):
            raise TypeError(f"a JSON {type(data).__name__} where a trace object belongs")
        if picked:  # fields the stored trace does not have come back as null: leave them out
            data = {key: value for key, value in data.items() if value is not None}
        trace = TurnTrace.from_dict(data)
        _check_shape(trace)
        return trace
    except UnicodeDecodeError as exc:
        reason = f"it is not UTF-8 text ({exc.reason} at byte {exc.start})"
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        reason = str(exc) or type(exc).__name__
    return TurnTrace(
        index=idx,
        user_text=str(user_text),
        bot_messages=[BotMessage(text=line) for line in str(bot_text).splitlines()],
        errors=[f"{UNREADABLE_TURN}: {reason}"],
    )


_NONE = type(None)
# the trace fields the readers of a stored turn rely on, with the types they expect
_SHAPE: dict[str, type | tuple[type, ...]] = {
    "index": int,
    "user_text": str,
    "generator": str,
    "source": str,
    "prompt": (str, _NONE),
    "prompt_tokens": (int, _NONE),
    "raw_output": (str, _NONE),
    "slots_before": dict,
    "slots_after": dict,
    "timings_ms": dict,
    "errors": list,
    "notices": list,
    "project_fingerprint": str,
    "event_offset": int,
}


def _check_shape(trace: TurnTrace) -> None:
    """Raise TypeError for a stored trace of a shape this version does not know (a
    newer or foreign schema, a hand-edited row), before it reaches a renderer."""
    for name, expected in _SHAPE.items():
        value = getattr(trace, name)
        if not isinstance(value, expected) or (isinstance(value, bool) and expected is int):
            raise TypeError(f"its {name} is a {type(value).__name__}")
    if not all(isinstance(v, (int, float)) for v in trace.timings_ms.values()):
        raise TypeError("its timings are not numbers")
    if not all(isinstance(line, str) for line in [*trace.errors, *trace.notices]):
        raise TypeError("its errors are not text")


def _lenient_text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


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
