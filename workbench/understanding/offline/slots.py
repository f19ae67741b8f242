"""Slot values in a message: how well a text fits a slot, and the values a message gives
unmistakably (an email, an id shaped like the examples, a whole categorical value, a
number with a rating cue, a free-text value introduced by the slot's name)."""

from __future__ import annotations

import re

from workbench.understanding.offline.dates import date_kind, dated_value
from workbench.understanding.offline.model import SlotInfo
from workbench.understanding.offline.phrases import RATING_CUE
from workbench.understanding.offline.quantities import amount, counted, holds_money
from workbench.understanding.offline.turn import Turn
from workbench.understanding.offline.values import (
    CategoricalMatch,
    clean_free_text,
    format_number,
    match_categorical,
    parse_bool,
    parse_number,
)
from workbench.understanding.words import words


def categorical(
    turn: Turn, info: SlotInfo, strict: bool, text: str | None = None
) -> CategoricalMatch | None:
    found = match_categorical(
        turn.text if text is None else text,
        list(info.slot.values),
        info.titles,
        choices=() if strict else info.choices,
        allow_sentiment=not strict,
    )
    if found is None:
        return None
    if strict and not (found.strong and found.via in ("value", "value words", "button title")):
        return None
    return found


def value_for(turn: Turn, info: SlotInfo, text: str, strict: bool) -> tuple[str, int] | None:
    """(value text, fit) of `text` for a slot: fit 3 = its shape/value is unmistakable,
    2 = a partial categorical match, 1 = it parses (a number, a yes/no), 0 = any text."""
    slot = info.slot
    short = len(words(text)) <= 3
    if slot.type == "bool" or info.true_false:
        value = parse_bool(text)
        return (str(value), 1) if value is not None and not strict and short else None
    if slot.type == "float":
        number = parse_number(text)
        return (format_number(number), 1) if number is not None and not strict and short else None
    if slot.type == "categorical":
        found = categorical(turn, info, strict, text)
        if found is None:
            return None
        return found.value, 3 if found.strong else 2
    if slot.type == "text" and info.shape.extractable:
        token = info.shape.extract(text, strict=strict)
        if token is None:
            return None
        if token[1] == 0:
            return token[0], 3
        return (token[0], 1) if len(words(text)) <= 2 else None
    if strict:
        return None
    typed = clean_free_text(text, info.shape.aliases)
    return (typed, 0) if typed else None


def extract_slots(
    turn: Turn, names: tuple[str, ...] | list[str], exclude: tuple[str | None, ...]
) -> list[tuple[str, str]]:
    """(`set slot` line, why) for slots the message fills unmistakably."""
    found: dict[str, tuple[str, str]] = {}
    for name in names:
        if name in exclude or name in found:
            continue
        info = turn.model.slots.get(name)
        if info is None or not info.slot.llm_fillable:
            continue
        extracted = _extract_one(turn, info)
        if extracted is None:
            continue
        current = turn.tracker.slots.get(name)
        if current is not None and str(current) == extracted[0]:
            continue
        found[name] = extracted
    # one value claimed by two slots is no value for either
    counts: dict[str, int] = {}
    for value, _ in found.values():
        counts[value] = counts.get(value, 0) + 1
    return [
        (f"set slot {n} {v}", f"set slot: '{v}' in the message is a value for '{n}' ({how})")
        for n, (v, how) in found.items()
        if counts[v] == 1
    ]


def _extract_one(turn: Turn, info: SlotInfo) -> tuple[str, str] | None:
    """(value, how it was found) when the message gives the slot a value unmistakably."""
    slot = info.slot
    if slot.type == "categorical":
        found = categorical(turn, info, strict=True)
        return (found.value, f"one of its values, by {found.via}") if found is not None else None
    if slot.type == "float":
        number = _rated_number(turn, info)
        if number:
            return number, "a number with a rating cue or the slot's name"
        return _quantity(turn, info)
    if slot.type in ("text", "any"):
        kind = date_kind(slot.name, info.hints)
        when = dated_value(kind, turn.text, info.hints) if kind else None
        if when:
            return when, f"the {kind} in the message"
        if holds_money(info) and (money := amount(turn.text)):
            return money, "an amount of money"
    if slot.type == "text" and info.shape.extractable:
        token = info.shape.extract(turn.text, strict=True)
        return (token[0], f"{_a(info.shape.kind)} like its examples") if token is not None else None
    if slot.type in ("text", "any"):
        value = _named_value(turn, info)
        return (value, "introduced by the slot's name") if value else None
    return None


def _quantity(turn: Turn, info: SlotInfo) -> tuple[str, str] | None:
    if holds_money(info) and (money := amount(turn.text)):
        return money, "an amount of money"
    number = counted(turn.text, info)
    return (number, "a number of what the slot counts") if number else None


def _rated_number(turn: Turn, info: SlotInfo) -> str | None:
    for match in RATING_CUE.finditer(turn.text):
        number = parse_number(match.group("a") or match.group("b") or "")
        if number is not None:
            return format_number(number)
    for alias in info.shape.aliases:
        intro = re.search(
            rf"\b{re.escape(alias)}\s*(?:is|of|:|=|would be)?\s*(?P<v>\S+)", turn.text, re.I
        )
        if intro:
            number = parse_number(intro.group("v"))
            if number is not None:
                return format_number(number)
    return None


def _named_value(turn: Turn, info: SlotInfo) -> str | None:
    for alias in sorted(info.shape.aliases, key=len, reverse=True):
        if len(alias) < 3:
            continue
        intro = re.search(
            rf"\b(?:my|the|our)\s+(?:new\s+)?{re.escape(alias)}\s+"
            r"(?:is|are|should be|will be|would be|:)\s+(?P<v>[^.;!?]+)",
            turn.text,
            re.IGNORECASE,
        )
        if intro:
            value = re.split(r",?\s+and\s+(?:my|the|our)\s", intro.group("v"))[0]
            value = clean_free_text(value)
            if value:
                return value
    return None


def _a(kind: str) -> str:
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"
