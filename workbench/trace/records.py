"""The records a turn produced, frozen and typed: what `TurnTrace` holds and `text.py`
renders. Each has `as_dict()` (the stored JSON form) and `from_dict()`, which also reads
the plain dicts that traces held before these records existed (stored sessions from
earlier versions open unchanged)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Protocol

from workbench.calm.commands import Command, DroppedCommand, RewrittenCommand
from workbench.calm.names import (
    MESSAGE_SOURCE_KEY,
    REPHRASE_SKIPPED_KEY,
    REPHRASED_FROM_KEY,
    TRANSLATION_KEY,
    UTTER_ACTION_KEY,
    is_pattern,
)
from workbench.calm.values import JSONValue, SlotValue
from workbench.engine.stack_patch import apply_patch

# a command's arguments or an event's fields: whatever JSON a project holds, narrowed
# where it is read (the accessors below)
Data = Mapping[str, JSONValue]

_EMPTY: Data = MappingProxyType({})


def _frozen(data: Mapping[str, JSONValue] | None) -> Data:
    return MappingProxyType(dict(data)) if data else _EMPTY


def _text(value: JSONValue) -> str | None:
    return None if value is None else str(value)


def slot_value(value: JSONValue) -> SlotValue:
    """A value as a slot holds it; one that JSON could not have held (no stored or engine
    value is) is kept as its text."""
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    return str(value)


def _mapping(value: JSONValue) -> Data:
    """A nested record; {} for anything that is none (a missing key, damage)."""
    return value if isinstance(value, Mapping) else _EMPTY


def _items(value: JSONValue) -> Sequence[JSONValue]:
    """The items of a stored list; () for anything that is none."""
    return value if isinstance(value, (list, tuple)) else ()


def _number(value: JSONValue) -> float | None:
    """A stored number (or its text); None when absent."""
    if value is None:
        return None
    if isinstance(value, (int, float, str)):
        return float(value)
    raise TypeError(f"not a number: {value!r}")


def _measure(value: JSONValue) -> float | None:
    """A stored measure kept as it was (an int stays an int); None when absent or damaged."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _count(value: JSONValue) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- commands ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """A command as the trace keeps it: its name, its arguments, the DSL line a model
    would have written, and why it was made (the rule that won; "" when unknown)."""

    name: str
    fields: Data = field(default_factory=lambda: _EMPTY, hash=False)
    dsl: str = ""
    why: str = ""

    @classmethod
    def of(cls, command: Command, why: str = "") -> CommandRecord:
        data = command.as_dict()
        data.pop("command", None)
        return cls(command.name, _frozen(data), command.to_dsl(), why)

    @property
    def filled_by(self) -> str | None:
        return _text(self.fields.get("filled_by"))

    @property
    def flow(self) -> str | None:
        return _text(self.fields.get("flow"))

    @property
    def slot(self) -> str | None:
        return _text(self.fields.get("slot"))

    @property
    def value(self) -> SlotValue:
        return slot_value(self.fields.get("value"))

    def as_dict(self) -> dict[str, JSONValue]:
        data: dict[str, JSONValue] = {"command": self.name, **self.fields}
        if self.dsl:
            data["dsl"] = self.dsl
        if self.why:
            data["why"] = self.why
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> CommandRecord:
        rest = {k: v for k, v in data.items() if k not in ("command", "dsl", "why")}
        return cls(
            str(data.get("command") or "?"),
            _frozen(rest),
            str(data.get("dsl") or ""),
            str(data.get("why") or ""),
        )


@dataclass(frozen=True, slots=True)
class DroppedRecord:
    """A command (or an unparseable line) that did not run, and why."""

    reason: str
    command: CommandRecord | None = None
    line: str | None = None

    @classmethod
    def of(cls, dropped: DroppedCommand) -> DroppedRecord:
        command = CommandRecord.of(dropped.command) if dropped.command else None
        return cls(dropped.reason, command, dropped.line)

    def as_dict(self) -> dict[str, JSONValue]:
        return {
            "reason": self.reason,
            "command": self.command.as_dict() if self.command else None,
            "line": self.line,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> DroppedRecord:
        command = data.get("command")
        return cls(
            str(data.get("reason") or ""),
            CommandRecord.from_dict(command) if isinstance(command, Mapping) else None,
            _text(data.get("line")),
        )


@dataclass(frozen=True, slots=True)
class RewrittenRecord:
    """A command the cleaner replaced by another (e.g. set slot → correct slot)."""

    original: CommandRecord
    replacement: CommandRecord
    reason: str

    @classmethod
    def of(cls, rewritten: RewrittenCommand) -> RewrittenRecord:
        return cls(
            CommandRecord.of(rewritten.original),
            CommandRecord.of(rewritten.replacement),
            rewritten.reason,
        )

    def as_dict(self) -> dict[str, JSONValue]:
        return {
            "original": self.original.as_dict(),
            "replacement": self.replacement.as_dict(),
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> RewrittenRecord:
        return cls(
            CommandRecord.from_dict(_mapping(data.get("original"))),
            CommandRecord.from_dict(_mapping(data.get("replacement"))),
            str(data.get("reason") or ""),
        )


# --- events --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    """A Rasa event: its type (`slot`, `bot`, `flow_started`, ...) and its other fields.
    The accessors name the fields readers use; `data` holds all of them."""

    type: str
    data: Data = field(default_factory=lambda: _EMPTY, hash=False)
    # the frames a `stack` event's patch leads to (`resolve_stack_events`); not stored
    resolved: tuple[StackFrame, ...] | None = field(default=None, compare=False, hash=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> Event:
        rest = {k: v for k, v in data.items() if k != "event"}
        return cls(str(data.get("event") or "?"), _frozen(rest))

    def as_dict(self) -> dict[str, JSONValue]:
        return {"event": self.type, **self.data}

    @property
    def name(self) -> str | None:
        return _text(self.data.get("name"))

    @property
    def value(self) -> SlotValue:
        return slot_value(self.data.get("value"))

    @property
    def text(self) -> str | None:
        return _text(self.data.get("text"))

    @property
    def flow_id(self) -> str | None:
        return _text(self.data.get("flow_id"))

    @property
    def step_id(self) -> str | None:
        return _text(self.data.get("step_id"))

    @property
    def message(self) -> str:
        return str(self.data.get("message") or "")

    @property
    def action(self) -> str | None:
        return _text(self.data.get("action"))

    @property
    def filled_by(self) -> str | None:
        return _text(self.data.get("filled_by"))

    @property
    def metadata(self) -> Data:
        metadata = self.data.get("metadata")
        return metadata if isinstance(metadata, Mapping) else _EMPTY

    @property
    def payload(self) -> Data:
        """The `data` field of a bot event (buttons, image, custom)."""
        payload = self.data.get("data")
        return payload if isinstance(payload, Mapping) else _EMPTY

    @property
    def frames(self) -> tuple[StackFrame, ...]:
        """The frames of a `stack` event: those its patch leads to, or (a trace of an
        earlier version) the whole stack it stored."""
        if self.resolved is not None:
            return self.resolved
        frames = self.data.get("frames")
        if not isinstance(frames, Sequence):
            return ()
        return tuple(StackFrame.from_dict(f) for f in frames if isinstance(f, Mapping))


# --- bot messages --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Button:
    title: str
    payload: str

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> Button:
        return cls(str(data.get("title") or ""), str(data.get("payload") or ""))


@dataclass(frozen=True, slots=True)
class BotMessage:
    """What the bot sent: text, the response that made it, buttons and rich content.
    A rephrased message keeps the text its response rendered to (`original_text`); one
    the nlg would have rephrased says why it was not (`rephrase_note`)."""

    text: str | None = None
    response: str | None = None
    buttons: tuple[Button, ...] = ()
    image: str | None = None
    custom: JSONValue = None
    attachment: JSONValue = None
    # a text no response made: where it came from ("knowledge answer, extractive
    # (offline): docs/fees.txt:3")
    source: str | None = None
    original_text: str | None = None
    rephrase_note: str | None = None
    # the language of the translation a response used (None: written as it was sent)
    translation: str | None = None

    @property
    def rephrased(self) -> bool:
        return self.original_text is not None

    @classmethod
    def of_event(cls, event: Event) -> BotMessage:
        payload = event.payload
        buttons = _items(payload.get("buttons"))
        return cls(
            event.text,
            _text(event.metadata.get(UTTER_ACTION_KEY)),
            tuple(Button.from_dict(b) for b in buttons if isinstance(b, Mapping)),
            _text(payload.get("image")) if payload.get("image") else None,
            payload.get("custom") or None,
            payload.get("attachment") or None,
            _text(event.metadata.get(MESSAGE_SOURCE_KEY)),
            _text(event.metadata.get(REPHRASED_FROM_KEY)),
            _text(event.metadata.get(REPHRASE_SKIPPED_KEY)),
            _text(event.metadata.get(TRANSLATION_KEY)),
        )

    def as_dict(self) -> dict[str, JSONValue]:
        data: dict[str, JSONValue] = {
            "text": self.text,
            "response": self.response,
            "buttons": [b.as_dict() for b in self.buttons],
        }
        for key in (
            "custom",
            "image",
            "attachment",
            "source",
            "original_text",
            "rephrase_note",
            "translation",
        ):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> BotMessage:
        buttons = _items(data.get("buttons"))
        return cls(
            _text(data.get("text")),
            _text(data.get("response") or data.get(UTTER_ACTION_KEY)),
            tuple(Button.from_dict(b) for b in buttons if isinstance(b, Mapping)),
            _text(data.get("image")) if data.get("image") else None,
            data.get("custom") or None,
            data.get("attachment") or None,
            _text(data.get("source")),
            _text(data.get("original_text")),
            _text(data.get("rephrase_note")),
            _text(data.get("translation")),
        )


# --- the dialogue stack --------------------------------------------------------------------

_FRAME_KEYS = ("frame_id", "type", "flow_id", "step_id", "frame_type")


@dataclass(frozen=True, slots=True)
class StackFrame:
    """One frame of the dialogue stack; `context` holds a pattern's own fields
    (`collect`, `canceled_name`, `previous_flow_name`, ...)."""

    frame_id: str
    type: str
    flow_id: str | None = None
    step_id: str | None = None
    frame_type: str | None = None  # regular / interrupt / call / link, for a user flow
    context: Data = field(default_factory=lambda: _EMPTY, hash=False)

    @property
    def is_flow(self) -> bool:
        return self.type == "flow"

    @property
    def kind(self) -> str:
        """`regular`/`interrupt`/`call`/`link` for a user flow frame, `pattern` for
        patterns, the frame type otherwise."""
        if self.type == "flow":
            return self.frame_type or "regular"
        if is_pattern(self.type):
            return "pattern"
        return self.type

    @property
    def flow_name(self) -> str:
        """What the frame runs: its flow id, or its type for a frame with none."""
        return self.flow_id or self.type

    def as_dict(self) -> dict[str, JSONValue]:
        data: dict[str, JSONValue] = {"frame_id": self.frame_id, "type": self.type}
        for key in ("flow_id", "step_id", "frame_type"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        data.update(self.context)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> StackFrame:
        return cls(
            str(data.get("frame_id") or ""),
            str(data.get("type") or ""),
            _text(data.get("flow_id")),
            _text(data.get("step_id")),
            _text(data.get("frame_type")),
            _frozen({k: v for k, v in data.items() if k not in _FRAME_KEYS}),
        )


# --- understanding and actions ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetrievedFlow:
    flow_id: str
    score: float | None = None
    active: bool = False
    reason: str = ""  # why it is in the prompt: "ranked", "active", "always included"

    def as_dict(self) -> dict[str, JSONValue]:
        return {
            "flow_id": self.flow_id,
            "score": self.score,
            "active": self.active,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> RetrievedFlow:
        score = data.get("score")
        return cls(
            str(data.get("flow_id") or ""),
            _number(score),
            bool(data.get("active")),
            str(data.get("reason") or ""),
        )


@dataclass(frozen=True, slots=True)
class ModelUsage:
    """What a model call took and cost."""

    model: str | None = None
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, JSONValue]:
        return {
            "model": self.model,
            "latency_ms": self.latency_ms,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost": self.cost,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> ModelUsage:
        return cls(
            _text(data.get("model")),
            _measure(data.get("latency_ms")),
            _count(data.get("prompt_tokens")),
            _count(data.get("completion_tokens")),
            _measure(data.get("cost")),
            _text(data.get("error")),
        )


@dataclass(frozen=True, slots=True)
class ActionRun:
    """One action the turn ran: what it sent and did, how long it took, what went wrong."""

    name: str
    kind: str  # response / builtin / python / server / stub
    duration_ms: float = 0.0
    events: tuple[Event, ...] = ()
    messages: tuple[BotMessage, ...] = ()
    error: str | None = None
    traceback: str | None = None
    warnings: tuple[str, ...] = ()
    # what the action server printed or logged while it ran this action
    log_lines: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, JSONValue]:
        return {
            "name": self.name,
            "kind": self.kind,
            "duration_ms": self.duration_ms,
            "events": [e.as_dict() for e in self.events],
            "messages": [m.as_dict() for m in self.messages],
            "error": self.error,
            "traceback": self.traceback,
            "warnings": list(self.warnings),
            "log_lines": list(self.log_lines),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> ActionRun:
        return cls(
            str(data.get("name") or ""),
            str(data.get("kind") or ""),
            _number(data.get("duration_ms") or 0.0) or 0.0,
            tuple(Event.from_dict(e) for e in _items(data.get("events")) if isinstance(e, Mapping)),
            tuple(
                BotMessage.from_dict(m)
                for m in _items(data.get("messages"))
                if isinstance(m, Mapping)
            ),
            _text(data.get("error")),
            _text(data.get("traceback")),
            tuple(str(w) for w in _items(data.get("warnings"))),
            tuple(str(line) for line in _items(data.get("log_lines"))),
        )


# --- knowledge answers ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KnowledgeHit:
    """One retrieved chunk: where it is (file and line), how it ranked, and its start."""

    source: str
    line: int
    score: float
    rank: int
    excerpt: str = ""

    @property
    def location(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source

    def as_dict(self) -> dict[str, JSONValue]:
        return {
            "source": self.source,
            "line": self.line,
            "score": self.score,
            "rank": self.rank,
            "excerpt": self.excerpt,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> KnowledgeHit:
        return cls(
            str(data.get("source") or ""),
            _count(data.get("line")) or 0,
            _measure(data.get("score")) or 0.0,
            _count(data.get("rank")) or 0,
            str(data.get("excerpt") or ""),
        )


@dataclass(frozen=True, slots=True)
class KnowledgeRecord:
    """One knowledge question answered (or not) by Enterprise Search: the query, the
    chunks found, the prompt and the model's raw and final answer, citations, the
    relevancy verdict, and what the call took. `mode`: generative, extractive (Q/A
    pairs, no model) or offline (no model available: the best Q/A answer or passage).
    `outcome`: answer / no_answer / error, with the `reason` for the last two."""

    query: str
    mode: str
    outcome: str
    method: str = ""  # how the chunks were found: bm25, embeddings model, ...
    hits: tuple[KnowledgeHit, ...] = ()
    prompt: str | None = None
    raw_answer: str | None = None
    answer: str | None = None
    citations: tuple[str, ...] = ()
    relevant: bool | None = None  # None: no relevancy check asked for (or none made)
    reason: str = ""
    usage: ModelUsage | None = None  # model, latency, tokens, cost, model error
    sources: tuple[str, ...] = ()  # `file:line` of the chunks the answer came from
    duration_ms: float = 0.0
    # documents the knowledge base skipped and other problems in them
    issues: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How the answer was made, in the words of a header: "generative (model)",
        "extractive", "extractive (offline)"."""
        if self.mode == "offline":
            return "extractive (offline)"
        if self.mode == "generative" and self.usage is not None and self.usage.model:
            return f"generative ({self.usage.model})"
        return self.mode

    def as_dict(self) -> dict[str, JSONValue]:
        return {
            "query": self.query,
            "mode": self.mode,
            "outcome": self.outcome,
            "method": self.method,
            "hits": [h.as_dict() for h in self.hits],
            "prompt": self.prompt,
            "raw_answer": self.raw_answer,
            "answer": self.answer,
            "citations": list(self.citations),
            "relevant": self.relevant,
            "reason": self.reason,
            "usage": self.usage.as_dict() if self.usage is not None else None,
            "sources": list(self.sources),
            "duration_ms": self.duration_ms,
            "issues": list(self.issues),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> KnowledgeRecord:
        usage = data.get("usage")
        relevant = data.get("relevant")
        return cls(
            query=str(data.get("query") or ""),
            mode=str(data.get("mode") or ""),
            outcome=str(data.get("outcome") or ""),
            method=str(data.get("method") or ""),
            hits=tuple(
                KnowledgeHit.from_dict(h)
                for h in _items(data.get("hits"))
                if isinstance(h, Mapping)
            ),
            prompt=_text(data.get("prompt")),
            raw_answer=_text(data.get("raw_answer")),
            answer=_text(data.get("answer")),
            citations=tuple(str(c) for c in _items(data.get("citations"))),
            relevant=relevant if isinstance(relevant, bool) else None,
            reason=str(data.get("reason") or ""),
            usage=ModelUsage.from_dict(usage) if isinstance(usage, Mapping) else None,
            sources=tuple(str(s) for s in _items(data.get("sources"))),
            duration_ms=_measure(data.get("duration_ms")) or 0.0,
            issues=tuple(str(i) for i in _items(data.get("issues"))),
        )


class _Record(Protocol):
    def as_dict(self) -> dict[str, JSONValue]: ...


def resolve_stack_events(
    before: Sequence[StackFrame],
    events: Sequence[Event],
    known: Mapping[int, list[dict[str, JSONValue]]] | None = None,
) -> list[Event]:
    """`events` with each `stack` event given the frames it leads to. A stack event holds
    a patch (`update`, as Rasa stores it), applied in turn from the stack `before` the
    turn; one of an earlier version holds the whole stack (`frames`). A patch that does
    not fit (a damaged row) leaves its event as it is, and the next whole stack wins.
    `known` gives the frames of stack events by their position in `events` where the
    caller has them (the tracker that logged them), so no patch need be applied."""
    current: list[dict[str, JSONValue]] | None = [frame.as_dict() for frame in before]
    # a frame a patch left alone is the same record as before: a long turn with a deep
    # stack keeps one record per frame change, not one per frame per event
    made: dict[str, tuple[dict[str, JSONValue], StackFrame]] = {}

    def record(data: dict[str, JSONValue]) -> StackFrame:
        key = str(data.get("frame_id"))
        known = made.get(key)
        if known is not None and known[0] == data:
            return known[1]
        frame = StackFrame.from_dict(data)
        made[key] = (data, frame)
        return frame

    out: list[Event] = []
    for position, event in enumerate(events):
        if event.type == "stack" and known is not None and position in known:
            current = known[position]
            event = replace(event, resolved=tuple(record(f) for f in current))
        elif event.type == "stack":
            frames = event.data.get("frames")
            update = event.data.get("update")
            if isinstance(frames, Sequence) and not isinstance(frames, str):
                current = [dict(f) for f in frames if isinstance(f, Mapping)]
            elif isinstance(update, str) and current is not None:
                try:
                    current = apply_patch(current, update)
                except (ValueError, TypeError):
                    current = None
                else:
                    resolved = tuple(record(f) for f in current)
                    event = replace(event, resolved=resolved)
        out.append(event)
    return out


def as_dicts(records: Sequence[_Record]) -> list[dict[str, JSONValue]]:
    return [r.as_dict() for r in records]


__all__ = [
    "ActionRun",
    "BotMessage",
    "Button",
    "CommandRecord",
    "Data",
    "DroppedRecord",
    "Event",
    "KnowledgeHit",
    "KnowledgeRecord",
    "ModelUsage",
    "RetrievedFlow",
    "RewrittenRecord",
    "StackFrame",
    "as_dicts",
    "resolve_stack_events",
    "slot_value",
]
