"""One action server process the workbench started: start, wait until healthy, stop.

`python -m rasa_sdk --actions <package> --port <free port>` from the project folder,
on the actions Python, listening on 127.0.0.1 only. Start-up problems come back as one
message with the cause, the fix and the server's last lines.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.actions.server_log import PipeReader, ServerLog
from workbench.actions.spawn import spawn_supervised
from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    import httpx

START_TIMEOUT = 20.0
TAIL_LINES = 15
PORT_TAKEN = "Address already in use"


class StartError(WorkbenchError):
    """The server did not come up; the message says why and what to do."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ActionServerProcess:
    def __init__(
        self,
        root: Path,
        module: str,
        python: str,
        log: ServerLog,
        *,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.root = root
        self.module = module
        self.python = python
        self.log = log
        self.start_timeout = start_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._reader: PipeReader | None = None
        self._started_at = 0.0
        self._log_start = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, port: int | None = None) -> None:
        """Start the process; `ready()` waits until it answers."""
        self.stop()
        self.port = port or free_port()
        env = dict(os.environ)
        env.update(
            # prints from actions reach the log as they happen, not when a buffer fills
            PYTHONUNBUFFERED="1",
            # rasa_sdk listens on 0.0.0.0 by default; a workbench server is ours alone
            SANIC_HOST="127.0.0.1",
        )
        self._log_start = self.log.mark()
        self._started_at = time.monotonic()
        args = ["--actions", self.module, "--port", str(self.port)]
        self.process = spawn_supervised(self.python, args, cwd=self.root, env=env)
        assert self.process.stdout is not None
        self._reader = PipeReader(self.process.stdout, self.log)

    async def ready(self, client: httpx.AsyncClient) -> None:
        """Wait until `GET /health` answers; raises StartError. Retries once on another
        port when the chosen one was taken in the meantime."""
        try:
            await self._wait_healthy(client)
        except _PortTaken:
            taken = self.port
            self.start()
            try:
                await self._wait_healthy(client)
            except _PortTaken:
                raise StartError(
                    f"the action server could not listen on port {taken} nor on "
                    f"{self.port}: {PORT_TAKEN}; free a port or end the process that holds "
                    f"them{self._tail()}"
                ) from None

    def drain(self) -> None:
        if self._reader is not None:
            self._reader.drain()

    def stop(self) -> None:
        """End the server and every process of its group (Sanic's workers too)."""
        process, self.process = self.process, None
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, AttributeError):
            process.kill()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if process.stdin is not None:
            try:
                process.stdin.close()
            except OSError:
                pass
        if self._reader is not None:
            self._reader.join(timeout=1)
            self._reader = None
        if process.stdout is not None:
            process.stdout.close()

    # -- helpers --------------------------------------------------------------------------

    async def _wait_healthy(self, client: httpx.AsyncClient) -> None:
        import httpx  # imported here: ~30 ms that in-process actions never need

        deadline = self._started_at + self.start_timeout
        url = f"{self.base_url}/health"
        while True:
            process = self.process
            if process is None:
                raise StartError("the action server was stopped while it started")
            code = process.poll()
            if code is not None:
                self.drain()
                if any(PORT_TAKEN in line for line in self.log.since(self._log_start)):
                    raise _PortTaken()
                raise StartError(self._exited(code))
            try:
                response = await client.get(url, timeout=1.0)
                if response.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.drain()
                tail = self._tail()
                self.stop()
                raise StartError(
                    f"the action server did not answer {url} within "
                    f"{self.start_timeout:g} s, so it was stopped; start it by hand "
                    f"(`cd {self.root} && {self.python} -m rasa_sdk --actions {self.module}`) "
                    f"to see why{tail}"
                )
            await asyncio.sleep(0.05)

    def _exited(self, code: int) -> str:
        lines = self.log.since(self._log_start)
        if any("No module named rasa_sdk" in line for line in lines):
            return (
                f"{self.python} has no rasa_sdk, which runs the action server: install it "
                f"with `{self.python} -m pip install rasa-sdk`"
            )
        message = f"the action server exited while starting (exit code {code})"
        cause = crash_cause(lines, self.root)
        if cause:
            message += f": {cause}"
        return message + self._tail()

    def _tail(self) -> str:
        lines = self.log.tail(TAIL_LINES, since=self._log_start)
        if not lines:
            return ""
        return "; its last lines:\n" + "\n".join(f"  {line}" for line in lines)


class _PortTaken(Exception):
    pass


_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')
_EXCEPTION = re.compile(r"^(?P<type>[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*)$")
_NO_MODULE = re.compile(r"No module named '(?P<name>[\w.]+)'")


def crash_cause(lines: list[str], root: Path) -> str:
    """From a traceback in the server's output: `file:line: Error: message` for the
    innermost frame in the project, and what to do about it."""
    place = ""
    error = ""
    for line in lines:
        frame = _FRAME.match(line)
        if frame and Path(frame["file"]).is_absolute():  # not "<frozen runpy>"
            try:
                rel = Path(frame["file"]).resolve().relative_to(root.resolve())
            except (ValueError, OSError):
                continue
            place = f"{rel.as_posix()}:{frame['line']}"
        elif _EXCEPTION.match(line.strip()):
            error = line.strip()
    if not error:
        return ""
    missing = _NO_MODULE.search(error)
    if missing:
        from workbench.project.actions_python import install_hint

        fix = install_hint(missing["name"].split(".")[0])
    else:
        fix = "fix the actions code; saving it starts the server again"
    return f"{place + ': ' if place else ''}{error} ({fix})"
