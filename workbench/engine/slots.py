"""Slot value coercion by slot type (reference section b)."""

from __future__ import annotations

from workbench.calm.values import SlotValue
from workbench.project.model import Slot

OTHER = "__other__"


def coerce(slot: Slot, value: SlotValue) -> tuple[SlotValue, bool]:
    """The value to store and whether it is valid for the slot. Invalid values are kept
    raw so that collecting can reject them with a message naming what the user said."""
    if value is None:
        return None, True
    kind = slot.type
    if kind == "bool":
        return _to_bool(value)
    if kind == "float":
        return _to_float(slot, value)
    if kind == "categorical":
        text = str(value).lower() if isinstance(value, bool) else str(value)
        for allowed in (*slot.values, OTHER):
            if allowed.lower() == text.strip().lower():
                return allowed, True
        return value, False
    if kind == "list":
        return (list(value) if isinstance(value, (list, tuple)) else [value]), True
    return value, True


def _to_bool(value: SlotValue) -> tuple[SlotValue, bool]:
    if isinstance(value, bool):
        return value, True
    if isinstance(value, (int, float)):
        return value == 1, True
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "yes"):
            return True, True
        if text in ("false", "no"):
            return False, True
        try:
            return float(text) == 1, True
        except ValueError:
            pass
    return value, False


def _to_float(slot: Slot, value: SlotValue) -> tuple[SlotValue, bool]:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return value, False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value, False
    if number != number:  # NaN
        return value, False
    low, high = slot.min_value, slot.max_value
    if low is not None and high is not None and not low <= number <= high:
        return number, False
    return number, True
