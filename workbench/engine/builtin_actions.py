"""Built-in actions the default patterns use. Pure: they change the tracker and return
responses to utter as `Utter` requests, which the caller renders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from workbench.calm.conditions import ConditionSyntaxError, parse_condition
from workbench.calm.names import (
    ACTION_AGENT_REQUEST_USER_INPUT,
    ACTION_CANCEL_FLOW,
    ACTION_CANCEL_INTERRUPTED_FLOWS,
    ACTION_CLARIFY_FLOWS,
    ACTION_CLEAN_STACK,
    ACTION_CONTINUE_INTERRUPTED_FLOW,
    ACTION_CORRECT_FLOW_SLOT,
    ACTION_REPEAT_BOT_MESSAGES,
    ACTION_RESET_ROUTING,
    ACTION_RESTART,
    ACTION_RUN_SLOT_REJECTIONS,
    ACTION_SEND_TEXT,
    ACTION_TRIGGER_SEARCH,
    PATTERN_CANCEL_FLOW,
    PATTERN_CORRECTION,
    UTTER_BOOLEAN_SLOT_REJECTION,
    UTTER_CATEGORICAL_SLOT_REJECTION,
    UTTER_FLOAT_SLOT_REJECTION,
    UTTER_INTERNAL_ERROR,
)
from workbench.calm.values import JSONObject, SlotValue
from workbench.engine import events as ev
from workbench.engine.policy import render_template
from workbench.engine.search import push_search_frame
from workbench.engine.slots import coerce
from workbench.engine.stack_ops import end_frames, join_names, move_group_to_top, push_pattern
from workbench.engine.tracker import Tracker
from workbench.project.model import NEXT_PREFIX, Project

REJECTION_RESPONSES = {
    "bool": UTTER_BOOLEAN_SLOT_REJECTION,
    "float": UTTER_FLOAT_SLOT_REJECTION,
    "categorical": UTTER_CATEGORICAL_SLOT_REJECTION,
}


@dataclass(frozen=True)
class Utter:
    """A response the action wants sent, with template variables."""

    response: str
    kwargs: JSONObject = field(default_factory=dict)


Effect = Utter | JSONObject


class BuiltinActions:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.handlers: dict[str, Callable[[Tracker], list[Effect]]] = {
            ACTION_RUN_SLOT_REJECTIONS: self.run_slot_rejections,
            ACTION_CANCEL_FLOW: self.cancel_flow,
            ACTION_CORRECT_FLOW_SLOT: self.correct_flow_slot,
            ACTION_CLARIFY_FLOWS: self.clarify_flows,
            ACTION_CONTINUE_INTERRUPTED_FLOW: self.continue_interrupted_flow,
            ACTION_CANCEL_INTERRUPTED_FLOWS: self.cancel_interrupted_flows,
            ACTION_CLEAN_STACK: self.clean_stack,
            ACTION_REPEAT_BOT_MESSAGES: self.repeat_bot_messages,
            ACTION_RESTART: self.restart,
            ACTION_RESET_ROUTING: self.reset_routing,
            ACTION_TRIGGER_SEARCH: self.trigger_search,
            ACTION_SEND_TEXT: self.send_text,
            ACTION_AGENT_REQUEST_USER_INPUT: self.send_text,
        }
        # messages for `action_send_text` to send (a knowledge answer), oldest first
        self.outbox: list[JSONObject] = []

    def __contains__(self, name: str) -> bool:
        return name in self.handlers

    def run(self, name: str, tracker: Tracker) -> list[Effect]:
        handler = self.handlers.get(name)
        return handler(tracker) if handler else []

    # -- collecting -------------------------------------------------------------------------

    def run_slot_rejections(self, tracker: Tracker) -> list[Effect]:
        frame = tracker.stack.top()
        if frame is None:
            return []
        name = frame.text("collect") or frame.text("validate")
        if not name:
            return []
        value = tracker.slots.get(name)
        if value is None:
            return []
        slot = self.project.slot(name)
        if slot is not None:
            coerced, valid = coerce(slot, value)
            if not valid:
                tracker.set_slot(name, None)
                response = REJECTION_RESPONSES.get(slot.type, UTTER_INTERNAL_ERROR)
                return [Utter(response, {"value": value})]
            if coerced != value or type(coerced) is not type(value):
                tracker.set_slot(name, coerced, filled_by=tracker.filled_by.get(name))
                value = coerced
        # a question checks its step's rejections, a validation frame the domain's
        document = {"slots": {name: value}}
        for rejection in frame.entries("rejections"):
            if not isinstance(rejection, dict):
                continue
            # rendered and evaluated with only this slot in view, as in Rasa
            condition = render_template(str(rejection.get("if", "")), {}, {name: value})
            try:
                holds = parse_condition(condition).evaluate(document)
            except ConditionSyntaxError:
                tracker.set_slot(name, None)
                return [Utter(UTTER_INTERNAL_ERROR)]
            if holds:
                tracker.set_slot(name, None)
                utter = rejection.get("utter")
                return [Utter(str(utter), {"value": value})] if utter else []
        return []

    # -- cancel, correct, clarify ------------------------------------------------------------

    def cancel_flow(self, tracker: Tracker) -> list[Effect]:
        frame = tracker.stack.top()
        if frame is not None:
            end_frames(tracker, frame.names("canceled_frames"))
        return []

    def correct_flow_slot(self, tracker: Tracker) -> list[Effect]:
        frame = tracker.stack.top()
        if frame is None or frame.type != PATTERN_CORRECTION:
            return []
        context = frame.context
        reset_frame_id = context.get("reset_frame_id")
        reset_step = context.get("reset_step_id")
        if reset_frame_id and reset_step:
            target = next((f for f in tracker.stack if f.frame_id == reset_frame_id), None)
            if target is not None:
                # frames opened since that question are closed without events
                index = tracker.stack.index(target)
                for above in list(tracker.stack.frames[index + 1 :]):
                    if above is not frame:
                        tracker.stack.remove(above)
                target.step_id = NEXT_PREFIX + str(reset_step)
        filled_by = frame.text("filled_by")
        slots = context.get("corrected_slots")
        # written by the correction command: its slot values
        corrected = dict(cast("dict[str, SlotValue]", slots)) if isinstance(slots, dict) else {}
        for name, value in corrected.items():
            tracker.set_slot(name, value, filled_by=filled_by)
        tracker.corrected_to_validate = [
            name for name in corrected if (slot := self.project.slot(name)) and slot.validation
        ]
        tracker.correction_followed = False
        return []

    def clarify_flows(self, tracker: Tracker) -> list[Effect]:
        frame = tracker.stack.top()
        if frame is None:
            return []
        names = frame.names("names")
        wanted = tracker.slots.get("max_clarification_options")
        try:
            limit = int(wanted) if isinstance(wanted, (str, int, float)) else 3
        except ValueError:
            limit = 3
        frame.context["clarification_options"] = join_names(names[:limit], last="or")
        return []

    # -- interrupted flows -------------------------------------------------------------------

    def continue_interrupted_flow(self, tracker: Tracker) -> list[Effect]:
        frame = tracker.stack.top()
        if frame is None:
            return []
        ids = frame.names("interrupted_flow_ids")
        names = frame.names("interrupted_flow_names")
        choice = tracker.slots.get("interrupted_flow_to_continue")
        if len(ids) > 1 or choice:
            wanted = str(choice or "").strip().lower()
            chosen = next(
                (
                    i
                    for i, n in zip(ids, names, strict=False)
                    if wanted in (str(i).lower(), str(n).lower())
                ),
                None,
            )
        else:
            chosen = ids[0] if ids else None
        effects: list[Effect] = []
        target = tracker.stack.find_user_flow(chosen) if chosen else None
        if target is None:
            effects.append(ev.bot(str(choice) if choice else None))
        else:
            move_group_to_top(tracker, tracker.stack.group_base(target), below=frame)
            tracker.add(ev.flow_event("flow_resumed", target.flow_id or "", target.step_id))
        self._clear_continue_slots(tracker)
        return effects

    def cancel_interrupted_flows(self, tracker: Tracker) -> list[Effect]:
        frame = tracker.stack.top()
        if frame is None:
            return []
        # all groups first: cancel patterns pushed for one flow must not join another's group
        groups = []
        for flow_id in frame.names("interrupted_flow_ids"):
            target = tracker.stack.find_user_flow(flow_id)
            if target is not None:
                group = tracker.stack.group_of(tracker.stack.group_base(target))
                groups.append((flow_id, target, [f for f in group if f is not frame]))
        for flow_id, target, group in groups:
            tracker.add(ev.flow_event("flow_cancelled", flow_id, target.step_id))
            push_pattern(
                self.project,
                tracker,
                PATTERN_CANCEL_FLOW,
                {"canceled_name": flow_id, "canceled_frames": [f.frame_id for f in group]},
            )
        self._clear_continue_slots(tracker)
        return []

    def _clear_continue_slots(self, tracker: Tracker) -> None:
        for name in ("continue_interrupted_flow_confirmation", "interrupted_flow_to_continue"):
            if name in self.project.domain.slots:
                tracker.set_slot(name, None)

    # -- others ------------------------------------------------------------------------------

    def clean_stack(self, tracker: Tracker) -> list[Effect]:
        top = tracker.stack.top()
        end_frames(tracker, [f.frame_id for f in tracker.stack if f is not top and f.flow_id])
        return []

    def trigger_search(self, tracker: Tracker) -> list[Effect]:
        push_search_frame(tracker)
        return []

    def send_text(self, tracker: Tracker) -> list[Effect]:
        return [self.outbox.pop(0)] if self.outbox else []

    def repeat_bot_messages(self, tracker: Tracker) -> list[Effect]:
        return [
            {k: v for k, v in e.items() if k != "timestamp"}
            for e in tracker.bot_messages_since_last_user(skip_current=True)
        ]

    def reset_routing(self, tracker: Tracker) -> list[Effect]:
        """Coexistence: end the routing session. Like a restart, except that slots marked
        `shared_for_coexistence` keep their values, and the routing slot becomes unset so
        that the router decides again on the next message."""
        from workbench.engine.coexistence import ROUTE_TO_CALM_SLOT

        tracker.stack.frames.clear()
        for name, slot in self.project.domain.slots.items():
            if not slot.shared_for_coexistence:
                tracker.slots[name] = slot.initial_value
                tracker.filled_by.pop(name, None)
        tracker.add({"event": "routing_session_ended"})
        tracker.set_slot(ROUTE_TO_CALM_SLOT, None)
        return []

    def restart(self, tracker: Tracker) -> list[Effect]:
        tracker.stack.frames.clear()
        tracker.corrected_to_validate = []
        for name, slot in self.project.domain.slots.items():
            tracker.slots[name] = slot.initial_value
        tracker.filled_by.clear()
        tracker.add({"event": "restart"})
        return []
