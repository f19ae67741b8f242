"""E2E stubs for MCP tools and sub-agents, beside Rasa's `stub_custom_actions`.

Rasa's e2e format has no stubs for agents or tools; the workbench reads two more
top-level keys of a test file, in the shape of `stub_custom_actions` (a name for every
test of the file, or `<test case>::<name>` for one test, spaces in the test case's name
written `_`)::

    stub_tools:
      track_parcel:                       # what the tool returns, in MCP's shape
        structuredContent: {status: in transit, eta: tomorrow}
    stub_agents:
      parcel_helper:                      # one entry per turn of the agent, in order
        - status: input_required
          message: Which parcel do you mean?
        - status: completed
          message: It arrives tomorrow.
          slots: {parcel_status: in transit}

A tool stub is the tool's result (`content`, `structuredContent`, `isError`); a
`content` given as a string becomes one text part. An agent stub is a list of turns
(`status`: completed, input_required, cancelled or fatal_error; `message`; `slots`;
`error`), used in order; its last turn answers any further one. A stubbed call never
reaches a server or a model.
"""

from __future__ import annotations

from collections.abc import Mapping

from workbench.actions.stubs import SEPARATOR, stub_key
from workbench.calm.external import AGENT_STATUSES, AgentOutcome, ToolResult
from workbench.calm.values import JSONObject, JSONValue, SlotValue


class StubError(ValueError):
    """A stub that cannot be read; the message names it."""


class CallStubs:
    """The stubs of one test case: its own (`<case>::<name>`) win over the file's."""

    def __init__(
        self,
        tools: Mapping[str, JSONValue] | None = None,
        agents: Mapping[str, JSONValue] | None = None,
        test_case: str | None = None,
    ) -> None:
        self._tools = _for_case(tools or {}, test_case)
        self._agents = _for_case(agents or {}, test_case)
        self._turns: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self._tools or self._agents)

    def tool(self, name: str) -> ToolResult | None:
        data = self._tools.get(name)
        if data is None:
            return None
        return tool_result(name, data)

    def agent(self, name: str) -> AgentOutcome | None:
        data = self._agents.get(name)
        if data is None:
            return None
        turns = data if isinstance(data, list) else [data]
        if not turns:
            raise StubError(f"stub_agents: {name} has no turns")
        index = self._turns.get(name, 0)
        self._turns[name] = index + 1
        return agent_outcome(name, turns[min(index, len(turns) - 1)])


def _for_case(stubs: Mapping[str, JSONValue], test_case: str | None) -> dict[str, JSONValue]:
    chosen = {k: v for k, v in stubs.items() if SEPARATOR not in k}
    if test_case is not None:
        prefix = stub_key(test_case, "")  # the keys of `stub_custom_actions`, as Rasa's
        chosen.update({k[len(prefix) :]: v for k, v in stubs.items() if k.startswith(prefix)})
    return chosen


def tool_result(name: str, data: JSONValue) -> ToolResult:
    if not isinstance(data, Mapping):
        raise StubError(f"stub_tools: {name} must be a mapping (content, structuredContent)")
    wire: JSONObject = {}
    content = data.get("content")
    if isinstance(content, str):
        wire["content"] = [{"type": "text", "text": content}]
    elif isinstance(content, list):
        wire["content"] = list(content)
    else:
        wire["content"] = []
    if "structuredContent" in data:
        wire["structuredContent"] = data["structuredContent"]
    wire["isError"] = data.get("isError") is True
    return ToolResult(wire)


def agent_outcome(name: str, data: JSONValue) -> AgentOutcome:
    if not isinstance(data, Mapping):
        raise StubError(f"stub_agents: each turn of {name} must be a mapping with a status")
    status = data.get("status")
    if status not in AGENT_STATUSES:
        raise StubError(
            f"stub_agents: {name} has status {status!r}; use one of {', '.join(AGENT_STATUSES)}"
        )
    slots = data.get("slots")
    if slots is not None and not isinstance(slots, Mapping):
        raise StubError(f"stub_agents: {name}: `slots` must be a mapping of slot to value")
    pairs: tuple[tuple[str, SlotValue], ...] = tuple((str(k), v) for k, v in (slots or {}).items())
    message, error = data.get("message"), data.get("error")
    return AgentOutcome(
        status=str(status),
        message=str(message) if message is not None else None,
        slots=pairs,
        error=str(error) if error is not None else None,
    )
