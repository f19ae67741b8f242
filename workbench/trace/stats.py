"""Conversation analysis: what a set of stored sessions did, kept as counters.

The store reads a session's turns one at a time (`store/stats.py`) and gives each to a
`StatsBuilder` as `TurnFacts`: when the turn happened, the flow events it logged, the
topmost user flow on the stack before it and the reasons of the commands it dropped.
Nothing here keeps a turn: a session's figures are tallied while its turns stream by,
then added to the totals, so a store of any size is read in the memory of one session.

Which flow a pattern belongs to: the user flow the turn was in when the pattern started
(the latest one started or resumed in the turn before it, else the topmost user flow on
the stack before the turn). A handoff right after `talk_to_human` completed belongs to
`talk_to_human`; a cannot-handle outside any flow belongs to none.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

from workbench.calm.names import (
    PATTERN_CANCEL_FLOW,
    PATTERN_CANNOT_HANDLE,
    PATTERN_HUMAN_HANDOFF,
    PATTERN_INTERNAL_ERROR,
    is_pattern,
    is_session_start,
)
from workbench.calm.values import JSONObject, JSONValue
from workbench.trace.turn import SESSION_START_SOURCE

# the patterns whose rates are counted, by the names the figures use
WATCHED: tuple[tuple[str, str], ...] = (
    ("cancel", PATTERN_CANCEL_FLOW),
    ("internal_error", PATTERN_INTERNAL_ERROR),
    ("cannot_handle", PATTERN_CANNOT_HANDLE),
    ("human_handoff", PATTERN_HUMAN_HANDOFF),
)
_WATCHED_BY_FLOW = {flow_id: name for name, flow_id in WATCHED}
# how a user flow's run ends, by event type
_ENDINGS = {"flow_completed": "completed", "flow_cancelled": "cancelled"}
EXAMPLES = 3  # example turns kept per dropped-command reason


@dataclass(frozen=True)
class TurnFacts:
    """What the figures need of one stored turn."""

    session_id: str
    index: int
    started_at: str  # ISO 8601 UTC, as the store keeps it
    greeting: bool = False  # the `/session_start` turn: not a user message
    flow_events: Sequence[tuple[str, str]] = ()  # (event type, flow id), in order
    stack_flow: str | None = None  # the topmost user flow on the stack before the turn
    dropped: Sequence[str] = ()  # the reason of each dropped command
    unreadable: bool = False  # its stored trace is not a JSON object

    @property
    def day(self) -> str:
        return self.started_at[:10]


def turn_facts(
    session_id: str,
    index: int,
    started_at: str,
    user_text: str,
    picked: str | bytes | None,
) -> TurnFacts:
    """The facts of a stored turn from the fields the store picked out of its trace
    (`picked`: a JSON object with `source`, `events`, `dropped` and `stack_before`;
    None for a trace that is no JSON). A damaged field counts as absent."""
    data: JSONValue = None
    if picked is not None:
        try:
            data = json.loads(picked)
        except ValueError:
            data = None
    if not isinstance(data, Mapping):
        return TurnFacts(session_id, index, started_at, unreadable=True)
    source = data.get("source")
    greeting = source == SESSION_START_SOURCE or is_session_start(user_text)
    events = [
        (str(e.get("event")), str(e.get("flow_id") or ""))
        for e in _objects(data.get("events"))
        if str(e.get("event") or "").startswith("flow_")
    ]
    user_frames = [f for f in _objects(data.get("stack_before")) if f.get("type") == "flow"]
    stack_flow = str(user_frames[-1].get("flow_id") or "") if user_frames else ""
    dropped = [str(d.get("reason") or "(no reason given)") for d in _objects(data.get("dropped"))]
    return TurnFacts(
        session_id,
        index,
        started_at,
        greeting=greeting,
        flow_events=events,
        stack_flow=stack_flow or None,
        dropped=dropped,
    )


def _objects(value: JSONValue) -> list[Mapping[str, JSONValue]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


# -- the figures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatternRow:
    name: str  # cancel / internal_error / cannot_handle / human_handoff
    pattern: str  # its flow id
    started: int  # times it started
    sessions: int  # sessions that hit it
    session_rate: float | None  # sessions / all sessions counted
    turns: int  # turns in which it started
    turn_rate: float | None  # turns / all user turns counted


@dataclass(frozen=True)
class FlowRow:
    flow: str
    sessions: int  # sessions that started it
    started: int
    completed: int
    cancelled: int
    interrupted: int
    completion_rate: float | None  # completed / started
    internal_errors: int  # pattern_internal_error while the flow was the turn's flow
    cannot_handle: int
    human_handoffs: int


@dataclass(frozen=True)
class DayRow:
    day: str  # YYYY-MM-DD (UTC)
    sessions: int  # sessions with a turn that day
    turns: int  # user turns
    flows_started: int
    flows_completed: int
    cancels: int  # pattern_cancel_flow started
    internal_errors: int
    cannot_handle: int
    human_handoffs: int
    dropped: int  # dropped commands


@dataclass(frozen=True)
class ExampleTurn:
    session_id: str
    turn: int


@dataclass(frozen=True)
class ReasonRow:
    reason: str
    count: int  # commands dropped for it
    turns: int  # turns that dropped one
    sessions: int
    examples: tuple[ExampleTurn, ...]  # the latest turns that dropped one, oldest first


@dataclass(frozen=True)
class ConversationStats:
    sessions: int
    local_sessions: int
    imported_sessions: int
    turns: int  # user turns (the `/session_start` greeting is none)
    first_turn_at: str | None
    last_turn_at: str | None
    flows_started: int
    flows_completed: int
    flows_cancelled: int
    dropped_commands: int
    turns_with_dropped: int
    unreadable_turns: int
    patterns: tuple[PatternRow, ...]
    flows: tuple[FlowRow, ...]  # most started first
    dropped_reasons: tuple[ReasonRow, ...]  # most frequent first, `top` of them
    other_reasons: int  # reasons not among `dropped_reasons`
    days: tuple[DayRow, ...]  # oldest first

    def as_dict(self) -> JSONObject:
        """The figures as `calm-tui sessions stats --format json` prints them (README)."""
        return {
            "totals": {
                "sessions": self.sessions,
                "local_sessions": self.local_sessions,
                "imported_sessions": self.imported_sessions,
                "turns": self.turns,
                "first_turn_at": self.first_turn_at,
                "last_turn_at": self.last_turn_at,
                "flows_started": self.flows_started,
                "flows_completed": self.flows_completed,
                "flows_cancelled": self.flows_cancelled,
                "dropped_commands": self.dropped_commands,
                "turns_with_dropped": self.turns_with_dropped,
                "unreadable_turns": self.unreadable_turns,
            },
            "patterns": {
                row.name: {
                    "pattern": row.pattern,
                    "started": row.started,
                    "sessions": row.sessions,
                    "session_rate": row.session_rate,
                    "turns": row.turns,
                    "turn_rate": row.turn_rate,
                }
                for row in self.patterns
            },
            "flows": [_row_dict(row) for row in self.flows],
            "dropped_reasons": [
                {
                    "reason": row.reason,
                    "count": row.count,
                    "turns": row.turns,
                    "sessions": row.sessions,
                    "examples": [
                        {"session_id": e.session_id, "turn": e.turn} for e in row.examples
                    ],
                }
                for row in self.dropped_reasons
            ],
            "other_reasons": self.other_reasons,
            "days": [_row_dict(row) for row in self.days],
        }


def _row_dict(row: FlowRow | DayRow) -> JSONObject:
    return asdict(row)


def rate(part: int, whole: int) -> float | None:
    """`part / whole`, rounded to 4 places; None when there is no whole."""
    return round(part / whole, 4) if whole else None


# -- counting -----------------------------------------------------------------------------------


@dataclass
class _Tally:
    """Counters of one session, or of all of them: merged by adding."""

    totals: Counter[str] = field(default_factory=Counter)
    patterns: Counter[tuple[str, str]] = field(default_factory=Counter)
    flows: Counter[tuple[str, str]] = field(default_factory=Counter)
    days: Counter[tuple[str, str]] = field(default_factory=Counter)
    reasons: Counter[tuple[str, str]] = field(default_factory=Counter)
    first_at: str | None = None
    last_at: str | None = None

    def add(self, other: _Tally) -> None:
        self.totals.update(other.totals)
        self.patterns.update(other.patterns)
        self.flows.update(other.flows)
        self.days.update(other.days)
        self.reasons.update(other.reasons)
        if other.first_at is not None and (self.first_at is None or other.first_at < self.first_at):
            self.first_at = other.first_at
        if other.last_at is not None and (self.last_at is None or other.last_at > self.last_at):
            self.last_at = other.last_at


class StatsBuilder:
    """Counts sessions given one at a time; `result()` is the figures so far.

    `flow`: count only the sessions that started this flow (in the turns given).
    `top`: how many dropped-command reasons `result` lists; `examples`: the example
    turns kept for each."""

    def __init__(self, *, flow: str | None = None, top: int = 10, examples: int = EXAMPLES):
        self.flow = flow
        self.top = top
        self._all = _Tally()
        self._examples: dict[str, deque[ExampleTurn]] = {}
        self._keep = examples

    def add_session(self, imported: bool, turns: Iterable[TurnFacts]) -> bool:
        """Count one session's turns (oldest first); whether it was counted (a session
        with no turn given, or without the `flow` asked for, is not)."""
        tally = _Tally()
        examples: list[tuple[str, ExampleTurn]] = []
        started: set[str] = set()
        hit: set[str] = set()
        runs: Counter[str] = Counter()
        days: set[str] = set()
        reasons: set[str] = set()
        for turn in turns:
            if turn.unreadable:
                tally.totals["unreadable_turns"] += 1
                continue
            days.add(turn.day)
            _count_turn(turn, tally, started, hit, runs)
            for reason in dict.fromkeys(turn.dropped):
                examples.append((reason, ExampleTurn(turn.session_id, turn.index)))
                reasons.add(reason)
            if tally.first_at is None or turn.started_at < tally.first_at:
                tally.first_at = turn.started_at
            if tally.last_at is None or turn.started_at > tally.last_at:
                tally.last_at = turn.started_at
        if not days and not tally.totals["unreadable_turns"]:
            return False
        if self.flow is not None and self.flow not in started:
            return False
        tally.totals["sessions"] += 1
        tally.totals["imported_sessions" if imported else "local_sessions"] += 1
        for flow_id in started:
            tally.flows[(flow_id, "sessions")] += 1
        for name in hit:
            tally.patterns[(name, "sessions")] += 1
        for day in days:
            tally.days[(day, "sessions")] += 1
        for reason in reasons:
            tally.reasons[(reason, "sessions")] += 1
        self._all.add(tally)
        for reason, example in examples:
            self._examples.setdefault(reason, deque(maxlen=self._keep)).append(example)
        return True

    def result(self) -> ConversationStats:
        tally = self._all
        totals = tally.totals
        sessions, turns = totals["sessions"], totals["turns"]
        patterns = tuple(
            PatternRow(
                name,
                flow_id,
                tally.patterns[(name, "started")],
                tally.patterns[(name, "sessions")],
                rate(tally.patterns[(name, "sessions")], sessions),
                tally.patterns[(name, "turns")],
                rate(tally.patterns[(name, "turns")], turns),
            )
            for name, flow_id in WATCHED
        )
        flows = sorted({flow_id for flow_id, _ in tally.flows})
        flow_rows = tuple(
            sorted(
                (_flow_row(flow_id, tally.flows) for flow_id in flows),
                key=lambda row: (-row.started, row.flow),
            )
        )
        day_rows = tuple(_day_row(day, tally.days) for day in sorted({d for d, _ in tally.days}))
        ranked = sorted(
            {reason for reason, _ in tally.reasons},
            key=lambda reason: (-tally.reasons[(reason, "count")], reason),
        )
        reason_rows = tuple(
            ReasonRow(
                reason,
                tally.reasons[(reason, "count")],
                tally.reasons[(reason, "turns")],
                tally.reasons[(reason, "sessions")],
                tuple(self._examples.get(reason, ())),
            )
            for reason in ranked[: self.top]
        )
        return ConversationStats(
            sessions=sessions,
            local_sessions=totals["local_sessions"],
            imported_sessions=totals["imported_sessions"],
            turns=turns,
            first_turn_at=tally.first_at,
            last_turn_at=tally.last_at,
            flows_started=totals["flows_started"],
            flows_completed=totals["flows_completed"],
            flows_cancelled=totals["flows_cancelled"],
            dropped_commands=totals["dropped_commands"],
            turns_with_dropped=totals["turns_with_dropped"],
            unreadable_turns=totals["unreadable_turns"],
            patterns=patterns,
            flows=flow_rows,
            dropped_reasons=reason_rows,
            other_reasons=max(0, len(ranked) - self.top),
            days=day_rows,
        )


def _count_turn(
    turn: TurnFacts, tally: _Tally, started: set[str], hit: set[str], runs: Counter[str]
) -> None:
    """Add one readable turn to its session's tally; `started` and `hit` gather the flows
    the session started and the patterns it hit, `runs` the runs of each flow still open."""
    day = turn.day
    if not turn.greeting:
        tally.totals["turns"] += 1
        tally.days[(day, "turns")] += 1
    current = turn.stack_flow
    # after pattern_cancel_flow started, until a user flow starts, a flow that ends was
    # cancelled: Rasa logs no flow_cancelled when it cancels a flow itself (after an
    # internal error), only the flow_completed of the flow's END step
    cancelling = False
    hit_here: set[str] = set()
    for kind, flow_id in turn.flow_events:
        if not flow_id:
            continue
        if is_pattern(flow_id):
            name = _WATCHED_BY_FLOW.get(flow_id)
            if kind != "flow_started" or name is None:
                continue
            cancelling = cancelling or name == "cancel"
            hit_here.add(name)
            tally.patterns[(name, "started")] += 1
            tally.days[(day, _FIELDS[name])] += 1
            if current is not None and name != "cancel":
                tally.flows[(current, _FIELDS[name])] += 1
            continue
        if kind in ("flow_started", "flow_resumed"):
            current = flow_id
        if kind == "flow_started":
            cancelling = False
            started.add(flow_id)
            runs[flow_id] += 1
            tally.flows[(flow_id, "started")] += 1
            tally.totals["flows_started"] += 1
            tally.days[(day, "flows_started")] += 1
        elif kind == "flow_interrupted":
            tally.flows[(flow_id, "interrupted")] += 1
        elif kind in _ENDINGS and runs[flow_id] > 0:
            # a run ends once: a cancelled flow is then completed by its END step (as
            # Rasa logs it), and a run started before the turns counted is not theirs
            runs[flow_id] -= 1
            outcome = "cancelled" if cancelling else _ENDINGS[kind]
            tally.flows[(flow_id, outcome)] += 1
            tally.totals[f"flows_{outcome}"] += 1
            if outcome == "completed":
                tally.days[(day, "flows_completed")] += 1
    for name in hit_here:
        tally.patterns[(name, "turns")] += 1
    hit |= hit_here
    if turn.dropped:
        tally.totals["dropped_commands"] += len(turn.dropped)
        tally.totals["turns_with_dropped"] += 1
        tally.days[(day, "dropped")] += len(turn.dropped)
        for reason, count in Counter(turn.dropped).items():
            tally.reasons[(reason, "count")] += count
            tally.reasons[(reason, "turns")] += 1


# the field of a day's or a flow's row that counts a watched pattern
_FIELDS = {
    "cancel": "cancels",
    "internal_error": "internal_errors",
    "cannot_handle": "cannot_handle",
    "human_handoff": "human_handoffs",
}


def _flow_row(flow_id: str, counts: Counter[tuple[str, str]]) -> FlowRow:
    started, completed = counts[(flow_id, "started")], counts[(flow_id, "completed")]
    return FlowRow(
        flow=flow_id,
        sessions=counts[(flow_id, "sessions")],
        started=started,
        completed=completed,
        cancelled=counts[(flow_id, "cancelled")],
        interrupted=counts[(flow_id, "interrupted")],
        completion_rate=rate(completed, started),
        internal_errors=counts[(flow_id, "internal_errors")],
        cannot_handle=counts[(flow_id, "cannot_handle")],
        human_handoffs=counts[(flow_id, "human_handoffs")],
    )


def _day_row(day: str, counts: Counter[tuple[str, str]]) -> DayRow:
    return DayRow(
        day=day,
        sessions=counts[(day, "sessions")],
        turns=counts[(day, "turns")],
        flows_started=counts[(day, "flows_started")],
        flows_completed=counts[(day, "flows_completed")],
        cancels=counts[(day, "cancels")],
        internal_errors=counts[(day, "internal_errors")],
        cannot_handle=counts[(day, "cannot_handle")],
        human_handoffs=counts[(day, "human_handoffs")],
        dropped=counts[(day, "dropped")],
    )


__all__ = [
    "EXAMPLES",
    "WATCHED",
    "ConversationStats",
    "DayRow",
    "ExampleTurn",
    "FlowRow",
    "PatternRow",
    "ReasonRow",
    "StatsBuilder",
    "TurnFacts",
    "rate",
    "turn_facts",
]
