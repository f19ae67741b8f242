"""Validate commands against the project and the stack before anything runs.

The model is untrusted: every command that is dropped or rewritten here carries the
reason, so the commands panel can show exactly why a message did what it did. The rules
and their order follow the reference (section c, "Validation and conflicts").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from workbench.calm.commands import (
    CANNOT_HANDLE_CHITCHAT,
    FROM_LLM,
    FROM_NLU,
    CancelFlow,
    CannotHandle,
    ChitChatAnswer,
    Clarify,
    Command,
    ContinueAgent,
    CorrectSlots,
    DroppedCommand,
    HandleCodeChange,
    KnowledgeAnswer,
    RepeatBotMessages,
    RestartAgent,
    RewrittenCommand,
    SetSlot,
    StartFlow,
)
from workbench.calm.conditions import evaluate_condition
from workbench.calm.names import (
    ACTION_TRIGGER_CHITCHAT,
    PATTERN_CHITCHAT,
    PATTERN_COLLECT_INFORMATION,
    PATTERN_CONTINUE_INTERRUPTED,
    PATTERN_VALIDATE_SLOT,
)
from workbench.calm.values import SlotValue
from workbench.engine.coexistence import is_coexistence, is_routing_command
from workbench.engine.external_calls import agent_is_active, restart_refused
from workbench.engine.slots import coerce
from workbench.engine.tracker import StepVisit, Tracker
from workbench.project.model import Flow, Project, Step

COLLECT_PATTERN = PATTERN_COLLECT_INFORMATION
CONTINUE_PATTERN = PATTERN_CONTINUE_INTERRUPTED


@dataclass
class CleanResult:
    commands: list[Command] = field(default_factory=list)
    dropped: list[DroppedCommand] = field(default_factory=list)
    rewritten: list[RewrittenCommand] = field(default_factory=list)

    def drop(self, command: Command, reason: str) -> None:
        self.dropped.append(DroppedCommand(reason, command))

    def rewrite(self, original: Command, replacement: Command, reason: str) -> Command:
        self.rewritten.append(RewrittenCommand(original, replacement, reason))
        return replacement


def changed_flows(project: Project, tracker: Tracker) -> list[str]:
    """Flows on the stack whose definition changed (or vanished) since they were stored."""
    changed = []
    for frame in tracker.stack:
        if frame.flow_id is None or frame.flow_id not in tracker.flow_hashes:
            continue
        flow = project.flow(frame.flow_id)
        if flow is None or flow.fingerprint != tracker.flow_hashes[frame.flow_id]:
            changed.append(frame.flow_id)
    return changed


def asked_slot(tracker: Tracker) -> str | None:
    """The slot the open collect (or validate) pattern is waiting for."""
    top = tracker.stack.top()
    if top is None:
        return None
    if top.type == COLLECT_PATTERN:
        return top.text("collect")
    if top.type == PATTERN_VALIDATE_SLOT:
        return top.text("validate")
    return None


def visited_collects(project: Project, tracker: Tracker) -> Iterator[tuple[StepVisit, str]]:
    """The collect steps the active user flow (with the flows it called) has entered,
    earliest first, each with the slot it collects."""
    user = tracker.stack.top_user_frame()
    if user is None:
        return
    group = tracker.stack.group_of(tracker.stack.group_base(user))
    frame_ids = {f.frame_id for f in group if f.is_user_flow}
    for visit in tracker.visits:
        if visit.frame_id in frame_ids:
            flow = project.flow(visit.flow_id)
            step = flow.step(visit.step_id) if flow else None
            if step is not None and step.collect:
                yield visit, step.collect


def filled_by_active_flow(project: Project, tracker: Tracker) -> set[str]:
    """Slots the active user flow has collected so far: a new value for one of them is a
    correction. Other filled slots, e.g. ones kept from a flow that already ended, are
    simply set again."""
    return {slot for _, slot in visited_collects(project, tracker)}


def guard_allows(flow: Flow, tracker: Tracker) -> bool:
    if flow.guard is None:
        return True
    top = tracker.stack.top_user_frame()
    if top is not None and top.flow_id == flow.id:
        return True
    return evaluate_condition(flow.guard, tracker.condition_document())


class CommandCleaner:
    def __init__(self, project: Project) -> None:
        self.project = project

    def clean(self, commands: list[Command], tracker: Tracker, message: str = "") -> CleanResult:
        result = CleanResult()
        changed = changed_flows(self.project, tracker)
        if changed:
            for command in commands:
                result.drop(command, "a flow on the stack changed; the code change is handled")
            result.commands = [HandleCodeChange()]
            return result
        working = self._normalise(commands, tracker, result)
        working = self._force_slot_filling(working, tracker, message, result)
        working = self._slots(working, tracker, result)
        working = self._flows(working, tracker, result)
        working = self._conflicts(working, result)
        result.commands = self._order(self._keep_agent_going(working, tracker, result), tracker)
        return result

    def _keep_agent_going(
        self, commands: list[Command], tracker: Tracker, result: CleanResult
    ) -> list[Command]:
        """While an agent waits for the user, a turn nothing else understood goes to the
        agent (Rasa: cannot-handle, chitchat aside, and no command become `continue
        agent`)."""
        if not agent_is_active(tracker):
            return commands
        kept = [
            c
            for c in commands
            if not (isinstance(c, CannotHandle) and c.reason != CANNOT_HANDLE_CHITCHAT)
        ]
        if len(kept) == len(commands) and commands:
            return commands
        if not any(isinstance(c, ContinueAgent) for c in kept):
            for command in commands:
                if command not in kept:
                    result.rewrite(command, ContinueAgent(), "an agent is waiting for the user")
            kept.append(ContinueAgent())
        return kept

    # -- rules --------------------------------------------------------------------------

    def _normalise(
        self, commands: list[Command], tracker: Tracker, result: CleanResult
    ) -> list[Command]:
        out: list[Command] = []
        for command in commands:
            if (
                isinstance(command, SetSlot)
                and command.slot == "flow_name"
                and "flow_name" not in self.project.domain.slots
            ):
                command = result.rewrite(
                    command, StartFlow(str(command.value)), "'flow_name' names a flow to start"
                )
            if isinstance(command, StartFlow):
                flow = self.project.flow(command.flow)
                if flow is None:
                    result.drop(command, f"flow '{command.flow}' does not exist")
                    continue
                if flow.is_pattern:
                    result.drop(command, f"'{command.flow}' is a pattern; patterns are not started")
                    continue
                if flow.is_link_only:
                    result.drop(command, f"flow '{command.flow}' can only be reached by link/call")
                    continue
                if not guard_allows(flow, tracker):
                    result.drop(
                        command, f"the guard of flow '{flow.id}' is false: if: {flow.guard}"
                    )
                    continue
            elif isinstance(command, Clarify):
                known = [o for o in command.options if self._startable(o)]
                for option in command.options:
                    if option not in known:
                        result.dropped.append(
                            DroppedCommand(f"clarify option '{option}' is no startable flow")
                        )
                if len(known) == 1:
                    command = result.rewrite(
                        command, StartFlow(known[0]), "only one clarify option is a valid flow"
                    )
                elif len(known) != len(command.options):
                    command = Clarify(tuple(known))
            elif isinstance(command, ContinueAgent) and not agent_is_active(tracker):
                result.drop(command, "no agent is active")
                continue
            elif isinstance(command, RestartAgent):
                reason = restart_refused(self.project, tracker, command.agent)
                if reason:
                    result.drop(command, reason)
                    continue
            out.append(command)
        return out

    def _startable(self, flow_id: str) -> bool:
        flow = self.project.flow(flow_id)
        return flow is not None and not flow.is_pattern and not flow.is_link_only

    def _force_slot_filling(
        self, commands: list[Command], tracker: Tracker, message: str, result: CleanResult
    ) -> list[Command]:
        slot_name = asked_slot(tracker)
        step = self._asking_step(tracker)
        if not slot_name or step is None or not step.force_slot_filling:
            return commands
        slot = self.project.slot(slot_name)
        if slot is not None and any(m.type == "from_text" for m in slot.mappings):
            for command in commands:
                result.drop(command, f"'{slot_name}' is force-filled with the whole message")
            return [SetSlot(slot_name, message, filled_by=FROM_NLU)]
        kept: list[Command] = [
            c for c in commands if isinstance(c, SetSlot) and c.slot == slot_name
        ]
        for command in commands:
            if command not in kept:
                result.drop(command, f"the question for '{slot_name}' forces slot filling")
        if not kept:
            return [CannotHandle()]
        return kept

    def _asking_step(self, tracker: Tracker) -> Step | None:
        user = tracker.stack.top_user_frame()
        if user is None or user.flow_id is None:
            return None
        flow = self.project.flow(user.flow_id)
        step = flow.step(user.step_id) if flow else None
        return step if step is not None and step.kind == "collect" else None

    def _slots(
        self, commands: list[Command], tracker: Tracker, result: CleanResult
    ) -> list[Command]:
        out: list[Command] = []
        corrections: list[tuple[str, SlotValue]] = []
        correction_at = 0
        asked = asked_slot(tracker)
        filled_so_far = filled_by_active_flow(self.project, tracker)
        for command in commands:
            if not isinstance(command, SetSlot):
                out.append(command)
                continue
            slot = self.project.slot(command.slot)
            if slot is None:
                out.append(
                    result.rewrite(
                        command, CannotHandle(), f"slot '{command.slot}' is not in the domain"
                    )
                )
                continue
            routing = is_routing_command(command)  # set by the generator, not the model
            if command.filled_by == FROM_LLM and not slot.llm_fillable and not routing:
                out.append(
                    result.rewrite(
                        command,
                        CannotHandle(),
                        f"slot '{command.slot}' may not be filled by the model "
                        f"(mappings: {', '.join(m.type for m in slot.mappings)})",
                    )
                )
                continue
            current = tracker.slots.get(command.slot)
            value, _ = coerce(slot, command.value)
            if current is not None and value == current:
                result.drop(command, f"slot '{command.slot}' already has the value {current!r}")
                continue
            if (
                current is not None
                and command.slot != asked
                and command.slot in filled_so_far
                and not routing
            ):
                if not corrections:
                    # Rasa puts the one correction where the first corrected slot was:
                    # the order decides whether it runs above or below a started flow
                    correction_at = len(out)
                corrections.append((command.slot, command.value))
                result.rewritten.append(
                    RewrittenCommand(
                        command,
                        CorrectSlots(((command.slot, command.value),)),
                        f"'{command.slot}' already holds {current!r}: this is a correction",
                    )
                )
                continue
            out.append(command)
        if corrections:
            out.insert(correction_at, CorrectSlots(tuple(corrections)))
        return out

    def _flows(
        self, commands: list[Command], tracker: Tracker, result: CleanResult
    ) -> list[Command]:
        out: list[Command] = []
        any_user = tracker.stack.top_user_frame()
        top_user = tracker.stack.top_user_frame(skip_calls=True)
        continue_active = tracker.stack.find_pattern(CONTINUE_PATTERN) is not None
        started: set[str] = set()
        cancelled = False
        for command in commands:
            if isinstance(command, CancelFlow):
                if any_user is None:
                    out.append(
                        result.rewrite(command, CannotHandle(), "there is no active flow to cancel")
                    )
                    continue
                if cancelled:
                    result.drop(command, "duplicate cancel flow")
                    continue
                cancelled = True
            elif isinstance(command, StartFlow):
                if command.flow in started:
                    result.drop(command, f"duplicate start of flow '{command.flow}'")
                    continue
                if (
                    top_user is not None
                    and top_user.flow_id == command.flow
                    and not continue_active
                ):
                    result.drop(command, f"flow '{command.flow}' is already active")
                    continue
                started.add(command.flow)
            elif isinstance(command, ChitChatAnswer) and self._chitchat_unsupported():
                command = result.rewrite(
                    command,
                    CannotHandle(CANNOT_HANDLE_CHITCHAT),
                    "pattern_chitchat needs free-form chitchat, which is not configured",
                )
            out.append(command)
        return out

    def _chitchat_unsupported(self) -> bool:
        flow = self.project.flow(PATTERN_CHITCHAT)
        uses_trigger = flow is not None and any(
            s.action == ACTION_TRIGGER_CHITCHAT for s in flow.steps
        )
        has_policy = any(
            str(p.get("name", "")).endswith("IntentlessPolicy")
            for p in self.project.config.policies
        )
        return uses_trigger and not has_policy

    def _conflicts(self, commands: list[Command], result: CleanResult) -> list[Command]:
        answers = [c for c in commands if isinstance(c, (ChitChatAnswer, KnowledgeAnswer))]
        rest = [c for c in commands if not isinstance(c, (ChitChatAnswer, KnowledgeAnswer))]
        commands = answers + rest
        clarifies = [c for c in commands if isinstance(c, Clarify)]
        if clarifies:
            others = [
                c
                for c in commands
                if not isinstance(c, (Clarify, CannotHandle)) and not is_routing_command(c)
            ]
            if others:
                for clarify in clarifies:
                    result.drop(clarify, "clarification is dropped when other commands exist")
                commands = [c for c in commands if not isinstance(c, Clarify)]
            else:
                for clarify in clarifies[1:]:
                    result.drop(clarify, "only the first clarification is kept")
                commands = [c for c in commands if c is clarifies[0] or not isinstance(c, Clarify)]
        out: list[Command] = []
        seen: set[type] = set()
        for command in commands:
            if isinstance(command, (CannotHandle, RepeatBotMessages, ChitChatAnswer)):
                if type(command) in seen:
                    result.drop(command, f"duplicate {command.name}")
                    continue
                seen.add(type(command))
            out.append(command)
        # Rasa counts the routing slot's command in a coexistence project (whether or not it
        # is still there), so there "others remain" means more than two commands
        limit = 2 if is_coexistence(self.project) else 1
        if len(out) > limit and any(isinstance(c, CannotHandle) for c in out):
            for command in out:
                if isinstance(command, CannotHandle):
                    result.drop(command, "cannot handle is dropped when other commands remain")
            out = [c for c in out if not isinstance(c, CannotHandle)]
        return out

    def _order(self, commands: list[Command], tracker: Tracker) -> list[Command]:
        """Reverse, so the first started flow ends on top; with no active user flow, run
        one start flow first (the last one listed) so that the other commands find the
        flow they belong to."""
        ordered = list(reversed(commands))
        if tracker.stack.active_user_frame() is None:
            starts = [c for c in ordered if isinstance(c, StartFlow)]
            if starts:
                first = starts[0]
                ordered.remove(first)
                ordered.insert(0, first)
        return ordered
