"""The imported turns agree with Rasa's own reading of the same tracker store rows.

Needs rasa-pro (scripts/check-rasa-env.sh runs this folder in a Rasa Pro environment).
The fixture rows (tests/fixtures/tracker_store/events.json, written by Rasa's
SQLTrackerStore) are put in a SQLite file; for every turn the workbench imports, Rasa's
SQLTrackerStore reads the conversation back and a Rasa tracker of the events up to the
end of that turn must have the same dialogue stack, and the turn the same events."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

# imported first: importing the stack frames alone runs into a circular import in Rasa
import rasa.dialogue_understanding.commands  # noqa: F401  # isort: skip
from rasa.core.tracker_stores.sql_tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker_store_servers import fixture_rows, make_sqlite_store

from workbench.project.tracker_store import from_url
from workbench.store.rasa_import import event_of, turns_of
from workbench.store.sql_tracker_store import SqlTrackerStoreReader


def test_each_imported_turn_has_the_stack_rasa_rebuilds(tmp_path: Path):
    db = make_sqlite_store(tmp_path / "rasa.db")
    store = SQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(db))
    senders = sorted({row["sender_id"] for row in fixture_rows()})
    checked = 0
    with SqlTrackerStoreReader(from_url(f"sqlite:///{db}")) as reader:
        for sender in senders:
            rasa_tracker = asyncio.run(store.retrieve_full_tracker(sender))
            rasa_events = [e.as_dict() for e in rasa_tracker.events]
            events = [event_of(row) for row in reader.events(sender)]
            assert len(events) == len(rasa_events)
            for trace, _ in turns_of(events):
                end = trace.event_offset + len(trace.events)
                rebuilt = DialogueStateTracker.from_dict(sender, rasa_events[:end], [])
                assert [f.as_dict() for f in trace.stack_after] == rebuilt.stack.as_dict()
                assert [e.type for e in trace.events] == [
                    e["event"] for e in rasa_events[trace.event_offset : end]
                ]
                checked += 1
    assert checked == 13  # 4 + 2 + 2 + 5 turns, the session starts included


def test_rasas_redis_trackers_read_as_rasa_reads_them():
    """Each tracker Rasa's RedisTrackerStore stored (tests/fixtures/tracker_store/redis.json):
    the events the workbench reads from it are the ones Rasa's own `deserialise_tracker`
    rebuilds from the same text."""
    from rasa.core.tracker_stores.redis_tracker_store import RedisTrackerStore
    from tracker_store_servers import redis_fixture

    from workbench.store.stored_trackers import decoded_tracker, event_rows, tracker_entries

    # only its text handling is used: the client connects on a first command, never sent
    store = RedisTrackerStore(domain=Domain.empty(), host="127.0.0.1", port=1)
    read = 0
    for key, text in redis_fixture().items():
        sender = key.rsplit("tracker:", 1)[1]
        rasa_events = [e.as_dict() for e in store.deserialise_tracker(sender, text).events]
        entries = tracker_entries(sender, decoded_tracker(sender, text, key), key)
        assert [event_of(row) for row in event_rows(sender, entries)] == rasa_events
        read += 1
    assert read == 8
