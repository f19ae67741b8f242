"""Replay a saved session on the project as it is now, with the model outputs it recorded.

`RecordedGenerator(traces)` is a command generator that answers each model-handled
message with the raw model output recorded for it (the first unused turn with that
message, in order), parsed as a real model's reply is. Messages that never reached the
model (buttons, `/intent` payloads, direct commands, `/session_start`) take their own
path through the `Session` again, so they need no recording.

`replay_session` sends a session's user messages, in order, through a fresh `Session`
with that generator and compares what the assistant did in each turn with what it did
when the session was recorded: the bot messages (text, response name, buttons) in
order, and the flows started, completed and cancelled. A project edit that changes the
dialogue shows up as the first turn that differs. The TUI's "rewind" uses the same
parts: a fresh `Session` on `RecordedGenerator(traces[:k], fallback=live_generator)`,
then `replay_turns(session, traces[:k])`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from workbench.calm.names import is_session_start
from workbench.calm.values import JSONObject
from workbench.errors import WorkbenchError
from workbench.knowledge.recorded import RecordedKnowledge
from workbench.project.model import Project
from workbench.session import CustomActionRunner, Session
from workbench.store.rasa_import import is_imported, recorded_commands
from workbench.store.redact import MASK, PLACEHOLDER
from workbench.trace.records import BotMessage, Event, StackFrame
from workbench.trace.text import bot_message_lines, command_text, dropped_text, flow_change
from workbench.trace.turn import SESSION_START_SOURCE, TurnTrace
from workbench.understanding.base import CommandGenerator
from workbench.understanding.base import generator_failure as failure_in
from workbench.understanding.dsl.parser import Syntax
from workbench.understanding.recorded import (
    RecordedOutputGenerator,
    Recording,
)
from workbench.understanding.rephrase import recorded_rephraser
from workbench.wiring import make_actions, new_sender_id, new_session

FLOW_EVENTS = {
    "flow_started": "started",
    "flow_completed": "completed",
    "flow_cancelled": "cancelled",
}


# --- which turns the model handled ------------------------------------------------------------


def model_message(trace: TurnTrace) -> str | None:
    """The text the command generator received in this turn, or None if the message
    never reached it (buttons, intents, direct commands, empty or too long input)."""
    if trace.source != "user" or is_session_start(trace.user_text):
        return None
    if trace.raw_output is None and not trace.generator:
        return None  # rejected before the model (empty, too long) or a damaged trace
    text = trace.user_text.strip()
    # Session._understand: a `/...` line that is no command goes to the model without "/"
    return text.lstrip("/").strip() if text.startswith("/") else text


def generator_failure(trace: TurnTrace) -> str | None:
    """The error the command generator raised in this turn, if it raised."""
    failure = failure_in(trace.errors)
    return failure.error if failure is not None else None


# --- the generator ----------------------------------------------------------------------------


class RecordedMiss(WorkbenchError, LookupError):
    """A model-handled message that the recorded session has no (unused) turn for."""

    def __init__(self, message: str, used: int, total: int) -> None:
        self.message = message
        super().__init__(
            f"the recorded session has no unused turn for the message {message.strip()!r} "
            f"({used} of {total} recorded model outputs already used)"
        )

    def __repr__(self) -> str:  # the session logs generator failures with repr()
        return f"RecordedMiss: {self}"


def _recorded_miss(message: str, used: int, total: int, test_case: str | None) -> Exception:
    return RecordedMiss(message, used, total)


def recording(trace: TurnTrace, message: str) -> Recording:
    """A saved turn as the replayer's recording, with what the panels showed for it; an
    imported turn, which kept no model reply, with the commands it recorded."""
    return Recording(
        message,
        trace.raw_output,
        failure=generator_failure(trace),
        prompt=trace.prompt,
        prompt_tokens=trace.prompt_tokens,
        retrieved_flows=tuple(trace.retrieved_flows),
        origin=trace,
        commands=recorded_commands(trace)
        if is_imported(trace) and trace.raw_output is None
        else None,
    )


class RecordedGenerator(RecordedOutputGenerator):
    """Answers each model-handled message with the raw output recorded for it.

    Entries are the traces' model-handled turns, matched by the message text (both
    whitespace-trimmed): the first unused turn with that text, so a message sent twice
    gets its two recorded outputs in order. A message without one goes to `fallback`
    if given (the live generator, when a rewound conversation goes on), else raises
    `RecordedMiss`. A turn whose generator failed when recorded fails again."""

    name = "recorded"

    def __init__(
        self,
        traces: Sequence[TurnTrace],
        *,
        fallback: CommandGenerator | None = None,
        syntax: Syntax | None = None,
    ) -> None:
        recordings = [
            recording(trace, message)
            for trace in traces
            if (message := model_message(trace)) is not None
        ]
        super().__init__(recordings, miss=_recorded_miss, fallback=fallback, syntax=syntax)

    @property
    def unused(self) -> list[TurnTrace]:
        return [cast(TurnTrace, r.origin) for r in self.unused_recordings]


# --- replaying --------------------------------------------------------------------------------


def user_metadata(trace: TurnTrace) -> JSONObject | None:
    """The metadata the user message was sent with (from the turn's `user` event)."""
    for event in trace.events:
        if event.type == "user":
            return dict(event.metadata) or None
    return None


async def replay_turns(session: Session, traces: Sequence[TurnTrace]) -> list[TurnTrace]:
    """Send the recorded user messages (with their metadata) through `session`; a
    session that Rasa started by itself (an imported turn without a message) starts
    the same way, with no message."""
    replayed = []
    for trace in traces:
        if trace.source == SESSION_START_SOURCE:
            replayed.append(_started(session, trace))
        else:
            replayed.append(await session.handle(trace.user_text, user_metadata(trace)))
    return replayed


def _started(session: Session, recorded: TurnTrace) -> TurnTrace:
    stack = _frames(session)
    slots = dict(session.tracker.slots)
    events = [Event.from_dict(e) for e in session.start()]
    return TurnTrace(
        index=recorded.index,
        user_text=recorded.user_text,
        source=SESSION_START_SOURCE,
        events=events,
        slots_before=slots,
        slots_after=dict(session.tracker.slots),
        stack_before=stack,
        stack_after=_frames(session),
    )


def _frames(session: Session) -> list[StackFrame]:
    return [StackFrame.from_dict(frame) for frame in session.tracker.stack.as_dicts()]


@dataclass
class TurnComparison:
    """One turn, as recorded and as it runs now."""

    index: int
    user_text: str
    expected_bot: list[BotMessage]
    actual_bot: list[BotMessage]
    expected_flows: list[str]  # "started x", "completed y", "cancelled z" (sorted)
    actual_flows: list[str]
    expected_commands: list[str] = field(default_factory=list)
    actual_commands: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # now
    errors: list[str] = field(default_factory=list)  # now

    @property
    def bot_differs(self) -> bool:
        if len(self.expected_bot) != len(self.actual_bot):
            return True
        return not all(
            _same_message(e, a) for e, a in zip(self.expected_bot, self.actual_bot, strict=True)
        )

    @property
    def flows_differ(self) -> bool:
        return self.expected_flows != self.actual_flows

    @property
    def same(self) -> bool:
        return not self.bot_differs and not self.flows_differ

    def to_dict(self) -> JSONObject:
        return {
            "index": self.index,
            "user_text": self.user_text,
            "same": self.same,
            "expected_bot": [_bot(m) for m in self.expected_bot],
            "actual_bot": [_bot(m) for m in self.actual_bot],
            "expected_flows": self.expected_flows,
            "actual_flows": self.actual_flows,
            "expected_commands": self.expected_commands,
            "actual_commands": self.actual_commands,
            "dropped": self.dropped,
            "errors": self.errors,
        }


@dataclass
class ReplayReport:
    turns: list[TurnComparison]
    traces: list[TurnTrace]  # the replayed turns
    seed: int = 0
    sender_id: str = ""

    @property
    def differing(self) -> list[TurnComparison]:
        return [t for t in self.turns if not t.same]

    @property
    def same(self) -> bool:
        return not self.differing

    @property
    def first_difference(self) -> TurnComparison | None:
        return next(iter(self.differing), None)

    def summary(self) -> str:
        n = len(self.turns)
        first = self.first_difference
        if first is None:
            return f"same behaviour for all {n} turns"
        later = len(self.differing) - 1
        more = ""
        if later:
            more = f" ({later} later turns differ too)" if later > 1 else " (a later turn too)"
        return f"turn {first.index} of {n} behaves differently, {_label(first)}{more}"

    def lines(self) -> list[str]:
        """The report as plain text: the summary, then the first differing turn."""
        lines = [self.summary()]
        first = self.first_difference
        if first is not None:
            lines.extend(difference_lines(first))
        return lines

    def to_dict(self) -> JSONObject:
        first = self.first_difference
        return {
            "same": self.same,
            "turns": len(self.turns),
            "summary": self.summary(),
            "first_difference": first.to_dict() if first else None,
            "differing_turns": [t.index for t in self.differing],
            "seed": self.seed,
            "sender_id": self.sender_id,
        }


# "the runner the project declares" (None means no custom actions at all)
_PROJECT_ACTIONS = cast(CustomActionRunner, object())


async def replay_session(
    project: Project,
    traces: Sequence[TurnTrace],
    *,
    actions: CustomActionRunner | None = _PROJECT_ACTIONS,
    seed: int = 0,
    sender_id: str | None = None,
    generator: CommandGenerator | None = None,
) -> ReplayReport:
    """Re-run a saved session's user messages on `project` with the recorded model
    outputs (or, A/B, understood by `generator`: another model, the offline generator,
    a cassette) and compare each turn with the recording. `actions` defaults to the
    project's own custom action runner; `seed` should be the recorded session's, so
    that response variations are chosen alike. Every turn is replayed; the report
    names the first that differs. The sender id is fresh (unless given), so actions
    that keep state per conversation start from nothing, as the recording did."""
    made = actions is _PROJECT_ACTIONS
    if made:
        actions = make_actions(project)
    sender = sender_id or new_sender_id("replay")
    understanding = generator if generator is not None else RecordedGenerator(traces)
    session = new_session(project, understanding, actions=actions, sender_id=sender, seed=seed)
    # the recorded rephrasings and knowledge answers too: a replay calls no model
    session.rephraser = recorded_rephraser(traces)
    session.knowledge = RecordedKnowledge(traces, session.knowledge)
    try:
        replayed = await replay_turns(session, traces)
    finally:
        close = getattr(actions, "aclose", None) if made else None
        if callable(close):
            await close()  # stops an action server it started
    turns = [compare_turn(before, after) for before, after in zip(traces, replayed, strict=True)]
    return ReplayReport(turns, replayed, seed=seed, sender_id=sender)


def compare_turn(recorded: TurnTrace, replayed: TurnTrace) -> TurnComparison:
    return TurnComparison(
        index=recorded.index,
        user_text=recorded.user_text,
        expected_bot=list(recorded.bot_messages),
        actual_bot=list(replayed.bot_messages),
        expected_flows=flow_changes(recorded.events),
        actual_flows=flow_changes(replayed.events),
        expected_commands=[command_text(c) for c in recorded.commands],
        actual_commands=[command_text(c) for c in replayed.commands],
        dropped=[dropped_text(d) for d in replayed.dropped],
        errors=list(replayed.errors),
    )


def flow_changes(events: Sequence[Event]) -> list[str]:
    """The set of flows started / completed / cancelled in a turn, as sorted lines."""
    found = {flow_change(e, at_step=False) for e in events if e.type in FLOW_EVENTS}
    return sorted(c for c in found if c)


def difference_lines(turn: TurnComparison, recorded: str = "recorded") -> list[str]:
    """What differs in a turn (the turn itself is named by the report's summary);
    `recorded` names when the recording was made ("in production" for an imported
    conversation)."""
    lines: list[str] = []
    then, now = f"{recorded}: ", "now: ".ljust(len(recorded) + 2)
    if turn.bot_differs:
        lines.append(f"  bot messages, {recorded}:")
        lines.extend(_message_lines(turn.expected_bot))
        lines.append("  bot messages, now:")
        lines.extend(_message_lines(turn.actual_bot))
    if turn.flows_differ:
        lines.append(f"  flows, {then}" + (", ".join(turn.expected_flows) or "none"))
        lines.append(f"  flows, {now}" + (", ".join(turn.actual_flows) or "none"))
    if turn.expected_commands != turn.actual_commands:
        lines.append(f"  commands, {then}" + (" | ".join(turn.expected_commands) or "none"))
        lines.append(f"  commands, {now}" + (" | ".join(turn.actual_commands) or "none"))
    else:
        lines.append("  commands: " + (" | ".join(turn.actual_commands) or "none"))
    lines.extend(f"  dropped now: {d}" for d in turn.dropped)
    lines.extend(f"  error now: {e}" for e in turn.errors)
    masked = PLACEHOLDER.search(turn.user_text)
    if masked:  # replayed with the placeholder, e.g. a PIN no account has
        lines.append(f"  note: the store masked a secret in this message as {masked[0]}")
    return lines


# --- helpers ----------------------------------------------------------------------------------


def _label(turn: TurnComparison) -> str:
    if is_session_start(turn.user_text):
        return "(session start)"
    return f"user: {turn.user_text!r}"


def _bot(message: BotMessage) -> JSONObject:
    return {
        "text": message.text,
        "response": message.response,
        "buttons": [b.as_dict() for b in message.buttons],
    }


def _same_message(recorded: BotMessage, actual: BotMessage) -> bool:
    if recorded.response != actual.response:
        return False
    if recorded.buttons != actual.buttons:
        return False
    return _same_text(recorded.text, actual.text)


def _same_text(recorded: str | None, actual: str | None) -> bool:
    """Equal, where a part the store masked (`***`) matches anything."""
    if recorded == actual:
        return True
    if recorded is None or actual is None or MASK not in recorded:
        return False
    pattern = ".*?".join(re.escape(part) for part in recorded.split(MASK))
    return re.fullmatch(pattern, actual, re.DOTALL) is not None


def _message_lines(messages: list[BotMessage]) -> list[str]:
    if not messages:
        return ["    (none)"]
    return bot_message_lines(messages, indent="    ")
