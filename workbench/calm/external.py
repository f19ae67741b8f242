"""What the engine asks of the outside world at a `call` step that is not a flow, and what
comes back: an MCP tool's result, a sub-agent's turn.

The engine stays pure: it returns a request (`ToolCallRequest`, `AgentCallRequest`) in
its prediction, the session does the I/O (`workbench/agents/`), and the engine settles
the outcome (`ToolOutcome`, `AgentOutcome`) on the tracker. The same outcomes are what a
cassette records and replays, and what the Agent panel draws (`trace.records.CallRecord`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.calm.values import JSONObject, JSONValue, SlotValue
from workbench.errors import WorkbenchError

# Rasa's agent statuses (`rasa/agents/core/types.py AgentStatus`)
COMPLETED = "completed"
INPUT_REQUIRED = "input_required"
FATAL_ERROR = "fatal_error"
RECOVERABLE_ERROR = "recoverable_error"
CANCELLED = "cancelled"
AGENT_STATUSES = (COMPLETED, INPUT_REQUIRED, FATAL_ERROR, RECOVERABLE_ERROR, CANCELLED)


class McpError(WorkbenchError):
    """An MCP server could not be reached, or a tool call failed before it returned."""

    def __init__(self, server: str, reason: str) -> None:
        self.server = server
        self.reason = reason
        super().__init__(f"MCP server '{server}': {reason}")


@dataclass(frozen=True)
class ToolSpec:
    """A tool an MCP server lists: what an agent's model is offered as a function."""

    name: str
    description: str = ""
    input_schema: JSONObject = field(default_factory=dict)


@dataclass(frozen=True)
class ToolResult:
    """A tool's `CallToolResult` in MCP's wire shape (`content`, `structuredContent`,
    `isError`), whatever the SDK version: the shape flows' `mapping.output` expressions
    read (`result.structuredContent.order_status`)."""

    wire: JSONObject

    @property
    def is_error(self) -> bool:
        return self.wire.get("isError") is True

    @property
    def structured(self) -> JSONValue:
        return self.wire.get("structuredContent")

    @property
    def text(self) -> str:
        """The text parts of `content`, joined (what a model is shown of the result)."""
        parts = self.wire.get("content")
        if not isinstance(parts, list):
            return ""
        texts = [
            str(part.get("text", ""))
            for part in parts
            if isinstance(part, dict) and part.get("type") == "text"
        ]
        return "\n".join(texts)


# --- a direct tool call: `call: <tool>` with `mcp_server` and `mapping` ----------------------


@dataclass(frozen=True)
class ToolCallRequest:
    """Call `tool` on `server` with `arguments` (built from the input mapping)."""

    server: str
    tool: str
    arguments: JSONObject
    flow_id: str
    step_id: str


@dataclass(frozen=True)
class ToolOutcome:
    """The result, or why there is none (server down, unknown tool, timeout)."""

    result: ToolResult | None = None
    error: str | None = None
    duration_ms: float = 0.0


# --- a sub-agent: `call: <agent name>` -------------------------------------------------------


@dataclass(frozen=True)
class AgentCallRequest:
    """Run one turn of `agent` for the call step `flow_id`/`step_id`.

    `restarted`: a fresh run (the exit slots were reset); `resumed`: the agent was
    interrupted by another flow and is picked up again."""

    agent: str
    flow_id: str
    step_id: str
    exit_if: tuple[str, ...] = ()
    restarted: bool = False
    resumed: bool = False


@dataclass(frozen=True)
class AgentSlot:
    """A slot as the agent sees it (Rasa's `AgentInputSlot`)."""

    name: str
    value: SlotValue
    type: str = "any"
    allowed_values: tuple[str, ...] | None = None
    # whether the agent may fill it (its mappings allow an LLM to fill it)
    fillable: bool = True


@dataclass(frozen=True)
class AgentInput:
    """What an agent is given for one turn (Rasa's `AgentInput`)."""

    agent: str
    user_message: str
    slots: tuple[AgentSlot, ...]
    conversation: str  # the readable transcript, "USER: …" / "AI: …" lines
    exit_if: tuple[str, ...] = ()
    restarted: bool = False
    resumed: bool = False
    sender_id: str = ""


@dataclass(frozen=True)
class AgentStep:
    """One thing the agent did in its loop, in order, for the Agent panel.

    kind: `model` (a completion: `text`, `tool_calls`, tokens, latency), `tool` (an MCP
    tool call: `name`, `arguments`, `result` or `error`, latency), `set_slot` (the
    agent's built-in slot tool: `name`, `arguments`), `exit_check` (the `exit_if`
    conditions evaluated: `result` true/false, `error`)."""

    kind: str
    name: str = ""
    arguments: JSONObject = field(default_factory=dict)
    result: JSONValue = None
    error: str | None = None
    text: str | None = None
    tool_calls: tuple[JSONObject, ...] = ()
    latency_ms: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None

    def as_dict(self) -> JSONObject:
        data: JSONObject = {"kind": self.kind}
        for name in ("name", "arguments", "result", "error", "text", "latency_ms"):
            value = getattr(self, name)
            if value not in (None, "", {}):
                data[name] = value
        if self.tool_calls:
            data["tool_calls"] = list(self.tool_calls)
        for name in ("prompt_tokens", "completion_tokens", "cost"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data

    @classmethod
    def from_dict(cls, data: JSONObject) -> AgentStep:
        arguments = data.get("arguments")
        calls = data.get("tool_calls")
        error, text, name = data.get("error"), data.get("text"), data.get("name")
        latency = data.get("latency_ms")
        return cls(
            kind=str(data.get("kind", "")),
            name=str(name) if name else "",
            arguments=dict(arguments) if isinstance(arguments, dict) else {},
            result=data.get("result"),
            error=str(error) if error is not None else None,
            text=str(text) if text is not None else None,
            tool_calls=tuple(c for c in calls if isinstance(c, dict))
            if isinstance(calls, list)
            else (),
            latency_ms=float(latency) if isinstance(latency, (int, float)) else 0.0,
            prompt_tokens=_int(data.get("prompt_tokens")),
            completion_tokens=_int(data.get("completion_tokens")),
            cost=float(c) if isinstance(c := data.get("cost"), (int, float)) else None,
        )


@dataclass(frozen=True)
class AgentOutcome:
    """How the agent's turn ended (Rasa's `AgentOutput`).

    `slots`: the exit-condition slots the agent set (only those: an agent cannot set
    any other slot); `message`: what it says to the user, if anything."""

    status: str
    message: str | None = None
    slots: tuple[tuple[str, SlotValue], ...] = ()
    error: str | None = None
    steps: tuple[AgentStep, ...] = ()
    prompt: str | None = None
    model: str | None = None
    duration_ms: float = 0.0


def _int(value: JSONValue) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
