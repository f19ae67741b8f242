"""How a flow's steps and links are named on screen: `collect order_id`, `action x`,
`set_slots a=1`, a link's target by its explicit id or its step's label, and what a
`call` of an agent or MCP tool is and how it went in a turn."""

from __future__ import annotations

from workbench.calm.external import CANCELLED, COMPLETED, INPUT_REQUIRED
from workbench.project.model import END_STEP, Flow, Project, Step
from workbench.trace.calls import TOOL, agent_state, call_kind
from workbench.trace.text import truncate
from workbench.trace.turn import TurnTrace

# an agent's turn, as the chart says it
_AGENT_STATES = {COMPLETED: "ok", INPUT_REQUIRED: "waiting", CANCELLED: "cancelled"}
_FRAME_STATES = {"waiting_for_input": "waiting"}


def _value(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def step_label(step: Step) -> str:
    """`collect order_id`, `action utter_x`, `set_slots a=1, b=null`, `link x`, `call y`,
    `noop`."""
    if step.kind == "set_slots":
        pairs = ", ".join(f"{name}={_value(value)}" for name, value in step.slot_values)
        return truncate(f"set_slots {pairs}".rstrip(), 60)
    if step.kind == "noop":
        return "noop"
    return f"{step.kind} {step.target or '?'}"


def target_label(flow: Flow, target: str) -> str:
    """How a link names where it goes: END, an explicit step id, or the step's label
    (generated ids like `check_order_status_2_utter_x` are noise to a reader)."""
    if target == END_STEP:
        return END_STEP
    step = flow.step(target)
    if step is None:
        return f"{target} (missing)"
    return step.id if step.explicit_id else step_label(step)


def call_state(trace: TurnTrace | None, flow_id: str, step: Step) -> str | None:
    """How the call at `step` went in `trace`: ok, error, waiting, cancelled, called; an
    agent waiting on the stack from an earlier turn is waiting (or interrupted)."""
    if trace is None:
        return None
    made = [c for c in trace.calls if c.flow_id == flow_id and c.step_id == step.id]
    if made:
        last = made[-1]
        if last.kind == TOOL:
            return "error" if last.error else "ok"
        return _AGENT_STATES.get(last.status, "error" if last.status else "called")
    for frame in trace.stack_after:
        state = agent_state(frame)
        if state is not None and frame.flow_id == flow_id and frame.step_id == step.id:
            return _FRAME_STATES.get(state, state or "waiting")
    return None


def call_marks(project: Project, flow: Flow, trace: TurnTrace | None) -> dict[str, str]:
    """Step id -> `tool · ok` / `agent · waiting for input` for each call of an agent or
    tool in `flow`: its kind, and its state in `trace` when it took part."""
    marks = {}
    for step in flow.steps:
        kind = call_kind(project, step)
        if kind is not None:
            state = call_state(trace, flow.id, step)
            marks[step.id] = f"{kind} · {state}" if state else kind
    return marks


__all__ = ["call_marks", "call_state", "step_label", "target_label"]
