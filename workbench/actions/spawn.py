"""Starting a supervised action server (see bootstrap.py) from one long-lived thread.

Linux delivers the parent-death signal when the *thread* that forked the child ends,
not the process. Forking from whichever thread happens to create a runner (a worker
thread of the TUI, a test's thread) would kill the server when that thread ends, so
every server is forked from one daemon thread that lives as long as the workbench.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")


class _Launcher:
    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        thread = threading.Thread(target=self._serve, name="calm-action-server-launcher")
        thread.daemon = True
        thread.start()

    def call(self, job: Callable[[], T]) -> T:
        future: Future[T] = Future()

        def run() -> None:
            try:
                future.set_result(job())
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)

        self._jobs.put(run)
        return future.result()

    def _serve(self) -> None:
        while True:
            self._jobs.get()()


_launcher: _Launcher | None = None
_lock = threading.Lock()


def _the_launcher() -> _Launcher:
    global _launcher
    with _lock:
        if _launcher is None:
            _launcher = _Launcher()
        return _launcher


def spawn_supervised(
    python: str, server_args: list[str], *, cwd: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """`python -m rasa_sdk *server_args` under the bootstrap supervisor, in a process
    group of its own, output (stdout and stderr) on the returned process's stdout."""
    command = [
        python,
        "-I",  # isolated: the script's folder (our modules) must not shadow the stdlib
        str(BOOTSTRAP),
        str(os.getpid()),
        "--",
        python,
        "-m",
        "rasa_sdk",
        *server_args,
    ]

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,  # its end of file tells the supervisor we are gone
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    return _the_launcher().call(start)
