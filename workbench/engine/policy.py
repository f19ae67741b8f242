"""The flow executor: advance the top frame's flow step by step until an action must run.

`predict()` mutates the tracker (stack, flow events, slot resets) and returns the next
action to execute; the caller runs it and asks again, until `action_listen`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # jinja2 is imported on first use
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment

from workbench.calm.conditions import evaluate_condition
from workbench.calm.external import AgentCallRequest, ToolCallRequest
from workbench.calm.names import (
    ACTION_LISTEN,
    ACTION_SEND_TEXT,
    ACTION_SESSION_START,
    PATTERN_CANCEL_FLOW,
    PATTERN_COLLECT_INFORMATION,
    PATTERN_COMPLETED,
    PATTERN_CONTINUE_INTERRUPTED,
    PATTERN_INTERNAL_ERROR,
    PATTERN_SEARCH,
    action_ask,
)
from workbench.calm.values import JSONObject, SlotValue
from workbench.engine import events as ev
from workbench.engine.external_calls import (
    agent_request,
    calls_agent,
    drop_ended_agent,
    mark_interrupted,
    tool_request,
    waiting_agent_request,
)
from workbench.engine.loops import repeating_tail, spell_loop
from workbench.engine.search import has_search_policy
from workbench.engine.stack import AGENT, CALL, CHITCHAT, INTERRUPT, LINK, SEARCH, Frame
from workbench.engine.stack_ops import interrupted_flow_frames, join_names, push_flow, push_pattern
from workbench.engine.tracker import Tracker
from workbench.project.choices import RASA_3_14
from workbench.project.model import (
    END_STEP,
    NEXT_PREFIX,
    START_STEP,
    ConditionalNext,
    Flow,
    Project,
    StaticNext,
    Step,
)

MAX_STEPS = 250
_JINJA_RE = re.compile(r"\{\{|\{%")
_CONTEXT_VAR_RE = re.compile(r"\{\{\s*context\.(\w+)\s*\}\}")


@dataclass(frozen=True)
class Prediction:
    action: str
    flow_id: str | None = None
    step_id: str | None = None
    # a custom action the domain does not know is still run, so the trace can show it
    error: str | None = None
    # the top frame is a search frame Enterprise Search answers: the caller finds the
    # answer and hands it to `Engine.settle_search`, which says what runs
    search: bool = False
    # a `call` of an MCP tool or a sub-agent: the caller makes it and hands the outcome
    # to `Engine.settle_call`, which says what runs (`action` is "" meanwhile)
    call: ToolCallRequest | AgentCallRequest | None = None


def render_template(text: str, context: JSONObject, slots: Mapping[str, SlotValue]) -> str:
    """Jinja-render a step's action name or condition with `context` (as Rasa does)."""
    if not _JINJA_RE.search(text):
        return text
    # patterns only ever write `{{context.x}}`: substitute those without Jinja (hot path)
    simple = _CONTEXT_VAR_RE.sub(lambda m: str(context.get(m.group(1), "")), text)
    if not _JINJA_RE.search(simple):
        return simple
    template = _compiled(text)
    if template is None:
        return text
    try:
        return template.render(context=context, slots=slots)
    except Exception:  # a broken template behaves like a false condition / unknown action
        return text


@lru_cache(maxsize=512)
def _compiled(text: str) -> Template | None:
    try:
        return _environment().from_string(text)
    except Exception:
        return None


@lru_cache(maxsize=1)
def _environment() -> SandboxedEnvironment:
    from jinja2.sandbox import SandboxedEnvironment  # imported on first use: start-up cost

    return SandboxedEnvironment()


class FlowExecutor:
    def __init__(self, project: Project, known_actions: frozenset[str]) -> None:
        self.project = project
        self.known_actions = known_actions
        # Rasa 3.14 simply re-asks the open question after a knowledge answer; later
        # versions ask whether to continue the flow, as after an interrupting flow
        self.search_interrupts = project.rasa_version != RASA_3_14
        self.answers_search = has_search_policy(project)

    def predict(self, tracker: Tracker) -> Prediction:
        trail: list[tuple[str, str]] = []
        prediction = self._advance(tracker, trail)
        if prediction is None:
            self._circuit_breaker(tracker, trail)
            prediction = self._advance(tracker, []) or Prediction(ACTION_LISTEN)
        return prediction

    def _advance(self, tracker: Tracker, trail: list[tuple[str, str]]) -> Prediction | None:
        """Steps until one predicts an action; None after MAX_STEPS steps (Rasa's flow
        circuit breaker), with the steps taken in `trail`."""
        mark_interrupted(tracker)
        for _ in range(MAX_STEPS):
            frame = tracker.stack.top()
            if frame is None:
                return Prediction(ACTION_LISTEN)
            if frame.type == AGENT:
                if frame.step_id.startswith(NEXT_PREFIX):
                    drop_ended_agent(tracker, frame)
                    continue
                request = waiting_agent_request(self.project, tracker, frame)
                return Prediction("", request.flow_id, request.step_id, call=request)
            if not frame.is_flow_frame:
                if frame.type == SEARCH and self.answers_search:
                    return Prediction(ACTION_SEND_TEXT, search=True)
                if frame.type in (SEARCH, CHITCHAT):
                    # without Enterprise Search (and for chitchat) nothing answers them
                    tracker.stack.pop()
                    continue
                return Prediction(ACTION_LISTEN)
            flow = self.project.flow(frame.flow_id or "")
            if flow is None:
                tracker.stack.pop()
                tracker.add(ev.error(f"flow '{frame.flow_id}' no longer exists; frame removed"))
                continue
            target = self._next_step_id(flow, frame, tracker)
            if target == END_STEP:
                self.end_flow(tracker, frame, flow)
                continue
            step = flow.step(target)
            if step is None:
                tracker.add(ev.error(f"flow '{flow.id}' has no step '{target}'; flow ended"))
                self.end_flow(tracker, frame, flow)
                continue
            previous = frame.step_id
            frame.step_id = step.id
            trail.append((flow.id, step.id))
            if previous == START_STEP:
                tracker.add(ev.flow_started(flow.id, self._start_metadata(tracker, frame)))
            prediction = self._run_step(tracker, frame, flow, step)
            if prediction is not None:
                return prediction
        return None

    # -- moving between steps -------------------------------------------------------------

    def _next_step_id(self, flow: Flow, frame: Frame, tracker: Tracker) -> str:
        current = frame.step_id
        if current == START_STEP:
            first = flow.first_step
            return first.id if first else END_STEP
        if current.startswith(NEXT_PREFIX):
            return current[len(NEXT_PREFIX) :]
        step = flow.step(current)
        if step is None:
            return END_STEP
        nxt = step.next
        if isinstance(nxt, StaticNext):
            return nxt.target
        if isinstance(nxt, ConditionalNext):
            document = tracker.condition_document()
            for branch in nxt.branches:
                if branch.condition is None:
                    return branch.target
                context = document["context"]
                condition = render_template(
                    branch.condition, context if isinstance(context, dict) else {}, tracker.slots
                )
                if evaluate_condition(condition, document):
                    return branch.target
        return END_STEP

    def _start_metadata(self, tracker: Tracker, frame: Frame) -> JSONObject:
        metadata = frame.as_dict()
        if frame.frame_type in (LINK, CALL):
            stack = tracker.stack.frames
            index = stack.index(frame)
            parent = next(
                (f for f in reversed(stack[:index]) if f.is_user_flow),
                None,
            )
            if parent is not None:
                metadata["parent_flow_id"] = parent.flow_id
                metadata["parent_step_id"] = parent.step_id
        return metadata

    # -- running steps ----------------------------------------------------------------------

    def _run_step(
        self, tracker: Tracker, frame: Frame, flow: Flow, step: Step
    ) -> Prediction | None:
        if step.kind == "action":
            name = render_template(step.action or "", frame.as_dict(), tracker.slots)
            if name not in self.known_actions:
                return None  # an action the domain does not know is skipped
            if name == ACTION_SESSION_START and tracker.session_started:
                return None
            return Prediction(name, flow.id, step.id)
        if step.kind == "collect":
            self._collect(tracker, frame, flow, step)
            return None
        if step.kind == "set_slots":
            for name, value in step.slot_values:
                tracker.set_slot(name, value)
            return None
        if step.kind == "link":
            target = step.link or ""
            index = tracker.stack.index(frame)
            if push_flow(self.project, tracker, target, LINK, index=index) is None:
                tracker.add(ev.error(f"link to unknown flow '{target}' ignored"))
            return None
        if step.kind == "call":
            target = step.call or ""
            if step.calls_mcp_tool:
                return Prediction("", flow.id, step.id, call=tool_request(tracker, flow, step))
            if calls_agent(self.project, step):
                request = agent_request(self.project, tracker, flow, step)
                return Prediction("", flow.id, step.id, call=request)
            if push_flow(self.project, tracker, target, CALL) is None:
                tracker.add(ev.error(f"call of unknown flow '{target}' ignored"))
            return None
        return None  # noop

    def _collect(self, tracker: Tracker, frame: Frame, flow: Flow, step: Step) -> None:
        slot_name = step.collect or ""
        if step.ask_before_filling:
            tracker.set_slot(slot_name, None)
        tracker.record_visit(frame.frame_id, flow.id, step.id)
        utter = step.ask_utter
        ask_action = action_ask(slot_name)
        slot = self.project.slot(slot_name)
        askable = (
            utter in self.known_actions
            or ask_action in self.known_actions
            or (slot is not None and slot.initial_value is not None)
        )
        if not askable:
            tracker.add(
                ev.error(
                    f"collect of '{slot_name}' in flow '{flow.id}' has no response "
                    f"'{utter}' and no action '{ask_action}'"
                )
            )
            self.cancel_for_error(tracker)
            return None
        push_pattern(
            self.project,
            tracker,
            PATTERN_COLLECT_INFORMATION,
            {
                "collect": slot_name,
                "utter": utter,
                "collect_action": ask_action,
                "rejections": [{"if": r.condition, "utter": r.utter} for r in step.rejections],
            },
        )
        return None

    # -- ending flows ------------------------------------------------------------------------

    def end_flow(self, tracker: Tracker, frame: Frame, flow: Flow) -> None:
        tracker.stack.remove(frame)
        if not (frame.is_user_flow and frame.frame_type == CALL):
            for name in self.slots_to_reset(flow):
                slot = self.project.slot(name)
                initial = slot.initial_value if slot else None
                tracker.set_slot(name, initial, reset=True)
        tracker.add(ev.flow_event("flow_completed", flow.id, frame.step_id))
        if not (frame.is_user_flow or frame.type == PATTERN_SEARCH):
            return
        if frame.is_user_flow and frame.frame_type == CALL:
            return
        if not tracker.stack:
            if flow.run_pattern_completed:
                push_pattern(
                    self.project,
                    tracker,
                    PATTERN_COMPLETED,
                    {"previous_flow_name": flow.readable_name},
                )
            return
        ended_interrupt = frame.frame_type == INTERRUPT or (
            frame.type == PATTERN_SEARCH and self.search_interrupts
        )
        waiting = interrupted_flow_frames(tracker)
        if ended_interrupt and waiting:
            self.push_continue_interrupted(tracker, waiting)

    def push_continue_interrupted(self, tracker: Tracker, waiting: list[Frame]) -> None:
        names = [self._flow_name(f.flow_id) for f in waiting]
        ids = [f.flow_id for f in waiting]
        top = tracker.stack.top()
        index = None
        if top is not None and top.is_user_flow and top.frame_type == LINK:
            index = tracker.stack.index(top)
        push_pattern(
            self.project,
            tracker,
            PATTERN_CONTINUE_INTERRUPTED,
            {
                "interrupted_flow_names": names,
                "interrupted_flow_ids": ids,
                "interrupted_flow_options": join_names(names),
                "multiple_flows_interrupted": len(names) > 1,
            },
            index=index,
        )

    def _flow_name(self, flow_id: str | None) -> str:
        flow = self.project.flow(flow_id or "")
        return flow.readable_name if flow else str(flow_id)

    def slots_to_reset(self, flow: Flow, seen: set[str] | None = None) -> list[str]:
        """Slots the flow (and flows it calls) collected or set, minus persisted ones."""
        seen = seen if seen is not None else set()
        if flow.id in seen:
            return []
        seen.add(flow.id)
        names: list[str] = []
        keep = set(flow.persisted_slots)
        for step in flow.steps:
            if step.kind == "collect" and step.collect and step.reset_after_flow_ends:
                names.append(step.collect)
            elif step.kind == "set_slots":
                names.extend(name for name, _ in step.slot_values)
            elif step.kind == "call" and step.call:
                called = self.project.flow(step.call)
                if called is not None:
                    names.extend(self.slots_to_reset(called, seen))
        return [n for n in dict.fromkeys(names) if n not in keep and self.project.slot(n)]

    # -- failure handling ---------------------------------------------------------------------

    def cancel_for_error(self, tracker: Tracker) -> None:
        """A step that cannot run: cancel the flow and tell the user something went wrong."""
        from workbench.engine.stack_ops import user_flow_group_ids

        top = tracker.stack.top_user_frame() or tracker.stack.top()
        name = top.flow_id if top else None
        push_pattern(
            self.project,
            tracker,
            PATTERN_CANCEL_FLOW,
            {"canceled_name": name, "canceled_frames": user_flow_group_ids(tracker)},
        )
        push_pattern(self.project, tracker, PATTERN_INTERNAL_ERROR, {"error_type": "default"})

    def end_top_flows(self, tracker: Tracker) -> None:
        """Remove the topmost user flow with what runs above it (a loop's flows)."""
        from workbench.engine.stack_ops import user_flow_group_ids

        doomed = set(user_flow_group_ids(tracker)) or {f.frame_id for f in tracker.stack}
        for frame in reversed(list(tracker.stack.frames)):
            if frame.frame_id in doomed:
                tracker.stack.remove(frame)
                if frame.flow_id:
                    tracker.add(ev.flow_event("flow_completed", frame.flow_id, frame.step_id))

    def _circuit_breaker(self, tracker: Tracker, trail: list[tuple[str, str]]) -> None:
        """A flow that loops without ever waiting for the user is ended with an error, as
        Rasa's flow circuit breaker does: the flows go, `pattern_internal_error` runs."""
        tracker.add(
            ev.error(
                f"step limit: more than {MAX_STEPS} flow steps without an action or a "
                f"question (Rasa's flow circuit breaker); {spell_loop(trail)}; the flows "
                "were ended",
                limit="max_steps",
                loop=[list(pair) for pair in repeating_tail(trail)],
            )
        )
        self.end_top_flows(tracker)
        push_pattern(self.project, tracker, PATTERN_INTERNAL_ERROR, {"error_type": "default"})
