"""The tools and the model an agent (or a flow's tool call) uses, each call going through
the conversation's tape: live, recorded into the cassette, or replayed from it."""

from __future__ import annotations

import builtins

from workbench.agents.chat import ChatCall
from workbench.agents.loop import Tools
from workbench.agents.tape import tape_chat, tape_tools
from workbench.calm.external import McpError, ToolResult, ToolSpec
from workbench.calm.values import JSONObject
from workbench.project.model import McpServer, Project, SubAgent
from workbench.understanding.models import ModelSpec
from workbench.understanding.tape import ModelTape


class ServerTools:
    """One MCP server's tools, called through the official SDK (`mcp_client.py`)."""

    def __init__(self, server: McpServer, timeout_s: float) -> None:
        self.server = server
        self.timeout_s = timeout_s

    async def list(self) -> builtins.list[ToolSpec]:
        from workbench.agents.mcp_client import list_tools

        return await list_tools(self.server, self.timeout_s)

    async def call(self, name: str, arguments: JSONObject) -> ToolResult:
        from workbench.agents.mcp_client import call_tool

        return await call_tool(self.server, name, arguments, self.timeout_s)


class AgentTools:
    """The tools an agent's connections offer, over all its servers: a server's tools
    filtered by `include_tools` / `exclude_tools`; a call goes to the server offering it."""

    def __init__(self, agent: SubAgent, servers: builtins.list[tuple[str, Tools]]) -> None:
        self.agent = agent
        self.servers = servers
        self._owner: dict[str, Tools] = {}

    async def list(self) -> builtins.list[ToolSpec]:
        offered: builtins.list[ToolSpec] = []
        for name, tools in self.servers:
            for spec in await tools.list():
                if self.agent.offers(name, spec.name) and spec.name not in self._owner:
                    self._owner[spec.name] = tools
                    offered.append(spec)
        return offered

    async def call(self, name: str, arguments: JSONObject) -> ToolResult:
        if not self._owner:
            await self.list()
        tools = self._owner.get(name)
        if tools is None:
            raise McpError(self.agent.name, f"no server of the agent offers the tool '{name}'")
        return await tools.call(name, arguments)


def recorded_tools(tape: ModelTape | None, server: McpServer, timeout_s: float) -> Tools:
    return tape_tools(tape or ModelTape(), server.name, ServerTools(server, timeout_s))


def agent_tools(
    tape: ModelTape | None, project: Project, agent: SubAgent, timeout_s: float
) -> Tools:
    servers: builtins.list[tuple[str, Tools]] = []
    for name in agent.mcp_servers:
        server = project.endpoints.mcp_servers.get(name)
        if server is not None:
            servers.append((name, recorded_tools(tape, server, timeout_s)))
    return AgentTools(agent, servers)


def recorded_chat(tape: ModelTape | None, model: ModelSpec, inner: ChatCall) -> ChatCall:
    return tape_chat(tape or ModelTape(), model, inner)
