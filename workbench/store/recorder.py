"""`SessionRecorder`: saves a shell's turns as they happen (the shell's `on_turn` hook).

The session row is created lazily, at the first turn the user asked for: the automatic
`/session_start` greeting is held back until then and saved as turn 0, so starting a
shell and quitting at once leaves nothing behind. A turn that cannot be saved (locked
or read-only database) is reported and kept; it is retried with the next turn.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.store.redact import Scrubber
from workbench.store.text import is_session_start
from workbench.trace.turn import TurnTrace

if TYPE_CHECKING:
    from workbench.store.sessions import SessionStore


def _warn(message: str) -> None:
    print(f"calm-tui: warning: {message}", file=sys.stderr, flush=True)


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
        self.pending: list[tuple[TurnTrace, datetime]] = []

    def __call__(self, trace: TurnTrace) -> None:
        self.pending.append((trace, datetime.now(timezone.utc)))
        if self.session_id is None and all(is_session_start(t.user_text) for t, _ in self.pending):
            return
        try:
            self._flush()
        except (sqlite3.Error, OSError, RuntimeError, LookupError) as exc:
            self.warn(f"turn {trace.index} was not saved to the session store: {exc}")

    def _flush(self) -> None:
        if self.store is None:
            from workbench.store.sessions import (
                SessionStore,  # sqlite-utils loads on the first save
            )

            self.store = SessionStore(self.project_root)
        if self.session_id is None:
            self.session_id = self.store.create_session(
                self.generator, self.sender_id, self.seed, self.project_fingerprint
            )
        while self.pending:
            trace, finished = self.pending[0]
            self.store.add_turn(
                self.session_id, trace, finished_at=finished, scrubber=self.scrubber
            )
            self.pending.pop(0)

    def close(self) -> None:
        """Mark the session ended (a clean exit) and close the database."""
        if self.store is None:
            return
        try:
            if self.session_id is not None:
                if self.pending:
                    self._flush()
                self.store.end_session(self.session_id)
        except (sqlite3.Error, OSError, RuntimeError, LookupError) as exc:
            self.warn(f"the session store could not be updated: {exc}")
        finally:
            self.store.close()
            self.store = None
