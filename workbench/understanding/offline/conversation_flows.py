"""A project's own flows for the conversation itself: greeting, goodbye, small talk, what
the assistant can do, and out of scope. When a project defines such a flow, a model
starts it for the matching message instead of answering with a generic `offtopic reply`
(or leaving a "bye" unanswered): the flow is the project's answer.

A flow is taken for a kind when its id, name or description says so (e.g. a flow
`greet` or one described as "Greet a user who says hello"), and only when exactly one
startable flow does."""

from __future__ import annotations

import re

from workbench.understanding.offline.phrases import GREETING, SMALL_TALK, WH_START, all_clauses
from workbench.understanding.offline.turn import OfflineDecision, Turn
from workbench.understanding.words import words

GOODBYE_CLAUSE = re.compile(
    r"(?:bye|bye bye|goodbye|good bye|bye for now|see you|see ya|see you (?:later|soon)|"
    r"farewell|take care|have a (?:nice|good|great) (?:day|one|evening)|good night|"
    r"i am (?:leaving|off)|talk (?:to you )?later|that is all(?: for (?:now|today))?)"
)
GREETING_CLAUSE = re.compile(GREETING.pattern)
CAPABILITIES = re.compile(
    r"(?:what|how) (?:can|could|do) you (?:do|help(?: me)?(?: with)?)|"
    r"what (?:are|is) you(?:r)? (?:able|capabilities|skills)|what do you do|"
    r"how can you help|what can i ask(?: you)?|help"
)

# kind -> (words a flow's id or name has, a pattern its description matches)
_FLOW_CUES: dict[str, tuple[frozenset[str], re.Pattern[str]]] = {
    "greeting": (
        frozenset({"greet", "greeting", "hello", "hi", "welcome"}),
        re.compile(r"\b(?:greet|greets|greeting|says? hello|says? hi)\b"),
    ),
    "goodbye": (
        frozenset({"goodbye", "bye", "farewell"}),
        re.compile(r"\b(?:goodbye|says? bye|farewell|ends? the conversation)\b"),
    ),
    "small_talk": (
        frozenset({"chitchat", "smalltalk"}),
        re.compile(r"\b(?:small talk|chit ?chat|chats? about)\b"),
    ),
    "capabilities": (
        frozenset({"help", "capabilities"}),
        re.compile(r"\bwhat (?:the (?:agent|assistant|bot)|you|it) can do\b"),
    ),
    "out_of_scope": (
        frozenset({"scope"}),
        re.compile(r"\b(?:out of scope|does not (?:offer|do|support)|cannot help with)\b"),
    ),
}


def message_kind(turn: Turn) -> str | None:
    """The kind of conversation message this is, if any."""
    norm = re.sub(r"[!?.]+", " ", turn.norm).strip()
    if all_clauses(turn.norm, GOODBYE_CLAUSE):
        return "goodbye"
    if all_clauses(turn.norm, GREETING_CLAUSE):
        return "greeting"
    if CAPABILITIES.fullmatch(norm):
        return "capabilities"
    if turn.flat and SMALL_TALK.search(turn.flat):
        return "small_talk"
    return None


def conversation_flow(turn: Turn, kind: str) -> str | None:
    """The one startable flow of the project for `kind`, if there is exactly one."""
    cached = turn.model.conversation_flows.get(kind, "")
    if cached != "":
        return cached
    names, description = _FLOW_CUES[kind]
    by_name, by_description = [], []
    for flow_id in turn.model.startable:
        flow = turn.project.flow(flow_id)
        if flow is None:
            continue
        said = set(words(flow_id)) | set(words(flow.name or ""))
        if said & names or "".join(words(flow_id)) in names:
            by_name.append(flow_id)
        elif description.search(" ".join(words(flow.description or ""))):
            by_description.append(flow_id)
    found = by_name if by_name else by_description
    chosen = found[0] if len(found) == 1 else None
    turn.model.conversation_flows[kind] = chosen
    return chosen


def own_conversation_flow(turn: Turn, kinds: tuple[str, ...]) -> OfflineDecision | None:
    """`start flow` for the project's own flow for a message of one of `kinds`
    (greeting, goodbye, small talk, a question about what the assistant can do)."""
    kind = message_kind(turn)
    if kind is None or kind not in kinds:
        return None
    flow_id = conversation_flow(turn, kind)
    if flow_id is None or flow_id in turn.stack_flows:
        return None
    return turn.decision(
        [f"start flow {flow_id}"],
        f"start flow: a {kind.replace('_', ' ')} message, and flow {flow_id} is the "
        f"project's own for it",
    )


def out_of_scope(turn: Turn) -> OfflineDecision | None:
    """A request no flow matches ("can you find me a hotel?", not "what is ...?")
    starts the project's own out-of-scope flow."""
    if not turn.is_request() or WH_START.match(turn.norm):
        return None
    flow_id = conversation_flow(turn, "out_of_scope")
    if flow_id is None:
        return None
    return turn.decision(
        [f"start flow {flow_id}"],
        f"start flow: a request no flow matches, and flow {flow_id} is the project's own "
        "for requests out of scope",
    )
