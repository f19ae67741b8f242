"""Custom actions on an action server the workbench starts, restarts and stops itself.

The server runs the project's actions package with rasa_sdk on the actions Python
(see process.py). A save of any .py file of the package restarts it: a watcher thread
restarts it at once while no call is running, and a check before every call makes sure
no call ever reaches code older than what is on disk. A start that fails is not
retried until the code changes again; each call meanwhile reports why.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from workbench.actions.package import Fingerprint, PackageLocation, fingerprint
from workbench.actions.process import START_TIMEOUT, ActionServerProcess, StartError
from workbench.actions.protocol import ActionResult
from workbench.actions.server import DEFAULT_TIMEOUT, KIND, ActionServerClient
from workbench.actions.server_log import ServerLog
from workbench.engine.tracker import Tracker
from workbench.project.actions_python import ActionsPython
from workbench.project.model import Project

NOTE = "[workbench] "
# lines kept on one action run: traces are stored per turn, a chatty server must not
# fill the store (the server's own ring keeps more)
MAX_RUN_LINES = 200


class ManagedServerActions:
    """A `CustomActionRunner` that owns its action server process."""

    def __init__(
        self,
        location: PackageLocation,
        python: ActionsPython,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        start_timeout: float = START_TIMEOUT,
        watch: bool = True,
        problems: list[str] | None = None,
    ) -> None:
        self.location = location
        self.python = python
        self.log = ServerLog()
        self.process = ActionServerProcess(
            location.root, location.module, python.path, self.log, start_timeout=start_timeout
        )
        self.client = ActionServerClient("", timeout=timeout)
        self.problems: list[str] = list(problems or [])  # for the header, said once
        self.warnings: list[str] = []
        self.restarts = 0
        self._fingerprint: Fingerprint | None = None
        self._ready = False
        self._start_error: str | None = None
        self._notes: list[str] = []  # restarts to mention on the next call
        self._calls = 0
        self._closed = False
        self._lock = threading.RLock()
        with self._lock:
            self._start()
        self._watcher = _Watcher(location, self._changed) if watch else None

    @property
    def label(self) -> str:
        return f"actions on server :{self.process.port} (started, python {self.python.path})"

    @property
    def url(self) -> str:
        return self.client.url

    async def run(self, name: str, tracker: Tracker, project: Project) -> ActionResult:
        self._calls += 1
        try:
            return await self._run(name, tracker, project)
        finally:
            self._calls -= 1

    async def _run(self, name: str, tracker: Tracker, project: Project) -> ActionResult:
        with self._lock:
            if self._closed:
                return ActionResult(kind=KIND, error=f"the action server was stopped ('{name}')")
            self._refresh()
            notes, self._notes = self._notes, []
        if self._start_error is None and not self._ready:
            try:
                await self.process.ready(self.client.http())
                self._ready = True
                # on another port if the first one was taken meanwhile
                self.client.url = f"{self.process.base_url}/webhook"
            except StartError as exc:
                self._start_error = str(exc)
                self.process.stop()
        if self._start_error is not None:
            return ActionResult(
                kind=KIND,
                error=f"'{name}' did not run: {self._start_error}",
                log_lines=notes,
            )
        mark = self.log.mark()
        result = await self.client.run(name, tracker, project)
        self.process.drain()
        if result.error and not self.process.running():
            result.error += (
                "; the action server ended during the call, the next call starts it again"
            )
        result.log_lines = [*notes, *_capped(self.log.since(mark))]
        return result

    def restart(self, reason: str) -> None:
        with self._lock:
            self._notes.append(f"{NOTE}{reason}: restarted the action server")
            self.restarts += 1
            self._start()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._watcher is not None:
                self._watcher.stop()
            self.process.stop()

    async def aclose(self) -> None:
        self.close()
        await self.client.aclose()

    # -- helpers ------------------------------------------------------------------------

    def _start(self) -> None:
        self._fingerprint = fingerprint(self.location)
        self._ready = False
        self._start_error = None
        try:
            self.process.start()
        except OSError as exc:  # e.g. the interpreter vanished since it was checked
            self._start_error = f"the action server could not be started: {exc}"
            return
        self.client.url = f"{self.process.base_url}/webhook"

    def _refresh(self) -> None:
        """Restart when the code changed or the server ended since the last call."""
        if fingerprint(self.location) != self._fingerprint:
            self.restart("the actions changed")
        elif self._start_error is None and not self.process.running():
            code = self.process.process.returncode if self.process.process else None
            self.restart(f"the action server had ended (exit code {code})")

    def _changed(self) -> None:
        # from the watcher thread: restart now, so the next call finds it up already;
        # never under a running call (that call would break off)
        with self._lock:
            idle = not self._closed and self._calls == 0
            if idle and fingerprint(self.location) != self._fingerprint:
                self.restart("the actions changed")


def _capped(lines: list[str]) -> list[str]:
    if len(lines) <= MAX_RUN_LINES:
        return lines
    dropped = len(lines) - MAX_RUN_LINES
    return [f"{NOTE}{dropped} earlier lines left out", *lines[-MAX_RUN_LINES:]]


class _Watcher:
    """Calls `changed` when a .py file of the package is saved (watchfiles, a thread)."""

    def __init__(self, location: PackageLocation, changed: Callable[[], None]) -> None:
        self.location = location
        self.changed = changed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="calm-actions-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def _loop(self) -> None:
        try:
            from watchfiles import watch
        except ImportError:  # the check before each call still restarts it
            return
        path = self.location.path
        folder = path if path.is_dir() else path.parent

        def python_files(_change: object, file: str) -> bool:
            return file.endswith(".py") and "__pycache__" not in Path(file).parts

        try:
            for _changes in watch(
                folder,
                watch_filter=python_files,
                stop_event=self._stop,
                debounce=400,
                step=50,
                rust_timeout=500,
                yield_on_timeout=False,
                raise_interrupt=False,
            ):
                self.changed()
        except Exception:  # e.g. too many watches: the check before each call remains
            return
