"""MongoDB and Redis tracker stores: where they are configured, and what the workbench makes
of Rasa's MongoDB documents.

No MongoDB server can run on this machine (none is packaged for it), so a listing or an
import against a live MongoDB is not tested here. What is tested for real: the official
pymongo client against a closed port, the configuration from endpoints.yml and URLs, and
the documents Rasa's MongoTrackerStore writes (mongo.json, made with Rasa's own code from
the SQL fixture's conversations) read into the same events and turns as the SQL rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bson import ObjectId
from tracker_store_servers import FIXTURE, fixture_rows, free_port, make_sqlite_store
from tracker_store_servers import run_import as run

from workbench.project.tracker_store import (
    MongoStoreConfig,
    RedisStoreConfig,
    TrackerStoreConfigError,
    from_endpoints,
    from_url,
)
from workbench.store.mongo_tracker_store import plain
from workbench.store.rasa_import import event_of
from workbench.store.rasa_tracker_store import Narrowing
from workbench.store.sessions import store_path
from workbench.store.sql_tracker_store import SqlTrackerStoreReader
from workbench.store.stored_trackers import event_rows, summed_up, tracker_entries

MONGO_FIXTURE = FIXTURE.parent / "mongo.json"


# -- configuration --------------------------------------------------------------------------


def test_mongodb_urls_are_read_with_the_credentials_kept_apart():
    config = from_url(
        "mongodb://ann:p%40ss@db1:27017,db2:27018/prod"
        "?replicaSet=rs0&authSource=users&collection=chats"
    )
    assert config == MongoStoreConfig(
        hosts="db1:27017,db2:27018",
        db="prod",
        collection="chats",
        username="ann",
        password="p@ss",
        auth_source="users",
        options=(("replicaSet", "rs0"),),
    )
    assert config.uri == "mongodb://db1:27017,db2:27018/?replicaSet=rs0"
    assert config.label == "mongodb://db1:27017,db2:27018/prod?collection=chats"
    assert "p@ss" not in repr(config)
    plain_url = from_url("mongodb+srv://cluster0.example.net")
    assert isinstance(plain_url, MongoStoreConfig)
    assert (plain_url.srv, plain_url.db, plain_url.collection, plain_url.username) == (
        True,
        "rasa",
        "conversations",
        None,
    )
    with pytest.raises(TrackerStoreConfigError, match="names no host"):
        from_url("mongodb:///rasa")


def test_the_mongod_endpoint_takes_rasas_keys():
    section = {
        "type": "mongod",
        "url": "mongodb://mongo.internal:27017",
        "db": "assistant",
        "username": "rasa",
        "password": "hunter22",
        "auth_source": "rasa_users",
        "collection": "trackers",
    }
    config = from_endpoints({"tracker_store": section})
    assert config == MongoStoreConfig(
        hosts="mongo.internal:27017",
        db="assistant",
        collection="trackers",
        username="rasa",
        password="hunter22",
        auth_source="rasa_users",
    )
    # Rasa's defaults, and a bare host as `url`
    assert from_endpoints({"tracker_store": {"type": "mongod", "url": "db"}}) == MongoStoreConfig(
        hosts="db"
    )
    assert from_endpoints({"tracker_store": {"type": "mongod"}}) == MongoStoreConfig()


def test_redis_urls_and_the_redis_endpoint():
    config = from_url("rediss://ops:s3cret@cache.internal:6380/2?key_prefix=prod")
    assert config == RedisStoreConfig(
        host="cache.internal",
        port=6380,
        db=2,
        username="ops",
        password="s3cret",
        key_prefix="prod",
        use_ssl=True,
    )
    assert isinstance(config, RedisStoreConfig)
    assert config.tracker_prefix == "prod:tracker:"
    assert config.label == "rediss://cache.internal:6380/2?key_prefix=prod"
    assert "s3cret" not in repr(config)
    assert from_url("redis://localhost") == RedisStoreConfig()
    section = {
        "type": "redis",
        "url": "cache",
        "port": "6390",
        "db": "1",
        "password": "pw",
        "use_ssl": "true",
        "ssl_ca_certs": "/etc/ca.pem",
        "record_exp": 3600,
    }
    from_section = from_endpoints({"tracker_store": section})
    assert from_section == RedisStoreConfig(
        host="cache", port=6390, db=1, password="pw", use_ssl=True, ssl_ca_certs="/etc/ca.pem"
    )
    assert isinstance(from_section, RedisStoreConfig)
    assert from_section.tracker_prefix == "tracker:"
    with pytest.raises(TrackerStoreConfigError, match="key_prefix 'pro-d' is not alphanumeric"):
        from_endpoints({"tracker_store": {"type": "redis", "key_prefix": "pro-d"}})
    with pytest.raises(TrackerStoreConfigError, match="deployment_mode: cluster"):
        from_endpoints({"tracker_store": {"type": "redis", "deployment_mode": "cluster"}})
    with pytest.raises(TrackerStoreConfigError, match="port 'abc' is no number"):
        from_endpoints({"tracker_store": {"type": "redis", "port": "abc"}})
    with pytest.raises(TrackerStoreConfigError, match="use_ssl 'maybe' is no true/false"):
        from_endpoints({"tracker_store": {"type": "redis", "use_ssl": "maybe"}})
    with pytest.raises(TrackerStoreConfigError, match="bad port"):
        from_url("redis://:pw@host:port/0")


# -- a server that is down, through the real client ----------------------------------------


def test_a_mongodb_server_that_is_down_is_a_clear_error(make_project, capsys, monkeypatch):
    from workbench.store import mongo_tracker_store

    monkeypatch.setattr(mongo_tracker_store, "CONNECT_TIMEOUT_S", 1)  # the client's wait
    port = free_port()
    monkeypatch.setenv("MONGO_PASSWORD", "hunter22")
    root = make_project(
        {
            "endpoints.yml": f"""\
                tracker_store:
                  type: mongod
                  url: mongodb://127.0.0.1:{port}
                  db: rasa
                  username: rasa
                  password: ${{MONGO_PASSWORD}}
            """
        }
    )
    code, _out, err = run(capsys, str(root), "--list")
    assert code == 1
    message = " ".join(err.split())
    assert f"cannot read the tracker store mongodb://127.0.0.1:{port}/rasa:" in message
    assert "Connection refused" in message
    assert "hunter22" not in err
    code, _out, err = run(
        capsys, str(root), "--tracker-store", f"mongodb://rasa:hunter22@127.0.0.1:{port}", "x"
    )
    assert code == 1 and "Connection refused" in err and "hunter22" not in err
    assert not store_path(root).exists()


# -- Rasa's documents -----------------------------------------------------------------------


def test_rasas_mongo_documents_read_as_the_same_events_as_its_sql_rows(
    tmp_path: Path,
):
    documents = json.loads(MONGO_FIXTURE.read_text(encoding="utf-8"))
    assert {d["sender_id"] for d in documents} == {r["sender_id"] for r in fixture_rows()}
    db = make_sqlite_store(tmp_path / "rasa.db")
    with SqlTrackerStoreReader(from_url(f"sqlite:///{db}")) as sql:
        aggregated = {s.sender_id: s for s in sql.senders(Narrowing(), 10)}
        for document in documents:
            sender = document["sender_id"]
            # as pymongo hands a document over: with its _id
            stored = plain({"_id": ObjectId(), **document})
            entries = tracker_entries(sender, stored, "'conversations'")
            events = [event_of(row) for row in event_rows(sender, entries)]
            assert events == [event_of(row) for row in sql.events(sender)]
            assert summed_up(sender, entries) == aggregated[sender]
            # the time Rasa keeps beside the events is the last event's
            assert document["latest_event_time"] == aggregated[sender].last_at
    only_listed = event_rows("x", documents[0]["events"], ("user", "bot"))
    assert {r.type_name for r in only_listed} == {"user", "bot"}
    assert [r.id for r in only_listed][:2] == [4, 12]  # their places in the whole list


def test_values_only_mongodb_has_are_read_as_text():
    from datetime import datetime, timezone

    oid = ObjectId("64b000000000000000000000")
    at = datetime(2026, 11, 30, tzinfo=timezone.utc)
    assert plain({"a": [oid, at, 1, 2.5, None, True], "b": {"c": "d"}}) == {
        "a": ["64b000000000000000000000", "2026-11-30T00:00:00+00:00", 1, 2.5, None, True],
        "b": {"c": "d"},
    }
