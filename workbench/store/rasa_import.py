"""A conversation from a Rasa tracker store, read as the workbench's turns.

Rasa keeps a conversation as one list of events. Here it is cut into turns as the
workbench records them: the events before the first message (and each later session
start) make a `/session_start` turn, and every user message starts a turn that holds
everything up to the next one. Each turn's trace is rebuilt from the events alone: the
user's text and the commands Rasa stored in its `parse_data`, the bot's messages, the
actions run and the events that followed each, the slots before and after, and the
dialogue stack after every `stack` event (Rasa stores JSON patches, applied in turn).
What the model saw and said is there only when Rasa recorded it (its
`record_commands_and_prompts` switch: the command generator's prompt in the message's
`parse_data.prompts`, with the model's reply and usage); then the turn has its prompt,
raw output and usage as a turn held in the workbench has."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from workbench.calm.commands import Command
from workbench.calm.names import (
    ACTION_LISTEN,
    ACTION_SESSION_START,
    PATTERN_CANNOT_HANDLE,
    PATTERN_HUMAN_HANDOFF,
    PATTERN_INTERNAL_ERROR,
    SESSION_START_MESSAGE,
    is_pattern,
)
from workbench.calm.rasa_commands import command_from_rasa
from workbench.calm.values import JSONObject, JSONValue, SlotValue
from workbench.store.rasa_tracker_store import EventRow, MalformedEventError, SenderRow
from workbench.trace.records import (
    ActionRun,
    BotMessage,
    CommandRecord,
    Event,
    ModelUsage,
    StackFrame,
    resolve_stack_events,
)
from workbench.trace.turn import SESSION_START_SOURCE, TurnTrace

GENERATOR = "imported"
# the patterns `--pattern` asks about, by their short names
WATCHED_PATTERNS = {
    "internal_error": PATTERN_INTERNAL_ERROR,
    "cannot_handle": PATTERN_CANNOT_HANDLE,
    "human_handoff": PATTERN_HUMAN_HANDOFF,
}
# the events a conversation's listing needs
LISTING_TYPES = ("user", "bot", "flow_started", "stack")


def event_of(row: EventRow) -> JSONObject:
    """The event a row holds; one without a type of its own takes the row's `type_name`
    (a type this version does not know is kept as it is)."""
    where = f"{row.place} ({row.type_name or '?'})"
    if isinstance(row.data, dict):  # an entry of a stored tracker, decoded with it
        data: JSONValue = dict(row.data)
    else:
        try:
            data = json.loads(row.data or "")
        except ValueError as exc:
            raise MalformedEventError(f"{where}: its data is not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise MalformedEventError(
            f"{where}: its data is a JSON {type(data).__name__}, not an event object"
        )
    if not data.get("event"):
        data["event"] = row.type_name or "?"
    if data.get("timestamp") is None and row.timestamp is not None:
        data["timestamp"] = row.timestamp
    return data


# -- listing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConversationInfo:
    """What `sessions import --list` shows of a conversation."""

    sender_id: str
    first_at: float | None
    last_at: float | None
    user_turns: int
    flows: tuple[str, ...]  # user flows started, in order, each once
    patterns: tuple[str, ...]  # the watched patterns it hit (short names)
    texts: tuple[str, ...]  # what the user and the bot said
    unreadable: int = 0  # rows whose data is not an event

    def as_dict(self) -> JSONObject:
        return {
            "sender_id": self.sender_id,
            "first_at": _iso(self.first_at),
            "last_at": _iso(self.last_at),
            "user_turns": self.user_turns,
            "flows": list(self.flows),
            "patterns": list(self.patterns),
            "unreadable_events": self.unreadable,
        }


def conversation_info(sender: SenderRow, rows: Iterable[EventRow]) -> ConversationInfo:
    """The listing of one conversation from its `LISTING_TYPES` events."""
    flows: list[str] = []
    hit: set[str] = set()
    texts: list[str] = []
    unreadable = 1 if sender.unreadable else 0
    for row in rows:
        try:
            event = event_of(row)
        except MalformedEventError:
            unreadable += 1
            continue
        kind = event.get("event")
        if kind in ("user", "bot") and isinstance(event.get("text"), str):
            texts.append(str(event["text"]))
        elif kind == "flow_started":
            flow = str(event.get("flow_id") or "")
            hit.add(flow)
            if flow and not is_pattern(flow) and flow not in flows:
                flows.append(flow)
        elif kind == "stack":
            hit.update(_pushed_types(event.get("update")))
    patterns = tuple(short for short, name in WATCHED_PATTERNS.items() if name in hit)
    return ConversationInfo(
        sender.sender_id,
        sender.first_at,
        sender.last_at,
        sender.user_turns,
        tuple(flows),
        patterns,
        tuple(texts),
        unreadable,
    )


def _pushed_types(update: JSONValue) -> set[str]:
    """The frame types and flow ids a stack patch writes."""
    try:
        ops = json.loads(update) if isinstance(update, str) else []
    except ValueError:
        return set()
    found: set[str] = set()
    for op in ops if isinstance(ops, list) else []:
        if not isinstance(op, dict):
            continue
        value, path = op.get("value"), str(op.get("path") or "")
        if isinstance(value, dict):
            found.update(str(value.get(k)) for k in ("type", "flow_id") if value.get(k))
        elif isinstance(value, str) and path.rsplit("/", 1)[-1] in ("type", "flow_id"):
            found.add(value)
    return found


# -- turns ------------------------------------------------------------------------------------


def turns_of(events: Sequence[JSONObject]) -> list[tuple[TurnTrace, datetime]]:
    """The conversation's turns, each with the time its last event happened."""
    groups: list[tuple[int, list[JSONObject]]] = []
    for position, event in enumerate(events):
        kind = event.get("event")
        starts = kind == "user" or (kind == "action" and event.get("name") == ACTION_SESSION_START)
        if starts or not groups:
            groups.append((position, []))
        groups[-1][1].append(event)
    turns: list[tuple[TurnTrace, datetime]] = []
    slots: dict[str, SlotValue] = {}
    stack: list[StackFrame] = []
    for index, (offset, group) in enumerate(groups):
        trace = _turn(index, offset, group, slots, stack)
        slots, stack = dict(trace.slots_after), list(trace.stack_after)
        turns.append((trace, _when(group)))
    return turns


def _turn(
    index: int,
    offset: int,
    group: list[JSONObject],
    slots: dict[str, SlotValue],
    stack: list[StackFrame],
) -> TurnTrace:
    user = group[0] if group[0].get("event") == "user" else None
    errors: list[str] = []
    events = resolve_stack_events(stack, [Event.from_dict(e) for e in group])
    stack_after = list(stack)
    for position, event in enumerate(events):
        if event.type != "stack":
            continue
        if event.resolved is None:
            errors.append(
                f"the stack could not be rebuilt from event {offset + position}: its patch "
                "does not fit the stack before it"
            )
            break
        stack_after = list(event.resolved)
    slots_after = dict(slots)
    for event in events:
        if event.type == "slot" and event.name:
            slots_after[event.name] = event.value
        elif event.type in ("reset_slots", "restart"):
            slots_after.clear()
    first, last = _stamp(group[0]), _stamp(group[-1])
    prompt, raw_output, usage = _recorded_prompt(user)
    # what Rasa's generator made of the message; the cleaning after it is not stored,
    # so the same commands stand for what was accepted
    commands = _commands(user)
    return TurnTrace(
        index=index,
        user_text=str(user.get("text") or "") if user is not None else SESSION_START_MESSAGE,
        generator=GENERATOR,
        source="user" if user is not None else SESSION_START_SOURCE,
        parsed_commands=list(commands),
        commands=commands,
        prompt=prompt,
        prompt_tokens=usage.prompt_tokens if usage is not None else None,
        raw_output=raw_output,
        usage=usage,
        events=events,
        bot_messages=[BotMessage.of_event(e) for e in events if e.type == "bot"],
        actions=_actions(events),
        slots_before=dict(slots),
        slots_after=slots_after,
        stack_before=list(stack),
        stack_after=stack_after,
        timings_ms={"total": round((last - first) * 1000, 3)}
        if first is not None and last is not None
        else {},
        errors=errors,
        event_offset=offset,
    )


def is_imported(trace: TurnTrace) -> bool:
    """A turn read from a tracker store: it has the commands Rasa recorded, and a model
    reply only where Rasa recorded the prompts too."""
    return trace.generator == GENERATOR


def recorded_commands(trace: TurnTrace) -> tuple[Command, ...]:
    """The commands an imported turn recorded (as Rasa's generator made them), as
    commands again; one this version does not know is left out."""
    found = (command_from_rasa(record.as_dict()) for record in trace.commands)
    return tuple(command for command in found if command is not None)


def _commands(user: JSONObject | None) -> list[CommandRecord]:
    parse_data = user.get("parse_data") if user is not None else None
    given = parse_data.get("commands") if isinstance(parse_data, Mapping) else None
    if isinstance(given, str):  # some Rasa versions keep them as JSON text
        try:
            given = json.loads(given)
        except ValueError:
            given = None
    records = []
    for raw in given if isinstance(given, list) else []:
        if not isinstance(raw, Mapping):
            continue
        command = command_from_rasa(raw)
        records.append(CommandRecord.of(command) if command else CommandRecord.from_dict(raw))
    return records


def _recorded_prompt(user: JSONObject | None) -> tuple[str | None, str | None, ModelUsage | None]:
    """(prompt, the model's reply, usage) of the command generator, where Rasa recorded
    them in the message's `parse_data.prompts`."""
    parse_data = user.get("parse_data") if user is not None else None
    prompts = parse_data.get("prompts") if isinstance(parse_data, Mapping) else None
    for entry in prompts if isinstance(prompts, list) else []:
        if not isinstance(entry, Mapping) or not str(entry.get("component_name") or "").endswith(
            "CommandGenerator"
        ):
            continue
        prompt = _str(entry.get("user_prompt"))
        system = _str(entry.get("system_prompt"))
        if system and prompt:
            prompt = f"{system}\n\n{prompt}"
        response = entry.get("llm_response_metadata")
        if not isinstance(response, Mapping):
            return prompt, None, None
        choices = response.get("choices")
        reply = _str(choices[0]) if isinstance(choices, list) and choices else None
        counts = response.get("usage")
        counts = counts if isinstance(counts, Mapping) else {}
        latency = response.get("latency_ms")
        usage = ModelUsage(
            model=_str(response.get("model")),
            latency_ms=float(latency) if isinstance(latency, (int, float)) else None,
            prompt_tokens=_count(counts.get("prompt_tokens")),
            completion_tokens=_count(counts.get("completion_tokens")),
        )
        return prompt, reply, usage
    return None, None, None


def _str(value: JSONValue) -> str | None:
    return value if isinstance(value, str) else None


def _count(value: JSONValue) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _actions(events: Sequence[Event]) -> list[ActionRun]:
    """Each action run (but listening), with the events logged after it up to the next."""
    runs: list[tuple[str, list[Event]]] = []
    for event in events:
        if event.type == "action":
            runs.append((event.name or "?", []))
        elif runs and event.type != "user":
            runs[-1][1].append(event)
    return [
        ActionRun(
            name,
            "recorded",
            events=tuple(own),
            messages=tuple(BotMessage.of_event(e) for e in own if e.type == "bot"),
        )
        for name, own in runs
        if name != ACTION_LISTEN
    ]


def _stamp(event: JSONObject) -> float | None:
    value = event.get("timestamp")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _when(group: list[JSONObject]) -> datetime:
    stamps = [s for s in (_stamp(e) for e in group) if s is not None]
    if not stamps:
        return datetime.now(timezone.utc)
    return datetime.fromtimestamp(max(stamps), timezone.utc)


def _iso(stamp: float | None) -> str | None:
    if stamp is None:
        return None
    return (
        datetime.fromtimestamp(stamp, timezone.utc)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z")
    )


__all__ = [
    "GENERATOR",
    "LISTING_TYPES",
    "WATCHED_PATTERNS",
    "ConversationInfo",
    "MalformedEventError",
    "conversation_info",
    "event_of",
    "is_imported",
    "recorded_commands",
    "turns_of",
]
