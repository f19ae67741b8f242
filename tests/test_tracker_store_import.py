"""`calm-tui sessions import`: conversations read from a Rasa tracker store (rows written
by Rasa's own SQLTrackerStore) on a real PostgreSQL server and in a SQLite file, listed,
filtered and imported as read-only sessions, with the store left untouched."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from tracker_store_servers import (
    PASSWORD,
    PostgresServer,
    free_port,
    listed,
    load_postgres,
    make_sqlite_store,
    postgres_counts,
    postgres_server,
)
from tracker_store_servers import (
    run_import as run,
)

from workbench.cli.main import main
from workbench.project.tracker_store import (
    SqlStoreConfig,
    TrackerStoreConfigError,
    from_endpoints,
    from_url,
)
from workbench.store.rasa_tracker_store import TrackerStoreError
from workbench.store.recorder import ImportedSessionError, SessionRecorder
from workbench.store.sessions import SessionStore, store_path
from workbench.store.sql_tracker_store import SqlTrackerStoreReader

ALL = ["handoff-e5b7", "mars-91d0", "cancel-b2c4", "order-7f3a"]  # newest first
FIXTURE_ROWS = 182


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture
def loaded_pg(pg: PostgresServer) -> PostgresServer:
    load_postgres(pg)
    return pg


@pytest.fixture
def project(make_project) -> Path:
    return make_project()


# -- where the store is ---------------------------------------------------------------------


def test_the_tracker_store_is_read_from_endpoints_with_env_substituted(
    make_project, loaded_pg: PostgresServer, capsys, monkeypatch
):
    monkeypatch.setenv("TRACKER_STORE_PASSWORD", PASSWORD)
    root = make_project(
        {
            "endpoints.yml": f"""\
                tracker_store:
                  type: SQL
                  dialect: "postgresql"
                  url: 127.0.0.1
                  port: {loaded_pg.port}
                  db: rasa
                  username: rasa
                  password: ${{TRACKER_STORE_PASSWORD}}
            """
        }
    )
    rows = listed(capsys, str(root))
    assert [r["sender_id"] for r in rows] == ALL


def test_a_relative_sqlite_db_in_endpoints_is_in_the_project_folder(make_project, capsys):
    root = make_project(
        {"endpoints.yml": "tracker_store:\n  type: sql\n  dialect: sqlite\n  db: rasa.db\n"}
    )
    make_sqlite_store(root / "rasa.db")
    rows = listed(capsys, str(root), "--sender", "mars-91d0")
    assert [(r["sender_id"], r["user_turns"]) for r in rows] == [("mars-91d0", 1)]


def test_urls_and_endpoint_sections_are_read_into_a_config():
    pg = from_url("postgresql://ann:p%40ss@db.example:6432/rasa?sslmode=require")
    assert pg == SqlStoreConfig(
        "postgresql", "rasa", "db.example", 6432, "ann", "p@ss", (("sslmode", "require"),)
    )
    assert pg.label == "postgresql://db.example:6432/rasa"  # never the password
    assert "p@ss" not in repr(pg)
    assert from_url("sqlite:///rasa.db") == SqlStoreConfig("sqlite", "rasa.db")
    assert from_url("sqlite:////var/rasa.db").db == "/var/rasa.db"
    assert from_endpoints({"tracker_store": {"type": "sql"}}).db == "rasa.db"
    for bad in ("mysql://h/db", "rasa.db", "postgresql://host"):
        with pytest.raises(TrackerStoreConfigError):
            from_url(bad)
    with pytest.raises(TrackerStoreConfigError, match="of type 'dynamo'; `type: sql`"):
        from_endpoints({"tracker_store": {"type": "dynamo"}})
    with pytest.raises(TrackerStoreConfigError, match="no `tracker_store:` section"):
        from_endpoints({})


def test_a_bad_url_is_a_clear_error_that_hides_the_password(project: Path, capsys):
    code, _out, err = run(capsys, str(project), "--tracker-store", "mysql://u:hunter22@h/db")
    assert code == 1
    assert "postgresql://user:password@host:5432/rasa" in err
    assert "hunter22" not in err


# -- listing --------------------------------------------------------------------------------


def test_list_shows_each_conversation_with_its_flows_and_patterns(
    project: Path, loaded_pg: PostgresServer, capsys
):
    rows = listed(capsys, str(project), "--tracker-store", loaded_pg.url())
    by_sender = {r["sender_id"]: r for r in rows}
    assert [r["sender_id"] for r in rows] == ALL
    assert by_sender["order-7f3a"] == {
        "sender_id": "order-7f3a",
        "first_at": "2026-11-30T00:53:20Z",
        "last_at": "2026-11-30T00:54:19Z",
        "user_turns": 3,
        "flows": ["check_order_status"],
        "patterns": [],
        "unreadable_events": 0,
    }
    assert by_sender["cancel-b2c4"]["patterns"] == ["internal_error"]
    assert by_sender["mars-91d0"]["patterns"] == ["cannot_handle"]
    assert by_sender["handoff-e5b7"]["flows"] == [
        "check_loyalty_points",
        "verify_identity",
        "talk_to_human",
    ]
    assert by_sender["handoff-e5b7"]["patterns"] == ["human_handoff"]
    assert by_sender["handoff-e5b7"]["user_turns"] == 4
    code, out, _ = run(capsys, str(project), "--tracker-store", loaded_pg.url(), "--list")
    assert code == 0
    assert "order-7f3a" in out and "4 conversations in postgresql://127.0.0.1:" in out
    assert postgres_counts(loaded_pg) == (FIXTURE_ROWS, 0)


@pytest.mark.parametrize(
    ("filters", "senders"),
    [
        (["--pattern", "internal_error"], ["cancel-b2c4"]),
        (["--pattern", "human_handoff"], ["handoff-e5b7"]),
        (["--flow", "check_order_status"], ["order-7f3a"]),
        (["--flow", "pattern_cannot_handle"], []),  # patterns are no flows the user started
        (["--text", "INSURANCE car"], ["mars-91d0"]),
        (["--text", "shipped"], ["order-7f3a"]),  # what the bot said counts too
        (["--text", "insurance shipped"], []),
        (["--sender", "cancel-b2c4"], ["cancel-b2c4"]),
        (["--since", "2026-11-30T02:00"], ["handoff-e5b7", "mars-91d0"]),
        (["--until", "2026-11-30 01:00Z"], ["order-7f3a"]),
        (["--since", "2026-11-30", "--until", "2026-11-30T23:59:59+00:00"], ALL[1:]),
        (["--limit", "2"], ALL[:2]),
    ],
)
def test_list_filters(project: Path, loaded_pg: PostgresServer, capsys, filters, senders):
    rows = listed(capsys, str(project), "--tracker-store", loaded_pg.url(), *filters)
    assert [r["sender_id"] for r in rows] == senders


def test_sqlite_lists_the_same_and_its_file_is_not_touched(
    project: Path, loaded_pg: PostgresServer, tmp_path: Path, capsys
):
    db = make_sqlite_store(tmp_path / "rasa.db")
    before = db.read_bytes()
    url = f"sqlite:///{db}"
    from_sqlite = listed(capsys, str(project), "--tracker-store", url)
    assert from_sqlite == listed(capsys, str(project), "--tracker-store", loaded_pg.url())
    assert (
        listed(capsys, str(project), "--tracker-store", url, "--pattern", "cannot_handle")[0][
            "sender_id"
        ]
        == "mars-91d0"
    )
    code, _, err = run(capsys, str(project), "--tracker-store", url, "order-7f3a")
    assert code == 0, err
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("rasa.db")) == ["rasa.db"]


def test_the_readers_refuse_to_write(loaded_pg: PostgresServer, tmp_path: Path):
    """The safety the import relies on, shown directly: a write sent through either
    reader's connection is refused by the database itself."""
    insert = "INSERT INTO events (sender_id, type_name, data) VALUES ('x', 'user', '{}')"
    with (
        SqlTrackerStoreReader(from_url(loaded_pg.url())) as reader,
        pytest.raises(TrackerStoreError, match="read-only transaction"),
    ):
        reader._conn.rows(insert, {})
    db = make_sqlite_store(tmp_path / "rasa.db")
    with (
        SqlTrackerStoreReader(from_url(f"sqlite:///{db}")) as reader,
        pytest.raises(TrackerStoreError, match="attempt to write a readonly database"),
    ):
        reader._conn.rows(insert, {})
    assert postgres_counts(loaded_pg) == (FIXTURE_ROWS, 0)


# -- importing ------------------------------------------------------------------------------


def test_a_conversation_is_imported_turn_by_turn(project: Path, loaded_pg: PostgresServer, capsys):
    code, out, err = run(capsys, str(project), "--tracker-store", loaded_pg.url(), "order-7f3a")
    assert code == 0, err
    assert "imported order-7f3a as session" in out and "(4 turns)" in out
    origin = f"postgresql://127.0.0.1:{loaded_pg.port}/rasa"
    with SessionStore(project) as store:
        [summary] = store.list_sessions()
        turns = store.get_turns(summary.id)
    assert (summary.title, summary.status, summary.origin, summary.sender_id) == (
        f"imported: order-7f3a from {origin}",
        "imported",
        origin,
        "order-7f3a",
    )
    assert summary.started_at == "2026-11-30T00:53:20.000Z"
    assert [(t.index, t.source, t.user_text) for t in turns] == [
        (0, "session_start", "/session_start"),
        (1, "user", "where is my order?"),
        (2, "user", "it's A1001"),
        (3, "user", "no, that's all"),
    ]
    first, second = turns[1], turns[2]
    assert [(c.name, c.flow) for c in first.commands] == [("start flow", "check_order_status")]
    assert [(c.name, c.slot, c.value, c.filled_by) for c in second.commands] == [
        ("set slot", "order_id", "A1001", "LLM")
    ]
    assert first.bot_texts == [
        "Could you tell me the order number? It's a letter followed by four digits, like A1234."
    ]
    assert [(f.flow_name, f.step_id) for f in first.stack_after] == [
        ("check_order_status", "check_order_status_0_collect_order_id"),
        ("pattern_collect_information", "pattern_collect_information_4_action_listen"),
    ]
    assert first.stack_after[1].context["collect"] == "order_id"
    assert second.stack_before == first.stack_after
    assert [f.flow_name for f in second.stack_after] == [
        "pattern_completed",
        "pattern_collect_information",
    ]
    assert second.slots_before == {}
    assert second.slots_after["order_id"] == "A1001"
    assert second.slots_after["order_status"] == "shipped"
    assert [a.name for a in second.actions] == [
        "action_run_slot_rejections",
        "action_check_order",
        "utter_order_status",
        "action_run_slot_rejections",
        "utter_ask_continue_conversation",
    ]
    # what the action set, then the next prediction's stack update
    assert [e.type for e in second.actions[1].events] == ["slot"] * 5 + ["stack"]
    assert [(e.type, e.flow_id) for e in second.events if e.type.startswith("flow")] == [
        ("flow_completed", "pattern_collect_information"),
        ("flow_completed", "check_order_status"),
        ("flow_started", "pattern_completed"),
        ("flow_started", "pattern_collect_information"),
    ]
    assert second.timings_ms == {"total": 25000.0}
    assert postgres_counts(loaded_pg) == (FIXTURE_ROWS, 0)

    code, out, _ = main_out(capsys, "show", summary.id[:13], str(project))
    assert code == 0
    assert f"imported from {origin}: read-only" in out
    assert "you> it's A1001" in out and "bot> Good news! Order A1001 (Wool scarf" in out
    assert "commands set slot(slot='order_id', value='A1001', filled_by='LLM')" in out

    # a second import keeps the first
    code, out, _ = run(capsys, str(project), "--tracker-store", loaded_pg.url(), "order-7f3a")
    assert code == 0 and f"already imported as session {summary.id}" in out
    with SessionStore(project) as store:
        assert len(store.list_sessions()) == 1


def main_out(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["sessions", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_secrets_are_scrubbed_on_import(project: Path, loaded_pg: PostgresServer, capsys):
    code, _, err = run(capsys, str(project), "--tracker-store", loaded_pg.url(), "handoff-e5b7")
    assert code == 0, err
    with SessionStore(project) as store:
        [summary] = store.list_sessions()
        turns = store.get_turns(summary.id)
    assert turns[3].user_text == "0000"
    assert next((e.name, e.value) for e in turns[3].events if e.type == "slot") == ("pin", "0000")
    assert turns[3].commands[0].value == "0000"
    stored = b"".join(p.read_bytes() for p in store_path(project).parent.glob("sessions.db*"))
    # as a JSON string or a DSL value (the timestamps hold these digits as numbers)
    assert b'"8642"' not in stored and b"pin 8642" not in stored
    assert turns[2].slots_after["email"] == "sam@example.com"  # no secret slot
    assert [f.flow_name for f in turns[4].stack_after] == []
    assert any(e.flow_id == "pattern_human_handoff" for e in turns[4].events)


def test_all_matching_imports_what_the_filters_select(
    project: Path, loaded_pg: PostgresServer, capsys
):
    code, _out, err = run(
        capsys,
        str(project),
        "--tracker-store",
        loaded_pg.url(),
        "--all-matching",
        "--pattern",
        "cannot_handle",
    )
    assert code == 0, err
    with SessionStore(project) as store:
        assert [s.sender_id for s in store.list_sessions()] == ["mars-91d0"]
        [turn] = store.get_turns(store.list_sessions()[0].id)[1:]
    assert [(c.name, c.fields["reason"]) for c in turn.commands] == [
        ("cannot handle", "cannot_handle_default")
    ]
    assert postgres_counts(loaded_pg) == (FIXTURE_ROWS, 0)


def test_a_malformed_row_keeps_its_conversation_out_and_an_unknown_event_is_kept(
    project: Path, pg: PostgresServer, capsys
):
    load_postgres(
        pg,
        extra=[
            _row(900, "order-7f3a", "user", "{not json"),
            _row(901, "mars-91d0", "mystery", json.dumps({"foo": 1, "timestamp": 1796007300.0})),
        ],
    )
    rows = listed(capsys, str(project), "--tracker-store", pg.url())
    assert {r["sender_id"]: r["unreadable_events"] for r in rows}["order-7f3a"] == 1
    code, out, _ = run(
        capsys, str(project), "--tracker-store", pg.url(), "order-7f3a", "mars-91d0", "nobody"
    )
    assert code == 1
    assert "not imported conversation 'order-7f3a', event row 900 (user): its data is not JSON" in (
        " ".join(out.split())
    )
    assert "no conversation 'nobody'" in out
    assert "imported mars-91d0" in out
    with SessionStore(project) as store:
        [summary] = store.list_sessions()
        turns = store.get_turns(summary.id)
    assert summary.sender_id == "mars-91d0"
    assert turns[-1].events[-1].type == "mystery"
    assert turns[-1].events[-1].data["foo"] == 1
    assert postgres_counts(pg) == (FIXTURE_ROWS + 2, 0)


def _row(ident: int, sender: str, type_name: str, data: str) -> dict:
    return {
        "id": ident,
        "sender_id": sender,
        "type_name": type_name,
        "timestamp": 1796007300.0,
        "intent_name": None,
        "action_name": None,
        "data": data,
    }


def test_a_server_that_is_down_is_a_clear_error(project: Path, capsys):
    url = f"postgresql://rasa:{PASSWORD}@127.0.0.1:{free_port()}/rasa"
    code, _out, err = run(capsys, str(project), "--tracker-store", url, "order-7f3a")
    assert code == 1
    assert "cannot read the tracker store postgresql://127.0.0.1:" in err
    assert "refused" in err.lower()
    assert PASSWORD not in err
    assert not store_path(project).exists()


def test_wrong_credentials_are_a_clear_error(project: Path, loaded_pg: PostgresServer, capsys):
    code, _, err = run(capsys, str(project), "--tracker-store", loaded_pg.url("wrong"), "--list")
    assert code == 1
    assert 'password authentication failed for user "rasa"' in err
    assert "wrong" not in err.replace("password authentication", "")
    assert not store_path(project).exists()


def test_a_file_that_is_no_tracker_store_is_a_clear_error(project: Path, tmp_path: Path, capsys):
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)").connection.close()
    code, _, err = run(capsys, str(project), "--tracker-store", f"sqlite:///{tmp_path}/other.db")
    assert code == 1 and "has no `events` table" in err
    code, _, err = run(capsys, str(project), "--tracker-store", f"sqlite:///{tmp_path}/none.db")
    assert code == 1 and "does not exist" in err
    assert not (tmp_path / "none.db").exists()
    code, _, err = run(capsys, str(project), "--list")
    assert code == 1 and "no `tracker_store:` section" in err


def test_ids_and_filters_do_not_mix(project: Path, capsys):
    code, _, err = run(
        capsys, str(project), "--tracker-store", "sqlite:///x.db", "a", "--flow", "f"
    )
    assert code == 2 and "not both" in err
    code, _, err = run(capsys, str(project), "--tracker-store", "sqlite:///x.db", "--since", "soon")
    assert code == 2 and "--since 'soon' is no time" in err


def test_an_imported_session_cannot_be_resumed(project: Path, loaded_pg: PostgresServer, capsys):
    run(capsys, str(project), "--tracker-store", loaded_pg.url(), "mars-91d0")
    with SessionStore(project) as store:
        [summary] = store.list_sessions()
    recorder = SessionRecorder(
        project, generator="offline", sender_id="default", seed=0, project_fingerprint=""
    )
    with pytest.raises(ImportedSessionError, match="read-only"):
        recorder.resume(summary.id, summary.turn_count)
    recorder.close()
    with SessionStore(project) as store:
        assert store.get_session(summary.id).status == "imported"


async def test_the_session_browser_lists_an_imported_session_and_will_not_resume_it(
    make_project, tmp_path: Path
):
    from tui_helpers import start, wait_until

    from workbench.tui.app import make_app
    from workbench.tui.screens.sessions import SessionsScreen, TranscriptScreen

    root = make_project()
    db = make_sqlite_store(tmp_path / "rasa.db")
    assert (
        main(["sessions", "import", str(root), "--tracker-store", f"sqlite:///{db}", "mars-91d0"])
        == 0
    )
    with SessionStore(root) as store:
        [summary] = store.list_sessions()
    app = make_app(root, offline=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await start(pilot)
        app.main.chat.chat_log.focus()
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionsScreen))
        table = app.screen.query_one("DataTable")
        row = table.get_row_index(summary.id)
        cells = [str(cell) for cell in table.get_row_at(row)]
        assert cells[1].startswith("imported: mars-91d0 from sqlite:///")
        assert (cells[2], cells[-1]) == ("2", "imported")
        table.move_cursor(row=row)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, SessionsScreen)  # refused: still browsing
        toasts = [n.message for n in app._notifications]
        assert any("read-only and cannot be resumed" in m for m in toasts), toasts
        await pilot.press("enter")  # reading it is what it is for
        await wait_until(pilot, lambda: isinstance(app.screen, TranscriptScreen))
        app._notifications.clear()
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, TranscriptScreen)
        assert any("cannot be resumed" in n.message for n in app._notifications)


def test_listing_pages_through_the_store(
    project: Path, loaded_pg: PostgresServer, tmp_path: Path, capsys, monkeypatch
):
    from workbench.store import tracker_import

    monkeypatch.setattr(tracker_import, "PAGE_SIZE", 1)  # a query per conversation
    db = make_sqlite_store(tmp_path / "rasa.db")
    for url in (loaded_pg.url(), f"sqlite:///{db}"):
        assert [r["sender_id"] for r in listed(capsys, str(project), "--tracker-store", url)] == ALL
        rows = listed(capsys, str(project), "--tracker-store", url, "--text", "order")
        assert [r["sender_id"] for r in rows] == ["cancel-b2c4", "order-7f3a"]


def test_a_production_internal_error_from_postgresql_becomes_a_passing_test(
    loaded_pg: PostgresServer, tmp_path: Path, capsys
):
    """From the store to a test: list the conversations that hit an internal error,
    import one, replay it on the project as it was and as it is after an edit, and
    export it as a test that passes."""
    import shutil

    from workbench.cli.test import cmd_test

    sample = tmp_path / "sample_project"
    shutil.copytree(
        Path(__file__).resolve().parent.parent / "sample_project",
        sample,
        ignore=shutil.ignore_patterns(".calm", "__pycache__"),
    )
    url = loaded_pg.url()
    [found] = listed(capsys, str(sample), "--tracker-store", url, "--pattern", "internal_error")
    assert found["sender_id"] == "cancel-b2c4"
    code, _out, err = run(capsys, str(sample), "--tracker-store", url, "cancel-b2c4")
    assert code == 0, err
    with SessionStore(sample) as store:
        [summary] = store.list_sessions()

    code, out, _ = main_out(capsys, "replay", summary.id, str(sample))
    assert code == 0 and "same behaviour for all 2 turns" in out
    code, out, _ = main_out(capsys, "export", summary.id, str(sample))
    assert code == 0
    test = sample / "e2e_tests" / "production_cancel_b2c4.yml"
    cassette = sample / "e2e_tests" / "production_cancel_b2c4.cassette.yml"
    assert cmd_test([str(sample), str(test), "--cassette", str(cassette), "-q"]) == 0
    assert "1 passed" in capsys.readouterr().out

    # today the flow says something before it looks the order up
    flows = sample / "data" / "flows" / "orders.yml"
    flows.write_text(
        flows.read_text(encoding="utf-8").replace(
            "such as A1002\n      - action: action_check_order",
            "such as A1002\n      - action: utter_checking_order\n"
            "      - action: action_check_order",
        ),
        encoding="utf-8",
    )
    (sample / "domain" / "checking.yml").write_text(
        'version: "3.1"\nresponses:\n  utter_checking_order:\n'
        '    - text: "Let me look that order up."\n',
        encoding="utf-8",
    )
    code, out, _ = main_out(capsys, "replay", summary.id, str(sample))
    assert code == 1
    flat = " ".join(out.split())
    assert "turn 1 of 2 behaves differently, user: 'please cancel my order A1002'" in flat
    assert "bot messages, now: [utter_checking_order] 'Let me look that order up.'" in flat
    assert postgres_counts(loaded_pg) == (FIXTURE_ROWS, 0)
