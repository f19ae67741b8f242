"""A sub-agent's model steps and MCP tool calls, recorded into the cassette and replayed
from it, so that a recorded conversation replays with no model and no MCP server.

Both wrap what the loop is given (`ChatCall`, `Tools`) and go through `ModelTape.recorded`
with a JSON payload. The keys (sha256 of the scrubbed JSON, as every tape key):

    agent_step     {"messages": [...], "tools": [...]}: everything the model is sent, the
                   system prompt as rendered at a fixed time (`prompt.SystemPrompt.key`);
                   the payload is the reply (`ChatReply.as_dict`), or {"error": ...}
    mcp_tool       {"server": ..., "tool": ..., "arguments": {...}}; the payload is the
                   result in MCP's wire shape, or {"error": ...}
    mcp_tool_list  {"server": ...}; the payload is the tools listed

A failure is recorded too, so a replay fails where the recorded run failed.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import cast, get_args

from workbench.agents.chat import ChatCall, ChatReply
from workbench.agents.loop import Tools
from workbench.agents.prompt import SystemPrompt
from workbench.calm.external import McpError, ToolResult, ToolSpec
from workbench.calm.values import JSONObject, JSONValue
from workbench.understanding.llm import ErrorKind, LLMError
from workbench.understanding.models import ModelSpec
from workbench.understanding.tape import ModelTape, TapeError

AGENT_STEP = "agent_step"
MCP_TOOL = "mcp_tool"
MCP_TOOL_LIST = "mcp_tool_list"


def tape_chat(tape: ModelTape, model: ModelSpec, inner: ChatCall) -> ChatCall:
    """`inner`, recorded into `tape` (or replayed from it, without calling `inner`)."""

    async def chat(messages: list[JSONObject], tools: list[JSONObject]) -> ChatReply:
        key = _json({"messages": [_keyed(m) for m in messages], "tools": tools})
        live: list[ChatReply] = []

        async def call() -> str:
            try:
                reply = await inner(messages, tools)
            except LLMError as error:
                return _json({"error": {"kind": error.kind, "message": error.message}})
            live.append(reply)
            return _json(reply.as_dict())

        payload = _payload(
            tape, AGENT_STEP, await tape.recorded(AGENT_STEP, key, _about(messages), call)
        )
        error = payload.get("error")
        if isinstance(error, dict):
            raise LLMError(_kind(error.get("kind")), str(error.get("message", "")), model.model)
        if live:  # the real reply, with its latency
            return live[0]
        reply = ChatReply.from_dict(payload)
        return reply if reply.model else replace(reply, model=model.model)

    return chat


def tape_tools(tape: ModelTape, server: str, inner: Tools) -> Tools:
    """`inner`'s tools (named `server` in the keys), recorded into `tape` or replayed."""
    return _TapedTools(tape, server, inner)


class _TapedTools:
    def __init__(self, tape: ModelTape, server: str, inner: Tools) -> None:
        self.tape = tape
        self.server = server
        self.inner = inner

    async def list(self) -> builtins.list[ToolSpec]:
        async def run() -> str:
            specs = await self.inner.list()
            return _json(
                {
                    "tools": [
                        {
                            "name": s.name,
                            "description": s.description,
                            "input_schema": s.input_schema,
                        }
                        for s in specs
                    ]
                }
            )

        payload = await self._recorded(MCP_TOOL_LIST, {"server": self.server}, self.server, run)
        tools = payload.get("tools")
        return [
            ToolSpec(
                str(item.get("name", "")),
                str(item.get("description") or ""),
                dict(schema) if isinstance(schema := item.get("input_schema"), dict) else {},
            )
            for item in (tools if isinstance(tools, builtins.list) else [])
            if isinstance(item, dict)
        ]

    async def call(self, name: str, arguments: JSONObject) -> ToolResult:
        async def run() -> str:
            return _json({"result": (await self.inner.call(name, arguments)).wire})

        key: JSONObject = {"server": self.server, "tool": name, "arguments": arguments}
        about = f"{self.server}.{name} {_json(arguments)}"
        payload = await self._recorded(MCP_TOOL, key, about, run)
        result = payload.get("result")
        return ToolResult(dict(result) if isinstance(result, dict) else {})

    async def _recorded(
        self, kind: str, key: JSONObject, about: str, call: Callable[[], Awaitable[str]]
    ) -> JSONObject:
        async def guarded() -> str:
            try:
                return await call()
            except McpError as error:
                return _json({"error": error.reason})

        payload = _payload(
            self.tape, kind, await self.tape.recorded(kind, _json(key), about, guarded)
        )
        error = payload.get("error")
        if error is not None:
            raise McpError(self.server, str(error))
        return payload


def _keyed(message: JSONObject) -> JSONObject:
    content = message.get("content")
    if isinstance(content, SystemPrompt):
        return {**message, "content": content.key}
    return message


def _about(messages: list[JSONObject]) -> str:
    """The last thing the model was told (the user's message, a tool's result)."""
    for message in reversed(messages):
        content = message.get("content")
        if message.get("role") != "system" and isinstance(content, str) and content:
            return f"{message.get('role')}: {content}"
    return "agent step"


def _payload(tape: ModelTape, kind: str, text: str) -> JSONObject:
    try:
        data: JSONValue = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        where = f" in {tape.path}" if tape.path else ""
        raise TapeError(f"a recorded {kind.replace('_', ' ')} call{where} is not a JSON object")
    return data


def _json(value: JSONValue) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _kind(value: JSONValue) -> ErrorKind:
    return cast(ErrorKind, value) if value in get_args(ErrorKind) else "server"
