"""One message in one dialogue state, as the offline rules see it, and the decision a
rule makes: the command lines and, for each, why it was written."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from workbench.calm.names import (
    PATTERN_COLLECT_INFORMATION,
    PATTERN_CONTINUE_INTERRUPTED,
    PATTERN_VALIDATE_SLOT,
    utter_ask,
)
from workbench.engine.stack import Frame
from workbench.engine.tracker import Tracker
from workbench.understanding.offline.model import Model, SlotInfo, response_texts
from workbench.understanding.offline.phrases import (
    CANCEL_CLAUSE,
    GREETING,
    HOLD_ON,
    INFO_QUESTION,
    INJECTION,
    LEADING_CANCEL,
    POLITE_ONLY,
    QUESTION_START,
    REPEAT_CLAUSE,
    REQUEST,
    SKIP_CLAUSE,
    SMALL_TALK,
    WH_START,
    all_clauses,
    clauses,
    strip_fillers,
)
from workbench.understanding.words import STOP_WORDS, normalize, stem, terms, words

if TYPE_CHECKING:
    from workbench.understanding.offline.ranking import Ranked

# a command line, or a command line with the reason it was written
Line = str | tuple[str, str]


@dataclass
class OfflineDecision:
    """What the offline generator decided, and why (for the trace, tests and debugging)."""

    lines: list[str]
    rule: str  # the rule that won
    # why each line was written, aligned with `lines` (a rule may add slot values it found
    # on the way, each with its own reason)
    why: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


class Turn:
    """Everything the rules look at: the message (as typed, normalised, as words and as
    terms), the open question if any, and the flows on the stack."""

    def __init__(self, model: Model, message: str, tracker: Tracker) -> None:
        self.model = model
        self.project = model.project
        self.tracker = tracker
        self.text = " ".join(str(message).split())
        self.norm = normalize(self.text)
        self.flat = " ".join(words(self.text))
        self.terms = terms(self.text)
        # each term as the user wrote it, for the reasons the rules give
        self.written: dict[str, str] = {}
        for word in words(self.text):
            if word not in STOP_WORDS:
                self.written.setdefault(stem(word), word)
        stack = tracker.stack
        top = stack.top()
        self.asked: str | None = None
        self.utter: str | None = None
        if top is not None and top.type == PATTERN_COLLECT_INFORMATION:
            self.asked = top.text("collect")
            self.utter = top.text("utter")
        elif top is not None and top.type == PATTERN_VALIDATE_SLOT:
            self.asked = top.text("validate")
            self.utter = top.text("refill_utter")
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
        self.ranked: list[Ranked] | None = None  # filled by ranking.ranking, once

    # -- the state ----------------------------------------------------------------------------

    @property
    def asked_info(self) -> SlotInfo | None:
        return self.model.slots.get(self.asked) if self.asked else None

    @property
    def on_pattern(self) -> bool:
        return self.asking_frame is not None and self.asking_frame.is_pattern

    @property
    def active_flow(self) -> str | None:
        return self.user_frame.flow_id if self.user_frame else None

    def question_texts(self) -> list[str]:
        names = [self.utter, utter_ask(self.asked)] if self.asked else []
        return [
            t
            for name in dict.fromkeys(n for n in names if n)
            for t in response_texts(self.project, name)
        ]

    def group_slots(self) -> tuple[str, ...]:
        """Slots the active flow (with flows it called) may still be told."""
        out: list[str] = []
        for flow_id in self.stack_flows:
            out.extend(self.model.fillable.get(flow_id, ()))
        return tuple(dict.fromkeys(out))

    def interrupted_frame(self) -> Frame | None:
        return self.tracker.stack.find_pattern(PATTERN_CONTINUE_INTERRUPTED)

    def decision(self, lines: Sequence[Line], rule: str) -> OfflineDecision:
        """The decision `rule` made: each line's reason is its own when given, else the
        rule's."""
        kept = [line for line in lines if line]
        return OfflineDecision(
            [line if isinstance(line, str) else line[0] for line in kept],
            rule,
            [rule if isinstance(line, str) else line[1] for line in kept],
        )

    # -- what the message is ------------------------------------------------------------------

    def is_cancel(self) -> bool:
        if all_clauses(self.norm, CANCEL_CLAUSE):
            return True
        parts = [p for p in (strip_fillers(c) for c in clauses(self.norm)) if p]
        return (
            len(parts) > 1
            and bool(LEADING_CANCEL.fullmatch(parts[0]))
            and not REQUEST.match(" ".join(parts[1:]))
        )

    def is_repeat(self) -> bool:
        return all_clauses(self.norm, REPEAT_CLAUSE)

    def is_hold_on(self) -> bool:
        """ "one moment", "hang on, let me check": no answer yet."""
        return all_clauses(self.norm, HOLD_ON)

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

    def is_info_question(self) -> bool:
        """A question of four words or more that asks for information ("what time does
        the central library close?"): never the answer to an open question."""
        return (
            self.text.rstrip().endswith("?")
            and bool(INFO_QUESTION.match(self.norm))
            and len(self.flat.split()) >= 4
        )

    def is_request(self) -> bool:
        return bool(REQUEST.match(self.norm))

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
