"""A free-text answer trimmed to its value: the words a person puts around a value are
not part of it. "I'm looking for The Left Hand of Darkness" answers a title question
with `The Left Hand of Darkness`, "the book is called Piranesi" with `Piranesi`, "I work
at Acme Ltd" with `Acme Ltd`, and "to John" (who to send it to) with `John`.

Only lead-ins that cannot be part of a value are removed: a search phrase, "is called",
a subject the slot's own hints speak of ("the lead passenger is ...", for a slot asking
for the lead passenger's name), or "to/for" before a capitalised name."""

from __future__ import annotations

import re

from workbench.understanding.offline.model import SlotInfo
from workbench.understanding.words import stem, words

_SEARCHING = re.compile(
    r"^(?:i am|i'm|im|we are|we're) (?:looking for|after|searching for|interested in|"
    r"trying to find)\s+|^(?:i|we) (?:want|would like|'d like|need|am after)\s+(?!to\b)",
    re.IGNORECASE,
)
_CALLED = re.compile(
    r"^(?:(?:it|this|that|the [\w' -]{1,30}?)\s*(?:'s|is|was)\s+)?"
    r"(?:called|named|titled|entitled)\s+",
    re.IGNORECASE,
)
_WHERE = re.compile(r"^(?:i|we) (?:work|study|live|stay) (?:at|for|in)\s+", re.IGNORECASE)
_TO_NAME = re.compile(r"^(?:to|for)\s+(?=[A-Z])")
_SUBJECT_IS = re.compile(
    r"^(?:the|my|our|his|her|their)\s+(?P<subject>[\w' -]{1,30}?)\s+"
    r"(?:is|are|will be|would be|'s)\s+",
    re.IGNORECASE,
)


def trim_answer(value: str, info: SlotInfo) -> str:
    """`value` (a cleaned message) without the lead-in around the slot's value."""
    for pattern in (_SEARCHING, _CALLED, _WHERE):
        match = pattern.match(value)
        if match and value[match.end() :].strip():
            return value[match.end() :].strip()
    match = _TO_NAME.match(value)
    if match and len(value.split()) <= 4:
        return value[match.end() :].strip()
    match = _SUBJECT_IS.match(value)
    if match and value[match.end() :].strip():
        subject = {stem(w) for w in words(match["subject"])}
        known = info.name_terms | info.description_terms
        if subject and subject <= known | {"name", "full"}:
            return value[match.end() :].strip()
    return value
