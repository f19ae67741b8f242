"""The session store: every conversation, turn by turn, in `<project>/.calm/sessions.db`.

Names are exported lazily: `calm-tui shell` imports `store.recorder` at start-up, and
sqlite-utils (~100 ms to import) should load only when the first turn is saved.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.store.lease import SessionInUseError, SessionLease
    from workbench.store.migrations import SCHEMA_VERSION, SchemaTooNewError
    from workbench.store.recorder import SessionChangedError, SessionRecorder
    from workbench.store.redact import scrub
    from workbench.store.sessions import (
        AmbiguousIdError,
        SessionStore,
        SessionSummary,
        TurnExistsError,
        UnknownSessionError,
        store_path,
    )

_EXPORTS = {
    "SCHEMA_VERSION": "migrations",
    "SchemaTooNewError": "migrations",
    "SessionChangedError": "recorder",
    "SessionInUseError": "lease",
    "SessionLease": "lease",
    "SessionRecorder": "recorder",
    "scrub": "redact",
    "AmbiguousIdError": "sessions",
    "SessionStore": "sessions",
    "SessionSummary": "sessions",
    "TurnExistsError": "sessions",
    "UnknownSessionError": "sessions",
    "store_path": "sessions",
}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


__all__ = [
    "SCHEMA_VERSION",
    "AmbiguousIdError",
    "SchemaTooNewError",
    "SessionChangedError",
    "SessionInUseError",
    "SessionLease",
    "SessionRecorder",
    "SessionStore",
    "SessionSummary",
    "TurnExistsError",
    "UnknownSessionError",
    "scrub",
    "store_path",
]
