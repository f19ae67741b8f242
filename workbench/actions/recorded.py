"""Custom actions answered from a recorded conversation instead of being run.

A conversation imported from a production tracker store is replayed on today's project
without re-running its side effects (a refund issued twice, a ticket opened again): each
custom action the replay asks for gets what the same action did in the same user turn of
the recorded conversation, in order: the slots it set and the messages it sent (as
they were then, in their order), or the error it failed with.

What an action did is read from the events Rasa logged after its `action` event: Rasa
logs the action, then the events the action returned, then the events of the next
prediction, which begin with a stack update or a flow event. So an action's own events
are those up to the first stack, flow, action or user event. Rasa 3.21 marks a failed
run on the action event itself (`metadata.execution_success: false`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from workbench.actions.protocol import ActionResult
from workbench.actions.tracker_state import plain
from workbench.calm.values import JSONObject
from workbench.engine.tracker import Tracker
from workbench.project.model import Project
from workbench.trace.records import Event
from workbench.trace.turn import SESSION_START_SOURCE, TurnTrace

KIND = "recorded"
# where an action's own events end: the next prediction's first event, or a new turn
_NOT_THE_ACTIONS = frozenset(
    {
        "action",
        "user",
        "stack",
        "flow_started",
        "flow_completed",
        "flow_cancelled",
        "flow_interrupted",
        "flow_resumed",
    }
)


@dataclass
class RecordedRun:
    """One run of an action in a recorded turn."""

    name: str
    events: list[JSONObject] = field(default_factory=list)
    error: str | None = None
    used: bool = False


def recorded_runs(events: Sequence[Event]) -> list[RecordedRun]:
    """Each action of a turn's events with what it returned, in order."""
    runs: list[RecordedRun] = []
    current: RecordedRun | None = None
    for event in events:
        if event.type == "action":
            current = RecordedRun(event.name or "?", error=_failure(event))
            runs.append(current)
            continue
        if current is None:
            continue
        if event.type in _NOT_THE_ACTIONS:
            current = None
        else:  # the messages too, as `bot` events: in the order they came with the slots
            current.events.append(cast(JSONObject, plain(event.as_dict())))
    return runs


class RecordedActions:
    """A custom action runner that answers from `traces`, a recorded conversation: the
    first unused run of the action in the same user turn (the n-th user message of the
    replay is the n-th of the recording), else in any turn, else an error that says the
    action did not run there."""

    label = "actions from the recorded conversation (not run)"

    def __init__(self, traces: Sequence[TurnTrace]) -> None:
        self.by_turn: dict[int, list[RecordedRun]] = {}
        ordinal = 0
        for trace in traces:
            if trace.source != SESSION_START_SOURCE:
                ordinal += 1
            self.by_turn.setdefault(ordinal, []).extend(recorded_runs(trace.events))
        self.problems: list[str] = []

    async def run(self, name: str, tracker: Tracker, project: Project) -> ActionResult:
        turn = sum(1 for event in tracker.events if event.get("event") == "user")
        run = self._take(name, turn)
        if run is None:
            return ActionResult(
                kind=KIND,
                error=f"custom action '{name}' did not run in this turn of the recorded "
                "conversation, so there is nothing to answer it with (replay with "
                "--live-actions to run the project's actions)",
            )
        if run.error is not None:
            return ActionResult(kind=KIND, error=f"failed when recorded: {run.error}")
        return ActionResult(kind=KIND, events=list(run.events))

    def _take(self, name: str, turn: int) -> RecordedRun | None:
        turns = [turn, *sorted(t for t in self.by_turn if t != turn)]
        for number in turns:
            for run in self.by_turn.get(number, []):
                if run.name == name and not run.used:
                    run.used = True
                    return run
        return None

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


def _failure(event: Event) -> str | None:
    metadata = event.data.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("execution_success") is not False:
        return None
    message = metadata.get("execution_error_message")
    return str(message) if message else "the action failed"
