"""Text slots that hold a yes/no answer: their description asks for True or False ("True
if the user wants a reminder, False otherwise"), or their question's buttons set them to
true and false. A model fills such a slot with True/False, never with the word "yes"."""

from __future__ import annotations

import re
from collections.abc import Sequence

from workbench.project.model import Slot
from workbench.understanding.dsl.parser import SetSlotsPayload, parse_button_payload

_TRUE = re.compile(r"\btrue\b", re.IGNORECASE)
_FALSE = re.compile(r"\bfalse\b", re.IGNORECASE)


def holds_true_false(slot: Slot, hints: Sequence[str], buttons: Sequence[tuple[str, str]]) -> bool:
    """Whether a text slot is meant to hold True/False (see the module docstring)."""
    if slot.type not in ("text", "any"):
        return False
    if any(_TRUE.search(h) and _FALSE.search(h) for h in hints):
        return True
    values: set[str] = set()
    for _title, payload in buttons:
        parsed = parse_button_payload(payload)
        if isinstance(parsed, SetSlotsPayload):
            values.update(str(v).lower() for name, v in parsed.slots if name == slot.name)
    return bool(values) and values <= {"true", "false"}
