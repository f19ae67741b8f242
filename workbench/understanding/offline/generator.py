"""The offline command generator: deterministic rules instead of a model.

Used when no model is configured or no API key is available. It reads only what the
project files say (flow ids, names and descriptions, collect step descriptions, slot
types, values and descriptions, the texts and buttons of the questions) and the dialogue
state, and writes its answer as command *text* in the v2 DSL, exactly like a model would:

    start flow check_order_status
    set slot order_id A1001

That text is the trace's "raw model output" and goes through the same parser and cleaner
as a real model's reply. Standard library only; the same message in the same state always
gives the same text.

The rules, in order (the first that applies wins):

1. A message that tries to instruct the model ("ignore previous instructions ...") gets no
   commands (the parser turns that into cannot-handle). Only ids from the project are ever
   written, so no rule can start a flow that does not exist.
2. "say that again", "repeat", "what did you say" -> ``repeat message``.
3. A question is open (a `pattern_collect_information` frame on top):
   "skip" -> ``skip question``; a correction ("actually, make it A1005", "change the
   email to ...", "no, I meant ...") -> ``set slot`` for the slot named or the one the value
   fits; an answer by the slot's type (bool, float, categorical, id/email/free text) ->
   ``set slot`` (plus other slots of the active flow the message clearly fills); "stop",
   "never mind" -> ``cancel flow``; a message that does not answer but clearly asks for
   another flow -> ``start flow`` (an interruption); small talk -> ``offtopic reply``; a
   question -> ``provide info``. Pattern questions ("Is there anything else I can help you
   with?", the satisfaction rating, "continue with ...?") are answered the same way, and a
   request for a flow there starts it.
4. No question open: "stop" with a flow running -> ``cancel flow``; a correction; after a
   clarification, the chosen option; the best-matching flow if it matches clearly
   (``start flow`` plus the slot values the message carries), several close ones ->
   ``disambiguate flows``; small talk -> ``offtopic reply``; a question no flow matches ->
   ``provide info``.
5. Otherwise no commands (the parser turns that into cannot-handle: "please rephrase").

Flows are ranked by `lexical.FieldIndex` (field-weighted TF-IDF with BM25 idf) over
each startable user flow's name, id, description and collect steps; a flow whose slots
the message fills (a categorical value, an id shaped like the examples) gets a bonus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from workbench.calm.names import (
    PATTERN_COLLECT_INFORMATION,
    PATTERN_CONTINUE_INTERRUPTED,
    PATTERN_VALIDATE_SLOT,
    UTTER_ACTION_KEY,
    UTTER_CLARIFICATION_OPTIONS,
    utter_ask,
)
from workbench.engine.stack import Frame
from workbench.engine.tracker import Tracker
from workbench.project.model import Project
from workbench.trace.turn import RetrievedFlow
from workbench.understanding.base import GeneratorOutput, output_from_text
from workbench.understanding.offline.model import (
    Model,
    SlotInfo,
    build_model,
    called_flows,
    response_texts,
)
from workbench.understanding.offline.phrases import (
    CANCEL_CLAUSE,
    CANCEL_WITH_OBJECT,
    CORRECTION_MARKERS,
    CORRECTION_TAIL,
    GREETING,
    INJECTION,
    INTERJECTION,
    IT_IS,
    NAMED_CHANGE,
    NAMED_IS,
    NAMED_PLAIN_IS,
    POLITE_ONLY,
    QUESTION_START,
    RATING_CUE,
    REPEAT_CLAUSE,
    REQUEST,
    SKIP_CLAUSE,
    SMALL_TALK,
    WH_START,
    all_clauses,
)
from workbench.understanding.offline.values import (
    CategoricalMatch,
    clean_free_text,
    format_number,
    match_categorical,
    parse_bool,
    parse_number,
    parse_ordinal,
)
from workbench.understanding.retrieval import FlowRetriever
from workbench.understanding.words import normalize, terms, words

__all__ = ["OfflineDecision", "OfflineGenerator"]

COLLECT_PATTERN = PATTERN_COLLECT_INFORMATION
VALIDATE_PATTERN = PATTERN_VALIDATE_SLOT
CONTINUE_PATTERN = PATTERN_CONTINUE_INTERRUPTED
CLARIFY_RESPONSE = UTTER_CLARIFICATION_OPTIONS

# Flow scores are in "unique words": 1.0 is one word that only this flow's name has.
START_THRESHOLD = 0.8  # start a flow when nothing else is going on
INTERRUPT_THRESHOLD = 1.0  # start a flow instead of answering an open question
CLARIFY_MIN = 0.25  # a flow must score at least this to be offered in a clarification
CLOSE_RATIO = 0.8  # a runner-up within 80% of the best makes the choice ambiguous
CLARIFY_COVERAGE = 0.5  # ... if it also explains half of the message's words
MIN_COVERAGE = 0.25  # a flow explaining less of the message starts only if it scores ...
STRONG_SCORE = 1.5  # ... at least this much
MAX_CLARIFY_OPTIONS = 3
VALUE_BONUS = 0.6  # the message names a categorical value of a slot the flow collects
TOKEN_BONUS = 0.2  # the message holds an id/email shaped like a slot the flow collects


# --- decisions -----------------------------------------------------------------------------


@dataclass
class OfflineDecision:
    """What the offline generator decided, and why (for tests and debugging)."""

    lines: list[str]
    rule: str
    retrieved: list[RetrievedFlow] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class _Ranked:
    flow_id: str
    score: float
    coverage: float
    matched: tuple[str, ...]
    bonus: str = ""


class OfflineGenerator:
    """Deterministic rules in place of a model; see the module docstring for the rules."""

    name = "offline"

    def __init__(self) -> None:
        self._project: Project | None = None
        self._model: Model | None = None
        # the flows the panel shows are ranked as flow retrieval ranks them without an
        # embeddings model, so they read the same whichever generator runs
        self._retriever = FlowRetriever(use_project_embeddings=False, use_local_embeddings=False)

    async def generate(self, message: str, tracker: Tracker, project: Project) -> GeneratorOutput:
        decision = self.decide(message, tracker, project)
        output = output_from_text(decision.text)
        output.raw_output = decision.text
        output.retrieved_flows = await self.retrieved_flows(message, tracker, project)
        return output

    async def retrieved_flows(
        self, message: str, tracker: Tracker, project: Project
    ) -> list[RetrievedFlow]:
        """The flows retrieval would give a model for this message, with the words that
        each ranked flow has in common with it."""
        retrieval = await self._retriever.retrieve(project, tracker, message, always_rank=True)
        index = self._retriever.keyword_index(project)
        out = []
        for flow in retrieval.retrieved:
            matched = index.matched(message, flow.flow_id) if flow.flow_id in index.keys else []
            if matched:
                flow = replace(flow, reason=f"{flow.reason}; matched {', '.join(matched)}")
            out.append(flow)
        return out

    def decide(self, message: str, tracker: Tracker, project: Project) -> OfflineDecision:
        return _Turn(self._model_for(project), message, tracker).decide()

    def _model_for(self, project: Project) -> Model:
        if self._project is not project or self._model is None:
            self._model = build_model(project)
            self._project = project
        return self._model


class _Turn:
    """One message in one state: everything the rules look at."""

    def __init__(self, model: Model, message: str, tracker: Tracker) -> None:
        self.model = model
        self.project = model.project
        self.tracker = tracker
        self.text = " ".join(str(message).split())
        self.norm = normalize(self.text)
        self.flat = " ".join(words(self.text))
        self.terms = terms(self.text)
        stack = tracker.stack
        top = stack.top()
        self.asked: str | None = None
        self.utter: str | None = None
        if top is not None and top.type == COLLECT_PATTERN:
            self.asked = top.context.get("collect")
            self.utter = top.context.get("utter")
        elif top is not None and top.type == VALIDATE_PATTERN:
            self.asked = top.context.get("validate")
            self.utter = top.context.get("refill_utter")
        if self.asked is not None and self.project.slot(self.asked) is None:
            self.asked = None
        self.asking_frame: Frame | None = None
        if self.asked is not None:
            for frame in reversed(stack.frames[:-1]):
                if frame.is_flow_frame:
                    self.asking_frame = frame
                    break
        self.user_frame = stack.top_user_frame()
        self.stack_flows = [f.flow_id for f in stack.frames if f.is_user_flow and f.flow_id]
        self._ranking: list[_Ranked] | None = None

    # -- helpers ------------------------------------------------------------------------------

    @property
    def asked_info(self) -> SlotInfo | None:
        return self.model.slots.get(self.asked) if self.asked else None

    @property
    def on_pattern(self) -> bool:
        return self.asking_frame is not None and self.asking_frame.is_pattern

    def question_texts(self) -> list[str]:
        names = [self.utter, utter_ask(self.asked)] if self.asked else []
        return [t for name in dict.fromkeys(n for n in names if n) for t in self._texts(name)]

    def _texts(self, name: str) -> list[str]:
        return response_texts(self.project, name)

    def ranking(self) -> list[_Ranked]:
        if self._ranking is None:
            matches = {m.doc_id: m for m in self.model.index.rank(self.terms)}
            ranked = []
            for flow_id in self.model.startable:
                match = matches[flow_id]
                score, bonus = match.score, ""
                extra, why = self._value_bonus(flow_id)
                if (extra and score > 0) or extra >= VALUE_BONUS:
                    score += extra
                    bonus = why
                ranked.append(
                    _Ranked(flow_id, round(score, 4), match.coverage, match.matched, bonus)
                )
            ranked.sort(key=lambda r: (-r.score, r.flow_id))
            self._ranking = ranked
        return self._ranking

    def _value_bonus(self, flow_id: str) -> tuple[float, str]:
        best, why = 0.0, ""
        for name in self.model.fillable.get(flow_id, ()):
            info = self.model.slots.get(name)
            if info is None:
                continue
            if info.slot.type == "categorical":
                found = self._categorical(info, strict=True)
                if found is not None and found.via != "value words" and best < VALUE_BONUS:
                    best, why = VALUE_BONUS, f"{name}={found.value}"
            elif info.slot.type in ("text", "any") and info.shape.extractable:
                found_token = info.shape.extract(self.text, strict=True)
                if found_token is not None and best < TOKEN_BONUS:
                    best, why = TOKEN_BONUS, f"{name}={found_token[0]}"
        return best, why

    def retrieved(self) -> list[RetrievedFlow]:
        """Every startable flow with its score, best first, and the flows on the stack."""
        out = []
        for ranked in self.ranking():
            active = ranked.flow_id in self.stack_flows
            parts = []
            if ranked.matched:
                parts.append("matched " + ", ".join(ranked.matched))
            if ranked.bonus:
                parts.append("value " + ranked.bonus)
            if active:
                parts.append("active")
            reason = "; ".join(parts) or "no words in common"
            out.append(RetrievedFlow(ranked.flow_id, ranked.score, active, reason))
        listed = {r.flow_id for r in out}
        for flow_id in dict.fromkeys(self.stack_flows):
            if flow_id not in listed:
                out.append(RetrievedFlow(flow_id, None, True, "active (on the stack)"))
        return out

    def decision(self, lines: list[str], rule: str) -> OfflineDecision:
        clean = [line for line in lines if line]
        return OfflineDecision(clean, rule, self.retrieved())

    # -- phrase checks ------------------------------------------------------------------------

    def is_cancel(self) -> bool:
        return all_clauses(self.norm, CANCEL_CLAUSE)

    def is_repeat(self) -> bool:
        return all_clauses(self.norm, REPEAT_CLAUSE)

    def is_skip(self) -> bool:
        return all_clauses(self.norm, SKIP_CLAUSE)

    def is_injection(self) -> bool:
        return bool(INJECTION.search(self.norm))

    def is_small_talk(self) -> bool:
        flat = self.flat
        if not flat:
            return False
        if GREETING.fullmatch(flat) or POLITE_ONLY.fullmatch(flat):
            return True
        return bool(SMALL_TALK.search(flat))

    def is_chatter(self) -> bool:
        """Small talk that cannot be meant as a free-text answer."""
        if GREETING.fullmatch(self.flat) or POLITE_ONLY.fullmatch(self.flat):
            return True
        return bool(SMALL_TALK.search(self.flat)) and len(self.flat.split()) <= 6

    def is_short_question(self) -> bool:
        return bool(WH_START.match(self.norm)) and len(self.flat.split()) < 8

    def is_question(self) -> bool:
        return self.text.rstrip().endswith("?") or bool(QUESTION_START.match(self.norm))

    def is_request(self) -> bool:
        return bool(REQUEST.match(self.norm))

    # -- the rules ------------------------------------------------------------------------------

    def decide(self) -> OfflineDecision:
        if self.is_injection():
            return self.decision(
                [], "the message tries to instruct the assistant; no commands (cannot handle)"
            )
        if self.is_repeat():
            return self.decision(["repeat message"], "asked to repeat")
        if self.asked is not None:
            found = self.open_question()
            if found is not None:
                return found
        return self.no_question()

    # -- no question open ------------------------------------------------------------------------

    def no_question(self) -> OfflineDecision:
        if self.is_cancel() and self.user_frame is not None:
            return self.decision(["cancel flow"], "asked to stop the active flow")
        correction = self.correction()
        if correction is not None:
            return correction
        clarified = self.clarification_choice()
        if clarified is not None:
            return clarified
        named = self.named_flow()
        if named is not None:
            return self.decision([f"start flow {named}"], f"the message names flow '{named}'")
        chosen = self.choose_flow(START_THRESHOLD, allow_clarify=True)
        if chosen is not None:
            return chosen
        return self.fallback()

    def named_flow(self) -> str | None:
        """A message that is exactly a flow's name or id ("hello", "check balance") starts
        it, even when its words are common ones such as greetings."""
        if not self.flat:
            return None
        top = self.user_frame.flow_id if self.user_frame else None
        for flow_id in self.model.startable:
            flow = self.project.flow(flow_id)
            if flow is None or flow_id == top:
                continue
            names = {" ".join(words(flow.readable_name)), " ".join(words(flow_id))}
            if self.flat in names:
                return flow_id
        return None

    def fallback(self) -> OfflineDecision:
        if self.is_small_talk():
            return self.decision(["offtopic reply"], "small talk")
        if self.is_question() and self.terms:
            best = self.best_other_flow()
            enough = INTERRUPT_THRESHOLD if self.asked else START_THRESHOLD
            if best is None or best.score < enough:
                return self.decision(["provide info"], "a question no flow matches")
        return self.decision([], "no rule matched (cannot handle)")

    def best_other_flow(self) -> _Ranked | None:
        top = self.user_frame.flow_id if self.user_frame else None
        for ranked in self.ranking():
            if ranked.flow_id != top:
                return ranked
        return None

    def choose_flow(
        self, threshold: float, allow_clarify: bool, rule: str = "the message matches a flow"
    ) -> OfflineDecision | None:
        top = self.user_frame.flow_id if self.user_frame else None
        candidates = [r for r in self.ranking() if r.flow_id != top and r.score > 0]
        if not candidates:
            return None
        best = candidates[0]
        close = [
            r
            for r in candidates
            if r.score >= best.score * CLOSE_RATIO
            and r.score >= CLARIFY_MIN
            and (r.coverage >= CLARIFY_COVERAGE or r is best)
        ]
        if len(close) >= 2:
            if allow_clarify:
                options = " ".join(r.flow_id for r in close[:MAX_CLARIFY_OPTIONS])
                return self.decision(
                    [f"disambiguate flows {options}"], "several flows match about equally well"
                )
            return None
        if best.score >= threshold and (
            best.coverage >= MIN_COVERAGE or best.score >= STRONG_SCORE
        ):
            return self.start(best.flow_id, f"{rule} ({best.flow_id}: {best.score:g})")
        return None

    def start(self, flow_id: str, rule: str) -> OfflineDecision:
        lines = [f"start flow {flow_id}"]
        lines += self.extract_slots(self.model.fillable.get(flow_id, ()), exclude=())
        return self.decision(lines, rule)

    def clarification_choice(self) -> OfflineDecision | None:
        """After "Which of these would you like to do: A or B?", the option chosen."""
        options = self.pending_clarification()
        if not options:
            return None
        index = parse_ordinal(self.text, len(options))
        if index is not None:
            return self.start(options[index], "picked a clarification option by position")
        ranked = [r for r in self.ranking() if r.flow_id in options and r.score > 0]
        if ranked and (len(ranked) == 1 or ranked[0].score > ranked[1].score * 1.1):
            return self.start(ranked[0].flow_id, "picked a clarification option by name")
        return None

    def pending_clarification(self) -> list[str]:
        events = self.tracker.events
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            if event.get("event") != "user":
                continue
            commands = (event.get("parse_data") or {}).get("commands") or []
            options = []
            for command in commands:
                if command.get("command") == "clarify":
                    options = [str(o) for o in command.get("options") or []]
            asked = any(
                e.get("event") == "bot"
                and (e.get("metadata") or {}).get(UTTER_ACTION_KEY) == CLARIFY_RESPONSE
                for e in events[index + 1 :]
            )
            return [o for o in options if o in self.model.startable] if asked else []
        return []

    # -- an open question ------------------------------------------------------------------------

    def open_question(self) -> OfflineDecision | None:
        info = self.asked_info
        if info is None:
            return None
        slot = info.slot
        if self.is_skip():
            return self.decision(["skip question"], "asked to skip the question")
        if self.on_pattern and slot.type == "bool":
            found = self.pattern_yes_no(info)
            if found is not None:
                return found
        if self.asked == "interrupted_flow_to_continue":
            found = self.interrupted_choice()
            if found is not None:
                return found
        correction = self.correction()
        if correction is not None:
            return correction
        answer = self.answer(info)
        if isinstance(answer, OfflineDecision):
            return answer
        if answer is not None:
            value, how = answer
            lines = [f"set slot {self.asked} {value}"]
            if not self.on_pattern and self.user_frame is not None and self.user_frame.flow_id:
                group = self.group_slots()
                lines += self.extract_slots(group, exclude=(self.asked,))
            return self.decision(lines, f"answers the open question for '{self.asked}' ({how})")
        return self.unanswered()

    def unanswered(self) -> OfflineDecision:
        """The message does not answer the open question: what else could it be?"""
        if self.is_cancel() and self.user_frame is not None:
            return self.decision(["cancel flow"], "asked to stop the active flow")
        chosen = self.choose_flow(
            INTERRUPT_THRESHOLD, allow_clarify=False, rule="does not answer; asks for another flow"
        )
        if chosen is not None:
            return chosen
        other = self.fits_other_slot()
        if other is not None:
            return other
        return self.fallback()

    def answer(self, info: SlotInfo) -> tuple[str, str] | OfflineDecision | None:
        """(value text, how) for the open question, a decision (cancel/start/...), or None."""
        kind = info.slot.type
        if kind == "bool":
            if self.is_cancel() and not self.echoes_question():
                return self.cancel_or_none()
            value = parse_bool(self.text, closing_means_no=self.asks_for_more())
            if value is not None:
                return str(value), "yes/no"
            if self.echoes_question():
                return "True", "repeats the question's words"
            return None
        if kind == "categorical":
            found = self._categorical(info, strict=False)
            if found is not None and found.strong:
                return found.value, f"value by {found.via}"
            if self.is_cancel():
                return self.cancel_or_none()
            if found is not None:
                return found.value, f"value by {found.via}"
            return None
        if self.is_cancel():
            return self.cancel_or_none()
        if kind == "float":
            number = parse_number(self.text)
            if number is not None:
                return format_number(number), "number"
            return None
        shape = info.shape
        if kind == "text" and shape.extractable:
            found_token = shape.extract(self.text)
            if found_token is not None:
                return found_token[0], f"{shape.kind} in the message"
            return None
        # free text (text, any, list): the message itself, unless it is something else
        if self.is_chatter():
            return None
        if self.is_request() or self.is_question():
            chosen = self.choose_flow(
                INTERRUPT_THRESHOLD,
                allow_clarify=False,
                rule="a request for another flow, not an answer",
            )
            if chosen is not None:
                return chosen
            if self.is_short_question():
                return None
        value = clean_free_text(self.text, info.shape.aliases)
        return (value, "the message as typed") if value else None

    def cancel_or_none(self) -> OfflineDecision | None:
        if self.user_frame is not None:
            return self.decision(["cancel flow"], "asked to stop the active flow")
        return None

    def asks_for_more(self) -> bool:
        """ "Is there anything else ...?": "that's all", "I'm good", "thanks" mean no."""
        if self.asked == "continue_conversation":
            return True
        return any(re.search(r"\b(?:else|more)\b", t.lower()) for t in self.question_texts())

    def echoes_question(self) -> bool:
        """A reply made of the question's own words ("cancel it" to "... cancel it?")."""
        said = set(self.terms)
        if not said or any(w in ("not", "no", "never", "nope") for w in self.flat.split()):
            return False
        asked: set[str] = set()
        for text in self.question_texts():
            asked.update(terms(text))
        return bool(asked) and said <= asked

    def pattern_yes_no(self, info: SlotInfo) -> OfflineDecision | None:
        """Yes/no questions of patterns ("anything else?", "continue with ...?"): a request
        for a flow starts it; "stop"/"never mind" mean no."""
        closing = self.asks_for_more()
        if self.is_cancel() and not CANCEL_WITH_OBJECT.search(self.flat):
            return self.decision(
                [f"set slot {self.asked} False"], "declines the pattern's question"
            )
        if self.asked == "continue_interrupted_flow_confirmation":
            resume = self.names_interrupted_flow()
            if resume:
                return self.decision([f"set slot {self.asked} True"], "names the interrupted flow")
        value = parse_bool(self.text, closing_means_no=closing)
        chosen = self.choose_flow(
            START_THRESHOLD, allow_clarify=True, rule="asks for a flow instead"
        )
        if chosen is not None:
            return chosen
        if value is not None:
            return self.decision([f"set slot {self.asked} {value}"], "yes/no to the pattern")
        if self.is_small_talk() and closing:
            polite = POLITE_ONLY.fullmatch(self.flat)
            if polite:
                return self.decision([f"set slot {self.asked} False"], "a polite goodbye")
        return None

    def interrupted_frame(self) -> Frame | None:
        return self.tracker.stack.find_pattern(CONTINUE_PATTERN)

    def names_interrupted_flow(self) -> str | None:
        frame = self.interrupted_frame()
        if frame is None:
            return None
        ids = [str(i) for i in frame.context.get("interrupted_flow_ids") or []]
        names = [str(n) for n in frame.context.get("interrupted_flow_names") or []]
        said = set(self.terms)
        best, best_hits = None, 0
        for flow_id, name in zip(ids, names, strict=False):
            hits = len(said & set(terms(f"{flow_id.replace('_', ' ')} {name}")))
            if hits > best_hits:
                best, best_hits = flow_id, hits
        return best

    def interrupted_choice(self) -> OfflineDecision | None:
        frame = self.interrupted_frame()
        ids = [str(i) for i in (frame.context.get("interrupted_flow_ids") or [])] if frame else []
        if re.fullmatch(
            r"(?:none|neither|no|nope|nothing|none of them|neither of them|no thanks|"
            r"no thank you|not now|no need)",
            self.flat,
        ) or (self.is_cancel() and not CANCEL_WITH_OBJECT.search(self.flat)):
            return self.decision([f"set slot {self.asked} none"], "continue none of the flows")
        index = parse_ordinal(self.text, len(ids))
        if index is not None:
            return self.decision(
                [f"set slot {self.asked} {ids[index]}"], "picked an interrupted flow by position"
            )
        named = self.names_interrupted_flow()
        if named:
            return self.decision([f"set slot {self.asked} {named}"], "named an interrupted flow")
        return None

    # -- slot values -----------------------------------------------------------------------------

    def _categorical(self, info: SlotInfo, strict: bool, text: str | None = None):
        found = match_categorical(
            self.text if text is None else text,
            list(info.slot.values),
            info.titles,
            choices=() if strict else info.choices,
            allow_sentiment=not strict,
        )
        if found is None:
            return None
        if strict and not (found.strong and found.via in ("value", "value words", "button title")):
            return None
        return found

    def value_for(self, info: SlotInfo, text: str, strict: bool) -> tuple[str, int] | None:
        """(value text, fit) of `text` for a slot: fit 3 = its shape/value is unmistakable,
        2 = a partial categorical match, 1 = it parses (a number, a yes/no), 0 = any text."""
        slot = info.slot
        short = len(words(text)) <= 3
        if slot.type == "bool":
            value = parse_bool(text)
            return (str(value), 1) if value is not None and not strict and short else None
        if slot.type == "float":
            number = parse_number(text)
            return (
                (format_number(number), 1) if number is not None and not strict and short else None
            )
        if slot.type == "categorical":
            found: CategoricalMatch | None = self._categorical(info, strict, text)
            if found is None:
                return None
            return found.value, 3 if found.strong else 2
        if slot.type == "text" and info.shape.extractable:
            token = info.shape.extract(text, strict=strict)
            if token is None:
                return None
            if token[1] == 0:
                return token[0], 3
            return (token[0], 1) if len(words(text)) <= 2 else None
        if strict:
            return None
        value = clean_free_text(text, info.shape.aliases)
        return (value, 0) if value else None

    def extract_slots(self, names: tuple[str, ...] | list[str], exclude: tuple) -> list[str]:
        """`set slot` lines for slots the message fills unmistakably: an email, an id shaped
        like the examples, a whole categorical value, a number with a rating cue, or a
        free-text value introduced by the slot's name ("my new address is ...")."""
        found: dict[str, str] = {}
        for name in names:
            if name in exclude or name in found:
                continue
            info = self.model.slots.get(name)
            if info is None or not info.slot.llm_fillable:
                continue
            value = self._extract_one(info)
            if value is None:
                continue
            current = self.tracker.slots.get(name)
            if current is not None and str(current) == value:
                continue
            found[name] = value
        # one value claimed by two slots is no value for either
        counts: dict[str, int] = {}
        for value in found.values():
            counts[value] = counts.get(value, 0) + 1
        return [f"set slot {n} {v}" for n, v in found.items() if counts[v] == 1]

    def _extract_one(self, info: SlotInfo) -> str | None:
        slot = info.slot
        if slot.type == "categorical":
            found = self._categorical(info, strict=True)
            return found.value if found is not None else None
        if slot.type == "float":
            return self._rated_number(info)
        if slot.type == "text" and info.shape.extractable:
            token = info.shape.extract(self.text, strict=True)
            return token[0] if token is not None else None
        if slot.type in ("text", "any"):
            return self._named_value(info)
        return None

    def _rated_number(self, info: SlotInfo) -> str | None:
        for match in RATING_CUE.finditer(self.text):
            number = parse_number(match.group("a") or match.group("b") or "")
            if number is not None:
                return format_number(number)
        for alias in info.shape.aliases:
            intro = re.search(
                rf"\b{re.escape(alias)}\s*(?:is|of|:|=|would be)?\s*(?P<v>\S+)", self.text, re.I
            )
            if intro:
                number = parse_number(intro.group("v"))
                if number is not None:
                    return format_number(number)
        return None

    def _named_value(self, info: SlotInfo) -> str | None:
        for alias in sorted(info.shape.aliases, key=len, reverse=True):
            if len(alias) < 3:
                continue
            intro = re.search(
                rf"\b(?:my|the|our)\s+(?:new\s+)?{re.escape(alias)}\s+"
                r"(?:is|are|should be|will be|would be|:)\s+(?P<v>[^.;!?]+)",
                self.text,
                re.IGNORECASE,
            )
            if intro:
                value = re.split(r",?\s+and\s+(?:my|the|our)\s", intro.group("v"))[0]
                value = clean_free_text(value)
                if value:
                    return value
        return None

    def group_slots(self) -> tuple[str, ...]:
        """Slots the active flow (with flows it called) may still be told."""
        out: list[str] = []
        for flow_id in self.stack_flows:
            out.extend(self.model.fillable.get(flow_id, ()))
        return tuple(dict.fromkeys(out))

    # -- corrections --------------------------------------------------------------------------

    def correction(self) -> OfflineDecision | None:
        """ "actually, make it A1005", "change the email to ...", "no, I meant ..."."""
        if self.user_frame is None:
            return None
        parsed = self.parse_correction()
        if parsed is None:
            return None
        named, rest = parsed
        if not rest or self.request_like(rest):
            return None
        candidates = self.correction_candidates()
        target = self.correction_target(named, rest, candidates)
        if target is None:
            return None
        info = self.model.slots[target]
        value = self.value_for(info, rest, strict=False)
        if value is None:
            return None
        how = "the slot named" if named else "the slot the value fits"
        return self.decision(
            [f"set slot {target} {value[0]}"], f"a correction of '{target}' ({how})"
        )

    def request_like(self, text: str) -> bool:
        norm = normalize(text)
        if REQUEST.match(norm) and self.model.index.rank(terms(text))[0].score >= START_THRESHOLD:
            return True
        ranked = self.model.index.rank(terms(text))
        return bool(ranked) and ranked[0].score >= INTERRUPT_THRESHOLD * 1.5

    def parse_correction(self) -> tuple[str, str] | None:
        """(slot words named or "", the new value's text), or None if no correction."""
        stripped = self.text
        while True:
            lead = INTERJECTION.match(stripped) or re.match(
                r"actually\b[\s,.:;-]*", stripped, re.IGNORECASE
            )
            if not lead or not lead.group():
                break
            stripped = stripped[lead.end() :]
        patterns = [NAMED_CHANGE, NAMED_IS]
        if stripped != self.text:
            patterns.append(NAMED_PLAIN_IS)
        for pattern in patterns:
            match = pattern.match(stripped)
            if match and (pattern is not NAMED_PLAIN_IS or self.names_a_slot(match["named"])):
                return match.group("named").strip(), self._tail(match.group("rest"))
        rest = self.text
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
        return "", self._tail(rest)

    @staticmethod
    def _tail(text: str) -> str:
        text = CORRECTION_TAIL.sub("", text.strip())
        return text.strip().strip(",.;:!?").strip()

    def names_a_slot(self, named: str) -> bool:
        """Whether the words name a slot a correction may target ("the handle")."""
        named_terms = set(terms(named))
        return any(
            named_terms & self.model.slots[name].name_terms for name in self.correction_candidates()
        )

    def correction_candidates(self) -> list[str]:
        """Slots a correction may target: the asked one, then the ones the user filled
        most recently, then the others collected by flows on the stack."""
        names: list[str] = []
        if self.asked:
            names.append(self.asked)
        on_stack: list[str] = []
        for flow_id in self.stack_flows:
            on_stack.extend(self.model.collected.get(flow_id, ()))
        recent = []
        for event in reversed(self.tracker.events):
            if event.get("event") == "slot" and event.get("filled_by") and event.get("name"):
                recent.append(event["name"])
        for name in [*recent, *on_stack]:
            if name in on_stack and name not in names:
                names.append(name)
        return [
            n
            for n in names
            if n in self.model.slots
            and self.model.slots[n].slot.llm_fillable
            and (n == self.asked or not self._ask_before_filling(n))
        ]

    def _ask_before_filling(self, name: str) -> bool:
        for flow_id in self.stack_flows:
            for flow in called_flows(self.project, flow_id):
                for step in flow.steps:
                    if step.collect == name and not step.ask_before_filling:
                        return False
        return True

    def correction_target(self, named: str, rest: str, candidates: list[str]) -> str | None:
        if not candidates:
            return None
        if named:
            named_terms = set(terms(named))
            best, best_score = None, 0.0
            for name in candidates:
                info = self.model.slots[name]
                score = 2 * len(named_terms & info.name_terms) + 0.5 * len(
                    named_terms & info.description_terms
                )
                if score > best_score:
                    best, best_score = name, score
            if best is not None and best_score >= 1:
                return best
        fits: list[tuple[int, int, str]] = []
        for order, name in enumerate(candidates):
            value = self.value_for(self.model.slots[name], rest, strict=False)
            if value is not None:
                fits.append((-value[1], order, name))
        if not fits:
            return None
        # the best fit; among equals the asked slot, then the most recently filled one
        fits.sort()
        return fits[0][2]

    def fits_other_slot(self) -> OfflineDecision | None:
        """An unmistakable value for another slot of the active flow (e.g. the order number
        while a yes/no question is open): set it; the cleaner makes it a correction."""
        if self.user_frame is None:
            return None
        for name in self.correction_candidates():
            if name == self.asked:
                continue
            value = self.value_for(self.model.slots[name], self.text, strict=True)
            if value is not None and value[1] >= 3:
                return self.decision(
                    [f"set slot {name} {value[0]}"],
                    f"does not answer, but is clearly a value for '{name}'",
                )
        return None
