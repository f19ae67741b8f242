"""The engine at `call` steps that are not flows (Rasa 3.21's `mcp_tool_executor` and
`agent_executor`): it asks for the call in its prediction and settles the outcome it is
handed. No I/O here: the outcomes are made by hand, as a server or an agent would give
them (the real servers and model loops are tested in test_mcp_client / test_agent_loop /
test_agent_sessions)."""

from __future__ import annotations

from pathlib import Path

from workbench.calm.commands import CannotHandle, ContinueAgent, RestartAgent, SetSlot, StartFlow
from workbench.calm.external import (
    CANCELLED,
    COMPLETED,
    FATAL_ERROR,
    INPUT_REQUIRED,
    AgentCallRequest,
    AgentOutcome,
    ToolCallRequest,
    ToolOutcome,
    ToolResult,
)
from workbench.calm.names import (
    ACTION_AGENT_REQUEST_USER_INPUT,
    ACTION_LISTEN,
    ACTION_SEND_TEXT,
    PATTERN_INTERNAL_ERROR,
)
from workbench.engine.core import Engine
from workbench.engine.policy import Prediction
from workbench.engine.stack import AGENT
from workbench.engine.tracker import Tracker
from workbench.project.loader import load_project
from workbench.project.validate import BUILTIN_ACTIONS

COMPAT = Path(__file__).parent / "fixtures" / "compat"


def setup():
    project = load_project(COMPAT).project
    return project, Engine(project), Tracker(project)


def predict_call(engine: Engine, tracker: Tracker) -> Prediction:
    """Predict until the engine asks for a call (running the built-ins it predicts)."""
    for _ in range(20):
        prediction = engine.predict(tracker)
        if prediction.call is not None:
            return prediction
        assert prediction.action in BUILTIN_ACTIONS | {"utter_ask_order_id"}, prediction
        for effect in engine.run_builtin(prediction.action, tracker):
            if isinstance(effect, dict):
                tracker.add(effect)
        assert prediction.action != ACTION_LISTEN, "no call was asked for"
    raise AssertionError("no call")


def next_action(engine: Engine, tracker: Tracker) -> str:
    """The next action that is not a built-in (the built-ins run on the way)."""
    while True:
        action = engine.predict(tracker).action
        if action not in BUILTIN_ACTIONS - {ACTION_LISTEN}:
            return action
        for effect in engine.run_builtin(action, tracker):
            if isinstance(effect, dict):
                tracker.add(effect)


def wire(structured: dict, is_error: bool = False) -> ToolResult:
    return ToolResult({"content": [], "structuredContent": structured, "isError": is_error})


def events_of(tracker: Tracker, kind: str, first: int = 0) -> list[dict]:
    return [e for e in tracker.events[first:] if e["event"] == kind]


def top_types(tracker: Tracker) -> list[str]:
    return [f.type for f in tracker.stack]


# --- MCP tool calls ----------------------------------------------------------------------------


def start_tracking(engine: Engine, tracker: Tracker) -> ToolCallRequest:
    engine.apply([StartFlow("track_parcel"), SetSlot("tracking_number", "ZX99")], tracker)
    prediction = predict_call(engine, tracker)
    assert isinstance(prediction.call, ToolCallRequest)
    assert prediction.action == ""
    return prediction.call


def test_a_tool_call_is_asked_for_with_the_input_mapping():
    _, engine, tracker = setup()
    request = start_tracking(engine, tracker)
    assert request == ToolCallRequest(
        "carrier_tools",
        "track_shipment",
        {"tracking_number": "ZX99"},
        "track_parcel",
        "track_parcel_1_call_track_shipment",
    )


def test_the_output_mapping_sets_slots_and_the_flow_goes_on():
    _, engine, tracker = setup()
    request = start_tracking(engine, tracker)
    first = len(tracker.events)
    action = engine.settle_call(tracker, request, ToolOutcome(wire({"status": "in transit"})))
    assert action is None
    assert tracker.slots["shipment_status"] == "in transit"
    executed = events_of(tracker, "mcp_tool_executed", first)
    assert executed[0]["tool_name"] == "track_shipment"
    assert executed[0]["is_error"] is False
    assert executed[0]["result"]["structuredContent"] == {"status": "in transit"}
    assert engine.predict(tracker).action == "utter_shipment_status"


def test_lists_and_dicts_become_json_text_as_in_rasa():
    _, engine, tracker = setup()
    request = start_tracking(engine, tracker)
    engine.settle_call(tracker, request, ToolOutcome(wire({"status": ["a", "b"]})))
    assert tracker.slots["shipment_status"] == '["a", "b"]'


def assert_internal_error(tracker: Tracker, fragment: str) -> None:
    top = tracker.stack.top()
    assert top is not None and top.type == PATTERN_INTERNAL_ERROR
    info = top.context["info"]
    assert fragment in info["error_message"], info
    errors = [e["message"] for e in events_of(tracker, "error")]
    assert any(fragment in m for m in errors), errors


def test_a_server_that_is_down_starts_the_internal_error_pattern():
    _, engine, tracker = setup()
    request = start_tracking(engine, tracker)
    reason = "cannot connect to http://127.0.0.1:8765/mcp"
    assert engine.settle_call(tracker, request, ToolOutcome(error=reason)) is None
    assert_internal_error(tracker, reason)
    assert tracker.stack.top().context["info"]["tool_name"] == "track_shipment"
    assert events_of(tracker, "mcp_tool_executed")[0]["is_error"] is True
    assert tracker.slots["shipment_status"] is None


def test_a_tool_error_result_starts_the_internal_error_pattern():
    _, engine, tracker = setup()
    request = start_tracking(engine, tracker)
    result = ToolResult({"content": [{"type": "text", "text": "no such parcel"}], "isError": True})
    engine.settle_call(tracker, request, ToolOutcome(result))
    assert_internal_error(tracker, "Tool 'track_shipment' execution failed: no such parcel")


def test_a_missing_field_gives_none_as_in_rasa_and_the_flow_branches_on_it():
    _, engine, tracker = setup()
    request = start_tracking(engine, tracker)
    engine.settle_call(tracker, request, ToolOutcome(wire({"state": "lost"})))
    assert tracker.slots["shipment_status"] is None
    assert engine.predict(tracker).action == "utter_no_status"


def test_a_result_the_mapping_cannot_read_starts_the_internal_error_pattern():
    _, engine, tracker = setup()
    request = start_tracking(engine, tracker)
    text_only = ToolResult({"content": [{"type": "text", "text": "in transit"}]})
    engine.settle_call(tracker, request, ToolOutcome(text_only))
    assert_internal_error(tracker, "Failed to process tool result for 'track_shipment'")


# --- sub-agents --------------------------------------------------------------------------------


def start_agent(engine: Engine, tracker: Tracker) -> AgentCallRequest:
    engine.apply([StartFlow("check_order"), SetSlot("order_id", "A1001")], tracker)
    prediction = predict_call(engine, tracker)
    assert isinstance(prediction.call, AgentCallRequest)
    return prediction.call


def test_an_agent_call_is_asked_for_with_its_exit_conditions():
    _, engine, tracker = setup()
    request = start_agent(engine, tracker)
    assert request == AgentCallRequest(
        "order_assistant",
        "check_order",
        "check_order_1_call_order_assistant",
        ("slots.order_status is not null",),
    )


def test_an_agent_asking_waits_on_the_stack_and_gets_the_next_turn():
    _, engine, tracker = setup()
    request = start_agent(engine, tracker)
    asked = AgentOutcome(INPUT_REQUIRED, message="Which store did you buy it in?")
    assert engine.settle_call(tracker, request, asked) == ACTION_AGENT_REQUEST_USER_INPUT
    assert top_types(tracker)[-1] == AGENT
    frame = tracker.stack.top()
    assert frame.context == {"agent_id": "order_assistant", "state": "waiting_for_input"}
    assert frame.flow_id == "check_order"
    sent = engine.run_builtin(ACTION_AGENT_REQUEST_USER_INPUT, tracker)
    assert sent[0]["text"] == "Which store did you buy it in?"
    assert sent[0]["metadata"] == {"agent_name": "order_assistant"}
    assert events_of(tracker, "agent_started")[0]["agent_id"] == "order_assistant"
    # the next user turn: the agent gets it (nothing else understood it)
    cleaned = engine.clean([CannotHandle()], tracker)
    assert cleaned.commands == [ContinueAgent()]
    engine.apply(cleaned.commands, tracker)
    again = engine.predict(tracker)
    assert again.call == AgentCallRequest(
        "order_assistant",
        "check_order",
        "check_order_1_call_order_assistant",
        ("slots.order_status is not null",),
    )
    done = AgentOutcome(COMPLETED, slots=(("order_status", "shipped"),))
    assert engine.settle_call(tracker, again.call, done) is None
    assert AGENT not in top_types(tracker)
    assert tracker.slots["order_status"] == "shipped"
    assert len(events_of(tracker, "agent_started")) == 1
    assert events_of(tracker, "agent_completed")[0]["flow_id"] == "check_order"
    assert engine.predict(tracker).action == "utter_order_checked"


def test_a_completed_agent_with_a_message_sends_it_then_the_flow_goes_on():
    _, engine, tracker = setup()
    request = start_agent(engine, tracker)
    done = AgentOutcome(COMPLETED, message="It has shipped.", slots=(("order_status", "x"),))
    assert engine.settle_call(tracker, request, done) == ACTION_SEND_TEXT
    assert engine.run_builtin(ACTION_SEND_TEXT, tracker)[0]["text"] == "It has shipped."
    assert engine.predict(tracker).action == "utter_order_checked"


def test_an_agent_sets_only_its_exit_slots():
    _, engine, tracker = setup()
    request = start_agent(engine, tracker)
    sneaky = AgentOutcome(
        COMPLETED, slots=(("order_id", "B2"), ("order_status", "ok"), ("is_admin", True))
    )
    engine.settle_call(tracker, request, sneaky)
    assert tracker.slots["order_id"] == "A1001"
    assert tracker.slots["order_status"] == "ok"
    assert "is_admin" not in tracker.slots
    errors = [e["message"] for e in events_of(tracker, "error")]
    assert errors == [
        "agent order_assistant may not set slot 'order_id'; ignored",
        "agent order_assistant may not set slot 'is_admin'; ignored",
    ]


def test_a_failing_agent_ends_its_flow_and_starts_the_internal_error_pattern():
    _, engine, tracker = setup()
    request = start_agent(engine, tracker)
    engine.settle_call(tracker, request, AgentOutcome(INPUT_REQUIRED, message="?"))
    again = engine.predict(tracker).call
    failed = AgentOutcome(FATAL_ERROR, error="the agent did not finish within 10 model steps")
    assert engine.settle_call(tracker, again, failed) is None
    assert_internal_error(tracker, "did not finish within 10 model steps")
    assert AGENT not in top_types(tracker)
    assert events_of(tracker, "flow_cancelled")[0]["flow_id"] == "check_order"
    cancelled = events_of(tracker, "agent_cancelled")
    assert cancelled[0]["reason"] == "the agent did not finish within 10 model steps"
    # the internal error is uttered, then the ended flow is gone: utter_order_checked never
    actions = []
    for _ in range(10):
        action = engine.predict(tracker).action
        actions.append(action)
        if action == ACTION_LISTEN:
            break
    assert "utter_order_checked" not in actions
    assert all(f.type != "flow" for f in tracker.stack)


def test_a_cancelled_agent_ends_its_flow_quietly():
    _, engine, tracker = setup()
    request = start_agent(engine, tracker)
    engine.settle_call(tracker, request, AgentOutcome(CANCELLED, message="user gave up"))
    assert PATTERN_INTERNAL_ERROR not in top_types(tracker)
    assert engine.predict(tracker).action == ACTION_LISTEN
    assert list(tracker.stack) == []


def test_a_flow_started_over_a_waiting_agent_interrupts_it_and_it_resumes_after():
    _, engine, tracker = setup()
    request = start_agent(engine, tracker)
    engine.settle_call(tracker, request, AgentOutcome(INPUT_REQUIRED, message="?"))
    engine.apply([StartFlow("track_parcel")], tracker)
    assert next_action(engine, tracker) == "utter_ask_tracking_number"
    assert engine.predict(tracker).action == ACTION_LISTEN
    frame = next(f for f in tracker.stack if f.type == AGENT)
    assert frame.context["state"] == "interrupted"
    engine.apply([SetSlot("tracking_number", "ZX1")], tracker)
    tool = predict_call(engine, tracker).call
    engine.settle_call(tracker, tool, ToolOutcome(wire({"status": "here"})))
    assert engine.predict(tracker).action == "utter_shipment_status"
    # as after any interruption, the user is asked whether to go on with the agent's flow
    assert next_action(engine, tracker) == "utter_ask_continue_interrupted_flow_confirmation"
    assert next(f for f in tracker.stack if f.type == AGENT).context["state"] == "interrupted"
    # once the frames above it are gone, the agent gets the turn again, resumed
    while tracker.stack.top().type != AGENT:
        tracker.stack.pop()
    resumed = engine.predict(tracker)
    assert isinstance(resumed.call, AgentCallRequest)
    assert resumed.call.resumed is True
    done = AgentOutcome(COMPLETED, slots=(("order_status", "a"),))
    engine.settle_call(tracker, resumed.call, done)
    assert events_of(tracker, "agent_resumed")[0]["agent_id"] == "order_assistant"
    assert engine.predict(tracker).action == "utter_order_checked"


def test_cancelling_the_flow_cancels_its_waiting_agent():
    _, engine, tracker = setup()
    request = start_agent(engine, tracker)
    engine.settle_call(tracker, request, AgentOutcome(INPUT_REQUIRED, message="?"))
    from workbench.calm.commands import CancelFlow

    engine.apply(engine.clean([CancelFlow()], tracker).commands, tracker)
    actions = []
    for _ in range(20):
        prediction = engine.predict(tracker)
        assert prediction.call is None, "a cancelled flow's agent is not called again"
        actions.append(prediction.action)
        if prediction.action == ACTION_LISTEN:
            break
        for effect in (
            engine.run_builtin(prediction.action, tracker)
            if prediction.action in BUILTIN_ACTIONS
            else []
        ):
            if isinstance(effect, dict):
                tracker.add(effect)
    assert AGENT not in top_types(tracker)
    assert events_of(tracker, "agent_cancelled")[0]["agent_id"] == "order_assistant"


def test_agent_commands_are_dropped_when_they_do_not_apply():
    _, engine, tracker = setup()
    cleaned = engine.clean([ContinueAgent(), RestartAgent("order_assistant")], tracker)
    assert cleaned.commands == []
    reasons = [d.reason for d in cleaned.dropped]
    assert reasons == [
        "no agent is active",
        "agent order_assistant has not completed, so it cannot be restarted",
    ]
    assert engine.clean([RestartAgent("nobody")], tracker).dropped[0].reason == (
        "'nobody' is no agent of this project"
    )


def test_restart_agent_runs_a_completed_agent_again_with_its_exit_slots_reset():
    _, engine, tracker = setup()
    request = start_agent(engine, tracker)
    engine.settle_call(tracker, request, AgentOutcome(COMPLETED, slots=(("order_status", "x"),)))
    while engine.predict(tracker).action != ACTION_LISTEN:
        pass
    cleaned = engine.clean([RestartAgent("order_assistant")], tracker)
    assert cleaned.commands == [RestartAgent("order_assistant")]
    engine.apply(cleaned.commands, tracker)
    again = engine.predict(tracker)
    assert isinstance(again.call, AgentCallRequest)
    assert again.call.restarted is True
    assert tracker.slots["order_status"] is None


def test_restart_agent_is_refused_while_a_later_run_of_the_agent_is_under_way():
    """As Rasa's `is_agent_completed`: the agent's latest run must have completed."""
    _, engine, tracker = setup()
    request = start_agent(engine, tracker)
    engine.settle_call(tracker, request, AgentOutcome(COMPLETED, slots=(("order_status", "x"),)))
    while engine.predict(tracker).action != ACTION_LISTEN:
        pass
    engine.apply(engine.clean([RestartAgent("order_assistant")], tracker).commands, tracker)
    again = engine.predict(tracker).call
    engine.settle_call(tracker, again, AgentOutcome(INPUT_REQUIRED, message="?"))
    cleaned = engine.clean([RestartAgent("order_assistant")], tracker)
    assert cleaned.commands == [ContinueAgent()]  # nothing else is left: the agent goes on
    assert [d.reason for d in cleaned.dropped] == [
        "agent order_assistant has not completed, so it cannot be restarted"
    ]
