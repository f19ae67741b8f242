"""How a flow's steps and links are named on screen: `collect order_id`, `action x`,
`set_slots a=1`, and a link's target by its explicit id or its step's label."""

from __future__ import annotations

from workbench.project.model import END_STEP, Flow, Step
from workbench.trace.text import truncate


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


__all__ = ["step_label", "target_label"]
