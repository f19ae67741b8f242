"""`call` steps whose target is not a flow: an MCP tool or a sub-agent.

As in Rasa 3.21 (`mcp_tool_executor.py`, `agent_executor.py`), but split so the engine
stays pure: reaching such a step, the executor returns a request in its prediction; the
session makes the call (`workbench/agents/`) and hands the outcome back here, where it
becomes events, slots and stack changes.

An MCP tool call sets the output mapping's slots and the flow goes on; any failure
(server down, unknown tool, the tool's own error, a result the mapping cannot read)
starts `pattern_internal_error` with the reason. An agent that wants the user's input
puts an `agent` frame on the stack, above its flow, and the conversation comes back to
the agent each turn until it completes (its exit slots set, the flow goes on), is
cancelled (its flow ends) or fails (its flow ends, `pattern_internal_error`).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from workbench.calm.external import (
    CANCELLED,
    COMPLETED,
    INPUT_REQUIRED,
    AgentCallRequest,
    AgentOutcome,
    ToolCallRequest,
    ToolOutcome,
)
from workbench.calm.names import (
    ACTION_AGENT_REQUEST_USER_INPUT,
    ACTION_SEND_TEXT,
    PATTERN_INTERNAL_ERROR,
)
from workbench.calm.values import JSONObject, JSONValue, SlotValue
from workbench.engine import events as ev
from workbench.engine.stack import AGENT, REGULAR, Frame, new_frame_id
from workbench.engine.stack_ops import NEXT_END, push_flow, push_pattern
from workbench.engine.tracker import Tracker
from workbench.project.model import NEXT_PREFIX, Flow, Project, Step

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

# the agent frame's states (Rasa's `AgentState`) the workbench uses
WAITING = "waiting_for_input"
INTERRUPTED = "interrupted"
RESUMING = "resuming"
ACTIVE_STATES = (WAITING, RESUMING)

_EXIT_SLOT_RE = re.compile(r"\bslots\.(\w+)")


def calls_agent(project: Project, step: Step) -> bool:
    """A `call` of a sub-agent (a flow of the same name wins, as in Rasa)."""
    return (
        step.kind == "call"
        and not step.calls_mcp_tool
        and project.flow(step.call or "") is None
        and (step.call or "") in project.agents
    )


def exit_slot_names(conditions: tuple[str, ...]) -> list[str]:
    """The slots `exit_if` conditions name (`slots.<name>`), in order of appearance."""
    names: list[str] = []
    for condition in conditions:
        for name in _EXIT_SLOT_RE.findall(condition):
            if name not in names:
                names.append(name)
    return names


# --- MCP tools -------------------------------------------------------------------------------


def tool_request(tracker: Tracker, flow: Flow, step: Step) -> ToolCallRequest:
    """The call `mapping.input` asks for: each parameter gets its slot's value."""
    arguments: JSONObject = {param: tracker.slots.get(slot) for param, slot in step.mcp_input}
    return ToolCallRequest(step.mcp_server or "", step.call or "", arguments, flow.id, step.id)


def settle_tool(
    project: Project, tracker: Tracker, request: ToolCallRequest, outcome: ToolOutcome
) -> None:
    """Record the call and set the output mapping's slots, or start the internal-error
    pattern; the flow then goes on from the call step (the executor moves past it)."""
    result, error = outcome.result, outcome.error
    if result is not None and result.is_error and error is None:
        error = f"Tool '{request.tool}' execution failed: {result.text or 'no details'}"
    tracker.add(
        ev.mcp_tool_executed(
            request.tool,
            request.server,
            request.arguments,
            result.wire if result is not None and error is None else None,
            error,
            request.flow_id,
            request.step_id,
        )
    )
    if error is None and result is not None:
        step = _step(project, request.flow_id, request.step_id)
        values = _mapped_values(step.mcp_output if step else (), result.wire)
        if isinstance(values, str):
            error = f"Failed to process tool result for '{request.tool}': {values}"
        else:
            for name, value in values:
                tracker.set_slot(name, value)
    if error is not None:
        _internal_error(
            project,
            tracker,
            {
                "error_source": "mcp_tool",
                "tool_name": request.tool,
                "mcp_server": request.server,
                "error_message": error,
                "flow_id": request.flow_id,
                "step_id": request.step_id,
            },
        )


def _mapped_values(
    mapping: tuple[tuple[str, str], ...], wire: JSONObject
) -> list[tuple[str, SlotValue]] | str:
    """Each output slot's value: its Jinja expression evaluated over `{"result": …}`, as
    Rasa does (a missing last key gives None; a missing key on the way is an error);
    lists and dicts become JSON text. A failing expression: its reason."""
    if not mapping:
        return []
    document = {"result": wire}
    values: list[tuple[str, SlotValue]] = []
    for slot, expression in mapping:
        try:
            value = _environment().compile_expression(expression)(document)
        except Exception as exc:
            return f"`{expression}` for slot '{slot}': {exc}"
        values.append((slot, _slot_value(value)))
    return values


@lru_cache(maxsize=1)
def _environment() -> SandboxedEnvironment:
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment()


def _slot_value(value: object) -> SlotValue:
    if isinstance(value, (list, dict)):
        return json.dumps(value) if value else None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


# --- sub-agents ------------------------------------------------------------------------------


def agent_frame(tracker: Tracker, agent: str | None = None) -> Frame | None:
    """The topmost agent frame (of `agent`, when given)."""
    for frame in reversed(tracker.stack.frames):
        if frame.type == AGENT and (agent is None or frame.text("agent_id") == agent):
            return frame
    return None


def agent_is_active(tracker: Tracker) -> bool:
    """An agent waits for the user (Rasa's `agent_is_active`): `continue agent` applies."""
    frame = agent_frame(tracker)
    return frame is not None and frame.text("state") in ACTIVE_STATES


def active_agent_frame(tracker: Tracker, flow_id: str) -> Frame | None:
    """The agent of `flow_id` that waits for the user or is being resumed (Rasa's
    `find_active_agent_stack_frame_for_flow`)."""
    return next(
        (
            f
            for f in tracker.stack
            if f.type == AGENT and f.flow_id == flow_id and f.text("state") in ACTIVE_STATES
        ),
        None,
    )


def agent_completed(tracker: Tracker, agent: str) -> bool:
    """The agent's latest run completed: it has not started again since (Rasa's
    `is_agent_completed`)."""
    for event in reversed(tracker.events):
        if event.get("agent_id") == agent:
            if event.get("event") == "agent_completed":
                return True
            if event.get("event") == "agent_started":
                return False
    return False


def agent_request(project: Project, tracker: Tracker, flow: Flow, step: Step) -> AgentCallRequest:
    """The first call of the agent at this step: a completed earlier run of the same agent
    in this flow makes it a restart, and its exit slots start empty again."""
    agent = step.call or ""
    restarted = any(
        event.get("event") == "agent_completed"
        and event.get("agent_id") == agent
        and event.get("flow_id") == flow.id
        for event in tracker.events
    )
    if restarted:
        for name in exit_slot_names(step.exit_if):
            if tracker.slots.get(name) is not None:
                tracker.set_slot(name, None)
    return AgentCallRequest(agent, flow.id, step.id, step.exit_if, restarted=restarted)


def waiting_agent_request(project: Project, tracker: Tracker, frame: Frame) -> AgentCallRequest:
    """The agent on top of the stack gets the new turn (resumed after an interruption)."""
    step = _step(project, frame.flow_id or "", frame.step_id)
    resumed = frame.text("state") in (INTERRUPTED, RESUMING)
    if resumed:
        frame.context["state"] = RESUMING
    return AgentCallRequest(
        frame.text("agent_id") or "",
        frame.flow_id or "",
        frame.step_id,
        step.exit_if if step is not None else (),
        resumed=resumed,
    )


def mark_interrupted(tracker: Tracker) -> None:
    """A flow started above a waiting agent interrupts it (Rasa: `INTERRUPTED`)."""
    top = tracker.stack.top()
    if top is None or top.type == AGENT:
        return
    frame = agent_frame(tracker)
    if frame is not None and frame.text("state") == WAITING:
        frame.context["state"] = INTERRUPTED


def settle_agent(
    project: Project,
    tracker: Tracker,
    request: AgentCallRequest,
    outcome: AgentOutcome,
    outbox: list[JSONObject],
) -> str | None:
    """Apply the agent's turn; returns the action that utters its message (queued in
    `outbox`), or None when the flow goes on at once."""
    frame = agent_frame(tracker, request.agent)
    if frame is None:
        tracker.add(ev.agent_event("agent_started", request.agent, request.flow_id))
    elif request.resumed:
        tracker.add(ev.agent_event("agent_resumed", request.agent, request.flow_id))
    allowed = set(exit_slot_names(request.exit_if))
    for name, value in outcome.slots:
        if name in allowed and project.slot(name) is not None:
            tracker.set_slot(name, value, filled_by=request.agent)
        else:  # an agent sets only its exit slots (nothing a tool result says can widen it)
            tracker.add(ev.error(f"agent {request.agent} may not set slot '{name}'; ignored"))
    metadata: JSONObject = {"agent_name": request.agent}
    if outcome.status == INPUT_REQUIRED:
        if frame is None:
            frame = Frame(
                new_frame_id(tracker.rng),
                AGENT,
                flow_id=request.flow_id,
                step_id=request.step_id,
                context={"agent_id": request.agent},
            )
            tracker.stack.push(frame)
        frame.context["state"] = WAITING
        if outcome.message:
            outbox.append(ev.bot(outcome.message, None, metadata))
        return ACTION_AGENT_REQUEST_USER_INPUT
    _remove_agent_frames(tracker, request.agent)
    if outcome.status == COMPLETED:
        tracker.add(ev.agent_event("agent_completed", request.agent, request.flow_id))
        if outcome.message:
            outbox.append(ev.bot(outcome.message, None, metadata))
            return ACTION_SEND_TEXT
        return None
    reason = outcome.error or outcome.message or f"the agent ended with status {outcome.status}"
    tracker.add(ev.agent_event("agent_cancelled", request.agent, request.flow_id, reason=reason))
    tracker.add(ev.flow_event("flow_cancelled", request.flow_id, request.step_id))
    if outcome.status == CANCELLED:  # the flow is gone, quietly (no cancel pattern)
        tracker.stack.frames[:] = [
            f for f in tracker.stack.frames if not (f.is_user_flow and f.flow_id == request.flow_id)
        ]
    else:
        _end_flow(tracker, request.flow_id)
        _internal_error(
            project,
            tracker,
            {
                "error_source": "agent",
                "agent_name": request.agent,
                "flow_id": request.flow_id,
                "step_id": request.step_id,
                "error_message": reason,
            },
        )
    return None


def restart_refused(project: Project, tracker: Tracker, agent: str) -> str | None:
    """Why `restart agent <agent>` does not apply (Rasa keeps it only for a known agent
    that has completed), or None."""
    if agent not in project.agents:
        return f"'{agent}' is no agent of this project"
    if not agent_completed(tracker, agent):
        return f"agent {agent} has not completed, so it cannot be restarted"
    return None


def restart_agent(project: Project, tracker: Tracker, agent: str) -> None:
    """Run the agent's call step again, from scratch (its exit slots are reset when the
    step runs): the calling flow goes back to that step, started again if it ended."""
    flow_id = _completed_in(tracker, agent)
    flow = project.flow(flow_id or "")
    if flow is None:
        return
    step = next((s for s in flow.steps if s.kind == "call" and s.call == agent), None)
    if step is None:
        return
    frame = next(
        (f for f in reversed(tracker.stack.frames) if f.is_user_flow and f.flow_id == flow.id),
        None,
    )
    if frame is None:
        frame = push_flow(project, tracker, flow.id, REGULAR)
    if frame is not None:
        frame.step_id = NEXT_PREFIX + step.id


def _completed_in(tracker: Tracker, agent: str) -> str | None:
    """The flow in which the agent last completed."""
    for event in reversed(tracker.events):
        if event.get("event") == "agent_completed" and event.get("agent_id") == agent:
            flow_id = event.get("flow_id")
            return flow_id if isinstance(flow_id, str) else None
    return None


def drop_ended_agent(tracker: Tracker, frame: Frame) -> None:
    """An agent frame its flow's cancellation ended (`NEXT:END`): the agent is cancelled."""
    tracker.stack.remove(frame)
    agent = frame.text("agent_id") or ""
    tracker.add(ev.agent_event("agent_cancelled", agent, frame.flow_id or "", reason="flow ended"))


def _remove_agent_frames(tracker: Tracker, agent: str) -> None:
    for frame in [f for f in tracker.stack.frames if f.type == AGENT]:
        if frame.text("agent_id") == agent:
            tracker.stack.remove(frame)


def _end_flow(tracker: Tracker, flow_id: str) -> None:
    """The failed agent's flow ends without the cancel pattern (Rasa: the user sees only
    the internal error): its frame and everything above it continue at END."""
    frames = tracker.stack.frames
    owners = [i for i, f in enumerate(frames) if f.is_user_flow and f.flow_id == flow_id]
    for frame in frames[owners[-1] :] if owners else []:
        frame.step_id = NEXT_END


def _internal_error(project: Project, tracker: Tracker, info: JSONObject) -> None:
    message = str(info.get("error_message", ""))
    details: dict[str, JSONValue] = {k: v for k, v in info.items() if k != "error_message"}
    tracker.add(ev.error(message, **details))
    push_pattern(project, tracker, PATTERN_INTERNAL_ERROR, {"error_type": "default", "info": info})


def _step(project: Project, flow_id: str, step_id: str) -> Step | None:
    flow = project.flow(flow_id)
    return flow.step(step_id) if flow is not None else None
