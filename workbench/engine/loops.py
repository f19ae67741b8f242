"""Naming a loop the runtime limits stopped: the shortest repeating tail of the steps (or
actions) taken, spelled `a → b → a` (`flow.step` when the loop crosses flows)."""

from __future__ import annotations

from collections.abc import Sequence

ARROW = " → "


def repeating_tail(trail: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The shortest period that repeats at least twice at the end of `trail` (or, with no
    repetition, its last few entries)."""
    size = len(trail)
    for period in range(1, size // 2 + 1):
        tail = trail[size - period :]
        if trail[size - 2 * period : size - period] == tail:
            return list(tail)
    return list(trail[-5:])


def spell_loop(trail: Sequence[tuple[str, str]]) -> str:
    """`flow 'x' loops: a → b → a` from (flow id, step or action) pairs."""
    loop = repeating_tail(trail)
    if not loop:
        return "no steps"
    flows = list(dict.fromkeys(flow for flow, _ in loop))
    if len(flows) == 1:
        names = [name for _, name in loop]
        return f"flow '{flows[0]}' loops: {ARROW.join([*names, names[0]])}"
    names = [f"{flow}.{name}" for flow, name in loop]
    return f"flows {', '.join(repr(f) for f in flows)} loop: {ARROW.join([*names, names[0]])}"
