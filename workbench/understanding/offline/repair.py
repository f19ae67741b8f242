"""Conversation repair: the messages that are about the conversation rather than a flow's
business. Instructions to the model, "say that again", "skip", "stop", small talk and
questions no flow answers."""

from __future__ import annotations

from workbench.understanding.offline.conversation_flows import (
    out_of_scope,
    own_conversation_flow,
)
from workbench.understanding.offline.ranking import (
    CLARIFY_COVERAGE,
    INTERRUPT_THRESHOLD,
    START_THRESHOLD,
    best_other_flow,
)
from workbench.understanding.offline.turn import OfflineDecision, Turn


def injection(turn: Turn) -> OfflineDecision | None:
    """A message that tries to instruct the model gets no commands (cannot handle)."""
    if not turn.is_injection():
        return None
    return turn.decision(
        [], "cannot handle: the message tries to instruct the assistant; no commands"
    )


def repeat(turn: Turn) -> OfflineDecision | None:
    if not turn.is_repeat():
        return None
    return turn.decision(["repeat message"], "repeat message: the message asks to repeat")


def skip(turn: Turn) -> OfflineDecision | None:
    if not turn.is_skip():
        return None
    return turn.decision(
        ["skip question"],
        f"skip question: the message asks to skip the question for '{turn.asked}'",
    )


def hold_on(turn: Turn) -> OfflineDecision | None:
    """ "One moment", "hang on, let me check": small talk, never a value or a request."""
    if not turn.is_hold_on():
        return None
    asked = f"; no value for '{turn.asked}'" if turn.asked else ""
    return turn.decision(["offtopic reply"], f"offtopic reply: asks for a moment{asked}")


def cancel(turn: Turn) -> OfflineDecision | None:
    """`cancel flow` when a flow is running (the caller has seen a request to stop)."""
    if turn.user_frame is None:
        return None
    return turn.decision(
        ["cancel flow"], f"cancel flow: the message asks to stop flow {turn.active_flow}"
    )


def knowledge_question(turn: Turn) -> OfflineDecision | None:
    """A question for information whose words the best flow explains less than half of
    ("how secure are my online payments?" shares one word with a payments flow) is a
    question for the knowledge base, not a request for that flow."""
    if not turn.is_info_question() or turn.is_small_talk():
        return None
    best = best_other_flow(turn)
    if best is not None and (best.coverage >= CLARIFY_COVERAGE or best.bonus):
        return None
    matched = f" (best flow {best.flow_id} explains {best.coverage:.0%} of it)" if best else ""
    return turn.decision(["provide info"], f"provide info: a question no flow matches{matched}")


def fallback(turn: Turn) -> OfflineDecision:
    """Small talk, a question no flow answers, or nothing (cannot handle)."""
    own = own_conversation_flow(turn, ("small_talk",))
    if own is not None:
        return own
    if turn.is_small_talk():
        return turn.decision(["offtopic reply"], "offtopic reply: small talk")
    beyond = out_of_scope(turn)
    if beyond is not None:
        return beyond
    if turn.is_question() and turn.terms:
        best = best_other_flow(turn)
        enough = INTERRUPT_THRESHOLD if turn.asked else START_THRESHOLD
        if best is None or best.score < enough:
            matched = (
                f"; best flow {best.flow_id} scores {best.score:.3g} < {enough:g}" if best else ""
            )
            return turn.decision(
                ["provide info"], f"provide info: a question no flow matches{matched}"
            )
    return turn.decision([], "cannot handle: no rule matched")
