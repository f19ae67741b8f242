"""A slot value typed by hand (the TUI's slot editor): checked against the slot's type
as the engine coerces it, and sent as the `/SetSlots(...)` message a Rasa button sends."""

from __future__ import annotations

from workbench.calm.values import SlotValue
from workbench.engine.slots import coerce
from workbench.project.model import Slot

UNSENDABLE = "(),"


def set_slots_message(name: str, value: SlotValue) -> str:
    """`/SetSlots(name=value)`, written as Rasa reads it (no quoting: Rasa takes what
    stands between `=` and the next comma or parenthesis)."""
    if value is None:
        return f"/SetSlots({name}=null)"
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value)
    return f"/SetSlots({name}={text})"


def checked_value(slot: Slot, text: str) -> tuple[SlotValue, str | None]:
    """(the value to set, None) or (None, why the text is not a value of the slot)."""
    text = text.strip()
    if not text:
        return None, "type a value (or Clear to empty the slot)"
    if slot.type == "list":
        return None, "list slots are set by their flows or actions, not here"
    if any(c in text for c in UNSENDABLE):
        return None, "a comma or parenthesis cannot be sent: /SetSlots reads them as separators"
    value, valid = coerce(slot, text)
    if valid:
        return value, None
    if slot.type == "bool":
        return None, "a bool slot takes true or false"
    if slot.type == "float":
        low, high = slot.min_value, slot.max_value
        if low is not None and high is not None:
            return None, f"a number from {low:g} to {high:g}"
        return None, "a number, such as 42 or 3.5"
    if slot.type == "categorical":
        return None, "one of: " + ", ".join(slot.values)
    return None, "not a value of this slot"  # pragma: no cover - other types take any text
