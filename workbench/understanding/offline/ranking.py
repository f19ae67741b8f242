"""Which flow a message asks for: flows ranked by `lexical.FieldIndex` over each
startable user flow's name, id, description and collect steps, a bonus for a flow whose
slots the message fills, and the thresholds that turn a ranking into `start flow`,
`disambiguate flows` or nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass

from workbench.understanding.offline.slots import categorical, extract_slots
from workbench.understanding.offline.turn import OfflineDecision, Turn
from workbench.understanding.words import STOP_WORDS, stem, terms, words

# Flow scores are in "unique words": 1.0 is one word that only this flow's name has.
START_THRESHOLD = 0.8  # start a flow when nothing else is going on
INTERRUPT_THRESHOLD = 1.0  # start a flow instead of answering an open question
CLARIFY_MIN = 0.25  # a flow must score at least this to be offered in a clarification
CLOSE_RATIO = 0.8  # a runner-up within 80% of the best makes the choice ambiguous
CLARIFY_COVERAGE = 0.5  # ... if it also explains half of the message's words
MIN_COVERAGE = 0.25  # a flow explaining less of the message starts only if it scores ...
STRONG_SCORE = 1.5  # ... at least this much
MAX_CLARIFY_OPTIONS = 3
TITLE_WORDS = 5  # a flow name longer than this reads as a description
VALUE_BONUS = 0.6  # the message names a categorical value of a slot the flow collects
TOKEN_BONUS = 0.2  # the message holds an id/email shaped like a slot the flow collects


@dataclass(frozen=True)
class Ranked:
    flow_id: str
    score: float
    coverage: float
    matched: tuple[str, ...]
    bonus: str = ""

    def evidence(self, turn: Turn) -> str:
        """What made the score, for a reason: "'order', 'where' match 2 words of flow x"."""
        said = ", ".join(f"'{_written(turn, m)}'" for m in self.matched)
        count = len(self.matched)
        text = (
            f"{said} match{'es' if count == 1 else ''} {count} word{'s' * (count != 1)} "
            f"of flow {self.flow_id}"
            if self.matched
            else f"flow {self.flow_id}"
        )
        return f"{text}, value {self.bonus}" if self.bonus else text


def _written(turn: Turn, matched: str) -> str:
    """A matched term as the user wrote it (a typo match reads "shiping~ship")."""
    term, _, close = matched.partition("~")
    word = turn.written.get(term, term)
    return f"{word}~{close}" if close else word


def ranking(turn: Turn) -> list[Ranked]:
    """Every startable flow with its score, best first (computed once per turn)."""
    if turn.ranked is None:
        matches = {m.doc_id: m for m in turn.model.index.rank(turn.terms)}
        ranked = []
        for flow_id in turn.model.startable:
            match = matches[flow_id]
            score, bonus = match.score, ""
            extra, why = _value_bonus(turn, flow_id)
            if (extra and score > 0) or extra >= VALUE_BONUS:
                score += extra
                bonus = why
            ranked.append(Ranked(flow_id, round(score, 4), match.coverage, match.matched, bonus))
        ranked.sort(key=lambda r: (-r.score, r.flow_id))
        turn.ranked = ranked
    return turn.ranked


def _value_bonus(turn: Turn, flow_id: str) -> tuple[float, str]:
    best, why = 0.0, ""
    for name in turn.model.fillable.get(flow_id, ()):
        info = turn.model.slots.get(name)
        if info is None:
            continue
        if info.slot.type == "categorical":
            found = categorical(turn, info, strict=True)
            if found is not None and found.via != "value words" and best < VALUE_BONUS:
                best, why = VALUE_BONUS, f"{name}={found.value}"
        elif info.slot.type in ("text", "any") and info.shape.extractable:
            found_token = info.shape.extract(turn.text, strict=True)
            if found_token is not None and best < TOKEN_BONUS:
                best, why = TOKEN_BONUS, f"{name}={found_token[0]}"
    return best, why


def best_other_flow(turn: Turn) -> Ranked | None:
    """The best-ranked flow other than the active one."""
    for ranked in ranking(turn):
        if ranked.flow_id != turn.active_flow:
            return ranked
    return None


def named_flow(turn: Turn) -> str | None:
    """A message that is exactly a flow's name or id ("hello", "check balance") starts
    it, even when its words are common ones such as greetings."""
    if not turn.flat:
        return None
    for flow_id in turn.model.startable:
        flow = turn.project.flow(flow_id)
        if flow is None or flow_id == turn.active_flow:
            continue
        names = {" ".join(words(flow.readable_name)), " ".join(words(flow_id))}
        if turn.flat in names:
            return flow_id
    return None


def choose_flow(
    turn: Turn, threshold: float, allow_clarify: bool, rule: str = ""
) -> OfflineDecision | None:
    """`start flow` for a flow that matches clearly, `disambiguate flows` (when allowed)
    for several that match about equally well, else None."""
    candidates = [r for r in ranking(turn) if r.flow_id != turn.active_flow and r.score > 0]
    if not candidates:
        return None
    verb = _verb_flow(turn, candidates)
    if verb is not None:
        return start(
            turn,
            verb.flow_id,
            f"start flow: the request's verb '{_leading_verb(turn)}' starts the name of "
            f"flow {verb.flow_id} only ({verb.evidence(turn)})" + (f"; {rule}" if rule else ""),
        )
    best = candidates[0]
    close = [
        r
        for r in candidates
        if r.score >= best.score * CLOSE_RATIO
        and r.score >= CLARIFY_MIN
        and (r.coverage >= CLARIFY_COVERAGE or r is best)
    ]
    if len(close) >= 2:
        named = _named_by_title(turn, close)
        if named is not None and named.score >= threshold:
            return start(
                turn,
                named.flow_id,
                f"start flow: {named.evidence(turn)}, all in its name (score "
                f"{named.score:.3g}); the other close flows only mention them"
                + (f"; {rule}" if rule else ""),
            )
        if allow_clarify:
            offered = close[:MAX_CLARIFY_OPTIONS]
            options = " ".join(r.flow_id for r in offered)
            scores = ", ".join(f"{r.flow_id} {r.score:.3g}" for r in offered)
            return turn.decision(
                [f"disambiguate flows {options}"],
                f"disambiguate flows: several flows match about equally well ({scores}; "
                f"within {CLOSE_RATIO:.0%} of the best)",
            )
        return None
    if best.score >= threshold and (best.coverage >= MIN_COVERAGE or best.score >= STRONG_SCORE):
        return start(
            turn,
            best.flow_id,
            f"start flow: {best.evidence(turn)} (score {best.score:.3g} ≥ {threshold:g})"
            + (f"; {rule}" if rule else ""),
        )
    return None


_REQUEST_LEAD = re.compile(
    r"^(?:(?:please|pls|ok|okay|so|hi|hello|hey|now|just|also|actually)\s+)*"
    r"(?:(?:i|we)\s+(?:want|would like|need|wish|have|wanna|would love)\s+(?:to\s+)?|"
    r"(?:can|could|would|will)\s+(?:you|i|we)\s+(?:please\s+)?|"
    r"(?:help|let)\s+(?:me|us)\s+|i\s+am\s+trying\s+to\s+)?(?:please\s+)?"
)


def _leading_verb(turn: Turn) -> str:
    """The first word of a request once its politeness is gone ("please transfer ...",
    "can you transfer ..." -> "transfer")."""
    rest = _REQUEST_LEAD.sub("", turn.flat, count=1).split()
    return rest[0] if rest else ""


def _verb_flow(turn: Turn, candidates: list[Ranked]) -> Ranked | None:
    """The one matching flow whose title begins with the request's verb, when the
    message starts with that verb and it is a word the ranking matched."""
    verb = _leading_verb(turn)
    if not verb or verb in STOP_WORDS or len(turn.terms) < 2:
        return None  # a lone word ("returns") is vague, not a request
    verb_term = stem(verb)
    if not any(m.partition("~")[0] == verb_term for m in candidates[0].matched):
        return None
    found = []
    for ranked in candidates:
        first = ranked.flow_id.replace("-", "_").split("_")[0]
        if stem(first) == verb_term:
            found.append(ranked)
    return found[0] if len(found) == 1 else None


def _named_by_title(turn: Turn, close: list[Ranked]) -> Ranked | None:
    """The one close flow whose name or id holds every word the message matched ("who
    are my payees": `list_payees`, not a contacts flow whose description mentions
    payees): a model does not ask which one is meant then."""
    if any(r.bonus for r in close):
        return None  # the message names a value another close flow collects: ask
    titled = []
    for ranked in close:
        flow = turn.project.flow(ranked.flow_id)
        if flow is None or not ranked.matched:
            continue
        # a name of a few words is a title; a sentence used as a name is a description
        name = flow.name if flow.name and len(words(flow.name)) <= TITLE_WORDS else ""
        title = set(terms(name)) | set(terms(ranked.flow_id.replace("_", " ")))
        if all(m.partition("~")[0] in title for m in ranked.matched):
            titled.append(ranked)
    return titled[0] if len(titled) == 1 else None


def start(turn: Turn, flow_id: str, rule: str) -> OfflineDecision:
    """`start flow` plus the values the message gives the slots the flow collects.

    A value for a slot that a flow already on the stack filled is written *before* the
    `start flow`: the cleaner makes it a correction, and Rasa runs commands in reverse,
    so the correction then sits above the new flow and is applied before it runs. After
    the `start flow` the correction would sit below it: the new flow would run with the
    old value (the status of the order being cancelled, not of the one asked about) and
    the correction would land on the waiting flow when it resumes."""
    values = extract_slots(turn, turn.model.fillable.get(flow_id, ()), ())
    if turn.active_flow is None:
        return turn.decision([f"start flow {flow_id}", *values], rule)
    filled = [v for v in values if turn.tracker.slots.get(_slot_of(v[0])) is not None]
    rest = [v for v in values if v not in filled]
    return turn.decision([*filled, f"start flow {flow_id}", *rest], rule)


def _slot_of(line: str) -> str:
    return line.split()[2]  # `set slot <name> <value>`
