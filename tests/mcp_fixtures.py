"""Real MCP servers for the tests: the parcels server (tests/mcp_servers/parcels.py) as a
subprocess on a free 127.0.0.1 port, or as a stdio command.

    with parcels_http() as url:              # http://127.0.0.1:PORT/mcp
        ...
    server = parcels_stdio("parcels")        # an McpServer the client starts itself

In tests, the `mcp_parcels` fixture (conftest.py) gives the URL of one server shared by
the whole run; its tools keep no state, so sharing it is safe (do not call `crash` on it).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from workbench.actions.process import free_port
from workbench.project.model import McpServer

REPO_ROOT = Path(__file__).resolve().parent.parent
PARCELS_MODULE = "tests.mcp_servers.parcels"
# importing the SDK and starting uvicorn takes a few seconds on a busy machine
START_TIMEOUT_S = 30.0


def parcels_stdio(name: str = "parcels") -> McpServer:
    return McpServer(
        name,
        type="stdio",
        command=(sys.executable, "-m", PARCELS_MODULE, "--stdio"),
        cwd=str(REPO_ROOT),
    )


@contextmanager
def parcels_http() -> Iterator[str]:
    """Start the parcels server over streamable HTTP, wait until it accepts connections,
    yield its URL, stop it."""
    port = free_port()
    with http_server([sys.executable, "-m", PARCELS_MODULE, "--http", str(port)], REPO_ROOT, port):
        yield f"http://127.0.0.1:{port}/mcp"


@contextmanager
def sample_parcels_http(project: Path) -> Iterator[str]:
    """The sample project's own parcels server (`python -m mcp_tools.parcels`), run from
    the project folder `project` on a free port; yields its URL."""
    port = free_port()
    command = [sys.executable, "-m", "mcp_tools.parcels", "--port", str(port)]
    with http_server(command, project, port):
        yield f"http://127.0.0.1:{port}/mcp"


@contextmanager
def http_server(command: list[str], cwd: Path, port: int) -> Iterator[None]:
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            _wait_until_listening(process, port, log)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, log: IO[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")
            raise RuntimeError(f"the MCP test server exited ({process.returncode}):\n{output}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the MCP test server did not listen on port {port} in time")
