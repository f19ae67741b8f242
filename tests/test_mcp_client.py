"""The MCP client against real servers built with the `mcp` SDK (tests/mcp_servers/): tools
listed and called over streamable HTTP and stdio, results in MCP's wire shape, and every
way a call can fail turned into an McpError with a short reason."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp_fixtures import REPO_ROOT, free_port, parcels_http, parcels_stdio

from workbench.agents.mcp_client import call_tool, forget_tools, list_tools
from workbench.calm.external import McpError
from workbench.project.loader import load_project
from workbench.project.model import McpServer

TOOLS = ["track_parcel", "slow", "echo", "crash"]
PX100 = {"status": "in transit", "eta": "2026-12-09"}


@pytest.fixture(autouse=True)
def _fresh_tool_lists() -> Iterator[None]:
    forget_tools()
    yield
    forget_tools()


def http_server(url: str, name: str = "parcels") -> McpServer:
    return McpServer(name, url, "http")


# --- listing and calling ---------------------------------------------------------------------


async def test_lists_tools_over_http(mcp_parcels):
    tools = await list_tools(http_server(mcp_parcels))
    assert [tool.name for tool in tools] == TOOLS
    track = tools[0]
    assert track.description == "Where a parcel is and when it arrives."
    assert track.input_schema["required"] == ["tracking_id"]
    assert track.input_schema["properties"]["tracking_id"]["type"] == "string"


async def test_lists_tools_over_stdio():
    tools = await list_tools(parcels_stdio())
    assert [tool.name for tool in tools] == TOOLS


@pytest.mark.parametrize("transport", ["http", "stdio"])
async def test_structured_result_in_wire_shape(mcp_parcels, transport):
    server = http_server(mcp_parcels) if transport == "http" else parcels_stdio()
    result = await call_tool(server, "track_parcel", {"tracking_id": "PX100"})
    assert result.wire["structuredContent"] == PX100
    assert result.wire["isError"] is False
    # only MCP's camelCase wire keys, whatever the SDK calls its fields
    assert set(result.wire) == {"content", "structuredContent", "isError"}
    assert result.structured == PX100
    assert "in transit" in result.text


async def test_plain_return_value_is_text_content(mcp_parcels):
    result = await call_tool(http_server(mcp_parcels), "echo", {"text": "hello"})
    assert result.text == "hello"
    assert not result.is_error


async def test_tool_error_is_a_result_not_an_exception(mcp_parcels):
    result = await call_tool(http_server(mcp_parcels), "track_parcel", {"tracking_id": "ZZ9"})
    assert result.is_error
    assert result.wire["isError"] is True
    assert "no parcel with tracking id ZZ9" in result.text
    assert "structuredContent" not in result.wire


async def test_tool_lists_are_kept_until_forgotten():
    with parcels_http() as url:
        server = http_server(url, "private")
        first = await list_tools(server)
    # the server is gone, but the list is kept for the process
    assert await list_tools(server) == first
    forget_tools(server)
    with pytest.raises(McpError, match="cannot connect"):
        await list_tools(server)


# --- failures --------------------------------------------------------------------------------


async def test_unknown_tool_names_the_offered_ones(mcp_parcels):
    with pytest.raises(McpError) as caught:
        await call_tool(http_server(mcp_parcels), "track_order", {})
    assert caught.value.server == "parcels"
    assert caught.value.reason == (
        "tool 'track_order' is not offered by the server "
        "(it offers: track_parcel, slow, echo, crash)"
    )


async def test_server_down_fails_fast():
    url = f"http://127.0.0.1:{free_port()}/mcp"  # nothing listens there
    started = time.monotonic()
    with pytest.raises(McpError) as caught:
        await call_tool(http_server(url), "echo", {"text": "x"})
    assert time.monotonic() - started < 5
    assert caught.value.reason == f"cannot connect to {url}"
    assert str(caught.value) == f"MCP server 'parcels': cannot connect to {url}"


@pytest.mark.parametrize("transport", ["http", "stdio"])
async def test_slow_tool_times_out(mcp_parcels, transport):
    server = http_server(mcp_parcels) if transport == "http" else parcels_stdio()
    await list_tools(server)  # a stdio server's start-up is not what is timed here
    started = time.monotonic()
    with pytest.raises(McpError) as caught:
        await call_tool(server, "slow", {"seconds": 5}, timeout_s=0.5)
    assert caught.value.reason == "no answer within 0.5 s"
    assert time.monotonic() - started < 4


async def test_server_crashing_mid_call():
    with pytest.raises(McpError) as caught:
        await call_tool(parcels_stdio(), "crash", {})
    assert caught.value.reason == "the server closed the connection without answering"


async def test_stdio_command_that_does_not_exist():
    server = McpServer("ghost", type="stdio", command=("calm-no-such-mcp-server", "--stdio"))
    with pytest.raises(McpError) as caught:
        await list_tools(server)
    assert caught.value.reason.startswith("cannot start `calm-no-such-mcp-server --stdio`")


async def test_stdio_program_that_is_no_mcp_server_shows_its_stderr():
    script = "import sys; print('parcels.db: no such table', file=sys.stderr); sys.exit(1)"
    server = McpServer("broken", type="stdio", command=(sys.executable, "-c", script))
    with pytest.raises(McpError) as caught:
        await list_tools(server)
    assert caught.value.reason == (
        "the server closed the connection without answering (stderr: parcels.db: no such table)"
    )


@pytest.mark.parametrize("url", ["localhost:8000/mcp", "http:///mcp", "ftp://host/mcp"])
async def test_malformed_url(url):
    with pytest.raises(McpError) as caught:
        await list_tools(http_server(url))
    assert caught.value.reason == f"malformed URL '{url}' (write it as http://host:port/mcp)"


async def test_wrong_path_says_what_the_server_answered(mcp_parcels):
    url = mcp_parcels.replace("/mcp", "/tools")
    with pytest.raises(McpError) as caught:
        await list_tools(http_server(url))
    assert caught.value.reason == f"{url} answered: Not Found"


async def test_without_the_sdk_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mcp", None)  # as if the agents extra were missing
    with pytest.raises(McpError, match=r"pip install 'calm-workbench\[agents\]'"):
        await list_tools(http_server("http://127.0.0.1:9/mcp"))


# --- endpoints.yml: type stdio ---------------------------------------------------------------


def _load(make_project, endpoints: str):
    return load_project(make_project({"endpoints.yml": endpoints}))


async def test_stdio_server_from_endpoints_runs(make_project):
    endpoints = f"""\
        mcp_servers:
          - name: parcels
            type: stdio
            command: {shlex.quote(sys.executable)} -m tests.mcp_servers.parcels
            args: [--stdio]
            env: {{PYTHONPATH: {shlex.quote(str(REPO_ROOT))}}}
            cwd: tools
        """
    root = make_project({"endpoints.yml": endpoints, "tools/README": "tools live here"})
    result = load_project(root)
    server = result.project.endpoints.mcp_servers["parcels"]
    assert server.command == (sys.executable, "-m", "tests.mcp_servers.parcels", "--stdio")
    assert dict(server.env) == {"PYTHONPATH": str(REPO_ROOT)}
    assert Path(str(server.cwd)) == root.resolve() / "tools"
    assert [issue.code for issue in result.issues.errors] == []
    (warning,) = [i for i in result.issues if i.code == "mcp-stdio-not-in-rasa"]
    assert warning.severity == "warning"
    assert (warning.file, warning.line) == ("endpoints.yml", 2)
    assert "Rasa accepts only http and https" in warning.message
    # the loaded entry is what the client runs: the env makes the module importable
    # from the project's tools/ folder
    result_ = await call_tool(server, "track_parcel", {"tracking_id": "PX200"})
    assert result_.structured == {"status": "delivered", "eta": "2026-12-01"}


def test_stdio_command_as_list_and_default_folder(make_project):
    result = _load(
        make_project,
        """\
        mcp_servers:
          - {name: tools, type: stdio, command: [node, "server dir/index.js"]}
        """,
    )
    server = result.project.endpoints.mcp_servers["tools"]
    assert server.command == ("node", "server dir/index.js")
    assert server.cwd == str(result.project.root)
    assert server.address == "node server dir/index.js"


def test_stdio_server_without_command_is_an_error(make_project):
    result = _load(
        make_project,
        """\
        mcp_servers:
          - name: http_tools
            url: http://127.0.0.1:8000/mcp
            type: http
          - name: local_tools
            type: stdio
        """,
    )
    (error,) = result.issues.errors
    assert (error.code, error.file, error.line) == ("invalid-mcp-servers", "endpoints.yml", 5)
    assert "'local_tools' of `type: stdio` needs a `command`" in error.message
    assert set(result.project.endpoints.mcp_servers) == {"http_tools"}


def test_http_servers_load_as_before(make_project):
    result = _load(
        make_project,
        """\
        mcp_servers:
          - {name: orders, url: "http://127.0.0.1:8000/mcp", type: http}
          - {name: other, url: "http://127.0.0.1:8001/mcp", type: grpc}
        """,
    )
    orders = result.project.endpoints.mcp_servers["orders"]
    assert (orders.url, orders.type, orders.command, orders.is_stdio) == (
        "http://127.0.0.1:8000/mcp",
        "http",
        (),
        False,
    )
    assert [(i.code, i.line) for i in result.issues.errors] == [("invalid-mcp-servers", 3)]
    assert not [i for i in result.issues if i.code == "mcp-stdio-not-in-rasa"]
