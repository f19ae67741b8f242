"""How deeply a YAML text nests, found before the parser recurses into it.

libyaml's composer (the C extension) recurses once per nested collection on the C
stack: around 26,000 levels overflow an 8 MB stack (the main thread and Linux's default
thread stack), 1,600 a 512 KB one and 370 the 128 KB of musl's default thread stack, and
the process dies with a segfault that no Python handler sees. So the text is measured
first, cheaply, and a document deeper than `MAX_NESTING` is never handed to the parser.

The cheap measure is an upper bound that costs a few ms for 5 MB:

* flow style (`[`, `{`): the bracket bytes alone, with matched `()` pairs peeled off a
  layer at a time; a layer per pass plus the openers left over bound the depth (a
  bracket inside a quoted scalar or comment can only raise the bound, never hide depth);
* block style: every block level but a sequence written at its parent key's indentation
  needs one more column, so twice the widest run of indentation and indicators (spaces,
  tabs, `-`, `?`, `:`) at a line start, plus one, bounds it.

Only when that bound exceeds the limit are the parser's events counted, which is exact
(libyaml's parser keeps its state on the heap, the composer is what recurses) and stops
at the first level too deep. Real projects nest 10-30 levels and never get there.
"""

from __future__ import annotations

import re
from collections.abc import Generator

from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent, Event

# Far above anything a project needs, below the crash depth on the smallest thread stack
# in use (musl's 128 KB: ~370 levels) and leaving room under Python's recursion limit for
# the code that walks the values afterwards.
MAX_NESTING = 200
# peeling passes before the exact count takes over (real files need one per flow level)
_MAX_PASSES = 16
_PARENS = bytes.maketrans(b"[{]}", b"(())")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# libyaml breaks lines at \r, \n, NEL, LS and PS
_BREAK = "\r\n\x85\u2028\u2029"
_RARE_BREAKS = "\x85\u2028\u2029"
_PREFIX = "[ \t?:-]"


def too_deep(text: str, limit: int = MAX_NESTING) -> int | None:
    """The 1-based line where `text` nests deeper than `limit` collections, else None.
    A syntax error met on the way counts as not too deep: the parser reports it when it
    gets there, no deeper than here."""
    flow = _flow_bound(text, limit)
    if flow is not None:
        room = (limit - flow) // 2  # block depth <= 2 * (widest prefix) + 1
        if room > 0 and not _has_prefix(text, room):
            return None
    return _exact(text, limit)


def _flow_bound(text: str, limit: int) -> int | None:
    """An upper bound of the flow-style depth, or None when it is above `limit`."""
    parens = text.encode("utf-8", "surrogatepass").translate(_PARENS, _NOT_BRACKETS)
    bound = parens.count(b"(")
    passes = 0
    while bound > limit and passes < _MAX_PASSES and b"()" in parens:
        parens = parens.replace(b"()", b"")
        passes += 1
        bound = passes + parens.count(b"(")
    return bound if bound <= limit else None


def _has_prefix(text: str, width: int) -> bool:
    """Whether a line starts with at least `width` indentation and indicator characters."""
    body = f"{_PREFIX}{{{width}}}"
    if re.match(body, text) or re.search("\n" + body, text):
        return True
    # the other line breaks are rare: a search led by a literal "\n" is three times
    # faster than one led by a class of all five
    lone_cr = text.count("\r") != text.count("\r\n")
    if not lone_cr and not any(c in text for c in _RARE_BREAKS):
        return False
    return re.search(f"[{_BREAK}]{body}", text) is not None


def _exact(text: str, limit: int) -> int | None:
    depth = 0
    events = _events(text)
    try:
        for event in events:
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > limit:
                    return int(event.start_mark.line) + 1
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    except (YAMLError, ValueError, OverflowError):
        return None
    finally:
        events.close()
    return None


def _events(text: str) -> Generator[Event, None, None]:
    try:
        from ruamel.yaml.cyaml import CSafeLoader
    except ImportError:  # no libyaml: ruamel's own parser, as yaml_io falls back to
        from ruamel.yaml.main import YAML

        yield from YAML(typ="safe", pure=True).parse(text)
        return
    loader = CSafeLoader(text)
    try:
        while loader.check_event():
            yield loader.get_event()
    finally:
        loader.dispose()
