"""What an agent is given for its turn, read off the conversation as Rasa reads it
(`agent_executor._prepare_agent_input`): the latest user message, the transcript, and
the slots with a value (plus the exit slots, even empty), with their type and allowed
values. Rasa's own slots are not shown to an agent."""

from __future__ import annotations

from workbench.calm.external import AgentCallRequest, AgentInput, AgentSlot
from workbench.calm.names import RASA_BUILTIN_SLOTS
from workbench.engine import events as ev
from workbench.engine.external_calls import exit_slot_names
from workbench.engine.tracker import Tracker
from workbench.project.model import Project
from workbench.understanding.rasa_prompt import rasa_transcript


def agent_input(project: Project, tracker: Tracker, request: AgentCallRequest) -> AgentInput:
    exit_slots = set(exit_slot_names(request.exit_if))
    slots: list[AgentSlot] = []
    for name, value in tracker.slots.items():
        slot = project.slot(name)
        if slot is None or slot.is_builtin or name in RASA_BUILTIN_SLOTS:
            continue
        if value is None and name not in exit_slots:
            continue
        slots.append(
            AgentSlot(
                name=name,
                value=value,
                type=slot.type,
                allowed_values=slot.values if slot.type == "categorical" else None,
                fillable=slot.llm_fillable,
            )
        )
    return AgentInput(
        agent=request.agent,
        user_message=_latest_user_text(tracker),
        slots=tuple(slots),
        conversation=rasa_transcript(tracker),
        exit_if=request.exit_if,
        restarted=request.restarted,
        resumed=request.resumed,
        sender_id=tracker.sender_id,
    )


def _latest_user_text(tracker: Tracker) -> str:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return ev.text(event) or ""
    return ""
