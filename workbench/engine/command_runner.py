"""Apply cleaned commands to the tracker: push flows and patterns, set slots.

Runs after cleaning and before the flow executor. Some checks can only be made here,
against the stack as earlier commands of the same message left it (reference c.10);
commands skipped that way are reported back with the reason.
"""

from __future__ import annotations

from workbench.calm.commands import (
    CancelFlow,
    CannotHandle,
    ChitChatAnswer,
    Clarify,
    Command,
    ContinueAgent,
    CorrectSlots,
    DroppedCommand,
    Error,
    HandleCodeChange,
    KnowledgeAnswer,
    Noop,
    RepeatBotMessages,
    Restart,
    RestartAgent,
    SessionEnd,
    SessionStart,
    SetSlot,
    SkipQuestion,
    StartFlow,
)
from workbench.calm.names import (
    PATTERN_CANCEL_FLOW,
    PATTERN_CANNOT_HANDLE,
    PATTERN_CHITCHAT,
    PATTERN_CLARIFICATION,
    PATTERN_CODE_CHANGE,
    PATTERN_COMPLETED,
    PATTERN_CORRECTION,
    PATTERN_INTERNAL_ERROR,
    PATTERN_REPEAT_BOT_MESSAGES,
    PATTERN_RESTART,
    PATTERN_SEARCH,
    PATTERN_SESSION_END,
    PATTERN_SESSION_START,
    PATTERN_SKIP_QUESTION,
    RASA_BUILTIN_SLOTS,
)
from workbench.calm.values import SlotValue
from workbench.engine import events as ev
from workbench.engine.coexistence import ROUTE_TO_CALM_SLOT
from workbench.engine.command_cleaner import CONTINUE_PATTERN, asked_slot, visited_collects
from workbench.engine.external_calls import restart_agent
from workbench.engine.slots import coerce
from workbench.engine.stack import INTERRUPT, REGULAR, Frame
from workbench.engine.stack_ops import (
    end_open_correction,
    move_group_to_top,
    push_flow,
    push_pattern,
    push_validation,
    remove_pattern_on_top,
    user_flow_group_ids,
)
from workbench.engine.tracker import Tracker
from workbench.project.model import Project

SIMPLE_PATTERNS: dict[type, str] = {
    ChitChatAnswer: PATTERN_CHITCHAT,
    KnowledgeAnswer: PATTERN_SEARCH,
    RepeatBotMessages: PATTERN_REPEAT_BOT_MESSAGES,
    SkipQuestion: PATTERN_SKIP_QUESTION,
    HandleCodeChange: PATTERN_CODE_CHANGE,
    SessionStart: PATTERN_SESSION_START,
    SessionEnd: PATTERN_SESSION_END,
    Restart: PATTERN_RESTART,
}


class CommandRunner:
    def __init__(self, project: Project) -> None:
        self.project = project
        # slots the patterns collect (e.g. continue_interrupted_flow_confirmation)
        self.pattern_slots: set[str] = set().union(
            *(
                self._collected(f.id, with_calls=False)
                for f in project.flows.values()
                if f.is_pattern
            )
        )

    def run(self, commands: list[Command], tracker: Tracker) -> list[DroppedCommand]:
        skipped: list[DroppedCommand] = []
        # interruption and cancellation are decided against the stack before this turn
        pre_turn_top = tracker.stack.top_user_frame()
        pre_turn_active = tracker.stack.active_user_frame()
        had_user_flow = pre_turn_active is not None
        pre_turn_ids = user_flow_group_ids(tracker)
        started = [c.flow for c in commands if isinstance(c, StartFlow)]
        validations: list[str] = []
        for command in commands:
            if isinstance(command, StartFlow):
                self.start_flow(tracker, command.flow, had_user_flow, pre_turn_active)
            elif isinstance(command, SetSlot):
                reason = self.set_slot(
                    tracker, command.slot, command.value, command.filled_by, started
                )
                if reason:
                    skipped.append(DroppedCommand(reason, command))
                elif self._has_validation(command.slot):
                    validations.append(command.slot)
            elif isinstance(command, CorrectSlots):
                reason = self.correct_slots(tracker, command)
                if reason:
                    skipped.append(DroppedCommand(reason, command))
            elif isinstance(command, CancelFlow):
                self.cancel_flow(tracker, pre_turn_top, pre_turn_ids)
            elif isinstance(command, Clarify):
                self.clarify(tracker, command)
            elif isinstance(command, CannotHandle):
                push_pattern(
                    self.project, tracker, PATTERN_CANNOT_HANDLE, {"reason": command.reason}
                )
            elif isinstance(command, RestartAgent):
                restart_agent(self.project, tracker, command.agent)
            elif isinstance(command, Error):
                push_pattern(
                    self.project,
                    tracker,
                    PATTERN_INTERNAL_ERROR,
                    {"error_type": command.error_type, "info": dict(command.info)},
                )
            elif type(command) in SIMPLE_PATTERNS:
                push_pattern(self.project, tracker, SIMPLE_PATTERNS[type(command)])
            elif not isinstance(command, (Noop, ContinueAgent)):
                skipped.append(DroppedCommand("the engine does not run this command", command))
        # Rasa writes each validation frame as a stack change against the stack before
        # any of them, so all land at the same position: the last one pushed ends up
        # lowest, and the slot set first (the one listed last) is validated first
        for name in reversed(dict.fromkeys(validations)):
            push_validation(self.project, tracker, name)
        tracker.flow_hashes = {fid: f.fingerprint for fid, f in self.project.flows.items()}
        return skipped

    # -- flows ----------------------------------------------------------------------------

    def start_flow(
        self, tracker: Tracker, flow_id: str, had_user_flow: bool, active: Frame | None
    ) -> None:
        if active is not None and active not in tracker.stack.frames:
            active = None
        existing = tracker.stack.find_user_flow(flow_id)
        if existing is not None:
            base = tracker.stack.group_base(existing)
            current = tracker.stack.top_user_frame(skip_calls=True)
            remove_pattern_on_top(self.project, tracker, CONTINUE_PATTERN)
            if current is not None and current is not existing and current.flow_id:
                tracker.add(ev.flow_event("flow_interrupted", current.flow_id, current.step_id))
            move_group_to_top(tracker, base)
            tracker.add(ev.flow_event("flow_resumed", flow_id, existing.step_id))
            return
        remove_pattern_on_top(self.project, tracker, PATTERN_COMPLETED)
        if remove_pattern_on_top(self.project, tracker, CONTINUE_PATTERN):
            had_user_flow = True
        frame_type = INTERRUPT if had_user_flow else REGULAR
        if frame_type == INTERRUPT and active is not None and active.flow_id:
            tracker.add(ev.flow_event("flow_interrupted", active.flow_id, active.step_id))
        push_flow(self.project, tracker, flow_id, frame_type)

    def cancel_flow(self, tracker: Tracker, top: Frame | None, pre_turn_ids: list[str]) -> None:
        if top is None or not top.flow_id or top not in tracker.stack.frames:
            return
        tracker.add(ev.flow_event("flow_cancelled", top.flow_id, top.step_id))
        flow = self.project.flow(top.flow_id)
        ids = [i for i in pre_turn_ids if any(f.frame_id == i for f in tracker.stack)]
        push_pattern(
            self.project,
            tracker,
            PATTERN_CANCEL_FLOW,
            {
                "canceled_name": flow.readable_name if flow else top.flow_id,
                "canceled_frames": ids,
            },
        )

    def clarify(self, tracker: Tracker, command: Clarify) -> None:
        remove_pattern_on_top(self.project, tracker, PATTERN_COMPLETED)
        names = []
        for flow_id in command.options:
            flow = self.project.flow(flow_id)
            names.append(flow.readable_name if flow else flow_id)
        push_pattern(
            self.project,
            tracker,
            PATTERN_CLARIFICATION,
            {
                "names": names,
                "clarification_options": "",
                "clarification_ids": list(command.options),
            },
        )

    # -- slots ------------------------------------------------------------------------------

    def set_slot(
        self, tracker: Tracker, name: str, value: SlotValue, filled_by: str, started: list[str]
    ) -> str | None:
        slot = self.project.slot(name)
        if slot is None:
            return f"slot '{name}' is not in the domain"
        # the coexistence routing slot and Rasa's built-in slots (the language) are set
        # whatever the flows collect (as in Rasa)
        if (
            name != ROUTE_TO_CALM_SLOT
            and name not in RASA_BUILTIN_SLOTS
            and name not in self.fillable_slots(tracker, started)
        ):
            return f"no active flow collects '{name}' now, so the value is not used"
        value, _ = coerce(slot, value)
        tracker.set_slot(name, value, filled_by=filled_by)
        return None

    def fillable_slots(self, tracker: Tracker, started: list[str]) -> set[str]:
        """Slots a command may fill now (reference c.10)."""
        names: set[str] = set()
        asked = asked_slot(tracker)
        if asked:
            names.add(asked)
        user = tracker.stack.top_user_frame()
        if user is not None and user.flow_id:
            for frame in tracker.stack.group_of(tracker.stack.group_base(user)):
                if frame.is_user_flow and frame.flow_id:
                    names |= self._collected(frame.flow_id)
        for flow_id in started:
            names |= self._collected(flow_id)
        if not started:
            names |= self.pattern_slots
        return names

    def _collected(
        self, flow_id: str, with_calls: bool = True, seen: set[str] | None = None
    ) -> set[str]:
        seen = seen if seen is not None else set()
        flow = self.project.flow(flow_id)
        if flow is None or flow_id in seen:
            return set()
        seen.add(flow_id)
        names = {s.collect for s in flow.steps if s.collect and not s.ask_before_filling}
        if with_calls:
            for step in flow.steps:
                if step.kind == "call" and step.call:
                    names |= self._collected(step.call, True, seen)
        return names

    def correct_slots(self, tracker: Tracker, command: CorrectSlots) -> str | None:
        on_stack: set[str] = set()
        for frame in tracker.stack:
            if frame.flow_id:
                on_stack |= self._collected(frame.flow_id)
                flow = self.project.flow(frame.flow_id)
                if flow is not None:
                    on_stack |= {s.collect for s in flow.steps if s.collect}
        missing = [name for name, _ in command.slots if name not in on_stack]
        if missing:
            return (
                f"no flow on the stack collects {', '.join(missing)}, so the correction is ignored"
            )
        corrected = {}
        for name, value in command.slots:
            slot = self.project.slot(name)
            corrected[name] = coerce(slot, value)[0] if slot else value
        reset_flow, reset_step, reset_frame = self._reset_point(tracker, list(corrected))
        reset_only = all(
            step.ask_before_filling
            for flow in self.project.flows.values()
            for step in flow.steps
            if step.collect in corrected
        )
        push_pattern(
            self.project,
            tracker,
            PATTERN_CORRECTION,
            {
                "is_reset_only": reset_only,
                "corrected_slots": corrected,
                "reset_flow_id": reset_flow,
                "reset_step_id": reset_step,
                "reset_frame_id": reset_frame,
                "new_slot_values": list(corrected.values()),
                "filled_by": command.filled_by,
            },
            index=end_open_correction(tracker),
        )
        return None

    def _reset_point(
        self, tracker: Tracker, slots: list[str]
    ) -> tuple[str | None, str | None, str | None]:
        """The earliest collect step of a corrected slot that the active user flow (or a
        flow it called) has already visited."""
        for visit, slot in visited_collects(self.project, tracker):
            if slot in slots:
                return visit.flow_id, visit.step_id, visit.frame_id
        return None, None, None

    def _has_validation(self, name: str) -> bool:
        slot = self.project.slot(name)
        return bool(slot and slot.validation)
