"""Conversation analysis over a session store: `calm-tui sessions stats` and the session
browser's Statistics view.

Sessions are read one at a time, and of each turn only what the figures need: SQLite
picks the source, the events, the dropped commands and the stack before the turn out of
the stored trace, and `trace/stats.py` counts them. No trace is rebuilt and none is kept,
so a store of thousands of sessions is read in the memory of one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from workbench.store.sessions import SessionStore
from workbench.trace.stats import EXAMPLES, ConversationStats, StatsBuilder, TurnFacts, turn_facts

ORIGINS = ("all", "local", "imported")
# ids asked for at once when the sessions are named (well below SQLite's variable limit)
_CHUNK = 500


@dataclass(frozen=True)
class StatsFilter:
    """Which turns and sessions count. `since`/`until`: ISO 8601 UTC times, compared with
    the time each turn started (as the store keeps it); `origin`: local sessions, imported
    ones or all; `flow`: only sessions that started this flow; `session_ids`: only these
    sessions (None: every one)."""

    since: str | None = None
    until: str | None = None
    origin: str = "all"
    flow: str | None = None
    session_ids: Sequence[str] | None = None


def conversation_stats(
    store: SessionStore,
    wanted: StatsFilter = StatsFilter(),
    *,
    top: int = 10,
    examples: int = EXAMPLES,
) -> ConversationStats:
    """The figures of the sessions `wanted` selects, oldest session first."""
    if wanted.origin not in ORIGINS:
        raise ValueError(f"origin must be one of {', '.join(ORIGINS)}, not {wanted.origin!r}")
    builder = StatsBuilder(flow=wanted.flow, top=top, examples=examples)
    for session_id, origin in _sessions(store, wanted):
        builder.add_session(bool(origin), _turns(store, session_id, wanted))
    return builder.result()


def _sessions(store: SessionStore, wanted: StatsFilter) -> Iterator[tuple[str, str]]:
    where = {"all": "1", "local": "origin = ''", "imported": "origin != ''"}[wanted.origin]
    order = " ORDER BY started_at, id"
    if wanted.session_ids is None:
        # fetched in one go: ids are small, and a cursor left open across the turn
        # queries of each session would hold a read transaction for the whole count
        rows = store.db.execute(f"SELECT id, origin FROM sessions WHERE {where}{order}")
        yield from ((str(i), str(o or "")) for i, o in rows.fetchall())
        return
    ids = list(dict.fromkeys(wanted.session_ids))
    found: dict[str, str] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ", ".join("?" for _ in chunk)
        rows = store.db.execute(
            f"SELECT id, origin FROM sessions WHERE {where} AND id IN ({marks})", chunk
        )
        found.update((str(i), str(o or "")) for i, o in rows.fetchall())
    yield from ((i, found[i]) for i in ids if i in found)


# the fields of a stored trace the figures read; a row that is no JSON gives NULL
_PICKED = (
    "CASE WHEN NOT json_valid(trace_json) THEN NULL"
    " WHEN json_type(trace_json) = 'object' THEN json_object("
    + ", ".join(
        f"'{name}', trace_json -> '$.{name}'"
        for name in ("source", "events", "dropped", "stack_before")
    )
    + ") END"
)


def _turns(store: SessionStore, session_id: str, wanted: StatsFilter) -> Iterator[TurnFacts]:
    sql = f"SELECT idx, started_at, user_text, {_PICKED} FROM turns WHERE session_id = ?"
    params: list[str] = [session_id]
    if wanted.since is not None:
        sql += " AND started_at >= ?"
        params.append(wanted.since)
    if wanted.until is not None:
        sql += " AND started_at <= ?"
        params.append(wanted.until)
    cursor = store.db.execute(sql + " ORDER BY idx", params)
    while rows := cursor.fetchmany(100):
        for idx, started_at, user_text, picked in rows:
            yield turn_facts(session_id, int(idx), str(started_at), str(user_text or ""), picked)


__all__ = ["ORIGINS", "StatsFilter", "conversation_stats"]
