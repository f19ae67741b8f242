"""`TurnTrace`: everything one turn did, timed. The TUI panels, `shell --debug`, the
store and the e2e report all read this and nothing else.

The records inside are frozen (`records.py`); the trace itself is filled in by the
`Session` as the turn goes on, and is not changed once `Session.handle` returns it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar

from workbench.calm.values import JSONValue, SlotValue
from workbench.trace.calls import CallRecord
from workbench.trace.records import (
    ActionRun,
    BotMessage,
    CommandRecord,
    DroppedRecord,
    Event,
    KnowledgeRecord,
    ModelUsage,
    RetrievedFlow,
    RewrittenRecord,
    StackFrame,
    as_dicts,
    resolve_stack_events,
    slot_value,
)

# the fields that hold lists of records, stored as lists of their dicts
# recomputed where needed, never kept with the turn (a prompt per offline turn is bulk)
_NOT_STORED = frozenset({"prompt_preview"})
_RECORD_LISTS = frozenset(
    {
        "parsed_commands",
        "commands",
        "dropped",
        "rewritten",
        "events",
        "bot_messages",
        "stack_before",
        "stack_after",
        "actions",
        "retrieved_flows",
        "knowledge",
        "calls",
    }
)


# the source of a turn in which Rasa's processor started the session itself, with no
# message (a conversation imported from a tracker store): nothing to send to replay it
SESSION_START_SOURCE = "session_start"


@dataclass
class TurnTrace:
    index: int
    user_text: str
    generator: str = ""
    source: str = "user"  # user / button / direct / session_start
    retrieved_flows: list[RetrievedFlow] = field(default_factory=list)
    prompt: str | None = None
    prompt_tokens: int | None = None
    # which template the prompt was rendered from ("Rasa prompt <file>", "workbench prompt", …)
    prompt_template: str | None = None
    # offline: the prompt a model would have been sent for this message (never sent; not
    # stored: the TUI shows it where a user without a key tunes descriptions)
    prompt_preview: str | None = field(default=None, compare=False)
    raw_output: str | None = None
    usage: ModelUsage | None = None
    parsed_commands: list[CommandRecord] = field(default_factory=list)
    commands: list[CommandRecord] = field(default_factory=list)
    dropped: list[DroppedRecord] = field(default_factory=list)
    rewritten: list[RewrittenRecord] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    bot_messages: list[BotMessage] = field(default_factory=list)
    actions: list[ActionRun] = field(default_factory=list)
    slots_before: dict[str, SlotValue] = field(default_factory=dict)
    slots_after: dict[str, SlotValue] = field(default_factory=dict)
    stack_before: list[StackFrame] = field(default_factory=list)
    stack_after: list[StackFrame] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    # what the user should know about this turn that is no error (e.g. a skipped step)
    notices: list[str] = field(default_factory=list)
    # the project the turn was made with (`Project.fingerprint`), so that an old turn can
    # be drawn against its own flows after reloads; "" in traces stored before it was kept
    project_fingerprint: str = ""
    # where the turn's first event is in the conversation's event list
    event_offset: int = 0
    # the knowledge questions Enterprise Search answered (or could not) in this turn
    knowledge: list[KnowledgeRecord] = field(default_factory=list)
    # the MCP tools and sub-agents the flows called in this turn
    calls: list[CallRecord] = field(default_factory=list)

    @property
    def changed_slots(self) -> dict[str, tuple[SlotValue, SlotValue]]:
        names = set(self.slots_before) | set(self.slots_after)
        return {
            name: (self.slots_before.get(name), self.slots_after.get(name))
            for name in sorted(names)
            if self.slots_before.get(name) != self.slots_after.get(name)
        }

    @property
    def top_flow_frame(self) -> StackFrame | None:
        """The topmost user flow frame on the stack after the turn (patterns sit above)."""
        return next((f for f in reversed(self.stack_after) if f.is_flow), None)

    @property
    def bot_texts(self) -> list[str]:
        return [m.text or "" for m in self.bot_messages]

    def to_dict(self) -> dict[str, JSONValue]:
        data: dict[str, JSONValue] = {}
        for name in self.__dataclass_fields__:
            if name in _NOT_STORED:
                continue
            value = getattr(self, name)
            if name in _RECORD_LISTS:
                value = as_dicts(value)
            elif name == "usage":
                value = value.as_dict() if value is not None else None
            elif isinstance(value, (dict, list)):
                value = type(value)(value)
            data[name] = value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> TurnTrace:
        """A stored trace, of this version or an earlier one (whose records were plain
        dicts of the same shape, without `dsl`, `why` or the project fingerprint)."""
        usage = data.get("usage")
        stack_before = _records(data.get("stack_before"), StackFrame.from_dict, StackFrame)
        events = resolve_stack_events(
            stack_before, _records(data.get("events"), Event.from_dict, Event)
        )
        actions = [
            _with_resolved(run, events)
            for run in _records(data.get("actions"), ActionRun.from_dict, ActionRun)
        ]
        return cls(
            index=_required(data, "index", int),
            user_text=_required(data, "user_text", str),
            generator=_given(data, "generator", str, ""),
            source=_given(data, "source", str, "user"),
            retrieved_flows=_records(
                data.get("retrieved_flows"), RetrievedFlow.from_dict, RetrievedFlow
            ),
            prompt=_given(data, "prompt", str, None),
            prompt_tokens=_given(data, "prompt_tokens", int, None),
            prompt_template=_given(data, "prompt_template", str, None),
            raw_output=_given(data, "raw_output", str, None),
            usage=(
                ModelUsage.from_dict(usage)
                if isinstance(usage, Mapping)
                else usage
                if isinstance(usage, ModelUsage)
                else None
            ),
            parsed_commands=_records(
                data.get("parsed_commands"), CommandRecord.from_dict, CommandRecord
            ),
            commands=_records(data.get("commands"), CommandRecord.from_dict, CommandRecord),
            dropped=_records(data.get("dropped"), DroppedRecord.from_dict, DroppedRecord),
            rewritten=_records(data.get("rewritten"), RewrittenRecord.from_dict, RewrittenRecord),
            events=events,
            bot_messages=_records(data.get("bot_messages"), BotMessage.from_dict, BotMessage),
            actions=actions,
            slots_before=_slots(data.get("slots_before")),
            slots_after=_slots(data.get("slots_after")),
            stack_before=stack_before,
            stack_after=_records(data.get("stack_after"), StackFrame.from_dict, StackFrame),
            timings_ms=_timings(data.get("timings_ms")),
            errors=_texts(data.get("errors")),
            notices=_texts(data.get("notices")),
            project_fingerprint=_given(data, "project_fingerprint", str, ""),
            event_offset=_given(data, "event_offset", int, 0),
            knowledge=_records(data.get("knowledge"), KnowledgeRecord.from_dict, KnowledgeRecord),
            calls=_records(data.get("calls"), CallRecord.from_dict, CallRecord),
        )


# --- reading a stored trace, field by field ---------------------------------------------------

_T = TypeVar("_T")
_D = TypeVar("_D")


def _required(data: Mapping[str, JSONValue], key: str, kind: type[_T]) -> _T:
    """A field every trace has; a damaged one raises (the store falls back to what its
    columns tell)."""
    value = data[key]
    if not isinstance(value, kind):
        raise TypeError(f"its {key} is a {type(value).__name__}")
    return value


def _given(data: Mapping[str, JSONValue], key: str, kind: type[_T], default: _D) -> _T | _D:
    """A field of the given kind, or `default` where it is absent (older traces) or null."""
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise TypeError(f"its {key} is a {type(value).__name__}")
    return value


def _records(
    items: JSONValue, read: Callable[[Mapping[str, JSONValue]], _T], kind: type[_T]
) -> list[_T]:
    """A list of records, read from their dicts; a record given as it is (a test building
    a trace) is kept, and anything else is damage, left out."""
    if not isinstance(items, (list, tuple)):
        return []
    return [
        read(item) if isinstance(item, Mapping) else item
        for item in items
        if isinstance(item, (Mapping, kind))
    ]


def _slots(value: JSONValue) -> dict[str, SlotValue]:
    """Slot values as stored; one that JSON could not have held is kept as its text."""
    if not isinstance(value, Mapping):
        return {}
    return {str(name): slot_value(v) for name, v in value.items()}


def _timings(value: JSONValue) -> dict[str, float]:
    if not isinstance(value, Mapping):
        return {}
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values()):
        raise TypeError("its timings are not numbers")
    return {str(k): v for k, v in value.items() if isinstance(v, (int, float))}


def _texts(value: JSONValue) -> list[str]:
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else []


def _with_resolved(run: ActionRun, events: list[Event]) -> ActionRun:
    """An action's events are a slice of the turn's: give its stack events the frames
    the turn's resolved."""
    if not isinstance(run, ActionRun) or not any(e.type == "stack" for e in run.events):
        return run
    stacks = [e for e in events if e.type == "stack"]
    own = []
    for event in run.events:
        if event.type == "stack":
            match = next((s for s in stacks if s == event), None)
            if match is not None:
                stacks.remove(match)
                event = match
        own.append(event)
    return replace(run, events=tuple(own))


__all__ = ["ActionRun", "KnowledgeRecord", "ModelUsage", "RetrievedFlow", "TurnTrace"]
