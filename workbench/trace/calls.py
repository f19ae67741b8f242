"""`CallRecord`: one `call` of an MCP tool or a sub-agent in a turn, as the Agent panel,
`shell --debug` and `sessions show -v` show it: what was sent, each step of the agent's
loop, what came back, why it ended, and what it took."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from workbench.calm.external import AgentStep
from workbench.calm.values import JSONObject, JSONValue, SlotValue
from workbench.engine.external_calls import calls_agent
from workbench.engine.stack import AGENT as AGENT_FRAME
from workbench.project.model import Project, Step
from workbench.trace.records import StackFrame

TOOL, AGENT = "tool", "agent"
# where an outcome came from
LIVE, RECORDED, STUB, OFFLINE = "live", "recorded", "stub", "offline"


@dataclass(frozen=True)
class CallRecord:
    """`kind` tool: `name` on `server` with `arguments`, its wire `result` or `error`.
    `kind` agent: `status` (completed, input_required, fatal_error, cancelled, …), its
    `message`, the exit `slots` it set, its `steps`, the system `prompt` and `model`, and
    the `exit_if` conditions it ran against."""

    kind: str
    name: str
    flow_id: str
    step_id: str
    status: str = ""
    server: str = ""
    arguments: JSONObject = field(default_factory=dict)
    result: JSONValue = None
    message: str | None = None
    slots: tuple[tuple[str, SlotValue], ...] = ()
    error: str | None = None
    steps: tuple[AgentStep, ...] = ()
    prompt: str | None = None
    model: str | None = None
    exit_if: tuple[str, ...] = ()
    duration_ms: float = 0.0
    source: str = LIVE

    @property
    def tokens(self) -> tuple[int, int]:
        """(prompt, completion) tokens over the agent's model steps."""
        prompt = sum(s.prompt_tokens or 0 for s in self.steps)
        completion = sum(s.completion_tokens or 0 for s in self.steps)
        return prompt, completion

    @property
    def cost(self) -> float | None:
        costs = [s.cost for s in self.steps if s.cost is not None]
        return sum(costs) if costs else None

    @property
    def headline(self) -> str:
        """One line: `tool track_parcel @parcels: ok` / `agent parcel_helper: completed`."""
        if self.kind == TOOL:
            outcome = "error" if self.error else "ok"
            return f"tool {self.name} @{self.server}: {outcome}"
        return f"agent {self.name}: {self.status or 'error'}"

    def as_dict(self) -> dict[str, JSONValue]:
        return {
            "kind": self.kind,
            "name": self.name,
            "flow_id": self.flow_id,
            "step_id": self.step_id,
            "status": self.status,
            "server": self.server,
            "arguments": dict(self.arguments),
            "result": self.result,
            "message": self.message,
            "slots": [[name, value] for name, value in self.slots],
            "error": self.error,
            "steps": [step.as_dict() for step in self.steps],
            "prompt": self.prompt,
            "model": self.model,
            "exit_if": list(self.exit_if),
            "duration_ms": self.duration_ms,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> CallRecord:
        arguments, steps, slots = data.get("arguments"), data.get("steps"), data.get("slots")
        duration = data.get("duration_ms")
        return cls(
            kind=str(data.get("kind") or ""),
            name=str(data.get("name") or ""),
            flow_id=str(data.get("flow_id") or ""),
            step_id=str(data.get("step_id") or ""),
            status=str(data.get("status") or ""),
            server=str(data.get("server") or ""),
            arguments=dict(arguments) if isinstance(arguments, dict) else {},
            result=data.get("result"),
            message=_text(data.get("message")),
            slots=tuple(
                (str(pair[0]), pair[1])
                for pair in (slots if isinstance(slots, list) else [])
                if isinstance(pair, list) and len(pair) == 2
            ),
            error=_text(data.get("error")),
            steps=tuple(
                AgentStep.from_dict(s)
                for s in (steps if isinstance(steps, list) else [])
                if isinstance(s, dict)
            ),
            prompt=_text(data.get("prompt")),
            model=_text(data.get("model")),
            exit_if=tuple(str(c) for c in _list(data.get("exit_if"))),
            duration_ms=float(duration) if isinstance(duration, (int, float)) else 0.0,
            source=str(data.get("source") or LIVE),
        )


def call_kind(project: Project, step: Step) -> str | None:
    """`tool` or `agent` for a `call` step whose target is not a flow; None otherwise."""
    if step.calls_mcp_tool:
        return TOOL
    return AGENT if calls_agent(project, step) else None


def agent_state(frame: StackFrame) -> str | None:
    """The state of an agent frame (`waiting_for_input`, `interrupted`, `resuming`);
    None for a frame that is not an agent's."""
    if frame.type != AGENT_FRAME:
        return None
    state = frame.context.get("state")
    return state if isinstance(state, str) else ""


def _text(value: JSONValue) -> str | None:
    return value if isinstance(value, str) else None


def _list(value: JSONValue) -> list[JSONValue]:
    return list(value) if isinstance(value, list) else []
