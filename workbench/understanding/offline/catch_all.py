"""A categorical slot's catch-all value ("other", "any"): an answer that names none of the
slot's values goes there, as a model given the values would put it, instead of being
dropped. The catch-all is a value spelled like one ("other", "any", "unknown", ...) or
the value the slot's hints say is for everything else ("other for any port not in the
list")."""

from __future__ import annotations

import re

from workbench.understanding.offline.model import SlotInfo
from workbench.understanding.offline.turn import Turn
from workbench.understanding.words import words

_CATCH_ALL = frozenset(
    {"other", "others", "any", "anything", "something else", "else", "unknown", "misc"}
)
_FOR_THE_REST = re.compile(
    r"\b(?P<value>[\w-]+)\s+(?:for|when|if)\s+(?:any|anything|everything|all|another|others?)\b",
    re.IGNORECASE,
)
MAX_WORDS = 6  # a longer message is more than an answer


def catch_all_value(info: SlotInfo) -> str | None:
    values = info.slot.values
    for hint in info.hints[:3]:
        for match in _FOR_THE_REST.finditer(hint):
            if match["value"] in values:
                return match["value"]
    spelled = [v for v in values if " ".join(words(v)) in _CATCH_ALL]
    return spelled[0] if len(spelled) == 1 else None


def catch_all(turn: Turn, info: SlotInfo) -> str | None:
    """The catch-all value for an answer that names none of the values, if the message
    reads as an answer (short, not a question, request, small talk or a stop)."""
    if not turn.flat or len(turn.flat.split()) > MAX_WORDS:
        return None
    if turn.is_question() or turn.is_request() or turn.is_chatter() or turn.is_cancel():
        return None
    return catch_all_value(info)
