"""The Agents panel, agent frames in the Stack panel and call steps in the Flow chart, driven
through real conversations on the compat fixture (a flow that calls an MCP tool, one that
calls a sub-agent) with the calls stubbed as an e2e test stubs them; the agent's loop
(model steps, tool steps, exit checks) is a recorded CallRecord put in the turn's trace."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from textual.pilot import Pilot
from tui_helpers import copy_sample, freeze_times, send, start, text_of

from tests.test_tui_contrast import low_contrast_text
from workbench.agents.stubs import CallStubs
from workbench.calm.external import AgentStep
from workbench.trace.calls import AGENT, STUB, CallRecord
from workbench.tui.app import WorkbenchApp, make_app
from workbench.tui.widgets import AgentsPanel, StackPanel
from workbench.tui.widgets.agents_panel import NOTHING_TO_CALL
from workbench.tui.widgets.flow_panel import FlowPanel
from workbench.tui.widgets.panel_area import PanelTabs

COMPAT = Path(__file__).parent / "fixtures" / "compat"
KNOWLEDGE = Path(__file__).parent / "fixtures" / "knowledge"  # no agent, no tool
SIZE = (100, 30)
PROMPT = "You are the order assistant.\nFind the order's status and say it in one sentence."
TOOL_RESULT = {"structuredContent": {"status": "in transit", "eta": "tomorrow"}}


@pytest.fixture
def compat(tmp_path: Path) -> Path:
    root = tmp_path / "compat"
    shutil.copytree(COMPAT, root, ignore=shutil.ignore_patterns(".calm", "__pycache__"))
    return root


def app_on(root: Path, **options: object) -> WorkbenchApp:
    app = make_app(root, offline=True, watch=False, store=False, **options)  # type: ignore[arg-type]
    app.conversation.session.calls.stubs = CallStubs(
        tools={"track_shipment": TOOL_RESULT},
        agents={
            "order_assistant": [
                {"status": "input_required", "message": "Which order do you mean?"},
                {
                    "status": "completed",
                    "message": "Order A1 has shipped.",
                    "slots": {"order_status": "shipped"},
                },
            ]
        },
    )
    freeze_times(app)
    return app


def flat(text: str) -> str:
    return " ".join(text.split())


def panel(app: WorkbenchApp) -> AgentsPanel:
    return app.main.query_one(AgentsPanel)


async def show_agents(pilot: Pilot) -> None:
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    app.main.action_agents()
    await pilot.pause()
    await pilot.pause()


def agent_loop(record: CallRecord) -> CallRecord:
    """The stubbed agent turn as a model-driven one records it: the system prompt, a model
    step asking for a tool, the tool's result, the slot the agent set, the exit check."""
    return CallRecord(
        kind=AGENT,
        name=record.name,
        flow_id=record.flow_id,
        step_id=record.step_id,
        status=record.status,
        message=record.message,
        slots=record.slots,
        exit_if=record.exit_if,
        prompt=PROMPT,
        model="openai/gpt-4o-mini",
        duration_ms=812.5,
        source=STUB,
        steps=(
            AgentStep(
                "model",
                text="Let me look that up.",
                tool_calls=({"id": "c1", "name": "track_shipment", "arguments": {"id": "A1"}},),
                latency_ms=420.0,
                prompt_tokens=800,
                completion_tokens=30,
                cost=0.0012,
            ),
            AgentStep(
                "tool",
                name="track_shipment",
                arguments={"id": "A1"},
                result={"content": [{"type": "text", "text": "shipped"}]},
                latency_ms=31.0,
            ),
            AgentStep(
                "set_slot",
                name="set_slot_order_status",
                arguments={"slot_value": "shipped"},
                result="shipped",
            ),
            AgentStep("exit_check", arguments={"slots": {"order_status": "shipped"}}, result=True),
        ),
    )


async def agent_conversation(pilot: Pilot) -> None:
    """A tool call (turn 2), an agent that asks (turn 4) and completes (turn 5), whose
    last turn carries the agent's recorded loop."""
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    await start(pilot)
    await send(pilot, "/start flow track_parcel")
    await send(pilot, "/set slot tracking_number 1Z999")
    await send(pilot, "/start flow check_order")
    await send(pilot, "/set slot order_id A1")
    await send(pilot, "the one from Monday")
    last = app.conversation.traces[-1]
    last.calls = [agent_loop(call) for call in last.calls]
    app.main.show_turn(None)
    await pilot.pause()


# --- the Agents panel ---------------------------------------------------------------------


async def test_a_tool_call_shows_its_arguments_and_result(compat):
    app = app_on(compat)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        tabs = app.main.panels.query_one(PanelTabs)
        assert tabs.get_tab("tab-agents").display  # the project calls agents and tools
        await show_agents(pilot)
        shown = flat(text_of(panel(app)))
        assert "No agent or tool call in this turn." in shown
        assert "Agents: order_assistant (rasa, tools from carrier_tools)." in shown
        assert "MCP tools called by flows: track_shipment @carrier_tools." in shown
        await send(pilot, "/start flow track_parcel")
        await send(pilot, "/set slot tracking_number 1Z999")
        shown = text_of(panel(app))
        # the stub's own duration is measured, not frozen
        assert re.search(r"tool track_shipment @carrier_tools  ok · stub · [\d.]+ ms\n", shown)
        assert "track_parcel @ 1_call_track_shipment" in shown
        assert '"tracking_number": "1Z999"' in shown  # the arguments, as JSON
        assert '"status": "in transit"' in shown  # the structured result, pretty
        assert '"eta": "tomorrow"' in shown
        assert panel(app).border_subtitle == "1 tool call"


async def test_a_tool_call_replayed_from_the_samples_cassette(tmp_path, monkeypatch):
    """No stub: the command generator's reply and the tool's result come from the
    sample's committed recording, through the caller the shell and the TUI use."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    root = copy_sample(tmp_path)
    cassette = root / "recorded_tests" / "parcels_agent.cassette.yml"
    app = make_app(root, cassette=cassette, watch=False, store=False)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await send(pilot, "where is my parcel PX100?")
        await show_agents(pilot)
        shown = text_of(panel(app))
        assert re.search(r"tool track_parcel @parcels  ok · recorded · [\d.]+ ms\n", shown)
        assert "locate_parcel @ 1_call_track_parcel" in shown
        assert '"tracking_number": "PX100"' in shown
        assert '"status": "in transit"' in shown and '"eta": "tomorrow"' in shown


async def test_an_agent_turn_shows_its_steps_exit_check_message_and_slots(compat):
    app = app_on(compat)
    async with app.run_test(size=SIZE) as pilot:
        await agent_conversation(pilot)
        await show_agents(pilot)
        shown = flat(text_of(panel(app)))
        assert "agent order_assistant completed · stub · 812.5 ms · 800+30 tokens · $0.0012" in (
            shown
        )
        assert "exit if slots.order_status is not null" in shown
        assert "exit met" in shown
        assert "Steps (4)" in shown
        assert (
            "1 model 'Let me look that up.' → calls track_shipment(id='A1') · 800+30 tokens · "
            "420 ms" in shown
        )
        assert "2 tool track_shipment(id='A1') → shipped · 31 ms" in shown
        assert "3 set_slot set_slot_order_status(slot_value='shipped') → 'shipped'" in shown
        assert "4 exit check order_status='shipped' → met" in shown
        assert "message │ Order A1 has shipped." in shown
        assert 'sets order_status="shipped"' in shown
        assert f"System prompt ({len(PROMPT)} characters)" in shown
        assert "│ Find the order's status and say it in one sentence." in shown
        assert panel(app).border_subtitle == "1 agent turn · 800+30 tok"


async def test_time_travel_shows_the_selected_turns_calls(compat):
    app = app_on(compat)
    async with app.run_test(size=SIZE) as pilot:
        await agent_conversation(pilot)
        await show_agents(pilot)
        app.main.show_turn(4)  # the agent asked which order
        await pilot.pause()
        shown = flat(text_of(panel(app)))
        assert "agent order_assistant input_required · stub" in shown
        assert "message │ Which order do you mean?" in shown
        assert "exit not checked this turn" in shown
        assert "sets no slot" in shown
        app.main.show_turn(2)
        await pilot.pause()
        assert "tool track_shipment @carrier_tools" in text_of(panel(app))
        app.main.show_turn(3)
        await pilot.pause()
        assert "No agent or tool call in this turn." in text_of(panel(app))


async def test_a_project_without_agents_or_tools_hides_the_tab_and_says_so(tmp_path):
    root = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, root, ignore=shutil.ignore_patterns(".calm", "__pycache__"))
    app = make_app(root, offline=True, watch=False, store=False)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        tabs = app.main.panels.query_one(PanelTabs)
        assert not tabs.get_tab("tab-agents").display
        await show_agents(pilot)
        assert tabs.active == "tab-agents"
        assert tabs.get_tab("tab-agents").display
        assert text_of(panel(app)).startswith(NOTHING_TO_CALL)


# --- the stack and the flow chart ---------------------------------------------------------


async def test_the_stack_shows_a_waiting_agent_and_the_chart_marks_its_call(compat):
    app = app_on(compat)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await send(pilot, "/start flow check_order")
        await send(pilot, "/set slot order_id A1")
        stack = text_of(app.main.query_one(StackPanel))
        assert "agent order_assistant · waiting for input" in stack
        assert "for check_order @ 1_call_order_assistant" in stack
        flow = app.main.query_one(FlowPanel)
        assert flow.shown_flow == "check_order"
        assert flow.marks == {"check_order_1_call_order_assistant": "agent · waiting"}
        chart = flow.chart.chart
        assert chart is not None and "agent · waiting" in chart.text()
        flow.chart.move_to("check_order_1_call_order_assistant")
        await pilot.pause()
        details = text_of(flow.details)
        assert "agent · waiting (the Calls tab shows it)" in details
        assert "Enter: open flow" not in details  # an agent is not a flow
        await send(pilot, "the one from Monday")  # the agent completes, the flow goes on
        stack = app.main.query_one(StackPanel)
        assert "− agent order_assistant · waiting for input" in text_of(stack)  # ended
        assert flow.marks == {"check_order_1_call_order_assistant": "agent · ok"}


async def test_the_chart_marks_a_tool_call_with_how_it_went(compat):
    app = app_on(compat)
    app.conversation.session.calls.stubs = CallStubs(
        tools={"track_shipment": {"content": "no such parcel", "isError": True}}
    )
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await send(pilot, "/start flow track_parcel")
        flow = app.main.query_one(FlowPanel)
        assert flow.marks == {"track_parcel_1_call_track_shipment": "tool"}  # not called yet
        await send(pilot, "/set slot tracking_number 1Z999")
        flow.select_flow("track_parcel")
        await pilot.pause()
        assert flow.marks == {"track_parcel_1_call_track_shipment": "tool · error"}
        shown = text_of(panel(app))
        assert "tool track_shipment @carrier_tools  error" in shown
        assert "no such parcel" in shown


# --- how it looks ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(100, 30), (160, 45)])
async def test_the_calls_the_stack_and_the_chart_meet_aa_contrast(compat, size):
    app = app_on(compat)
    async with app.run_test(size=size) as pilot:
        await agent_conversation(pilot)
        await show_agents(pilot)
        assert low_contrast_text(app) == []
        app.main.show_turn(4)  # the agent waits: its frame on the stack, its step marked
        app.main.panels.reveal("stack")
        await pilot.pause()
        assert low_contrast_text(app) == []
        app.main.panels.reveal("flow")
        await pilot.pause()
        marks = app.main.query_one(FlowPanel).marks
        assert marks == {"check_order_1_call_order_assistant": "agent · waiting"}
        assert low_contrast_text(app) == []


def test_agents_panel_snapshot(compat, snap_compare):
    async def run_before(pilot: Pilot) -> None:
        await agent_conversation(pilot)
        await show_agents(pilot)
        pilot.app.main.chat.input.cursor_blink = False  # type: ignore[attr-defined]
        await pilot.pause()

    app = app_on(compat)
    app.clock = lambda: 0.0
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
