"""A stored row that is damaged or of a shape this version does not know (bytes that
are not UTF-8, JSON that is no trace, fields of the wrong type) gives a clear message in
`sessions list/show/export`, never a traceback: `show` marks the turn and shows the
others, `export` refuses with the turn and the reason."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from workbench.cli.main import main
from workbench.store import SessionStore
from workbench.trace.turn import TurnTrace

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"
UNREADABLE = "the stored trace of this turn is unreadable"


def trace(index: int, user_text: str, bot_text: str) -> TurnTrace:
    return TurnTrace.from_dict(
        {
            "index": index,
            "user_text": user_text,
            "bot_messages": [{"text": bot_text, "response": None, "buttons": []}],
            "timings_ms": {"total": 3.0},
        }
    )


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "shop"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".calm", "__pycache__"))
    with SessionStore(root) as store:
        session = store.create_session("offline", "default", 0, "fp")
        store.add_turn(session, trace(0, "hello", "Hi there!"))
        store.add_turn(session, trace(1, "where is my parcel?", "Which order number?"))
        store.add_turn(session, trace(2, "A1001", "It has shipped."))
    return root, session


def damage(root: Path, sql: str, *params: object) -> None:
    conn = sqlite3.connect(root / ".calm" / "sessions.db")
    with conn:
        conn.execute(sql, params)
    conn.close()


DAMAGES = {
    "trace not UTF-8": (
        "UPDATE turns SET trace_json = CAST(x'7b2275736572ff22' AS TEXT) WHERE idx = 1",
        "it is not UTF-8 text",
    ),
    "trace a blob": ("UPDATE turns SET trace_json = x'00ff' WHERE idx = 1", "not UTF-8"),
    "trace a JSON list": ("UPDATE turns SET trace_json = '[1, 2]' WHERE idx = 1", "a JSON list"),
    "trace not JSON": ("UPDATE turns SET trace_json = '{\"index\": ' WHERE idx = 1", ""),
    "fields of another schema": (
        "UPDATE turns SET trace_json = ? WHERE idx = 1",
        "its index is a str",
    ),
    "timings of another type": (
        "UPDATE turns SET trace_json = ? WHERE idx = 1",
        "its timings are not numbers",
    ),
}
PAYLOADS = {
    "fields of another schema": json.dumps(
        {"schema": 99, "index": "one", "user_text": 5, "bot_messages": "none", "timings_ms": [1]}
    ),
    "timings of another type": json.dumps(
        {"index": 1, "user_text": "x", "timings_ms": {"total": "slow"}}
    ),
}


@pytest.mark.parametrize("kind", sorted(DAMAGES))
def test_show_and_export_survive_a_damaged_turn(stored, kind, capsys, tmp_path):
    root, session = stored
    sql, reason = DAMAGES[kind]
    damage(root, sql, *([PAYLOADS[kind]] if kind in PAYLOADS else []))
    assert main(["sessions", "show", session, str(root)]) == 0
    out, err = capsys.readouterr()
    assert UNREADABLE in out and reason in out
    assert "It has shipped." in out  # the turns after it are still there
    assert "Traceback" not in out + err
    assert main(["sessions", "show", session, str(root), "--format", "json"]) == 0
    turns = json.loads(capsys.readouterr().out)["turns"]
    assert [t["index"] for t in turns] == [0, 1, 2]
    assert any(UNREADABLE in e for e in turns[1]["errors"])
    code = main(["sessions", "export", session, str(root), "--out", str(tmp_path / "t.yml")])
    out, err = capsys.readouterr()
    assert code == 1  # a test made from a damaged turn would assert the wrong thing
    assert f"calm-tui sessions: error: session {session}, turn 1: {UNREADABLE}" in err
    assert reason in err and "Traceback" not in out + err
    assert not (tmp_path / "t.yml").exists()


def test_text_that_is_not_utf8_is_shown_replaced(stored, capsys):
    root, session = stored
    damage(root, "UPDATE sessions SET title = CAST(x'ff41' AS TEXT)")
    damage(root, "UPDATE turns SET user_text = CAST(x'68c328' AS TEXT) WHERE idx = 2")
    assert main(["sessions", "list", str(root)]) == 0
    assert "\ufffdA" in capsys.readouterr().out
    assert main(["sessions", "show", session, str(root)]) == 0
    out, err = capsys.readouterr()
    assert "\ufffdA" in out and "internal error" not in err


def test_a_store_of_a_newer_schema_is_refused_clearly(stored, capsys):
    root, session = stored
    damage(root, "PRAGMA user_version = 99")
    assert main(["sessions", "show", session, str(root)]) == 1
    err = capsys.readouterr().err
    assert "calm-tui sessions: error:" in err and "schema version 99" in err
    assert "Traceback" not in err
