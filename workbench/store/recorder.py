"""`SessionRecorder`: saves a shell's turns as they happen (the shell's `on_turn` hook).

The session row is created lazily, at the first turn the user asked for: the automatic
`/session_start` greeting is held back until then and saved as turn 0, so starting a
shell and quitting at once leaves nothing behind. A turn that cannot be saved (locked
or read-only database) is reported and kept; it is retried with the next turn.

A recorder holds the lease of the session it writes (`lease.py`) from its first save
until `close()`, so that no other process appends to it meanwhile. Should a turn's index
be taken all the same (a writer that takes no lease), the conversation goes on in a fork
of the session: no turn is dropped.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.calm.names import is_session_start
from workbench.errors import WorkbenchError
from workbench.store.lease import SessionLease
from workbench.store.redact import Scrubber
from workbench.trace.turn import TurnTrace

if TYPE_CHECKING:
    from workbench.store.sessions import SessionStore


def _warn(message: str) -> None:
    print(f"calm-tui: warning: {message}", file=sys.stderr, flush=True)


class SessionChangedError(WorkbenchError, RuntimeError):
    """The session to resume has more turns than were read: it was written meanwhile."""


class ImportedSessionError(WorkbenchError, RuntimeError):
    """The session to resume was imported from a tracker store: it is kept as recorded."""


class SessionRecorder:
    def __init__(
        self,
        project_root: Path,
        *,
        generator: str,
        sender_id: str,
        seed: int,
        project_fingerprint: str,
        warn: Callable[[str], None] = _warn,
        scrubber: Scrubber | None = None,
    ) -> None:
        self.project_root = project_root
        self.generator = generator
        self.sender_id = sender_id
        self.seed = seed
        self.project_fingerprint = project_fingerprint
        self.warn = warn
        # the conversation's: a secret of one turn stays masked in every later one
        self.scrubber = scrubber if scrubber is not None else Scrubber()
        self.store: SessionStore | None = None
        self.session_id: str | None = None
        self.lease: SessionLease | None = None
        self.pending: list[tuple[TurnTrace, datetime]] = []
        # the title of the session it creates (None: its first message, as the store does)
        self.title: str | None = None

    def __call__(self, trace: TurnTrace) -> None:
        self.pending.append((trace, datetime.now(timezone.utc)))
        if self.session_id is None and all(is_session_start(t.user_text) for t, _ in self.pending):
            return
        try:
            self._flush()
        except (sqlite3.Error, OSError, RuntimeError, LookupError) as exc:
            self.warn(f"turn {trace.index} was not saved to the session store: {exc}")

    def resume(self, session_id: str, turns: int, lease: SessionLease | None = None) -> None:
        """Append the coming turns to stored session `session_id`, read with `turns`
        turns. Takes the session's lease unless given it: SessionInUseError while
        another process writes the session, SessionChangedError when it has more turns
        than were read (nothing is changed then, and a given lease is released)."""
        try:
            store = self._open()
            if lease is None:
                lease = SessionLease.acquire(store.path, session_id)
            summary = store.get_session_exact(session_id)
            if summary is not None and summary.imported:
                raise ImportedSessionError(
                    f"session {session_id} was imported from {summary.origin}: it is read-only "
                    "and cannot be resumed"
                )
            stored = store.next_index(session_id)
            if stored != turns:
                raise SessionChangedError(
                    f"session {session_id} has {stored} turns now, not the {turns} read: "
                    "it was written meanwhile; open it again"
                )
            store.reopen_session(session_id)
        except BaseException:
            if lease is not None:
                lease.release()
            raise
        self.release()
        self.session_id, self.lease = session_id, lease

    def take_lease(self) -> SessionLease | None:
        """Hand this recorder's lease to another (resuming the session it writes);
        `close()` then leaves it held."""
        lease, self.lease = self.lease, None
        return lease

    def release(self) -> None:
        if self.lease is not None:
            self.lease.release()
            self.lease = None

    def _open(self) -> SessionStore:
        if self.store is None:
            from workbench.store.sessions import (
                SessionStore,  # sqlite-utils loads on the first save
            )

            self.store = SessionStore(self.project_root)
        return self.store

    def _flush(self) -> None:
        from workbench.store.sessions import TurnExistsError

        store = self._open()
        if self.session_id is None:
            session_id = store.create_session(
                self.generator, self.sender_id, self.seed, self.project_fingerprint
            )
            self.lease = SessionLease.acquire(store.path, session_id)
            self.session_id = session_id
            if self.title:
                store.rename(session_id, self.title)
        while self.pending:
            trace, finished = self.pending[0]
            try:
                store.add_turn(self.session_id, trace, finished_at=finished, scrubber=self.scrubber)
            except TurnExistsError:
                self._fork(store, trace.index)
                continue
            self.pending.pop(0)

    def _fork(self, store: SessionStore, index: int) -> None:
        """Another writer took turn `index`: go on in a copy of the turns before it."""
        assert self.session_id is not None
        old = self.session_id
        fork_id = store.fork_session(old, before=index)
        lease = SessionLease.acquire(store.path, fork_id)
        self.release()
        self.session_id, self.lease = fork_id, lease
        self.warn(
            f"session {old} was written by another process meanwhile; "
            f"this conversation goes on as session {fork_id}"
        )

    def close(self) -> None:
        """Mark the session ended (a clean exit), give up its lease and close the
        database."""
        if self.store is None:
            self.release()
            return
        try:
            if self.session_id is not None:
                if self.pending:
                    self._flush()
                self.store.end_session(self.session_id)
        except (sqlite3.Error, OSError, RuntimeError, LookupError) as exc:
            self.warn(f"the session store could not be updated: {exc}")
        finally:
            self.release()
            self.store.close()
            self.store = None
