"""`TurnTrace`: everything one turn did, timed. The TUI panels, `shell --debug`, the
store and the e2e report all read this and nothing else.

The records inside are frozen (`records.py`); the trace itself is filled in by the
`Session` as the turn goes on, and is not changed once `Session.handle` returns it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from workbench.trace.records import (
    ActionRun,
    BotMessage,
    CommandRecord,
    DroppedRecord,
    Event,
    ModelUsage,
    RetrievedFlow,
    RewrittenRecord,
    SlotValue,
    StackFrame,
    as_dicts,
    resolve_stack_events,
)

# the keys a stored trace may have that are records, read back by `from_dict`
_RECORD_LISTS: dict[str, Callable[[Mapping[str, SlotValue]], object]] = {
    "parsed_commands": CommandRecord.from_dict,
    "commands": CommandRecord.from_dict,
    "dropped": DroppedRecord.from_dict,
    "rewritten": RewrittenRecord.from_dict,
    "events": Event.from_dict,
    "bot_messages": BotMessage.from_dict,
    "stack_before": StackFrame.from_dict,
    "stack_after": StackFrame.from_dict,
    "actions": ActionRun.from_dict,
    "retrieved_flows": RetrievedFlow.from_dict,
}


@dataclass
class TurnTrace:
    index: int
    user_text: str
    generator: str = ""
    source: str = "user"  # user / button / direct / session_start
    retrieved_flows: list[RetrievedFlow] = field(default_factory=list)
    prompt: str | None = None
    prompt_tokens: int | None = None
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

    @property
    def changed_slots(self) -> dict[str, tuple[SlotValue, SlotValue]]:
        names = set(self.slots_before) | set(self.slots_after)
        return {
            name: (self.slots_before.get(name), self.slots_after.get(name))
            for name in sorted(names)
            if self.slots_before.get(name) != self.slots_after.get(name)
        }

    @property
    def bot_texts(self) -> list[str]:
        return [m.text or "" for m in self.bot_messages]

    def to_dict(self) -> dict[str, SlotValue]:
        data: dict[str, SlotValue] = {}
        for name in self.__dataclass_fields__:
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
    def from_dict(cls, data: Mapping[str, SlotValue]) -> TurnTrace:
        """A stored trace, of this version or an earlier one (whose records were plain
        dicts of the same shape, without `dsl`, `why` or the project fingerprint)."""
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for name, read in _RECORD_LISTS.items():
            # a record given as it is (a test building a trace) is kept; anything else
            # that is no mapping is damage, left out
            values[name] = [
                read(i) if isinstance(i, Mapping) else i
                for i in values.get(name) or []
                if isinstance(i, Mapping) or hasattr(i, "as_dict")
            ]
        values["events"] = resolve_stack_events(values["stack_before"], values["events"])
        values["actions"] = [_with_resolved(run, values["events"]) for run in values["actions"]]
        usage = values.get("usage")
        if isinstance(usage, Mapping):
            values["usage"] = ModelUsage.from_dict(usage)
        elif not isinstance(usage, ModelUsage):
            values["usage"] = None
        return cls(**values)


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


__all__ = ["ActionRun", "ModelUsage", "RetrievedFlow", "TurnTrace"]
