"""Who may write a stored session: one process at a time.

Two processes appending to one session (two TUIs, or a TUI resuming a session a shell is
still writing) would both write turn N, and the second would fail on every turn after.
So a writer holds a lease on the session: an exclusive lock on
`<store>.leases/<session id>.lock`, with its pid written inside for the message a second
writer gets. The lock is the operating system's (`flock`; a byte-range lock on Windows):
it is dropped when the process ends, however it ends (exit, crash, `kill -9`), so a lease
is never left stuck and needs no heartbeat or guess about stale pids. A lock file that
outlived its writer is simply free; a released lease removes its file.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

from workbench.errors import WorkbenchError

LEASES_SUFFIX = ".leases"
# a lock attempt can meet another process that only looks (see `holder`): try a few times
ACQUIRE_TRIES = 5
ACQUIRE_PAUSE_S = 0.02

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class SessionInUseError(WorkbenchError, RuntimeError):
    """Another process is writing the session."""

    def __init__(self, session_id: str, pid: int | None) -> None:
        self.session_id = session_id
        self.pid = pid
        who = f"pid {pid}" if pid else "another process"
        super().__init__(
            f"session {session_id} is open in another window ({who}): "
            "open it read-only, or fork it into a new session"
        )


def lease_path(store_file: Path, session_id: str) -> Path:
    """Where the lock of `session_id` lives, next to the store file."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", session_id) or "_"
    return store_file.with_name(store_file.name + LEASES_SUFFIX) / f"{safe}.lock"


class SessionLease:
    """A held lease; `release()` (or the end of the process) gives it up."""

    def __init__(self, path: Path, session_id: str, fd: int) -> None:
        self.path = path
        self.session_id = session_id
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, store_file: Path, session_id: str) -> SessionLease:
        """The lease of `session_id`; SessionInUseError when another process holds it."""
        path = lease_path(store_file, session_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(ACQUIRE_TRIES):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            if not _try_lock(fd):
                os.close(fd)
                if attempt + 1 < ACQUIRE_TRIES:
                    time.sleep(ACQUIRE_PAUSE_S)
                continue
            if not _same_file(fd, path):  # released (and removed) while we opened it
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return cls(path, session_id, fd)
        raise SessionInUseError(session_id, _read_pid(path))

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if sys.platform != "win32":  # an open file cannot be removed on Windows
                self.path.unlink(missing_ok=True)
            _unlock(fd)
        except OSError:
            pass  # closing the file below drops the lock all the same
        finally:
            os.close(fd)


def holder(store_file: Path, session_id: str) -> int | None:
    """The pid of the process that writes `session_id` now (0 when it cannot be told),
    or None when no process does."""
    path = lease_path(store_file, session_id)
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        if _try_lock(fd):
            _unlock(fd)
            return None
        return _read_pid(path) or 0
    finally:
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (opened.st_dev, opened.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


__all__ = ["SessionInUseError", "SessionLease", "holder", "lease_path"]
