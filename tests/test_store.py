"""The session store: schema, migrations, the SessionStore API, scrubbing, the recorder."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest
from rich.console import Console

from workbench.store import (
    SCHEMA_VERSION,
    AmbiguousIdError,
    SchemaTooNewError,
    SessionRecorder,
    SessionStore,
    UnknownSessionError,
    scrub,
    store_path,
)
from workbench.store import sessions as sessions_module
from workbench.trace.turn import ModelUsage, TurnTrace

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"


def make_trace(index: int, user_text: str, *bot_texts: str, **fields) -> TurnTrace:
    return TurnTrace.from_dict(
        dict(
            index=index,
            user_text=user_text,
            source=fields.pop("source", "user"),
            bot_messages=[{"text": t, "response": None, "buttons": []} for t in bot_texts],
            timings_ms={"total": 12.5},
            **fields,
        )
    )


def new_session(store: SessionStore, generator: str = "offline") -> str:
    return store.create_session(
        generator=generator, sender_id="default", seed=0, project_fingerprint="abc123"
    )


@pytest.fixture
def store(tmp_path: Path):
    with SessionStore(tmp_path) as opened:
        yield opened


@pytest.fixture
def fixed_ids(monkeypatch: pytest.MonkeyPatch):
    """Make `new_session_id` hand out the ids in the list the test fills."""
    ids: list[str] = []
    monkeypatch.setattr(sessions_module, "new_session_id", lambda at=None: ids.pop(0))
    return ids


# -- the database file --------------------------------------------------------------------


def test_store_lives_in_dot_calm_with_wal_foreign_keys_and_current_version(tmp_path: Path):
    with SessionStore(tmp_path) as store:
        assert store.path == tmp_path / ".calm" / "sessions.db"
        conn = store.db.conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    # the folder ignores itself, so the conversations are never committed by accident
    assert (tmp_path / ".calm" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_store_path_takes_a_project_root_or_a_file(tmp_path: Path):
    assert store_path(tmp_path) == tmp_path / ".calm" / "sessions.db"
    assert store_path(tmp_path / "elsewhere.db") == tmp_path / "elsewhere.db"


def test_session_ids_are_readable_and_sortable():
    from datetime import datetime, timezone

    at = datetime(2026, 11, 24, 6, 1, tzinfo=timezone.utc)
    session_id = sessions_module.new_session_id(at)
    assert session_id.startswith("20261124-0601-")
    assert len(session_id) == len("20261124-0601-a3f9")


# -- sessions and turns -------------------------------------------------------------------


def test_turns_round_trip_and_the_session_summary_follows(store: SessionStore):
    session_id = new_session(store)
    greeting = make_trace(0, "/session_start", "Hello!", source="intent")
    first = make_trace(
        1,
        "  where is   my order?  ",
        "Which order?",
        commands=[{"command": "start flow", "flow": "check_order_status"}],
        dropped=[{"reason": "no such slot", "command": None, "line": "set slot x 1"}],
        usage=ModelUsage(model="gpt-4o-mini", prompt_tokens=812),
    )
    store.add_turn(session_id, greeting)
    store.add_turn(session_id, first)

    turns = store.get_turns(session_id)
    assert [t.to_dict() for t in turns] == [greeting.to_dict(), first.to_dict()]
    summary = store.get_session(session_id)
    assert summary is not None
    assert summary.turn_count == 2
    # the greeting is not something the user said; the title is their first message
    assert summary.title == "where is my order?"
    assert (summary.generator, summary.sender_id, summary.seed) == ("offline", "default", 0)
    assert summary.project_fingerprint == "abc123"
    assert summary.status == "active"
    assert summary.updated_at >= summary.started_at
    row = store.db.execute(
        "SELECT user_text, bot_text, duration_ms, started_at FROM turns WHERE idx = 1"
    ).fetchone()
    assert row[:3] == ("  where is   my order?  ", "Which order?", 12.5)
    assert row[3].endswith("Z")


def test_a_turn_is_committed_when_add_turn_returns(store: SessionStore):
    session_id = new_session(store)
    store.add_turn(session_id, make_trace(0, "hi", "Hello"))
    # another connection (another process, the TUI) sees it at once
    other = sqlite3.connect(store.path)
    try:
        assert other.execute("SELECT user_text FROM turns").fetchall() == [("hi",)]
        assert other.execute("SELECT turn_count FROM sessions").fetchone() == (1,)
    finally:
        other.close()


def test_a_failed_add_turn_changes_nothing(store: SessionStore):
    session_id = new_session(store)
    store.add_turn(session_id, make_trace(0, "hi", "Hello"))
    with pytest.raises(sqlite3.IntegrityError):
        store.add_turn(session_id, make_trace(0, "again", "Hello"))  # same idx
    assert store.get_session(session_id).turn_count == 1
    assert [t.user_text for t in store.get_turns(session_id)] == ["hi"]
    assert not store.db.conn.in_transaction


def test_adding_to_an_unknown_session_is_an_error(store: SessionStore):
    with pytest.raises(UnknownSessionError):
        store.add_turn("20260101-0000-0000", make_trace(0, "hi"))


def test_titles_are_trimmed_and_renamable(store: SessionStore):
    session_id = new_session(store)
    store.add_turn(session_id, make_trace(0, "word " * 40))
    title = store.get_session(session_id).title
    assert len(title) == 80 and title.endswith("…")
    assert store.rename(session_id[:15], "  Refund  question ")
    assert store.get_session(session_id).title == "Refund question"
    assert not store.rename("nope", "x")


def test_end_session_marks_a_clean_exit(store: SessionStore):
    session_id = new_session(store)
    assert store.end_session(session_id)
    assert store.get_session(session_id).status == "ended"


def test_list_is_newest_first_and_limited(
    store: SessionStore, fixed_ids: list[str], monkeypatch: pytest.MonkeyPatch
):
    # a clock that ticks a second per call: three sessions made in one millisecond
    # would otherwise tie on updated_at
    ticks = iter(range(100))
    monkeypatch.setattr(
        sessions_module, "now_iso", lambda at=None: f"2026-11-24T06:00:{next(ticks):02d}.000Z"
    )
    fixed_ids.extend(["20261124-0601-0001", "20261124-0602-0002", "20261124-0603-0003"])
    first, second, third = (new_session(store) for _ in range(3))
    store.add_turn(second, make_trace(0, "later"))  # bumps updated_at
    listed = [s.id for s in store.list_sessions()]
    assert listed == [second, third, first]
    assert [s.id for s in store.list_sessions(limit=2)] == [second, third]


def test_search_matches_user_and_bot_text_title_and_id(store: SessionStore):
    refund = new_session(store)
    store.add_turn(refund, make_trace(0, "I want a REFUND", "Refunds take 5 days."))
    hours = new_session(store)
    store.add_turn(hours, make_trace(0, "when are you open?", "We open at 9, 100% sure."))

    def found(text: str) -> set[str]:
        return {s.id for s in store.list_sessions(search=text)}

    assert found("refund") == {refund}  # case-insensitive, title and user text
    assert found("5 days") == {refund}  # bot text
    assert found("open") == {hours}
    assert found(hours) == {hours}  # an id
    assert found("100%") == {hours}
    assert found("%") == {hours}  # LIKE wildcards are literal
    assert found("_") == set()
    assert found("nothing like it") == set()
    assert found("") == {refund, hours}


def test_ids_can_be_shortened_to_a_unique_prefix(store: SessionStore, fixed_ids: list[str]):
    fixed_ids.extend(["20261124-0601-a3f9", "20261124-0601-a3aa", "20261124-0602-0001"])
    a, b, c = (new_session(store) for _ in range(3))
    assert store.get_session("20261124-0601-a3f").id == a
    assert store.get_session(c).id == c
    assert store.get_session("20261124-0602").id == c
    assert store.get_session("nope") is None
    assert store.get_session("") is None
    with pytest.raises(AmbiguousIdError) as raised:
        store.get_session("20261124-0601-a3")
    assert raised.value.matches == [b, a]
    assert "ambiguous" in str(raised.value) and a in str(raised.value)
    with pytest.raises(AmbiguousIdError):
        store.delete_session("2026")
    assert len(store.list_sessions()) == 3


def test_a_clashing_id_is_retried(store: SessionStore, fixed_ids: list[str]):
    fixed_ids.extend(["20261124-0601-aaaa", "20261124-0601-aaaa", "20261124-0601-bbbb"])
    assert new_session(store) == "20261124-0601-aaaa"
    assert new_session(store) == "20261124-0601-bbbb"


def test_delete_cascades_to_the_turns(store: SessionStore, fixed_ids: list[str]):
    fixed_ids.extend(["20261124-0601-0001", "20261124-0601-0002"])
    gone, kept = new_session(store), new_session(store)
    for index in range(3):
        store.add_turn(gone, make_trace(index, f"message {index}"))
    store.add_turn(kept, make_trace(0, "stay"))
    assert store.delete_session("20261124-0601-0001")
    assert store.get_session(gone) is None
    assert store.get_turns(gone) == []
    counts = dict(
        store.db.execute("SELECT session_id, count(*) FROM turns GROUP BY session_id").fetchall()
    )
    assert counts == {kept: 1}
    assert not store.delete_session(gone)


# -- secrets ------------------------------------------------------------------------------


def test_scrub_masks_secret_names_key_shaped_values_and_their_echoes():
    data = {
        "user_text": "my password is hunter2!! and key sk-abcdefghijklmnopqrstuvwx",
        "usage": {"model": "gpt-4o", "prompt_tokens": 812, "completion_tokens": 12},
        "slots_after": {"password": "hunter2!!", "api_key": "plain-key-value", "city": "Oslo"},
        "commands": [{"command": "set slot", "name": "password", "value": "hunter2!!"}],
        "events": [
            {"event": "slot", "name": "authToken", "value": "t0k3n-value"},
            {"event": "slot", "name": "city", "value": "Oslo"},
        ],
        "request": {
            "headers": {"Authorization": "Bearer abc.def.ghi", "X-Api-Key": "k-123456"},
            "url": "http://localhost:5055/webhook?token=s3cr3t&x=1",
        },
        "errors": [
            "AuthenticationError: Incorrect API key sk-proj-ABCDEFGHIJKLMNOP1234",
            "sent Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload",
            "Client secret used: ok",
        ],
        "secret": None,
        "token_ok": True,
    }
    clean = scrub(data)
    assert clean["user_text"] == "my password is *** and key ***"
    assert clean["usage"] == data["usage"]  # prompt_tokens is not a token
    assert clean["slots_after"] == {"password": "***", "api_key": "***", "city": "Oslo"}
    assert clean["commands"][0]["value"] == "***"
    assert clean["events"][0]["value"] == "***"
    assert clean["events"][1]["value"] == "Oslo"
    assert clean["request"]["headers"] == {"Authorization": "***", "X-Api-Key": "***"}
    assert clean["request"]["url"] == "http://localhost:5055/webhook?token=***&x=1"
    assert clean["errors"] == [
        "AuthenticationError: Incorrect API key ***",
        "sent Authorization: ***",
        "Client secret used: ok",
    ]
    assert clean["secret"] is None and clean["token_ok"] is True
    assert data["slots_after"]["password"] == "hunter2!!"  # a copy; the input is untouched


def test_no_secret_reaches_the_database_file(tmp_path: Path):
    secrets = ["sk-live-0123456789abcdefghij", "hunter2-horse", "Bearer-token-XYZ-123456"]
    trace = make_trace(
        0,
        f"my key is {secrets[0]}",
        f"I set your password to {secrets[1]}",
        slots_after={"password": secrets[1], "auth_header": secrets[2]},
        errors=[f"model call failed: api_key={secrets[0]}"],
    )
    with SessionStore(tmp_path) as store:
        session_id = new_session(store)
        store.add_turn(session_id, trace)
        stored = store.get_turns(session_id)[0]
        assert stored.slots_after == {"password": "***", "auth_header": "***"}
        assert stored.user_text == "my key is ***"
        assert store.get_session(session_id).title == "my key is ***"
    raw = b"".join(p.read_bytes() for p in (tmp_path / ".calm").glob("sessions.db*"))
    for secret in secrets:
        assert secret.encode() not in raw


# -- migrations ---------------------------------------------------------------------------

# Version 1 as it was released, written out here on purpose: a migration test must not
# follow edits to the code it checks.
V1_DDL = """
CREATE TABLE sessions (
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
);
CREATE INDEX sessions_updated_at ON sessions (updated_at DESC);
CREATE TABLE turns (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    user_text TEXT NOT NULL DEFAULT '',
    trace_json TEXT NOT NULL,
    started_at TEXT NOT NULL,
    duration_ms REAL,
    PRIMARY KEY (session_id, idx)
);
PRAGMA user_version = 1;
"""


def write_v1_database(path: Path) -> TurnTrace:
    path.parent.mkdir(parents=True, exist_ok=True)
    trace = make_trace(0, "do you ship abroad?", "We ship to 30 countries.", "Anything else?")
    conn = sqlite3.connect(path)
    conn.executescript(V1_DDL)
    conn.execute(
        "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            "20250101-1200-beef",
            "do you ship abroad?",
            "2025-01-01T12:00:00.000Z",
            "2025-01-01T12:00:05.000Z",
            "fp1",
            "offline",
            "default",
            7,
            2,
            "ended",
        ),
    )
    conn.execute(
        "INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?)",
        (
            "20250101-1200-beef",
            0,
            trace.user_text,
            json.dumps(trace.to_dict()),
            "2025-01-01T12:00:00.000Z",
            12.5,
        ),
    )
    conn.execute(
        "INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?)",
        ("20250101-1200-beef", 1, "broken row", "{not json", "2025-01-01T12:00:04.000Z", 1.0),
    )
    conn.commit()
    conn.close()
    return trace


def test_a_version_1_database_is_migrated_and_keeps_its_data(tmp_path: Path):
    path = tmp_path / ".calm" / "sessions.db"
    trace = write_v1_database(path)
    with SessionStore(tmp_path) as store:
        conn = store.db.conn
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        # v4: imported sessions are found by their origin and sender through an index
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM sessions WHERE origin = ? AND sender_id = ?",
            ("sqlite:///rasa.db", "order-7f3a"),
        ).fetchall()
        assert "USING INDEX sessions_origin_sender" in " ".join(str(row[-1]) for row in plan)
        summary = store.get_session("20250101")
        assert summary is not None
        # v3: a session held in the workbench has no origin
        assert (summary.origin, summary.imported) == ("", False)
        assert (summary.title, summary.seed, summary.turn_count, summary.status) == (
            "do you ship abroad?",
            7,
            2,
            "ended",
        )
        # v2 backfilled the bot text from the stored traces, so search finds replies
        bot_texts = conn.execute("SELECT bot_text FROM turns ORDER BY idx").fetchall()
        assert bot_texts == [("We ship to 30 countries.\nAnything else?",), ("",)]
        assert [s.id for s in store.list_sessions(search="30 countries")] == [summary.id]
        first, damaged = store.get_turns(summary.id)
        assert first.to_dict() == trace.to_dict()
        # a row whose JSON is damaged still shows what was said, and says what is wrong
        assert damaged.user_text == "broken row"
        assert damaged.errors[0].startswith("the stored trace of this turn is unreadable")
        # and the migrated database takes new turns like a fresh one
        store.add_turn(summary.id, make_trace(2, "thanks", "You're welcome"))
        assert store.get_session(summary.id).turn_count == 3
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_a_database_from_a_newer_calm_tui_is_refused(tmp_path: Path):
    path = tmp_path / "sessions.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaTooNewError, match="upgrade calm-workbench"):
        SessionStore(path)


def test_opening_twice_does_not_migrate_again(tmp_path: Path):
    with SessionStore(tmp_path) as store:
        session_id = new_session(store)
    with SessionStore(tmp_path) as store:
        assert store.get_session(session_id) is not None


# -- the shell recorder -------------------------------------------------------------------


def sample_session():
    from workbench.project.loader import load_project
    from workbench.session import Session
    from workbench.understanding.base import ScriptedGenerator

    project = load_project(SAMPLE).project
    return Session(project, ScriptedGenerator([]))


def recorder_for(root: Path, warnings: list[str] | None = None) -> SessionRecorder:
    return SessionRecorder(
        root,
        generator="scripted",
        sender_id="default",
        seed=0,
        project_fingerprint="fp",
        warn=(warnings if warnings is not None else []).append,
    )


async def test_a_greeting_alone_leaves_no_session(tmp_path: Path):
    session = sample_session()
    recorder = recorder_for(tmp_path)
    recorder(await session.handle("/session_start"))
    recorder.close()
    assert not (tmp_path / ".calm").exists()


async def test_the_shell_saves_each_turn_before_printing_it(tmp_path: Path):
    from workbench.shell import Shell

    session = sample_session()
    recorder = recorder_for(tmp_path)
    output = io.StringIO()
    saved_before_print: list[bool] = []

    def on_turn(trace: TurnTrace) -> None:
        recorder(trace)
        # the reply is not on screen yet, and the turn is already in the database
        printed = any(t in output.getvalue() for t in trace.bot_texts if t)
        with SessionStore(tmp_path) as reader:
            stored = reader.list_sessions()
            in_db = bool(stored) and len(reader.get_turns(stored[0].id)) == trace.index + 1
        saved_before_print.append(in_db and not printed)

    lines = iter(["/start flow store_info", "/SetSlots(faq_topic=payment)", "/exit"])
    shell = Shell(
        session, Console(file=output, width=200), read=lambda _: next(lines), on_turn=on_turn
    )
    assert await shell.run(greet=True) == 0
    recorder.close()
    assert saved_before_print == [False, True, True]  # the greeting waits for turn 1
    with SessionStore(tmp_path) as store:
        (summary,) = store.list_sessions()
        assert summary.title == "/start flow store_info"
        assert summary.status == "ended"
        turns = store.get_turns(summary.id)
    assert [t.user_text for t in turns] == [
        "/session_start",
        "/start flow store_info",
        "/SetSlots(faq_topic=payment)",
    ]
    assert "We accept Visa" in turns[2].bot_texts[0]


async def test_a_turn_that_cannot_be_saved_is_reported_and_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    session = sample_session()
    warnings: list[str] = []
    recorder = recorder_for(tmp_path, warnings)
    real_add_turn = SessionStore.add_turn
    failures = iter([sqlite3.OperationalError("database is locked")])

    def flaky_add_turn(self, session_id, trace, **kwargs):
        failure = next(failures, None)
        if failure is not None:
            raise failure
        real_add_turn(self, session_id, trace, **kwargs)

    monkeypatch.setattr(SessionStore, "add_turn", flaky_add_turn)
    recorder(await session.handle("/start flow store_info"))
    assert warnings == [
        "turn 0 was not saved to the session store: database is locked",
    ]
    recorder(await session.handle("/SetSlots(faq_topic=payment)"))
    recorder.close()
    with SessionStore(tmp_path) as store:
        (summary,) = store.list_sessions()
        assert [t.index for t in store.get_turns(summary.id)] == [0, 1]
