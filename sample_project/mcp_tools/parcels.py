"""The carrier's parcel-tracking tool, served over MCP (streamable HTTP).

Start it from the project folder before talking about parcels:

    python -m mcp_tools.parcels            # http://127.0.0.1:5058/mcp

It needs the `mcp` package (`pip install 'calm-workbench[agents]'`, or any environment
with Rasa Pro 3.14+). The flow `track_parcel` calls `track_parcel` directly; the agent
`delivery_helper` may call it while it works out a delivery problem.
"""

from __future__ import annotations

import argparse
from typing import TypedDict

# tracking numbers the demo carrier knows
PARCELS = {
    "PX100": ("in transit", "tomorrow"),
    "PX200": ("delivered", "already delivered"),
    "PX300": ("held at the depot", "after the customer calls the depot"),
    "PX404": ("lost", "unknown"),
}
HOST, PORT = "127.0.0.1", 5058


class Parcel(TypedDict):
    """A TypedDict result is returned as structured content by every mcp version."""

    tracking_number: str
    status: str
    eta: str


def track_parcel(tracking_number: str) -> Parcel:
    """Where a parcel is and when it should arrive, by its tracking number (PX + 3 digits)."""
    key = tracking_number.strip().upper()
    if key not in PARCELS:
        raise _tool_error(f"no parcel with tracking number {tracking_number}")
    status, eta = PARCELS[key]
    return {"tracking_number": key, "status": status, "eta": eta}


def _tool_error(message: str) -> Exception:
    """An error the caller sees as the tool's result (`isError`, with this text)."""
    try:  # mcp 2.x
        from mcp.server.mcpserver.exceptions import ToolError
    except ImportError:  # mcp 1.x
        from mcp.server.fastmcp.exceptions import ToolError
    return ToolError(message)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=PORT)
    port = parser.parse_args().port
    try:  # mcp 2.x
        from mcp.server.mcpserver import MCPServer

        server = MCPServer("parcels")
        server.tool()(track_parcel)
        server.run("streamable-http", host=HOST, port=port)
    except ImportError:  # mcp 1.x, as in Rasa Pro 3.21 environments
        from mcp.server.fastmcp import FastMCP

        legacy = FastMCP("parcels", host=HOST, port=port)
        legacy.tool()(track_parcel)
        legacy.run("streamable-http")


if __name__ == "__main__":
    main()
