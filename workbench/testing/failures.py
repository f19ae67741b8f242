"""Failing test cases kept as sessions, so that `calm-tui test --open-failures` (and the
session browser afterwards) can show a failure turn by turn, every panel on the turn
where the test diverged."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workbench.store.redact import Scrubber
from workbench.store.sessions import SessionStore
from workbench.testing.results import CaseResult, RunResult
from workbench.trace.turn import TurnTrace

TITLE_PREFIX = "test failed: "


@dataclass(frozen=True)
class StoredFailure:
    session_id: str
    title: str
    # the position in the case's turns where it diverged (None: its last turn)
    turn: int | None


def failing_turn(case: CaseResult) -> int | None:
    """Where the case diverged: the last turn with the failing message, None for the last
    turn (a conversation stops at its failing step)."""
    traces = case.traces
    view = case.failure.turn if case.failure is not None else None
    if view is None or view.user_text is None:
        return None
    for position in range(len(traces) - 1, -1, -1):
        if traces[position].user_text == view.user_text:
            return position if position < len(traces) - 1 else None
    return None


def store_failures(
    root: Path, run: RunResult, generator: str, scrubber: Scrubber | None = None
) -> list[StoredFailure]:
    """Each failed case that ran a turn, as a stored session of the project (its secrets
    masked as in any session), titled after the case."""
    stored: list[StoredFailure] = []
    with SessionStore(root) as store:
        for case in run.failed:
            if not case.traces:
                continue
            title = f"{TITLE_PREFIX}{case.file}::{case.name}"
            session_id = _save(store, case, case.traces, generator, scrubber or Scrubber())
            store.rename(session_id, title)
            store.end_session(session_id)
            stored.append(StoredFailure(session_id, title, failing_turn(case)))
    return stored


def _save(
    store: SessionStore,
    case: CaseResult,
    traces: list[TurnTrace],
    generator: str,
    scrubber: Scrubber,
) -> str:
    fingerprint = traces[-1].project_fingerprint
    session_id = store.create_session(generator, case.sender_id, 0, fingerprint)
    for trace in traces:
        store.add_turn(session_id, trace, scrubber=scrubber)
    return session_id
