"""Answers to the open question, by the type of the slot asked for: yes/no for a bool, a
value or button for a categorical slot, a number, an id or email shaped like the
examples, or the message itself as free text (unless it is something else: small talk,
a request for another flow, a short question)."""

from __future__ import annotations

from workbench.understanding.offline.catch_all import catch_all
from workbench.understanding.offline.dates import date_kind, dated_value
from workbench.understanding.offline.free_text import trim_answer
from workbench.understanding.offline.model import SlotInfo
from workbench.understanding.offline.ranking import INTERRUPT_THRESHOLD, choose_flow
from workbench.understanding.offline.repair import cancel, hold_on
from workbench.understanding.offline.slots import categorical
from workbench.understanding.offline.turn import OfflineDecision, Turn
from workbench.understanding.offline.values import (
    clean_free_text,
    format_number,
    parse_bool,
    parse_number,
)


def answer(turn: Turn, info: SlotInfo) -> tuple[str, str] | OfflineDecision | None:
    """(value text, how) for the open question, a decision (cancel/start/...), or None."""
    kind = "bool" if info.true_false else info.slot.type
    if turn.is_info_question():
        return None  # asks something instead of answering
    held = hold_on(turn)
    if held is not None:
        return held
    if kind == "bool":
        if turn.is_cancel() and not turn.echoes_question():
            return cancel(turn)
        value = parse_bool(turn.text, closing_means_no=turn.asks_for_more())
        if value is not None:
            return str(value), "yes/no"
        if turn.echoes_question():
            return "True", "repeats the question's words"
        return None
    if kind == "categorical":
        found = categorical(turn, info, strict=False)
        if found is not None and found.strong:
            return found.value, f"value by {found.via}"
        if turn.is_cancel():
            return cancel(turn)
        if found is not None:
            return found.value, f"value by {found.via}"
        rest = catch_all(turn, info)
        if rest is not None:
            return rest, "names none of the values: the catch-all value"
        return None
    if turn.is_cancel():
        return cancel(turn)
    if kind == "float":
        number = parse_number(turn.text)
        if number is not None:
            return format_number(number), "number"
        return None
    shape = info.shape
    expected = date_kind(info.slot.name, info.hints) if kind in ("text", "any") else None
    if expected is not None:
        when = dated_value(expected, turn.text, info.hints)
        if when is not None:
            return when, f"the {expected} in the message"
    if kind == "text" and shape.extractable:
        found_token = shape.extract(turn.text)
        if found_token is not None:
            return found_token[0], f"{shape.kind} in the message"
        return None
    # free text (text, any, list): the message itself, unless it is something else
    if turn.is_chatter():
        return None
    if turn.is_request() or turn.is_question():
        chosen = choose_flow(
            turn,
            INTERRUPT_THRESHOLD,
            allow_clarify=False,
            rule="a request for another flow, not an answer",
        )
        if chosen is not None:
            return chosen
        if turn.is_short_question():
            return None
    typed = trim_answer(clean_free_text(turn.text, info.shape.aliases), info)
    return (typed, "the message as typed") if typed else None
