"""The whole conversation derived from its turns (workbench.trace.history, no Textual):
the event log across turns, the flow timeline and the tracker state."""

from __future__ import annotations

import json

import pytest
from history_helpers import SENDER, interrupted_conversation

from workbench.trace import history
from workbench.trace.records import CommandRecord, DroppedRecord, Event, StackFrame
from workbench.trace.turn import TurnTrace


@pytest.fixture(scope="module")
def traces(tmp_path_factory) -> list[TurnTrace]:
    return interrupted_conversation(tmp_path_factory.mktemp("history"))[1]


# --- the log --------------------------------------------------------------------------------


def test_the_log_runs_across_every_turn_with_the_turn_on_each_row(traces):
    rows = history.conversation_log(traces)
    assert [row.turn for row in rows] == sorted(row.turn for row in rows)
    assert {row.turn for row in rows} == {0, 1, 2, 3, 4}
    assert len(rows) >= sum(len(t.events) for t in traces)
    texts = [(row.turn, row.text) for row in rows]
    assert (1, 'user "where is my order"') in texts
    assert (2, "flow_interrupted check_order_status") in texts
    assert (4, "flow_cancelled check_order_status") in texts


def test_a_turns_commands_follow_its_user_message(traces):
    rows = history.turn_rows(traces[2])
    at = next(i for i, row in enumerate(rows) if row.kind == "user")
    assert rows[at + 1] == history.LogRow(2, history.COMMAND, "command", "start flow return_item")


def test_events_fall_into_the_filter_categories(traces):
    rows = history.conversation_log(traces)
    by_kind = {row.kind: row.category for row in rows}
    assert by_kind["user"] == by_kind["bot"] == history.CHAT
    assert history.category_of(Event("slot", {"name": "a"})) == history.SLOT
    assert history.category_of(Event("session_started")) == history.FLOW
    assert by_kind["stack"] == history.STACK
    assert by_kind["action"] == history.ACTION
    assert by_kind["flow_started"] == by_kind["flow_cancelled"] == history.FLOW
    assert by_kind["command"] == history.COMMAND
    listen = next(row for row in rows if row.text == "action action_listen")
    pattern = next(row for row in rows if row.text == "flow_started pattern_session_start")
    assert listen.quiet and pattern.quiet
    assert not next(row for row in rows if row.kind == "user").quiet


def test_a_filter_keeps_its_categories_and_every_problem():
    trace = TurnTrace(
        index=3,
        user_text="hi",
        commands=[CommandRecord("start flow", {"flow": "x"}, "start flow x")],
        dropped=[DroppedRecord("no such flow", CommandRecord("start flow", {"flow": "y"}))],
        events=[
            Event("user", {"text": "hi"}),
            Event("slot", {"name": "a", "value": 1}),
            Event("error", {"message": "it broke"}),
        ],
        errors=["it broke", "the store is gone"],
    )
    rows = history.turn_rows(trace)
    assert [row.kind for row in rows] == ["user", "command", "dropped", "slot", "error", "error"]
    assert rows[-1].text == "error: the store is gone"  # one not already an event
    slots = history.shown_rows(rows, frozenset({history.SLOT}))
    assert [row.kind for row in slots] == ["slot", "error", "error"]
    assert history.turn_lines(rows, 3) == (0, 5)
    assert history.turn_lines(rows, 4) is None


def test_commands_of_a_turn_without_a_user_event_come_first():
    trace = TurnTrace(
        index=0,
        user_text="/set",
        commands=[CommandRecord("set slot", {"slot": "a", "value": 1})],
        events=[Event("slot", {"name": "a", "value": 1})],
    )
    assert [row.kind for row in history.turn_rows(trace)] == ["command", "slot"]


# --- the timeline ---------------------------------------------------------------------------


def test_the_timeline_follows_starts_interrupts_resumes_and_ends(traces):
    runs = {run.flow_id: run for run in history.flow_timeline(traces) if not run.pattern}
    turns = [t.index for t in traces]
    order = runs["check_order_status"]
    assert (order.started, order.ended, order.outcome) == (1, 4, history.CANCELLED)
    assert order.interrupted_by == ["return_item"]
    assert history.timeline_bar(order, turns) == "·▶╌▷✗"
    assert history.run_summary(order) == [
        "turns 1–4 · cancelled",
        "interrupted by return_item in 2",
        "resumed in 3",
    ]
    # cancelling check_order_status brings return_item back: no event says so, the stack does
    returns = runs["return_item"]
    assert returns.running and returns.interrupted_by == ["check_order_status"]
    assert history.timeline_bar(returns, turns) == "··▶╌▷"
    assert history.run_summary(returns)[0] == "turn 2– · running"


def test_a_run_whose_frame_leaves_the_stack_without_an_end_event_ends_there():
    frame = StackFrame("f1", "flow", "greet", "ask", "regular")
    started = Event("flow_started", {"flow_id": "greet", "metadata": {"frame_id": "f1"}})
    traces = [
        TurnTrace(index=0, user_text="hi", events=[started], stack_after=[frame]),
        TurnTrace(index=1, user_text="more", stack_before=[frame], stack_after=[frame]),
        TurnTrace(index=2, user_text="/restart", stack_before=[frame]),
    ]
    (run,) = history.flow_timeline(traces)
    assert (run.ended, run.outcome) == (2, history.ENDED)
    assert history.timeline_bar(run, [0, 1, 2, 3]) == "▶━■·"


def test_patterns_are_runs_too_and_an_unknown_flow_end_is_ignored(traces):
    runs = history.flow_timeline(traces)
    assert runs[0].flow_id == "pattern_session_start"
    assert runs[0].pattern and runs[0].outcome == history.COMPLETED
    orphan = TurnTrace(
        index=0, user_text="x", events=[Event("flow_completed", {"flow_id": "nowhere"})]
    )
    assert history.flow_timeline([orphan]) == []


def test_the_ruler_numbers_every_fifth_turn():
    assert history.turn_ruler([0, 1, 2, 3, 4, 5, 6]) == "0····5·"
    assert history.turn_ruler(list(range(8, 12))) == "8·10"
    assert len(history.turn_ruler(list(range(3, 23)))) == 20


# --- the tracker ----------------------------------------------------------------------------


def test_the_tracker_state_has_rasas_shape(traces):
    state = history.tracker_state(traces, sender_id=SENDER)
    assert list(state)[:3] == ["sender_id", "slots", "latest_message"]
    for key in ("events", "stack", "latest_action_name", "followup_action", "active_loop"):
        assert key in state
    assert state["sender_id"] == SENDER
    assert state["slots"] == traces[-1].slots_after
    assert state["active_flow"] == "return_item"
    assert state["stack"] == [frame.as_dict() for frame in traces[-1].stack_after]
    message = state["latest_message"]
    assert isinstance(message, dict)
    assert message["text"] == "stop"
    assert message["commands"] == [{"command": "cancel flow"}]
    events = state["events"]
    assert isinstance(events, list)
    assert len(events) == sum(len(t.events) for t in traces)
    assert state["latest_action_name"] == "action_listen"
    assert json.loads(history.tracker_json(state)) == state


def test_the_tracker_after_an_earlier_turn_and_without_workbench_events(traces):
    state = history.tracker_state(traces, upto=1)
    assert state["sender_id"] is None
    assert state["active_flow"] == "check_order_status"
    assert state["slots"] == traces[1].slots_after
    message = state["latest_message"]
    assert isinstance(message, dict) and message["text"] == "where is my order"
    events = state["events"]
    assert isinstance(events, list)
    assert len(events) == len(traces[0].events) + len(traces[1].events)
    noisy = TurnTrace(
        index=0,
        user_text="x",
        events=[Event("error", {"message": "m"}), Event("notice", {"message": "n"})],
    )
    empty = history.tracker_state([noisy])
    assert empty["events"] == [] and empty["latest_message"] is None
    assert history.tracker_state([])["slots"] == {}


def test_the_tracker_json_escapes_what_a_terminal_would_obey():
    trace = TurnTrace(index=0, user_text="x", slots_after={"name": "evil\x1b[2J\u202e"})
    text = history.tracker_json(history.tracker_state([trace]))
    assert "\x1b" not in text and "\u202e" not in text
    assert json.loads(text)["slots"]["name"] == "evil\x1b[2J\u202e"
