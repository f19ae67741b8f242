"""A Rasa SQL tracker store at production scale, for the `tracker_store_scale` benchmark.

The conversations are those Rasa's own SQLTrackerStore wrote for the test fixture
(tests/fixtures/tracker_store/events.json: an order status check, a loyalty question
handed to a human, a cancellation that hit pattern_internal_error, an off-topic
question that hit pattern_cannot_handle), replicated under new sender ids with their
timestamps shifted: one conversation starts every `SPACING_S` seconds, so 100,000 cover
about a month. Shares: 1 % hit pattern_internal_error, 19 % pattern_cannot_handle,
20 % a human handoff, the rest check an order; every `LONG_EVERY`-th conversation is
a 50-turn one (the order check's three turns, said again and again).

Rows are written in Rasa's schema with the one index Rasa creates (`sender_id`), by
COPY into PostgreSQL and executemany into SQLite, then ANALYZEd as autovacuum would.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker_store_servers import EVENTS_TABLE  # tests/ is on sys.path (run.py puts it)

FIXTURE = Path(__file__).resolve().parent.parent / "tests/fixtures/tracker_store/events.json"
COLUMNS = ("id", "sender_id", "type_name", "timestamp", "intent_name", "action_name", "data")
# what Rasa's SQLTrackerStore creates (`sender_id = Column(..., index=True)`)
SENDER_INDEX = "CREATE INDEX ix_events_sender_id ON events (sender_id)"

START = 1_796_000_000.0  # the first conversation's start (2026-11-30)
SPACING_S = 26.0  # between conversation starts: 100,000 span 30 days
LONG_EVERY = 20_000  # one 50-turn conversation in this many
LONG_TURNS = 50
CLEAR_STACK = (
    '{"event": "stack", "timestamp": {ts}, "metadata": {}, "update":'
    ' "[{\\"op\\": \\"remove\\", \\"path\\": \\"/1\\"},'
    ' {\\"op\\": \\"remove\\", \\"path\\": \\"/0\\"}]"}'
)
# per 100 conversations: which fixture conversation each one copies
SHARES = (("cancel-b2c4", 1), ("mars-91d0", 19), ("handoff-e5b7", 20), ("order-7f3a", 60))
PATTERN_SHARE = {"internal_error": 0.01, "cannot_handle": 0.19, "human_handoff": 0.20}
ORDER_FLOW = "check_order_status"  # the flow a `--flow` listing asks for (60 %)
RARE_WORD = "cancel"  # said in the 1 % that hit pattern_internal_error only


@dataclass(frozen=True)
class _Event:
    type_name: str
    offset: float  # seconds after the conversation's first event
    intent_name: str | None
    action_name: str | None
    data: str  # with `{ts}` where the event's timestamp goes

    def row(self, ident: int, sender: str, start: float) -> tuple[Any, ...]:
        stamp = start + self.offset
        return (
            ident,
            sender,
            self.type_name,
            stamp,
            self.intent_name,
            self.action_name,
            self.data.replace("{ts}", repr(stamp)),
        )


def _templates() -> dict[str, list[_Event]]:
    rows = json.loads(FIXTURE.read_text(encoding="utf-8"))
    by_sender: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_sender.setdefault(row["sender_id"], []).append(row)
    templates = {}
    for sender, own in by_sender.items():
        first = float(own[0]["timestamp"])
        templates[sender] = [
            _Event(
                r["type_name"],
                float(r["timestamp"]) - first,
                r["intent_name"],
                r["action_name"],
                r["data"].replace(f'"timestamp": {r["timestamp"]!r}', '"timestamp": {ts}'),
            )
            for r in own
        ]
    order = templates["order-7f3a"]
    # the session start (3 events), then the order check's turns again and again; each
    # time its last two frames (satisfaction survey, collecting the rating) are taken
    # off, so that the next time's patches fit an empty stack, as in Rasa's store
    head, block = order[:3], order[3:]
    span = block[-1].offset - block[0].offset + 1.0
    block.append(_Event("stack", span - 0.5, None, None, CLEAR_STACK))
    long = list(head)
    turns = 0
    for n in itertools.count():
        for event in block:
            turns += event.type_name == "user"
            if turns > LONG_TURNS:
                break
            long.append(_shifted(event, n * span))
        if turns > LONG_TURNS:
            break
    templates["long"] = long
    return templates


def _shifted(event: _Event, by: float) -> _Event:
    return _Event(
        event.type_name, event.offset + by, event.intent_name, event.action_name, event.data
    )


@dataclass
class BuiltStore:
    conversations: int
    rows: int
    long_senders: list[str]


def conversations(count: int, seed: int = 7) -> Iterator[tuple[str, str, float]]:
    """(sender id, template, start) of each conversation, oldest first."""
    templates = [name for name, share in SHARES for _ in range(share)]
    rng = random.Random(seed)
    for index in range(count):
        sender = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        long = index % LONG_EVERY == min(LONG_EVERY, count) // 2
        template = "long" if long else templates[index % 100]
        yield sender, template, START + index * SPACING_S + rng.uniform(0, SPACING_S / 2)


def rows(count: int, built: BuiltStore) -> Iterator[tuple[Any, ...]]:
    templates = _templates()
    ident = 0
    for sender, template, start in conversations(count):
        if template == "long":
            built.long_senders.append(sender)
        for event in templates[template]:
            ident += 1
            yield event.row(ident, sender, start)
    built.rows = ident


def load_postgres(engine: Any, count: int, chunk_rows: int = 200_000) -> BuiltStore:
    """Create Rasa's `events` table in the engine's database and COPY `count`
    conversations into it."""
    import sqlalchemy as sa

    built = BuiltStore(count, 0, [])
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS events"))
        conn.execute(sa.text(EVENTS_TABLE.format(id="SERIAL")))
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        pending = 0

        def flush() -> None:
            buffer.seek(0)
            cursor.copy_expert(f"COPY events ({', '.join(COLUMNS)}) FROM STDIN WITH CSV", buffer)
            buffer.seek(0)
            buffer.truncate()

        for row in rows(count, built):
            # CSV writes None as an empty field, which COPY ... CSV reads as NULL
            writer.writerow(row)
            pending += 1
            if pending >= chunk_rows:
                flush()
                pending = 0
        if pending:
            flush()
        cursor.execute(SENDER_INDEX)
        cursor.execute("SELECT setval('events_id_seq', (SELECT MAX(id) FROM events))")
        raw.commit()
        raw.set_isolation_level(0)  # VACUUM runs outside a transaction
        cursor.execute("VACUUM ANALYZE events")
    finally:
        raw.close()
    return built


def load_sqlite(path: Path, count: int) -> BuiltStore:
    built = BuiltStore(count, 0, [])
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute(EVENTS_TABLE.format(id="INTEGER"))
        conn.executemany(
            f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            rows(count, built),
        )
        conn.execute(SENDER_INDEX)
        conn.commit()
        conn.execute("ANALYZE")
    finally:
        conn.close()
    return built
