"""The started action server's output: a bounded ring of lines, read from its pipe.

Every line gets a sequence number, so a caller can take the lines that arrived during
one action call (`mark` before, `since` after). `drain` reads what is already in the
pipe before the caller looks: the server writes an action's prints and log records
before it sends the HTTP reply, so after the reply they are in the pipe at the latest.
"""

from __future__ import annotations

import os
import re
import select
import threading
from collections import deque
from typing import IO

MAX_LINES = 2000
MAX_LINE_CHARS = 2000
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class ServerLog:
    """Lines of one action server (across its restarts), the oldest dropped first."""

    def __init__(self, max_lines: int = MAX_LINES) -> None:
        self._lines: deque[tuple[int, str]] = deque(maxlen=max_lines)
        self._next = 0
        self._lock = threading.Lock()

    def mark(self) -> int:
        """The sequence number the next line will get."""
        with self._lock:
            return self._next

    def add(self, text: str) -> None:
        text = _ANSI.sub("", text).rstrip("\r\n")
        if len(text) > MAX_LINE_CHARS:
            text = text[:MAX_LINE_CHARS] + "…"
        with self._lock:
            self._lines.append((self._next, text))
            self._next += 1

    def since(self, mark: int) -> list[str]:
        with self._lock:
            return [text for number, text in self._lines if number >= mark]

    def tail(self, count: int = 20, since: int = 0) -> list[str]:
        return self.since(since)[-count:]


class PipeReader:
    """Reads a process's combined stdout/stderr into a `ServerLog` on a thread of its own."""

    def __init__(self, stream: IO[bytes], log: ServerLog) -> None:
        self.fd = stream.fileno()
        self.log = log
        self._stream = stream  # kept open as long as we read its descriptor
        self._partial = b""
        self._eof = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="calm-actions-log", daemon=True)
        self._thread.start()

    def drain(self) -> None:
        """Take in whatever the pipe holds right now, without waiting for more."""
        with self._lock:
            while not self._eof and _readable(self.fd, 0):
                self._read()

    def join(self, timeout: float = 2.0) -> None:
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._eof:
            if _readable(self.fd, 0.2):
                with self._lock:
                    if not self._eof and _readable(self.fd, 0):
                        self._read()

    def _read(self) -> None:
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        if not data:
            self._eof = True
            if self._partial:
                self.log.add(self._partial.decode("utf-8", "replace"))
                self._partial = b""
            return
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            self.log.add(line.decode("utf-8", "replace"))


def _readable(fd: int, timeout: float) -> bool:
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    except (OSError, ValueError):  # closed under us: nothing more to read
        return True
