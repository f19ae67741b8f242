"""The text of MCP tool calls, sub-agent turns and agent frames: the rows `shell --debug`
and `sessions show -v` print (trace/text.py, the one renderer), through the store and
through a real shell on the compat fixture whose MCP server is not running."""

from __future__ import annotations

import io
import shutil
import socket
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from tests.test_tui_agents import agent_loop
from workbench.calm.external import AgentStep
from workbench.cli.main import main
from workbench.store import SessionStore
from workbench.trace.calls import AGENT, STUB, TOOL, CallRecord
from workbench.trace.records import StackFrame
from workbench.trace.text import (
    agent_step_text,
    call_rows,
    frame_cells,
    frame_text,
    tool_result_text,
    trace_rows,
)
from workbench.trace.turn import TurnTrace

COMPAT = Path(__file__).parent / "fixtures" / "compat"

TOOL_CALL = CallRecord(
    kind=TOOL,
    name="track_shipment",
    flow_id="track_parcel",
    step_id="track_parcel_1_call_track_shipment",
    status="ok",
    server="carrier_tools",
    arguments={"tracking_number": "1Z999"},
    result={
        "content": [{"type": "text", "text": '{"status": "in transit"}'}],
        "structuredContent": {"status": "in transit"},
    },
    duration_ms=3.25,
    source=STUB,
)
WAITING = CallRecord(
    kind=AGENT,
    name="order_assistant",
    flow_id="check_order",
    step_id="check_order_1_call_order_assistant",
    status="input_required",
    message="Which order do you mean?",
    exit_if=("slots.order_status is not null",),
)
AGENT_FRAME = StackFrame.from_dict(
    {
        "frame_id": "F2",
        "type": "agent",
        "flow_id": "check_order",
        "step_id": "check_order_1_call_order_assistant",
        "agent_id": "order_assistant",
        "state": "waiting_for_input",
    }
)


def test_a_tool_call_reads_as_headline_place_arguments_and_result():
    assert call_rows(TOOL_CALL) == [
        ("call", "tool track_shipment @carrier_tools: ok · stub · 3.2 ms"),
        ("at", "track_parcel @ 1_call_track_shipment"),
        ("arguments", '{"tracking_number": "1Z999"}'),
        ("result", '{"status": "in transit"}'),
    ]


def test_a_failed_tool_call_shows_its_error_and_no_result():
    failed = CallRecord(
        kind=TOOL,
        name="track_shipment",
        flow_id="track_parcel",
        step_id="s1",
        status="error",
        server="carrier_tools",
        error="MCP server 'carrier_tools': connection refused",
    )
    rows = call_rows(failed)
    assert rows[0] == ("call", "tool track_shipment @carrier_tools: error · live · 0.0 ms")
    assert ("error", "MCP server 'carrier_tools': connection refused") in rows
    assert "result" not in dict(rows)


def test_a_tool_result_is_its_structured_content_else_its_text():
    assert tool_result_text({"structuredContent": {"a": 1}}, indent=2) == '{\n  "a": 1\n}'
    two_parts = {"content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]}
    assert tool_result_text(two_parts) == "one\ntwo"
    assert (
        tool_result_text({"content": [], "isError": False}) == '{"content": [], "isError": false}'
    )
    assert tool_result_text(None) == "(nothing)"
    # what a tool says cannot act on a terminal
    assert tool_result_text({"content": [{"type": "text", "text": "\x1b[2J"}]}) == "␛[2J"


def test_an_agent_turn_reads_as_its_exit_conditions_steps_message_and_slots():
    record = replace(agent_loop(WAITING), status="completed", slots=(("order_status", "shipped"),))
    rows = call_rows(record)
    assert rows == [
        (
            "call",
            "agent order_assistant: completed · stub · 812.5 ms · 800+30 tokens · $0.0012",
        ),
        ("at", "check_order @ 1_call_order_assistant"),
        ("model", "openai/gpt-4o-mini"),
        ("exit if", "slots.order_status is not null"),
        ("prompt", f"{len(record.prompt or '')} characters"),
        (
            "step 1",
            "model 'Let me look that up.' → calls track_shipment(id='A1') · 800+30 tokens · 420 ms",
        ),
        ("step 2", "tool track_shipment(id='A1') → shipped · 31 ms"),
        ("step 3", "set_slot set_slot_order_status(slot_value='shipped') → 'shipped'"),
        ("step 4", "exit check order_status='shipped' → met"),
        ("message", "Which order do you mean?"),
        ("sets", "order_status='shipped'"),
    ]


def test_agent_steps_that_failed_say_why():
    assert agent_step_text(AgentStep("tool", name="x", arguments={}, error="boom")) == (
        "tool x() → error: boom"
    )
    unmet = AgentStep("exit_check", arguments={"slots": {"order_status": None}}, result=False)
    assert agent_step_text(unmet) == "exit check order_status=null → not met"
    broken = AgentStep("exit_check", error="exit condition 'slots.x ==': syntax")
    assert (
        agent_step_text(broken) == "exit check not evaluated: exit condition 'slots.x ==': syntax"
    )
    assert agent_step_text(AgentStep("model", text="Which one?")) == "model 'Which one?'"


def test_an_agent_frame_names_its_agent_state_and_the_step_that_called_it():
    assert frame_text(AGENT_FRAME) == (
        "agent order_assistant · waiting for input (for check_order @ 1_call_order_assistant)"
    )
    first, second = frame_cells(AGENT_FRAME)
    assert first.plain == (
        "agent order_assistant · waiting for input\nfor check_order @ 1_call_order_assistant"
    )
    assert second.plain == "agent"
    flow = StackFrame("F1", "flow", "check_order", "check_order_0_collect_order_id")
    assert frame_text(flow) == "check_order (regular) @ check_order_0_collect_order_id"


def test_the_turn_rows_end_with_every_call_in_order():
    trace = TurnTrace(index=3, user_text="A1", calls=[TOOL_CALL, WAITING])
    labels = [label for label, _ in trace_rows(trace)]
    calls = [text for label, text in trace_rows(trace) if label == "call"]
    assert calls[0].startswith("tool track_shipment") and calls[1].startswith("agent")
    assert labels.index("call") > labels.index("commands")


def test_sessions_show_verbose_prints_the_calls_of_a_stored_turn(tmp_path, capsys):
    root = tmp_path / "shop"
    root.mkdir()
    with SessionStore(root) as store:
        session = store.create_session("offline", "default", 0, "fp")
        store.add_turn(session, TurnTrace(index=0, user_text="1Z999", calls=[TOOL_CALL]))
    assert main(["sessions", "show", session, str(root), "-v"]) == 0
    out = capsys.readouterr().out
    assert "tool track_shipment @carrier_tools: ok · stub · 3.2 ms" in out
    assert '{"tracking_number": "1Z999"}' in out
    assert '{"status": "in transit"}' in out


@pytest.fixture
def compat(tmp_path: Path) -> Path:
    root = tmp_path / "compat"
    shutil.copytree(COMPAT, root, ignore=shutil.ignore_patterns(".calm", "__pycache__"))
    return root


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_shell_debug_prints_a_tool_call_that_failed(compat, capsys, monkeypatch):
    # the fixture's MCP server at a port nothing listens on
    endpoints = compat / "endpoints.yml"
    text = endpoints.read_text(encoding="utf-8").replace("8765", str(closed_port()))
    endpoints.write_text(text, encoding="utf-8")
    lines = ["/start flow track_parcel", "/set slot tracking_number 1Z999", "/exit"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    assert main(["shell", str(compat), "--debug", "--no-store", "--offline"]) == 0
    lines = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    headline = "call tool track_shipment @carrier_tools: error · live · "
    at = next(n for n, line in enumerate(lines) if line.startswith(headline))
    assert lines[at + 1 : at + 3] == [
        "at track_parcel @ 1_call_track_shipment",
        'arguments {"tracking_number": "1Z999"}',
    ]
    assert lines[at + 3].startswith("error ")
