"""The questions patterns ask: "Is there anything else I can help you with?", the
satisfaction rating, "Would you like to continue with ...?" and "Which flow would you
like to continue?". A request for a flow there starts it; "stop"/"never mind" mean no."""

from __future__ import annotations

import re

from workbench.understanding.offline.model import SlotInfo
from workbench.understanding.offline.phrases import CANCEL_WITH_OBJECT, POLITE_ONLY
from workbench.understanding.offline.ranking import START_THRESHOLD, choose_flow
from workbench.understanding.offline.turn import OfflineDecision, Turn
from workbench.understanding.offline.values import parse_bool, parse_ordinal
from workbench.understanding.words import terms

NONE_OF_THEM = re.compile(
    r"(?:none|neither|no|nope|nothing|none of them|neither of them|no thanks|"
    r"no thank you|not now|no need)"
)

# words that turn a mention of the interrupted flow into a refusal
DECLINES = re.compile(
    r"\b(?:no|not|nope|never|forget|drop|skip|cancel|stop|abandon|scrap|without)\b"
)


def pattern_yes_no(turn: Turn, info: SlotInfo) -> OfflineDecision | None:
    """Yes/no questions of patterns ("anything else?", "continue with ...?")."""
    asked = turn.asked
    closing = turn.asks_for_more()
    if turn.is_cancel() and not CANCEL_WITH_OBJECT.search(turn.flat):
        return turn.decision(
            [f"set slot {asked} False"], f"set slot: declines the question for '{asked}'"
        )
    if asked == "continue_interrupted_flow_confirmation":
        resume = names_interrupted_flow(turn)
        if resume:
            # "no, forget the booking" names the flow to decline it
            if parse_bool(turn.text) is False or DECLINES.search(turn.flat):
                return turn.decision(
                    [f"set slot {asked} False"],
                    f"set slot: names the interrupted flow {resume} to decline it",
                )
            return turn.decision(
                [f"set slot {asked} True"], f"set slot: names the interrupted flow {resume}"
            )
    value = parse_bool(turn.text, closing_means_no=closing)
    chosen = choose_flow(turn, START_THRESHOLD, allow_clarify=True, rule="asks for a flow instead")
    if chosen is not None:
        return chosen
    if value is not None:
        return turn.decision(
            [f"set slot {asked} {value}"],
            f"set slot: a yes/no answer to the question for '{asked}'",
        )
    if turn.is_small_talk() and closing:
        polite = POLITE_ONLY.fullmatch(turn.flat)
        if polite:
            return turn.decision(
                [f"set slot {asked} False"], "set slot: a polite goodbye means no more"
            )
    return None


def names_interrupted_flow(turn: Turn) -> str | None:
    """The interrupted flow whose id or name the message shares the most words with."""
    frame = turn.interrupted_frame()
    if frame is None:
        return None
    ids = frame.names("interrupted_flow_ids")
    names = frame.names("interrupted_flow_names")
    said = set(turn.terms)
    best, best_hits = None, 0
    for flow_id, name in zip(ids, names, strict=False):
        hits = len(said & set(terms(f"{flow_id.replace('_', ' ')} {name}")))
        if hits > best_hits:
            best, best_hits = flow_id, hits
    return best


def interrupted_choice(turn: Turn) -> OfflineDecision | None:
    """Which interrupted flow to continue: by position, by name, or none of them."""
    asked = turn.asked
    frame = turn.interrupted_frame()
    ids = frame.names("interrupted_flow_ids") if frame else []
    if NONE_OF_THEM.fullmatch(turn.flat) or (
        turn.is_cancel() and not CANCEL_WITH_OBJECT.search(turn.flat)
    ):
        return turn.decision(
            [f"set slot {asked} none"], "set slot: continue none of the interrupted flows"
        )
    index = parse_ordinal(turn.text, len(ids))
    if index is not None:
        return turn.decision(
            [f"set slot {asked} {ids[index]}"],
            f"set slot: picked interrupted flow {index + 1} ({ids[index]}) by position",
        )
    named = names_interrupted_flow(turn)
    if named:
        return turn.decision(
            [f"set slot {asked} {named}"], f"set slot: names the interrupted flow {named}"
        )
    return None
