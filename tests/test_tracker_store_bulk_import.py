"""`calm-tui sessions import --all-matching` at scale: a store of many conversations is
imported page by page as the imports go (never more than a page read at once), with a
progress bar on a terminal only, and a conversation that cannot be read stores nothing
of itself and stops none of the others."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tracker_store_servers import (
    PostgresServer,
    copied_rows,
    load_postgres,
    make_sqlite_store,
    postgres_counts,
    postgres_server,
)
from tracker_store_servers import run_import as run

from workbench.cli import run_progress
from workbench.project.tracker_store import SqlStoreConfig
from workbench.store import tracker_import
from workbench.store.sessions import SessionStore
from workbench.store.sql_tracker_store import SqlTrackerStoreReader

COPIES = 10  # the fixture's 4 conversations 10 more times: 44
HIDE_CURSOR = "\x1b[?25l"  # what a live progress display writes first


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture
def many_pg(pg: PostgresServer) -> PostgresServer:
    load_postgres(pg, extra=copied_rows(COPIES))
    return pg


@pytest.fixture
def project(make_project) -> Path:
    return make_project()


def imported_senders(project: Path) -> list[str]:
    with SessionStore(project) as store:
        rows = store.db.execute("SELECT sender_id FROM sessions").fetchall()
    return sorted(str(r[0]) for r in rows)


def cancels(copies: int = COPIES) -> list[str]:
    return sorted(["cancel-b2c4", *(f"cancel-b2c4-{n}" for n in range(1, copies + 1))])


class QueryLog:
    """What the import asked the tracker store, in order, next to what it stored: the
    reader's own methods, wrapped, so the real queries still run."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, object]] = []
        senders, count = SqlTrackerStoreReader.senders, SqlTrackerStoreReader.count
        events_of_senders = SqlTrackerStoreReader.events_of_senders
        import_session = SessionStore.import_session

        def logged_senders(reader, narrowing, limit, after=None):
            page = senders(reader, narrowing, limit, after)
            self.calls.append(("page", (limit, len(page))))
            return page

        def logged_count(reader, narrowing):
            self.calls.append(("count", None))
            return count(reader, narrowing)

        def logged_events(reader, senders, types=None):
            if types is None:  # every event: read to import (else to list)
                self.calls.append(("read", len(senders)))
            return events_of_senders(reader, senders, types)

        def logged_import(store, **kwargs):
            self.calls.append(("import", kwargs["sender_id"]))
            return import_session(store, **kwargs)

        monkeypatch.setattr(SqlTrackerStoreReader, "senders", logged_senders)
        monkeypatch.setattr(SqlTrackerStoreReader, "count", logged_count)
        monkeypatch.setattr(SqlTrackerStoreReader, "events_of_senders", logged_events)
        monkeypatch.setattr(SessionStore, "import_session", logged_import)

    def of(self, kind: str) -> list[object]:
        return [value for what, value in self.calls if what == kind]


def test_all_matching_streams_page_by_page_and_imports_every_match(
    project: Path, many_pg: PostgresServer, capsys, monkeypatch
):
    monkeypatch.setattr(tracker_import, "BULK_PAGE_SIZE", 3)
    monkeypatch.setattr(tracker_import, "IMPORT_BATCH", 3)
    log = QueryLog(monkeypatch)
    code, out, err = run(
        capsys,
        str(project),
        "--tracker-store",
        many_pg.url(),
        "--all-matching",
        "--pattern",
        "internal_error",
    )
    assert code == 0, err
    assert imported_senders(project) == cancels()
    # 11 conversations hit the pattern: pages of 3, 3, 3 and 2, never more at once
    assert log.of("page") == [(3, 3), (3, 3), (3, 3), (3, 2)]
    assert len(log.of("count")) == 1  # the total, counted once more pages follow
    # one query reads the events of a batch, not one per conversation
    assert log.of("read") == [3, 3, 3, 2]
    # streamed: the first page's conversations are stored before the second is read
    kinds = [what for what, _ in log.calls]
    assert kinds[:7] == ["page", "count", "read", "import", "import", "import", "page"]
    newest_first = [f"cancel-b2c4-{n}" for n in range(COPIES, 0, -1)] + ["cancel-b2c4"]
    assert log.of("import") == newest_first
    assert "11 imported, 0 imported before, 0 not imported" in " ".join(out.split())
    assert postgres_counts(many_pg)[1] == 0  # nothing written to the tracker store

    # again: nothing is imported twice, and the store is paged through the same way
    code, out, _ = run(
        capsys, str(project), "--tracker-store", many_pg.url(), "--all-matching", "-q"
    )
    assert code == 0
    assert "33 imported, 11 imported before, 0 not imported" in " ".join(out.split())
    assert len(imported_senders(project)) == 4 * (COPIES + 1)
    assert {limit for limit, _ in log.of("page")} == {3}


def test_all_matching_pages_through_sqlite_too(project: Path, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setattr(tracker_import, "BULK_PAGE_SIZE", 4)
    db = make_sqlite_store(tmp_path / "rasa.db", extra=copied_rows(COPIES))
    log = QueryLog(monkeypatch)
    code, _out, err = run(
        capsys, str(project), "--tracker-store", f"sqlite:///{db}", "--all-matching", "-q"
    )
    assert code == 0, err
    assert len(imported_senders(project)) == 44
    assert log.of("page") == [(4, 4)] * 11 + [(4, 0)]
    with SessionStore(project) as store:
        [copy] = [s for s in store.list_sessions(limit=100) if s.sender_id == "order-7f3a-3"]
        turns = store.get_turns(copy.id)
    assert [t.user_text for t in turns[1:]] == [
        "where is my order?",
        "it's A1001",
        "no, that's all",
    ]
    assert turns[2].slots_after["order_id"] == "A1001"


def test_a_malformed_conversation_stores_nothing_and_stops_none_of_the_others(
    project: Path, pg: PostgresServer, capsys, monkeypatch
):
    monkeypatch.setattr(tracker_import, "BULK_PAGE_SIZE", 3)
    broken = {
        "id": 5000,
        "sender_id": "cancel-b2c4-5",
        "type_name": "slot",
        "timestamp": 1796435610.0,  # within the copy's own turn
        "intent_name": None,
        "action_name": None,
        "data": "[1, 2",
    }
    load_postgres(pg, extra=[*copied_rows(COPIES), broken])
    code, out, _ = run(
        capsys,
        str(project),
        "--tracker-store",
        pg.url(),
        "--all-matching",
        "--pattern",
        "internal_error",
    )
    text = " ".join(out.split())
    assert code == 1
    assert "not imported conversation 'cancel-b2c4-5', event row 5000 (slot)" in text
    assert "10 imported, 0 imported before, 1 not imported" in text
    assert "1 of 11 conversations were not imported" in text
    assert imported_senders(project) == [s for s in cancels() if s != "cancel-b2c4-5"]
    with SessionStore(project) as store:
        stored = store.db.execute("SELECT COUNT(*), SUM(turn_count) FROM sessions").fetchone()
        turns = store.db.execute("SELECT COUNT(*) FROM turns").fetchone()[0]
    assert stored == (10, turns)  # every turn belongs to a session that was imported


def test_the_progress_bar_shows_on_a_terminal_only_and_never_with_quiet(
    project: Path, many_pg: PostgresServer, capsys, monkeypatch
):
    monkeypatch.setattr(run_progress, "SHOW_AFTER_S", 0.0)
    monkeypatch.setattr(tracker_import, "BULK_PAGE_SIZE", 5)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    url = many_pg.url()

    def bulk(*extra: str) -> str:
        code, out, err = run(
            capsys,
            str(project),
            "--tracker-store",
            url,
            "--all-matching",
            "--text",
            "order",
            *extra,
        )
        assert code == 0, err
        (project / ".calm" / "sessions.db").unlink()  # each run imports them all again
        for other in (project / ".calm").glob("sessions.db-*"):
            other.unlink()
        return out

    out = bulk()
    assert HIDE_CURSOR not in out  # not a terminal: a CI log or a file
    assert "imported order-7f3a-1 as session" in out
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    shown = bulk()
    # the conversations where someone said "order": the order checks and cancellations
    assert HIDE_CURSOR in shown and "22/22" in shown
    assert "imported order-7f3a-1 as session" in shown
    quiet = bulk("--quiet")
    assert HIDE_CURSOR not in quiet
    assert "imported order-7f3a-1" not in quiet
    assert "22 imported, 0 imported before, 0 not imported" in " ".join(quiet.split())


def test_named_conversations_show_the_bar_too(
    project: Path, many_pg: PostgresServer, capsys, monkeypatch
):
    monkeypatch.setattr(run_progress, "SHOW_AFTER_S", 0.0)
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    ids = [f"mars-91d0-{n}" for n in range(1, 6)]
    code, out, err = run(capsys, str(project), "--tracker-store", many_pg.url(), *ids, "nobody")
    assert code == 1, err
    assert HIDE_CURSOR in out and "6/6" in out and "1 failed" in out
    assert imported_senders(project) == sorted(ids)


def test_the_total_is_counted_by_the_server(many_pg: PostgresServer, tmp_path: Path):
    from workbench.project.tracker_store import from_url
    from workbench.store.tracker_import import ConversationFilter

    db = make_sqlite_store(tmp_path / "rasa.db", extra=copied_rows(COPIES))
    for url in (many_pg.url(), f"sqlite:///{db}"):
        config = from_url(url)
        assert isinstance(config, SqlStoreConfig)
        with SqlTrackerStoreReader(config) as reader:
            count = lambda **f: reader.count(ConversationFilter(**f).narrowing())  # noqa: E731
            assert count() == 44
            assert count(pattern="cannot_handle") == 11
            assert count(sender="mars-91d0-2") == 1
            # copies 4-10 of each, and copy 3 of mars and the handoff
            assert count(since=1796007200.0 + 3 * 86400) == 30
            # the prompts kept with each message name the `cancel flow` command: a word
            # is looked for in what was said, so the server selects the cancellations only
            assert count(text="cancel") == COPIES + 1


def test_a_listing_json_is_unchanged_by_the_bigger_store(
    project: Path, many_pg: PostgresServer, capsys
):
    code, out, _ = run(
        capsys, str(project), "--tracker-store", many_pg.url(), "--list", "--format", "json"
    )
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 44
    assert rows[0]["sender_id"] == "handoff-e5b7-10"


def test_a_store_that_cannot_count_shows_what_is_done_and_how_fast(
    project: Path, capsys, monkeypatch
):
    """Redis walks its keys in no order and cannot count them: the bar has no total
    (done of `?`), and every conversation is still imported once."""
    from tracker_store_servers import redis_fixture, redis_server

    monkeypatch.setattr(run_progress, "SHOW_AFTER_S", 0.0)
    monkeypatch.setattr(tracker_import, "BULK_PAGE_SIZE", 7)
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    order = json.loads(redis_fixture()["tracker:order-7f3a"])
    with redis_server() as server:
        server.load({f"tracker:order-{n:03d}": json.dumps(order) for n in range(30)})
        code, out, err = run(
            capsys, str(project), "--tracker-store", server.url(), "--all-matching"
        )
    assert code == 0, err
    assert HIDE_CURSOR in out and "30/?" in out
    assert imported_senders(project) == [f"order-{n:03d}" for n in range(30)]
