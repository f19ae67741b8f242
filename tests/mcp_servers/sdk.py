"""Build and run an MCP server with whichever `mcp` SDK is installed: 2.x names the
server class `mcp.server.mcpserver.MCPServer` and takes host and port at `run`, 1.x
names it `mcp.server.fastmcp.FastMCP` and takes them in the constructor.

A tool whose return type is a TypedDict gets structured content in both versions (a
plain `dict` does not in 2.x)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

HOST = "127.0.0.1"


def new_server(name: str, port: int = 0) -> Any:
    try:
        from mcp.server.mcpserver import MCPServer
    except ImportError:  # the 1.x SDK
        from mcp.server.fastmcp import FastMCP

        return FastMCP(name, host=HOST, port=port, log_level="WARNING")
    return MCPServer(name, log_level="WARNING")


def tool_error(message: str) -> Exception:
    """An error a tool raises on purpose: the client gets a result with `isError` and
    `message` as its text."""
    try:
        from mcp.server.mcpserver.exceptions import ToolError
    except ImportError:  # the 1.x SDK
        from mcp.server.fastmcp.exceptions import ToolError
    return ToolError(message)


def serve(build: Callable[[int], Any], argv: list[str] | None = None) -> None:
    """Run the server `build(port)` returns: `--http PORT` (streamable HTTP at
    http://127.0.0.1:PORT/mcp) or `--stdio`."""
    parser = argparse.ArgumentParser()
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--http", type=int, metavar="PORT")
    where.add_argument("--stdio", action="store_true")
    options = parser.parse_args(argv)
    server = build(options.http or 0)
    if options.stdio:
        server.run("stdio")
    elif type(server).__name__ == "FastMCP":
        server.run("streamable-http")
    else:
        server.run("streamable-http", host=HOST, port=options.http)
