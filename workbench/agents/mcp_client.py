"""Talk to the MCP servers endpoints.yml names: list their tools, call one.

Besides Rasa's streamable HTTP servers (`type: http`/`https` with a `url`), the workbench
can start a local server and talk to it over stdin/stdout, which spares running a server
by hand while building tools:

    mcp_servers:
      - name: parcels
        type: stdio
        command: python -m tools.parcels   # a string (split as a shell would) or a list
        args: [--verbose]                  # optional, appended to the command
        env: {PARCELS_DB: data/parcels.db} # optional, added to a minimal environment
        cwd: tools                         # optional, relative to the project root (default)

The server is started for each call and stopped after it. Rasa accepts only http and
https, so `calm-tui validate` warns that Rasa will not load such an endpoints file.

Both major versions of the `mcp` SDK work (1.x in Rasa Pro 3.21 environments, 2.x
elsewhere): the differences are looked up by attribute here and nowhere else. Each call
connects anew, as Rasa's flow executor does; the tool lists are kept for the process
(agents list tools every turn) until `forget_tools()`.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, TextIO, TypeVar
from urllib.parse import urlsplit

from workbench.calm.external import McpError, ToolResult, ToolSpec
from workbench.calm.values import JSONObject
from workbench.project.model import McpServer

if TYPE_CHECKING:  # the SDK is imported only when a server is called
    from mcp import ClientSession
    from mcp.types import CallToolResult

INSTALL_HINT = "the `mcp` package is not installed: pip install 'calm-workbench[agents]'"
# the keys of a CallToolResult on the wire; 2.x adds protocol bookkeeping (`resultType`)
# that differs between versions and that no flow mapping reads
WIRE_KEYS = ("content", "structuredContent", "isError", "_meta")
# 2.x and late 1.x name the HTTP transport so; earlier 1.x only had the second name (whose
# streams come with a session-id getter, which is not used)
HTTP_CLIENT_NAMES = ("streamable_http_client", "streamablehttp_client")
# an httpx (or httpx2, in the 2.x SDK) exception meaning nothing answered at the address
CONNECT_ERRORS = frozenset({"ConnectError", "ConnectTimeout"})
# tools offered per server, for the process: (name, where, folder, environment) -> tools
_TOOLS: dict[tuple[object, ...], tuple[ToolSpec, ...]] = {}
# stderr lines of a stdio server shown in a reason when it fails
STDERR_LINES = 3

T = TypeVar("T")


async def list_tools(server: McpServer, timeout_s: float = 10.0) -> list[ToolSpec]:
    """The tools `server` offers, from the cache when it was asked before."""
    key = _cache_key(server)
    if key not in _TOOLS:
        _TOOLS[key] = await _session_run(server, timeout_s, _list_offered)
    return list(_TOOLS[key])


async def call_tool(
    server: McpServer, tool: str, arguments: JSONObject, timeout_s: float = 30.0
) -> ToolResult:
    """Call `tool` with `arguments`. A result flagged `isError` is returned, not raised:
    the tool answered, and the caller decides what an error answer means."""

    async def call(session: ClientSession) -> ToolResult:
        offered = await _list_offered(session)
        _TOOLS[_cache_key(server)] = offered
        names = [spec.name for spec in offered]
        if tool not in names:
            listing = ", ".join(names) or "none"
            raise _Refused(f"tool '{tool}' is not offered by the server (it offers: {listing})")
        result = await session.call_tool(tool, arguments)
        return ToolResult(_wire(result))

    return await _session_run(server, timeout_s, call)


def forget_tools(server: McpServer | None = None) -> None:
    """Ask the servers (or only `server`) for their tools again on the next listing."""
    if server is None:
        _TOOLS.clear()
    else:
        _TOOLS.pop(_cache_key(server), None)


class _Refused(Exception):
    """A reason found on our side of a working connection (no such tool)."""


def _cache_key(server: McpServer) -> tuple[object, ...]:
    return (server.name, server.address, server.cwd, server.env)


async def _list_offered(session: ClientSession) -> tuple[ToolSpec, ...]:
    from mcp import types

    specs: list[ToolSpec] = []
    params = None
    for _ in range(100):  # a server handing out cursors forever is not followed for ever
        page = await session.list_tools(params=params)
        for tool in page.tools:
            data = tool.model_dump(by_alias=True, mode="json", exclude_none=True)
            schema = data.get("inputSchema")
            specs.append(
                ToolSpec(
                    name=str(data["name"]),
                    description=str(data.get("description") or ""),
                    input_schema=schema if isinstance(schema, dict) else {},
                )
            )
        cursor = page.model_dump(by_alias=True).get("nextCursor")
        if not cursor:
            break
        params = types.PaginatedRequestParams(cursor=cursor)
    return tuple(specs)


def _wire(result: CallToolResult) -> JSONObject:
    """A CallToolResult as JSON with MCP's camelCase keys (1.x names its fields so, 2.x
    aliases its snake_case fields so; `by_alias` gives the same dict from both)."""
    data = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    wire: JSONObject = {key: data[key] for key in WIRE_KEYS if key in data}
    wire.setdefault("content", [])
    wire["isError"] = wire.get("isError") is True
    return wire


async def _session_run(
    server: McpServer, timeout_s: float, work: Callable[[ClientSession], Awaitable[T]]
) -> T:
    """Connect, initialise, run `work`, disconnect; every failure becomes an McpError
    with a short reason."""
    try:
        import anyio
        import mcp  # noqa: F401  (only to say what to install when it is missing)
    except ImportError as error:
        raise McpError(server.name, INSTALL_HINT) from error
    _quiet_sdk_logging()
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog:
        try:
            with anyio.fail_after(timeout_s):
                async with _session(server, errlog) as session:
                    return await work(session)
        except BaseException as error:
            cause = _root_cause(error)
            if not isinstance(cause, Exception):
                raise  # our caller's cancellation, or the process is ending
            reason = _reason(server, cause, timeout_s)
            # what a server wrote before it died says why; a live one's log lines do not
            if not isinstance(cause, (_Refused, TimeoutError)):
                reason += _stderr_tail(errlog)
            raise McpError(server.name, reason) from None


@asynccontextmanager
async def _session(server: McpServer, errlog: TextIO) -> AsyncIterator[ClientSession]:
    """An initialised session over the server's transport, whichever SDK is installed."""
    from mcp import ClientSession

    async with AsyncExitStack() as stack:
        if server.is_stdio:
            from mcp import StdioServerParameters
            from mcp.client.stdio import stdio_client

            program, *args = server.command
            parameters = StdioServerParameters(
                command=program, args=args, env=dict(server.env) or None, cwd=server.cwd
            )
            streams = await stack.enter_async_context(stdio_client(parameters, errlog=errlog))
        else:
            from mcp.client import streamable_http

            url = _checked_url(server)
            connect = next(
                getattr(streamable_http, name)
                for name in HTTP_CLIENT_NAMES
                if hasattr(streamable_http, name)
            )
            streams = await stack.enter_async_context(connect(url))
        session = await stack.enter_async_context(ClientSession(streams[0], streams[1]))
        await session.initialize()
        yield session


def _checked_url(server: McpServer) -> str:
    url = str(server.url or "")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Refused(f"malformed URL '{url}' (write it as http://host:port/mcp)")
    return url


def _root_cause(error: BaseException) -> BaseException:
    """The error that started it: anyio's task groups wrap failures in exception groups,
    and the SDK re-raises transport errors under its own."""
    cancelled = _cancelled_class()
    while True:
        inner = getattr(error, "exceptions", None)
        if inner:
            real = [e for e in inner if not isinstance(e, cancelled)]
            error = (real or list(inner))[0]
            continue
        cause = error.__cause__
        if cause is not None and type(error).__name__ in ("MCPError", "McpError"):
            error = cause
            continue
        return error


def _cancelled_class() -> type[BaseException]:
    import anyio

    return anyio.get_cancelled_exc_class()


def _reason(server: McpServer, error: Exception, timeout_s: float) -> str:
    name = type(error).__name__
    if isinstance(error, _Refused):
        return str(error)
    if isinstance(error, TimeoutError):
        return f"no answer within {timeout_s:g} s"
    if name in CONNECT_ERRORS:
        return f"cannot connect to {server.address}"
    if name == "UnsupportedProtocol" or name == "InvalidURL":
        return f"malformed URL '{server.url}' (write it as http://host:port/mcp)"
    if name == "HTTPStatusError":
        status = getattr(getattr(error, "response", None), "status_code", "?")
        return f"{server.address} answered HTTP {status}"
    if server.is_stdio and isinstance(error, OSError):
        return f"cannot start `{server.address}`: {error.strerror or error}"
    sdk_message = getattr(getattr(error, "error", None), "message", None)
    if sdk_message is None:  # not the SDK's own error: name the kind of failure
        return f"{name}: {error}" if str(error) else name
    if sdk_message.lower().startswith(("connection closed", "sse stream ended")):
        return "the server closed the connection without answering"
    if sdk_message == "Session terminated":
        # the 1.x transport's word for a 404; every call opens a new session, so no
        # session of ours can have ended
        sdk_message = "Not Found"
    return f"{server.address} answered: {sdk_message}"


def _stderr_tail(errlog: TextIO) -> str:
    """The last lines a stdio server wrote to stderr, often the reason it died."""
    errlog.flush()
    errlog.seek(0)
    lines = [line.strip() for line in errlog.read().splitlines() if line.strip()]
    return f" (stderr: {' | '.join(lines[-STDERR_LINES:])})" if lines else ""


def _quiet_sdk_logging() -> None:
    """The SDK logs failed connections with tracebacks; the reason in McpError says it."""
    for name in ("mcp.client", "mcp.shared", "mcp.os"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
