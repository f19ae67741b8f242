"""One turn of an e2e conversation as the runner judges and reports it: the events of a
user message's turn (as Rasa's assertion runner slices them) and what the turn did."""

from __future__ import annotations

from collections.abc import Sequence

from workbench.calm.names import ACTION_LISTEN
from workbench.calm.values import JSONObject
from workbench.engine import events as ev
from workbench.engine.events import Event
from workbench.project.model import Source, TestStep
from workbench.session import Session
from workbench.testing.assertions import assertion_kind
from workbench.testing.results import TurnView
from workbench.trace.records import BotMessage
from workbench.trace.records import Event as TraceEvent
from workbench.trace.text import command_text, dropped_text, flow_change
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


def trace_for(session: Session, user_event: Event) -> TurnTrace | None:
    events = session.tracker.events
    for trace in session.traces:
        start = trace.event_offset - session.tracker.forgotten
        if start < 0:
            continue
        if any(e is user_event for e in events[start : start + 3]):
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
            view.bot.append(BotMessage.of_event(TraceEvent.from_dict(event)))
        elif kind == "slot":
            view.slots.append((str(event.get("name")), ev.slot_value(event)))
        elif kind == "action" and event.get("name") not in (ACTION_LISTEN,):
            view.actions.append(str(event.get("name")))
        elif (change := flow_change(TraceEvent.from_dict(event))) is not None:
            view.flows.append(change)
        elif kind == "error":
            view.errors.append(str(event.get("message")))
        elif kind == "notice":  # e.g. a step this version skips: explains a divergence
            view.notices.append(str(event.get("message")))
    if trace is not None:
        view.commands = [command_text(c) for c in trace.commands]
        view.dropped = [dropped_text(d) for d in trace.dropped]
        view.errors.extend(e for e in trace.errors if e not in view.errors)
    return view


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
