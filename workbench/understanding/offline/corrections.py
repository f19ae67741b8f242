"""Corrections ("actually, make it A1005", "change the email to ...", "no, I meant ...")
and unmistakable values for a slot other than the one asked: `set slot` for a slot the
flows on the stack collect; the cleaner turns it into a correction."""

from __future__ import annotations

import re

from workbench.understanding.offline.model import called_flows
from workbench.understanding.offline.phrases import (
    CORRECTION_MARKERS,
    CORRECTION_TAIL,
    INTERJECTION,
    IT_IS,
    NAMED_CHANGE,
    NAMED_IS,
    NAMED_PLAIN_IS,
    REQUEST,
)
from workbench.understanding.offline.ranking import INTERRUPT_THRESHOLD, START_THRESHOLD
from workbench.understanding.offline.slots import value_for
from workbench.understanding.offline.turn import OfflineDecision, Turn
from workbench.understanding.words import normalize, terms


def correction(turn: Turn) -> OfflineDecision | None:
    """ "actually, make it A1005", "change the email to ...", "no, I meant ..."."""
    if turn.user_frame is None:
        return None
    parsed = parse_correction(turn)
    if parsed is None:
        return None
    named, rest = parsed
    if not rest or request_like(turn, rest):
        return None
    candidates = correction_candidates(turn)
    target = correction_target(turn, named, rest, candidates)
    if target is None:
        return None
    info = turn.model.slots[target]
    value = value_for(turn, info, rest, strict=False)
    if value is None:
        return None
    how = f"the message names it ('{named}')" if named else "the new value fits it"
    return turn.decision(
        [f"set slot {target} {value[0]}"], f"set slot: a correction of '{target}' ({how})"
    )


def request_like(turn: Turn, text: str) -> bool:
    """Whether the text after a correction marker asks for a flow rather than a value."""
    norm = normalize(text)
    if REQUEST.match(norm) and turn.model.index.rank(terms(text))[0].score >= START_THRESHOLD:
        return True
    ranked = turn.model.index.rank(terms(text))
    return bool(ranked) and ranked[0].score >= INTERRUPT_THRESHOLD * 1.5


def parse_correction(turn: Turn) -> tuple[str, str] | None:
    """(slot words named or "", the new value's text), or None if no correction."""
    stripped = turn.text
    while True:
        lead = INTERJECTION.match(stripped) or re.match(
            r"actually\b[\s,.:;-]*", stripped, re.IGNORECASE
        )
        if not lead or not lead.group():
            break
        stripped = stripped[lead.end() :]
    patterns = [NAMED_CHANGE, NAMED_IS]
    if stripped != turn.text:
        patterns.append(NAMED_PLAIN_IS)
    for pattern in patterns:
        match = pattern.match(stripped)
        if match and (pattern is not NAMED_PLAIN_IS or names_a_slot(turn, match["named"])):
            return match.group("named").strip(), _tail(match.group("rest"))
    rest = turn.text
    marker = False
    interjection = False
    changed = True
    while changed:
        changed = False
        lead = INTERJECTION.match(rest)
        if lead and lead.group():
            rest = rest[lead.end() :]
            interjection = changed = True
            continue
        for pattern in CORRECTION_MARKERS:
            match = pattern.match(rest)
            if match and match.group():
                rest = rest[match.end() :]
                marker = changed = True
                break
        if not changed and interjection:
            match = IT_IS.match(rest)
            if match:
                rest = rest[match.end() :]
                marker = changed = True
    if not marker:
        return None
    return "", _tail(rest)


def _tail(text: str) -> str:
    text = CORRECTION_TAIL.sub("", text.strip())
    return text.strip().strip(",.;:!?").strip()


def names_a_slot(turn: Turn, named: str) -> bool:
    """Whether the words name a slot a correction may target ("the handle")."""
    named_terms = set(terms(named))
    return any(
        named_terms & turn.model.slots[name].name_terms for name in correction_candidates(turn)
    )


def correction_candidates(turn: Turn) -> list[str]:
    """Slots a correction may target: the asked one, then the ones the user filled
    most recently, then the others collected by flows on the stack."""
    names: list[str] = []
    if turn.asked:
        names.append(turn.asked)
    on_stack: list[str] = []
    for flow_id in turn.stack_flows:
        on_stack.extend(turn.model.collected.get(flow_id, ()))
    recent = []
    wanted = set(on_stack)
    for event in reversed(turn.tracker.events):
        kind = event.get("event")
        if kind == "restart" or not wanted:
            break  # nothing filled before a restart is still filled; or all are placed
        if kind == "slot" and event.get("filled_by") and event.get("name"):
            recent.append(event["name"])
            wanted.discard(event["name"])
    for name in [*recent, *on_stack]:
        if name in on_stack and name not in names:
            names.append(name)
    return [
        n
        for n in names
        if n in turn.model.slots
        and turn.model.slots[n].slot.llm_fillable
        and (n == turn.asked or not _ask_before_filling(turn, n))
    ]


def _ask_before_filling(turn: Turn, name: str) -> bool:
    for flow_id in turn.stack_flows:
        for flow in called_flows(turn.project, flow_id):
            for step in flow.steps:
                if step.collect == name and not step.ask_before_filling:
                    return False
    return True


def correction_target(turn: Turn, named: str, rest: str, candidates: list[str]) -> str | None:
    if not candidates:
        return None
    if named:
        named_terms = set(terms(named))
        best, best_score = None, 0.0
        for name in candidates:
            info = turn.model.slots[name]
            score = 2 * len(named_terms & info.name_terms) + 0.5 * len(
                named_terms & info.description_terms
            )
            if score > best_score:
                best, best_score = name, score
        if best is not None and best_score >= 1:
            return best
    fits: list[tuple[int, int, str]] = []
    for order, name in enumerate(candidates):
        value = value_for(turn, turn.model.slots[name], rest, strict=False)
        if value is not None:
            fits.append((-value[1], order, name))
    if not fits:
        return None
    # the best fit; among equals the asked slot, then the most recently filled one
    fits.sort()
    return fits[0][2]


def fits_other_slot(turn: Turn) -> OfflineDecision | None:
    """An unmistakable value for another slot of the active flow (e.g. the order number
    while a yes/no question is open): set it; the cleaner makes it a correction."""
    if turn.user_frame is None:
        return None
    for name in correction_candidates(turn):
        if name == turn.asked:
            continue
        value = value_for(turn, turn.model.slots[name], turn.text, strict=True)
        if value is not None and value[1] >= 3:
            return turn.decision(
                [f"set slot {name} {value[0]}"],
                f"set slot: does not answer the question, but is clearly a value for '{name}'",
            )
    return None
