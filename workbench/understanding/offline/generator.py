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

Whatever the rule, a project's own flows for the conversation (greeting, goodbye, small
talk, "what can you do", out of scope) are started rather than a generic reply; a
question for information is never the answer to an open question, and one whose words no
flow explains goes to the knowledge base; "one moment" is small talk.

This module holds the order of the rules; each family lives in its own module:
`repair.py` (instructions, repeat, skip, stop, small talk, questions), `answers.py`
(answers to the open question by slot type), `pattern_questions.py` (the questions
patterns ask), `corrections.py`, `clarification.py`, `ranking.py` (which flow a message
asks for, and the thresholds), `conversation_flows.py` (the project's own greeting,
goodbye, small-talk and out-of-scope flows) and `slots.py` (slot values in a message),
with the values themselves in `values.py`, `dates.py`, `quantities.py` (money, counts),
`free_text.py` (answers trimmed to the value), `true_false.py` (text slots meant for
True/False) and `catch_all.py` (a categorical slot's "other"). `turn.py` holds what they
all look at. Each decision names the rule that won, per command line; the
generator hands it on as `GeneratorOutput.why`.
"""

from __future__ import annotations

from dataclasses import replace

from workbench.engine.tracker import Tracker
from workbench.project.model import Project
from workbench.trace.turn import RetrievedFlow
from workbench.understanding.base import GeneratorOutput, output_from_text
from workbench.understanding.dsl.parser import (
    SYNTAX_BY_GENERATOR,
    Syntax,
    parse_commands,
    write_commands,
)
from workbench.understanding.offline.answers import answer
from workbench.understanding.offline.clarification import clarification_choice
from workbench.understanding.offline.conversation_flows import own_conversation_flow
from workbench.understanding.offline.corrections import correction, fits_other_slot
from workbench.understanding.offline.model import Model, build_model
from workbench.understanding.offline.pattern_questions import (
    interrupted_choice,
    pattern_yes_no,
)
from workbench.understanding.offline.ranking import (
    INTERRUPT_THRESHOLD,
    START_THRESHOLD,
    choose_flow,
    named_flow,
)
from workbench.understanding.offline.repair import (
    cancel,
    fallback,
    hold_on,
    injection,
    knowledge_question,
    repeat,
    skip,
)
from workbench.understanding.offline.slots import extract_slots
from workbench.understanding.offline.turn import OfflineDecision, Turn
from workbench.understanding.retrieval import FlowRetriever

__all__ = ["OfflineDecision", "OfflineGenerator"]


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
        text, syntax = _in_project_syntax(decision.text, project)
        output = output_from_text(text, syntax)
        output.raw_output = text
        output.why = why_for(decision, len(output.commands))
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
        return decide(Turn(self._model_for(project), message, tracker))

    def _model_for(self, project: Project) -> Model:
        if self._project is not project or self._model is None:
            self._model = build_model(project)
            self._project = project
        return self._model


def why_for(decision: OfflineDecision, commands: int) -> list[str]:
    """The decision's reasons aligned with the commands its text parses to: each line's
    reason for each command the line gives; the rule's for a text that gives none (the
    parser's cannot-handle)."""
    why: list[str] = []
    for line, reason in zip(decision.lines, decision.why, strict=True):
        why += [reason] * len(parse_commands(line, "v2").commands)
    return why if len(why) == commands else [decision.rule] * commands


# --- the order of the rules: the first that applies wins ------------------------------------


def decide(turn: Turn) -> OfflineDecision:
    found = injection(turn) or repeat(turn)
    if found is not None:
        return found
    if turn.asked is not None:
        found = open_question(turn)
        if found is not None:
            return found
    return no_question(turn)


def no_question(turn: Turn) -> OfflineDecision:
    if turn.is_cancel():
        stop = cancel(turn)
        if stop is not None:
            return stop
    found = (
        correction(turn)
        or clarification_choice(turn)
        or own_conversation_flow(turn, ("greeting", "goodbye", "capabilities"))
        or hold_on(turn)
    )
    if found is not None:
        return found
    named = named_flow(turn)
    if named is not None:
        return turn.decision(
            [f"start flow {named}"], f"start flow: the message is the name of flow {named}"
        )
    chosen = knowledge_question(turn) or choose_flow(turn, START_THRESHOLD, allow_clarify=True)
    if chosen is not None:
        return chosen
    return fallback(turn)


def open_question(turn: Turn) -> OfflineDecision | None:
    info = turn.asked_info
    if info is None:
        return None
    found = skip(turn) or own_conversation_flow(turn, ("greeting", "goodbye"))
    if found is not None:
        return found
    if turn.on_pattern and info.slot.type == "bool":
        found = pattern_yes_no(turn, info)
        if found is not None:
            return found
    if turn.asked == "interrupted_flow_to_continue":
        found = interrupted_choice(turn)
        if found is not None:
            return found
    found = correction(turn)
    if found is not None:
        return found
    answered = answer(turn, info)
    if isinstance(answered, OfflineDecision):
        return answered
    if answered is not None:
        value, how = answered
        rule = f"set slot: answers the open question for '{turn.asked}' ({how})"
        lines: list[str | tuple[str, str]] = [f"set slot {turn.asked} {value}"]
        if not turn.on_pattern and turn.active_flow:
            lines += extract_slots(turn, turn.group_slots(), exclude=(turn.asked,))
        return turn.decision(lines, rule)
    return unanswered(turn)


def unanswered(turn: Turn) -> OfflineDecision:
    """The message does not answer the open question: what else could it be?"""
    if turn.is_cancel():
        stop = cancel(turn)
        if stop is not None:
            return stop
    chosen = choose_flow(
        turn,
        INTERRUPT_THRESHOLD,
        allow_clarify=False,
        rule="does not answer; asks for another flow",
    )
    if chosen is not None:
        return chosen
    return fits_other_slot(turn) or fallback(turn)


def _in_project_syntax(text: str, project: Project) -> tuple[str, Syntax]:
    """The decision (written in v2) as a model prompted by the project's command
    generator would write it, with that syntax: v3 answers knowledge and off-topic
    messages alike with `search and reply`, and a recorded turn then replays the same.
    As decided (v2) when that syntax cannot say every command."""
    generator = project.config.command_generator
    syntax = SYNTAX_BY_GENERATOR.get(generator.name, "v2") if generator is not None else "v2"
    if syntax in ("v2", "any"):
        return text, "v2"
    written = write_commands(parse_commands(text, "v2").commands, syntax)
    if parse_commands(written, syntax).dropped:
        return text, "v2"
    return written, syntax
