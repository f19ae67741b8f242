"""A task agent's exit: the slots its `exit_if` conditions name, which of them it may
set, and whether the conditions hold.

Only these slots ever leave an agent: the `set_slot_<name>` tools are offered for them
alone, and an outcome carries no other slot, whatever the model or a tool result asks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from workbench.calm.conditions import check_syntax, evaluate_condition
from workbench.calm.external import AgentInput, AgentSlot
from workbench.calm.values import SlotValue
from workbench.engine.external_calls import exit_slot_names
from workbench.engine.policy import render_template

SET_SLOT_PREFIX = "set_slot_"


def exit_slots(given: AgentInput) -> tuple[AgentSlot, ...]:
    """The slots named in `exit_if` that the agent was given, in the order named."""
    by_name = {slot.name: slot for slot in given.slots}
    return tuple(by_name[name] for name in exit_slot_names(given.exit_if) if name in by_name)


def settable_slots(given: AgentInput) -> tuple[AgentSlot, ...]:
    """The exit slots whose mappings let a model fill them: one `set_slot_` tool each."""
    return tuple(slot for slot in exit_slots(given) if slot.fillable)


def slot_value(raw: object) -> SlotValue:
    """A `set_slot_` tool's `slot_value` as the slot gets it ("true"/"false" are bools)."""
    if isinstance(raw, str) and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    if raw is None or isinstance(raw, (str, bool, int, float)):
        return raw
    return str(raw)


def exit_error(conditions: Sequence[str]) -> str | None:
    """Why the conditions cannot be evaluated (a syntax error), or None."""
    for condition in conditions:
        error = check_syntax(condition)
        if error is not None:
            return f"exit condition {condition!r}: {error}"
    return None


def exit_met(conditions: Sequence[str], values: Mapping[str, SlotValue]) -> bool:
    """Every condition holds over `values` (as Rasa: none hold while no slot is known)."""
    if not values or not conditions:
        return False
    document = {"slots": dict(values)}
    return all(
        evaluate_condition(render_template(condition, {}, values), document)
        for condition in conditions
    )
