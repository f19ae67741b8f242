"""Regular expressions that can take exponential time: a `matches` condition runs on
whatever the user typed (a slot value), and Python's `re` cannot be interrupted, so a
pattern such as `^(a+)+$` given 30 a's and a `!` freezes the turn for minutes.

The check is static and simple: an unbounded repetition inside another one (`(a+)+`,
`(a*)*`, `(.*x)*`), the shape behind almost every catastrophic backtracking. It can flag
a pattern that is safe in practice (`(\\d+,)*`), so `validate` warns and does not refuse:
Rasa accepts such patterns too."""

from __future__ import annotations

import re
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]

# `matches` and its operand as conditions.py reads it: a quoted string or a bare word
MATCHES_RE = re.compile(r"""\bmatches\s+("[^"]*"|'[^']*'|\S+)""")
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT)


def risky_patterns(condition: str) -> list[str]:
    """The `matches` patterns of a condition that may backtrack exponentially."""
    found = []
    for match in MATCHES_RE.finditer(condition):
        pattern = match.group(1).strip("'\"")
        if nested_repetition(pattern):
            found.append(pattern)
    return found


def nested_repetition(pattern: str) -> bool:
    try:
        parsed = sre_parse.parse(pattern)
    except Exception:  # not a valid pattern: the condition check reports that
        return False
    return _nested(parsed, inside=False)


def _nested(items: object, *, inside: bool) -> bool:
    for op, arg in items:  # type: ignore[attr-defined]
        if op in _REPEATS:
            unbounded = arg[1] == sre.MAXREPEAT
            if unbounded and inside:
                return True
            children, deeper = [arg[2]], inside or unbounded
        elif op == sre.SUBPATTERN:
            children, deeper = [arg[-1]], inside
        elif op == sre.BRANCH:
            children, deeper = arg[1], inside
        else:  # possessive repetitions and atomic groups are never backtracked into
            continue
        if any(_nested(child, inside=deeper) for child in children):
            return True
    return False
