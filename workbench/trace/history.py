"""The whole conversation, from its turns: the event log across turns, the timeline of
flow runs, and the tracker state as Rasa writes it. No Textual here; the History panel
draws what these return, and the tests read them directly.

    rows = conversation_log(traces)                # one LogRow per event or command
    shown = [r for r in rows if r.category in wanted or r.category == PROBLEM]
    runs = flow_timeline(traces)                   # one FlowRun per flow started
    bar = timeline_bar(run, [t.index for t in traces])
    state = tracker_state(traces, sender_id="tui-…")  # Rasa's tracker JSON shape
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from workbench.calm.names import ACTION_LISTEN, WORKBENCH_EVENTS, is_pattern
from workbench.calm.parse_data import message_parse_data
from workbench.calm.values import JSONValue
from workbench.terminal_text import json_printable, printable
from workbench.trace.records import Event
from workbench.trace.text import command_text, dropped_text, event_line, run_timing
from workbench.trace.turn import TurnTrace

# --- the event log ----------------------------------------------------------------------------

# what a row is about, for the filter; in the order the filter offers them
FLOW, SLOT, ACTION, COMMAND, STACK, CHAT = "flow", "slot", "action", "command", "stack", "chat"
CATEGORIES: tuple[str, ...] = (FLOW, SLOT, ACTION, COMMAND, STACK, CHAT)
# errors and notices: shown whatever the filter, a problem is never filtered away
PROBLEM = "problem"

_CATEGORY_OF_TYPE = {
    "slot": SLOT,
    "action": ACTION,
    "stack": STACK,
    "user": CHAT,
    "bot": CHAT,
    "error": PROBLEM,
    "notice": PROBLEM,
}


@dataclass(frozen=True)
class LogRow:
    """One line of the conversation's log: an event, or a command the turn ran (or
    dropped). `kind` is the event type, `command` or `dropped` (it picks the style);
    `quiet` rows (action_listen, patterns) are drawn muted."""

    turn: int
    category: str
    kind: str
    text: str
    quiet: bool = False


def category_of(event: Event) -> str:
    """The filter category of an event. Flow events, and the other events that change
    the course of the conversation (session_started, restart, ...), are `flow`."""
    return _CATEGORY_OF_TYPE.get(event.type, FLOW)


def turn_rows(trace: TurnTrace) -> list[LogRow]:
    """The rows of one turn: its events in order, with the commands the user's message
    became (accepted, then dropped) right after the user event that sent it. A custom
    action's row says how it ran and how long it took; what an action server printed
    while running it follows it, and an error it raised that no event logged too."""
    turn = trace.index
    commands = [LogRow(turn, COMMAND, "command", command_text(c)) for c in trace.commands]
    commands += [LogRow(turn, COMMAND, "dropped", dropped_text(d)) for d in trace.dropped]
    runs = list(trace.actions)
    logged = {e.message for e in trace.events if e.type == "error"}
    logged_by = {e.action for e in trace.events if e.type == "error"}
    rows: list[LogRow] = []
    for event in trace.events:
        kind, text = event_line(event)
        quiet = (kind == "action" and event.name == ACTION_LISTEN) or (
            kind.startswith("flow_") and is_pattern(event.flow_id or "")
        )
        run = runs.pop(0) if kind == "action" and runs and runs[0].name == event.name else None
        if run is not None and run.kind not in ("builtin", "response"):
            text += f"  {run_timing(run)}"
        rows.append(LogRow(turn, category_of(event), kind, text, quiet))
        if run is not None:
            rows += [
                LogRow(turn, ACTION, "log", f"  │ {printable(line, multiline=False)}", True)
                for line in run.log_lines
            ]
            if run.error and run.name not in logged_by:
                error = printable(run.error, multiline=False)
                rows.append(LogRow(turn, PROBLEM, "error", f"error ({run.name}): {error}"))
        if kind == "user" and commands:
            rows += commands
            commands = []
    rows[:0] = commands  # a turn with no user event (a direct command): commands first
    rows += [
        LogRow(turn, PROBLEM, "error", f"error: {printable(error, multiline=False)}")
        for error in trace.errors
        if error not in logged
    ]
    return rows


def conversation_log(traces: Sequence[TurnTrace]) -> list[LogRow]:
    """Every turn's rows, oldest turn first: the log never restarts at a new turn."""
    return [row for trace in traces for row in turn_rows(trace)]


def shown_rows(rows: Sequence[LogRow], categories: frozenset[str]) -> list[LogRow]:
    """The rows of the given categories, and every problem."""
    return [row for row in rows if row.category in categories or row.category == PROBLEM]


def turn_lines(rows: Sequence[LogRow], turn: int) -> tuple[int, int] | None:
    """The first and last position of `turn`'s rows in `rows` (None: it has none)."""
    at = [i for i, row in enumerate(rows) if row.turn == turn]
    return (at[0], at[-1]) if at else None


# --- the flow timeline ------------------------------------------------------------------------

STARTED, INTERRUPTED, RESUMED = "started", "interrupted", "resumed"
COMPLETED, CANCELLED, ENDED = "completed", "cancelled", "ended"
_ENDINGS = {"flow_completed": COMPLETED, "flow_cancelled": CANCELLED}


@dataclass
class FlowRun:
    """One run of a flow, from its start to its end (`outcome` None: still on the stack).
    `marks` are (turn, what) in order; `interrupted_by` names the flow that pushed it
    down at each interruption."""

    flow_id: str
    frame_id: str
    started: int
    ended: int | None = None
    outcome: str | None = None
    marks: list[tuple[int, str]] = field(default_factory=list)
    interrupted_by: list[str] = field(default_factory=list)

    @property
    def pattern(self) -> bool:
        return is_pattern(self.flow_id)

    @property
    def running(self) -> bool:
        return self.outcome is None

    def paused_after(self, turn: int) -> bool:
        """Whether the run waits under an interrupting flow at the end of `turn`."""
        state = False
        for at, what in self.marks:
            if at > turn:
                break
            if what == INTERRUPTED:
                state = True
            elif what in (RESUMED, STARTED):
                state = False
        return state


def _interrupter(events: Sequence[Event], after: int) -> str:
    """The flow an interruption was made for: the next one started or resumed."""
    for event in events[after + 1 :]:
        if event.type in ("flow_started", "flow_resumed") and event.flow_id:
            return event.flow_id
    return "?"


def flow_timeline(traces: Sequence[TurnTrace]) -> list[FlowRun]:
    """Every flow run of the conversation (patterns included), in the order they started.
    An event names its flow, not its frame: it belongs to the latest open run of that
    flow. After each turn the stack is read: a run whose frame left it without an end
    event (a restart, a code change) ends as `ended`; an interrupted run that is the
    topmost user flow again (its interrupter was cancelled) is resumed, though Rasa
    logs no event for that."""
    runs: list[FlowRun] = []
    open_runs: list[FlowRun] = []  # oldest first
    for trace in traces:
        turn = trace.index
        for position, event in enumerate(trace.events):
            flow_id = event.flow_id
            if not event.type.startswith("flow_") or not flow_id:
                continue
            if event.type == "flow_started":
                frame_id = str(event.metadata.get("frame_id") or "")
                run = FlowRun(flow_id, frame_id, turn, marks=[(turn, STARTED)])
                runs.append(run)
                open_runs.append(run)
                continue
            found = next((r for r in reversed(open_runs) if r.flow_id == flow_id), None)
            if found is None:
                continue  # started before the first turn kept
            if event.type == "flow_interrupted":
                found.marks.append((turn, INTERRUPTED))
                found.interrupted_by.append(_interrupter(trace.events, position))
            elif event.type == "flow_resumed":
                found.marks.append((turn, RESUMED))
            elif event.type in _ENDINGS:
                _end(found, turn, _ENDINGS[event.type])
                open_runs.remove(found)
        _read_stack(trace, open_runs)
    return runs


def _read_stack(trace: TurnTrace, open_runs: list[FlowRun]) -> None:
    on_stack = {frame.frame_id for frame in trace.stack_after}
    for run in list(open_runs):
        if run.frame_id and run.frame_id not in on_stack:
            _end(run, trace.index, ENDED)
            open_runs.remove(run)
    top = trace.top_flow_frame
    for run in open_runs:
        if top is not None and run.frame_id == top.frame_id and run.paused_after(trace.index):
            run.marks.append((trace.index, RESUMED))


def _end(run: FlowRun, turn: int, outcome: str) -> None:
    run.ended, run.outcome = turn, outcome
    run.marks.append((turn, outcome))


# one character a turn: what the run did in that turn (the last thing it did wins)
BAR = {
    STARTED: "▶",
    RESUMED: "▷",
    INTERRUPTED: "╌",
    COMPLETED: "✓",
    CANCELLED: "✗",
    ENDED: "■",
    "active": "━",
    "paused": "╌",
    "outside": "·",
}
BAR_LEGEND = (
    "▶ started  ━ active  ╌ interrupted  ▷ resumed",
    "✓ completed  ✗ cancelled  ■ left the stack",
)


def timeline_cells(run: FlowRun, turns: Sequence[int]) -> list[str]:
    """The state of `run` in each of `turns` (keys of `BAR`)."""
    cells = []
    for turn in turns:
        if turn < run.started or (run.ended is not None and turn > run.ended):
            cells.append("outside")
            continue
        done = [what for at, what in run.marks if at == turn]
        if done:
            cells.append(done[-1])
        else:
            cells.append("paused" if run.paused_after(turn) else "active")
    return cells


def timeline_bar(run: FlowRun, turns: Sequence[int]) -> str:
    return "".join(BAR[cell] for cell in timeline_cells(run, turns))


def run_summary(run: FlowRun) -> list[str]:
    """What happened to the run, a line each: `turns 1–3 · completed`, then
    `interrupted by book_flight in 2`, `resumed in 3`."""
    if run.ended is None:
        span, outcome = f"turn {run.started}–", "running"
    elif run.ended == run.started:
        span, outcome = f"turn {run.started}", run.outcome or ""
    else:
        span, outcome = f"turns {run.started}–{run.ended}", run.outcome or ""
    parts = [f"{span} · {outcome}"]
    interruptions = iter(run.interrupted_by)
    for turn, what in run.marks:
        if what == INTERRUPTED:
            by = printable(next(interruptions, "?"), multiline=False)
            parts.append(f"interrupted by {by} in {turn}")
        elif what == RESUMED:
            parts.append(f"resumed in {turn}")
    return parts


def turn_ruler(turns: Sequence[int]) -> str:
    """A turn number every five turns above the bars (a digit a turn where none fits)."""
    cells = [" "] * len(turns)
    at = 0
    while at < len(turns):
        label = str(turns[at])
        if turns[at] % 5 == 0 and at + len(label) <= len(turns):
            cells[at : at + len(label)] = label
            at += len(label)
        else:
            cells[at] = "·" if at else str(turns[at] % 10)
            at += 1
    return "".join(cells)


# --- the tracker ------------------------------------------------------------------------------


def _latest(events: Sequence[Event], kind: str) -> Event | None:
    return next((e for e in reversed(events) if e.type == kind), None)


def latest_message(events: Sequence[Event]) -> dict[str, JSONValue] | None:
    """The latest user message as Rasa's parse data: text, intent, entities, commands."""
    user = _latest(events, "user")
    return message_parse_data(user.as_dict()) if user is not None else None


def active_flow(trace: TurnTrace | None) -> str | None:
    """The topmost user flow on the stack after `trace` (patterns sit above it)."""
    top = trace.top_flow_frame if trace is not None else None
    return top.flow_id if top is not None else None


def tracker_state(
    traces: Sequence[TurnTrace], upto: int | None = None, sender_id: str | None = None
) -> dict[str, JSONValue]:
    """The tracker after turn `upto` (None: the latest) in the shape of Rasa's
    `tracker.current_state(EventVerbosity.ALL)`, as far as the turns tell it; plus
    `active_flow`, the workbench's own key. The workbench's own events (errors,
    notices) are left out, as actions never see them."""
    kept = [t for t in traces if upto is None or t.index <= upto]
    last = kept[-1] if kept else None
    events = [e for t in kept for e in t.events if e.type not in WORKBENCH_EVENTS]
    action = _latest(events, "action")
    action_name = action.name if action else None
    user = _latest(events, "user")
    return {
        "sender_id": sender_id,
        "slots": dict(last.slots_after) if last else {},
        "latest_message": latest_message(events),
        "latest_event_time": events[-1].data.get("timestamp") if events else None,
        "followup_action": None,
        "paused": False,
        "inactive": False,
        "terminated": False,
        "stack": [frame.as_dict() for frame in (last.stack_after if last else [])],
        "events": [e.as_dict() for e in events],
        "latest_input_channel": user.data.get("input_channel") if user else None,
        "active_loop": {},
        "latest_action": {"action_name": action_name} if action_name else {},
        "latest_action_name": action_name,
        "active_flow": active_flow(last),
    }


def tracker_json(state: dict[str, JSONValue]) -> str:
    """The state as indented JSON (whatever an action put in an event is written as
    its text), safe to print: controls JSON leaves raw are escaped."""
    return json_printable(json.dumps(state, indent=2, ensure_ascii=False, default=str))


__all__ = [
    "BAR",
    "BAR_LEGEND",
    "CATEGORIES",
    "PROBLEM",
    "FlowRun",
    "LogRow",
    "active_flow",
    "conversation_log",
    "flow_timeline",
    "run_summary",
    "shown_rows",
    "timeline_bar",
    "timeline_cells",
    "tracker_json",
    "tracker_state",
    "turn_lines",
    "turn_rows",
    "turn_ruler",
]
