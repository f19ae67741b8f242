"""Dates, months and years in a message, written the way the slot asks for them.

A slot expects a date when its name says so (`travel_date`, `birthday`) or its hints name
a format (`YYYY-MM-DD`, `DD/MM/YYYY`, `MM/DD/YYYY`). A model writes the date in that
format ("the 3rd of May 2026" -> `2026-05-03` when the description says YYYY-MM-DD), and
as the user wrote it, without the words around it, when no format is given. A slot named
for a month or a year takes just that part ("my June 2024 statement")."""

from __future__ import annotations

import re
from collections.abc import Iterable

MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH_NUMBER = {name: i + 1 for i, name in enumerate(MONTHS)}
_MONTH_NUMBER.update({name[:3]: i + 1 for i, name in enumerate(MONTHS)})
_MONTH_NUMBER["sept"] = 9
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTH_NUMBER, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"

_ISO = re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<month>[01]?\d)-(?P<day>[0-3]?\d)\b")
_DAY_MONTH = re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?\b", re.IGNORECASE)
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?\b", re.IGNORECASE)
_NUMERIC = re.compile(r"\b(?P<a>[0-3]?\d)[/.](?P<b>[0-3]?\d)[/.](?P<year>(?:19|20)\d\d)\b")
_MONTH_ONLY = re.compile(rf"\b{_MONTH}\b", re.IGNORECASE)
_YEAR_ONLY = re.compile(r"(?<![\d-])(?:19|20)\d\d(?![\d-])")

_FORMATS = {
    "yyyy-mm-dd": "{y:04d}-{m:02d}-{d:02d}",
    "dd/mm/yyyy": "{d:02d}/{m:02d}/{y:04d}",
    "mm/dd/yyyy": "{m:02d}/{d:02d}/{y:04d}",
    "dd.mm.yyyy": "{d:02d}.{m:02d}.{y:04d}",
}
_DATE_NAME_WORDS = frozenset({"date", "birthday", "birthdate", "dob", "day"})


def date_format(hints: Iterable[str]) -> str | None:
    """The format a slot's hints ask for ("written as YYYY-MM-DD"), if any."""
    for hint in hints:
        lowered = hint.lower()
        for name in _FORMATS:
            if name in lowered:
                return name
    return None


def date_kind(name: str, hints: Iterable[str]) -> str | None:
    """ "date", "month" or "year" when the slot holds one, else None."""
    parts = set(re.split(r"[_\W]+", name.lower()))
    if parts & _DATE_NAME_WORDS or date_format(hints):
        return "date"
    if "month" in parts:
        return "month"
    if "year" in parts:
        return "year"
    return None


Ymd = tuple[int | None, int, int]  # (year, if written; month; day)


def find_date(text: str, month_first: bool = False) -> tuple[Ymd, str] | None:
    """((year or None, month, day), the words as written) of the first date in a text."""
    found: list[tuple[int, Ymd, str]] = []
    for match in _ISO.finditer(text):
        found.append((match.start(), _ymd(match["year"], match["month"], match["day"]), match[0]))
    for pattern in (_DAY_MONTH, _MONTH_DAY):
        for match in pattern.finditer(text):
            month = _MONTH_NUMBER[match["month"].lower()]
            found.append((match.start(), (_int(match["year"]), month, int(match["day"])), match[0]))
    for match in _NUMERIC.finditer(text):
        first, second = int(match["a"]), int(match["b"])
        day, month = (second, first) if month_first else (first, second)
        found.append((match.start(), (int(match["year"]), month, day), match[0]))
    valid = [f for f in found if 1 <= f[1][1] <= 12 and 1 <= f[1][2] <= 31]
    if not valid:
        return None
    _start, (year, month, day), written = min(valid, key=lambda f: f[0])
    return (year, month, day), written


def date_value(text: str, hints: Iterable[str]) -> str | None:
    """The date in `text` as the slot wants it written."""
    wanted = date_format(hints)
    found = find_date(text, month_first=wanted == "mm/dd/yyyy")
    if found is None:
        return None
    (year, month, day), written = found
    if wanted is None or year is None:
        return written.strip(" ,.")
    return _FORMATS[wanted].format(y=year, m=month, d=day)


def month_value(text: str) -> str | None:
    match = _MONTH_ONLY.search(text)
    if match is None or (match["month"].lower() == "may" and not _YEAR_ONLY.search(text)):
        return None  # "may" alone is more often the verb
    number = _MONTH_NUMBER[match["month"].lower()]
    return MONTHS[number - 1].capitalize()


def year_value(text: str) -> str | None:
    match = _YEAR_ONLY.search(text)
    return match.group() if match else None


def dated_value(kind: str, text: str, hints: Iterable[str]) -> str | None:
    """The `kind` ("date", "month", "year") value in `text`, written for the slot."""
    if kind == "date":
        return date_value(text, hints)
    if kind == "month":
        return month_value(text)
    return year_value(text)


def _ymd(year: str, month: str, day: str) -> Ymd:
    return int(year), int(month), int(day)


def _int(text: str | None) -> int | None:
    return int(text) if text else None
