"""Amounts of money and counted things in a message, for the slots that hold them.

A model writes an amount as a plain number ("$7.50" -> 7.5, "50 euros" -> 50) into a slot
that holds money (its name or hints speak of an amount, price, fee or a currency), and a
number followed by what the slot counts ("for 2 people", "two weeks") into a slot whose
name or hints name that thing. A bare number in a longer message fills neither."""

from __future__ import annotations

import re

from workbench.understanding.offline.model import SlotInfo
from workbench.understanding.offline.values import format_number, parse_number
from workbench.understanding.words import stem, words

_CURRENCY_WORDS = r"(?:dollars?|euros?|pounds?|usd|eur|gbp|bucks|quid|cents?)"
_AMOUNT = re.compile(
    r"(?:[$€£]\s?\d[\d,]*(?:\.\d+)?)"
    rf"|(?:\b\d[\d,]*(?:\.\d+)?\s?(?:{_CURRENCY_WORDS}|[$€£])(?!\w))",
    re.IGNORECASE,
)
_MONEY_WORDS = frozenset(
    {"amount", "money", "price", "cost", "fee", "fine", "payment", "sum", "budget", "credit"}
)
_MONEY_HINT = re.compile(rf"\b(?:{_CURRENCY_WORDS}|currency|amount|money)\b", re.IGNORECASE)
_NUMBER_THEN_WORD = re.compile(
    r"\b(?P<n>\d+(?:\.\d+)?|[a-z]+(?:[ -][a-z]+)?)\s+(?:(?:more|extra|of us|adults?)\s+)?"
    r"(?P<w>[a-z]+)",
    re.IGNORECASE,
)


def holds_money(info: SlotInfo) -> bool:
    if info.slot.type not in ("float", "text", "any"):
        return False
    named = set(words(info.slot.name)) & _MONEY_WORDS
    return bool(named) or any(_MONEY_HINT.search(h) for h in info.hints[:2])


def amount(text: str) -> str | None:
    """The first amount of money in a text, as a plain number."""
    match = _AMOUNT.search(text)
    if match is None:
        return None
    number = parse_number(match.group())
    return format_number(number) if number is not None else None


def counted(text: str, info: SlotInfo) -> str | None:
    """A number followed by the thing the slot counts ("2 people" for a slot asking
    "how many people travel")."""
    if info.slot.type != "float":
        return None
    counts = info.name_terms | info.description_terms
    for match in _NUMBER_THEN_WORD.finditer(text):
        if stem(match["w"].lower()) not in counts:
            continue
        number = parse_number(match["n"])
        if number is not None:
            return format_number(number)
    return None
