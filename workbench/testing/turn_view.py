"""One turn of an e2e conversation as the runner judges and reports it: the events of a
user message's turn (as Rasa's assertion runner slices them) and what the turn did."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import cast

from workbench.calm.names import ACTION_LISTEN, UTTER_ACTION_KEY
from workbench.calm.values import JSONObject, JSONValue
from workbench.engine import events as ev
from workbench.engine.events import Event
from workbench.project.model import Source, TestStep
from workbench.testing.assertions import assertion_kind
from workbench.testing.results import TurnView
from workbench.trace.turn import TurnTrace
from workbench.understanding.base import generator_failure as failure_in


def split_turn(
    events: Sequence[Event], text: str, metadata: JSONObject | None = None
) -> tuple[list[Event], list[Event]]:
    """(turn events, prior events) for a user message, as Rasa's assertion runner slices:
    from the first `user` event with that text (and metadata, when given) up to the next
    `user` event with a different text. Repeated texts resolve to the first occurrence."""
    start = None
    for index, event in enumerate(events):
        if event.get("event") != "user" or event.get("text") != text:
            continue
        if metadata is not None and (event.get("metadata") or {}) != metadata:
            continue
        start = index
        break
    if start is None:
        return [], []
    turn = [events[start]]
    for event in events[start + 1 :]:
        if event.get("event") == "user" and event.get("text") != text:
            break
        turn.append(event)
    return turn, list(events[:start])


def generator_failure(trace: TurnTrace) -> str | None:
    """Why the command generator failed on this turn (e.g. a cassette miss), if it did."""
    failure = failure_in(trace.errors)
    return failure.text if failure is not None else None


def trace_for(traces: Sequence[TurnTrace], user_event: Event) -> TurnTrace | None:
    for trace in traces:
        if any(e is user_event for e in trace.events[:3]):
            return trace
    return None


def assertion_source(step: TestStep, assertion: JSONObject) -> Source:
    line = getattr(assertion, "line", 0)
    return Source(step.source.file, line) if line else step.source


def turn_view(events: Sequence[Event], trace: TurnTrace | None, user_text: str | None) -> TurnView:
    view = TurnView(user_text)
    for event in events:
        kind = event.get("event")
        if kind == "bot":
            buttons = ev.record(event, "data").get("buttons") or []
            view.bot.append(
                {
                    "text": event.get("text"),
                    UTTER_ACTION_KEY: ev.record(event, "metadata").get(UTTER_ACTION_KEY),
                    "buttons": list(cast(Iterable[JSONValue], buttons)),
                }
            )
        elif kind == "slot":
            view.slots.append((str(event.get("name")), ev.slot_value(event)))
        elif kind == "action" and event.get("name") not in (ACTION_LISTEN,):
            view.actions.append(str(event.get("name")))
        elif kind == "flow_started":
            view.flows.append(f"started {event.get('flow_id')}")
        elif kind in ("flow_completed", "flow_cancelled", "flow_interrupted", "flow_resumed"):
            verb = kind.split("_", 1)[1]
            view.flows.append(f"{verb} {event.get('flow_id')} at {event.get('step_id')}")
        elif kind == "error":
            view.errors.append(str(event.get("message")))
        elif kind == "notice":  # e.g. a step this version skips: explains a divergence
            view.notices.append(str(event.get("message")))
    if trace is not None:
        view.commands = [command_text(c) for c in trace.commands]
        view.dropped = [_dropped_text(d) for d in trace.dropped]
        view.errors.extend(e for e in trace.errors if e not in view.errors)
    return view


def command_text(command: Mapping[str, object]) -> str:
    """A trace command dict as one line: `set slot order_id A1002`."""
    parts = [str(command.get("command", "?"))]
    for key, value in command.items():
        if key in ("command", "filled_by") or value in (None, "", [], {}, ()):
            continue
        if isinstance(value, (list, tuple)):
            parts.append(" ".join(_plain(v) for v in value))
        elif isinstance(value, dict):
            parts.append(", ".join(f"{k}={_plain(v)}" for k, v in value.items()))
        else:
            parts.append(_plain(value))
    return " ".join(parts)


def _plain(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return "=".join(_plain(v) for v in value)
    return str(value)


def _dropped_text(dropped: Mapping[str, object]) -> str:
    command = dropped.get("command")
    what = command_text(command) if isinstance(command, dict) else (dropped.get("line") or "")
    return f"{what} ({dropped.get('reason')})" if what else str(dropped.get("reason"))


def describe_step(step: TestStep) -> str:
    if step.kind in ("bot", "utter", "user"):
        return f"{step.kind}: {step.value}"
    from workbench.testing.assertions import describe_slot, slot_entries

    entries = ", ".join(describe_slot(n, v) for n, v in slot_entries(step.value))
    return f"{step.kind}: [{entries}]"


def describe_assertion(assertion: JSONObject) -> str:
    kind = assertion_kind(assertion)
    value = assertion.get(kind) if isinstance(assertion, dict) else None
    return f"{kind}: {_compact(value)}"


def _compact(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_compact(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_compact(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) and not value.isidentifier() else str(value)
