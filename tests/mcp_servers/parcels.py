"""A parcel-tracking MCP server for the tests, over streamable HTTP or stdio:

python -m tests.mcp_servers.parcels --http 8765     # http://127.0.0.1:8765/mcp
python -m tests.mcp_servers.parcels --stdio
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, TypedDict

from tests.mcp_servers.sdk import new_server, serve, tool_error

PARCELS = {
    "PX100": ("in transit", "2026-12-09"),
    "PX200": ("delivered", "2026-12-01"),
}


class Parcel(TypedDict):
    status: str
    eta: str


def build(port: int) -> Any:
    server = new_server("parcels", port)

    @server.tool()
    def track_parcel(tracking_id: str) -> Parcel:
        """Where a parcel is and when it arrives."""
        if tracking_id not in PARCELS:
            raise tool_error(f"no parcel with tracking id {tracking_id}")
        status, eta = PARCELS[tracking_id]
        return Parcel(status=status, eta=eta)

    @server.tool()
    async def slow(seconds: float) -> str:
        """Answer after `seconds`."""
        await asyncio.sleep(seconds)
        return f"waited {seconds} s"

    @server.tool()
    def echo(text: str) -> str:
        """Say `text` back."""
        return text

    @server.tool()
    def crash() -> str:
        """End the server process without answering."""
        os._exit(3)

    return server


if __name__ == "__main__":
    serve(build)
