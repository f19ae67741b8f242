"""Coexistence (NLU + CALM in one assistant): which side answers a message.

A router in config.yml's pipeline (`LLMBasedRouter`, `IntentBasedRouter`) keeps the
decision in the bool slot `route_session_to_calm` (reference section i):
- True: CALM answers, the router is not consulted.
- False: the NLU side (rules, stories, a trained NLU model) answers. The workbench has no
  trained NLU model, so such a turn gets no CALM commands and a visible notice instead of
  a wrong answer.
- unset: the router decides. `LLMBasedRouter` asks its own model and `IntentBasedRouter`
  needs the message's NLU intent; the workbench has neither, sends the turn to CALM and
  says so. The command generator then sets the slot to True, as Rasa's generators do.

Messages that bypass the NLU pipeline (`/intent`, `/SetSlots(...)`, typed commands) never
reach a router; for `/intent` Rasa's message processor sets the slot itself while it is
unset: True when the intent produced a command from the user (e.g. a flow's nlu_trigger),
False when it produced none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from workbench.calm.commands import Command, Restart, SessionEnd, SessionStart, SetSlot
from workbench.calm.names import ROUTE_SESSION_TO_CALM
from workbench.calm.values import SlotValue
from workbench.project.model import Project

ROUTE_TO_CALM_SLOT = ROUTE_SESSION_TO_CALM
NLU_SIDE = (
    "this turn is routed to the NLU side of the assistant (route_session_to_calm is False); "
    "it needs a trained NLU model, which the workbench does not run"
)
NOT_CONSULTED = {
    "LLMBasedRouter": (
        "LLMBasedRouter is not consulted by this version (route_session_to_calm is unset): "
        "the session goes to CALM"
    ),
    "IntentBasedRouter": (
        "IntentBasedRouter needs the NLU intent of this message, which the workbench does "
        "not compute (route_session_to_calm is unset): the session goes to CALM"
    ),
}
# commands that do not come from what the user asked for, so they decide no route
_SYSTEM_COMMANDS = (SessionStart, SessionEnd, Restart)


@dataclass(frozen=True)
class Route:
    to_calm: bool
    notice: str | None = None


def is_coexistence(project: Project) -> bool:
    """Rasa's test: the routing slot is in the domain."""
    return project.slot(ROUTE_TO_CALM_SLOT) is not None


def router_name(project: Project) -> str | None:
    return project.config.router


def route_message(project: Project, slots: Mapping[str, SlotValue]) -> Route:
    """Where a message that goes through the understanding step is answered."""
    if not is_coexistence(project):
        return Route(True)
    value = slots.get(ROUTE_TO_CALM_SLOT)
    if value is False:
        return Route(False, NLU_SIDE)
    if value is None:
        router = router_name(project)
        return Route(True, NOT_CONSULTED.get(router or ""))
    return Route(True)


def routing_commands(project: Project) -> list[Command]:
    """What a command generator appends to every prediction in a coexistence project."""
    return [SetSlot(ROUTE_TO_CALM_SLOT, True)] if is_coexistence(project) else []


def intent_route(
    project: Project, slots: Mapping[str, SlotValue], commands: Sequence[Command]
) -> tuple[list[Command], str | None]:
    """The routing command (and notice) for an `/intent` message while the slot is unset."""
    if not is_coexistence(project) or slots.get(ROUTE_TO_CALM_SLOT) is not None:
        return [], None
    from_user = [c for c in commands if not isinstance(c, _SYSTEM_COMMANDS)]
    if from_user:
        return [SetSlot(ROUTE_TO_CALM_SLOT, True)], None
    if commands:
        return [], None  # only session commands: the decision waits for a real message
    return [SetSlot(ROUTE_TO_CALM_SLOT, False)], NLU_SIDE


def is_routing_command(command: Command) -> bool:
    return isinstance(command, SetSlot) and command.slot == ROUTE_TO_CALM_SLOT
