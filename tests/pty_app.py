"""The workbench in a real pseudo-terminal, as a user's terminal runs it: for tests of
start-up and typing, and for the benchmarks that time them (benchmarks/run.py)."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


class PtyApp:
    """`python -m workbench ROOT --offline --no-store` (or ROOT and `options`) in a
    pseudo-terminal of the given size, its output read as it comes (what a user's
    terminal would draw); `write` types."""

    def __init__(
        self,
        root: Path,
        size: tuple[int, int] = (100, 30),
        options: tuple[str, ...] = ("--offline", "--no-store"),
    ) -> None:
        import fcntl
        import pty
        import struct
        import subprocess
        import termios

        columns, lines = size
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(lines)}
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "workbench", str(root), *options],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        os.close(slave)
        self.seen = b""

    def wait_for(self, marker: bytes, timeout: float = 30.0) -> float:
        """Read until `marker` appears in output read from now on; the perf_counter
        time it arrived."""
        import select

        self.seen = b""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            readable, _, _ = select.select([self.master], [], [], 0.02)
            if not readable:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                break
            now = time.perf_counter()
            self.seen = self.seen[-65536:] + chunk
            # Textual may move the cursor inside a word it draws: match the text alone
            if marker in ESCAPES.sub(b"", self.seen):
                return now
        raise RuntimeError(f"{marker!r} did not appear within {timeout} s: {self.text[-500:]!r}")

    def write(self, data: bytes) -> float:
        """Type `data`; the perf_counter time it was sent."""

        os.write(self.master, data)
        return time.perf_counter()

    def pause(self, seconds: float) -> None:
        """Let `seconds` pass, reading what is drawn meanwhile (kept in `seen`)."""
        import select

        until = time.perf_counter() + seconds
        while (left := until - time.perf_counter()) > 0:
            if select.select([self.master], [], [], left)[0]:
                try:
                    self.seen = self.seen[-65536:] + os.read(self.master, 65536)
                except OSError:
                    return

    def wait_exit(self, timeout: float = 30.0) -> int | None:
        """Read until the process ends; its exit code (None: still running)."""
        deadline = time.perf_counter() + timeout
        while self.process.poll() is None and time.perf_counter() < deadline:
            self.pause(0.05)
        self.pause(0.05)  # what it wrote last
        return self.process.poll()

    @property
    def text(self) -> bytes:
        """What was read into `seen`, without the escape sequences."""
        return ESCAPES.sub(b"", self.seen)

    def close(self) -> int:
        """Quit (ctrl+q), or kill after 5 s; the exit code."""
        import signal
        import subprocess

        if self.process.poll() is None:
            try:
                os.write(self.master, b"\x11")  # ctrl+q
                self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        drain(self.master)
        os.close(self.master)
        return self.process.returncode


def drain(fd: int) -> None:
    """Read and drop what `fd` has to give now."""
    import select

    while select.select([fd], [], [], 0)[0]:
        try:
            if not os.read(fd, 65536):
                break
        except OSError:
            break
