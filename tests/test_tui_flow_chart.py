"""The Flow panel's chart in a Pilot: what it shows after real turns, the keys while it
has the focus, and the messages it posts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_flow_chart import CHART_FLOWS
from textual.app import App, ComposeResult

from workbench.actions.runner import make_action_runner
from workbench.project.loader import load_project
from workbench.project.model import Project
from workbench.session import Session
from workbench.trace.turn import TurnTrace
from workbench.tui.widgets import FlowPanel
from workbench.tui.widgets.flow_chart import FlowChart
from workbench.tui.widgets.flow_layout import COMPACT, FULL
from workbench.understanding.offline.generator import OfflineGenerator

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"


class ChartApp(App):
    def __init__(self, panel: FlowPanel) -> None:
        super().__init__()
        self.panel = panel

    def compose(self) -> ComposeResult:
        yield self.panel


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "sample"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".calm", "*.db", "__pycache__"))
    return load_project(root).project


async def conversation(project: Project, *texts: str) -> list[TurnTrace]:
    session = Session(project, OfflineGenerator(), actions=make_action_runner(project))
    return [await session.handle(text) for text in texts]


def chart_messages(messages: list) -> list[tuple[str, str | None]]:
    return [
        (type(m).__name__, getattr(m, "key", None))
        for m in messages
        if isinstance(m, (FlowChart.Highlighted, FlowChart.Chosen, FlowChart.ZoomToggled))
    ]


async def test_the_chart_shows_the_active_flow_its_current_step_and_the_path(project):
    traces = await conversation(project, "I want to return an item", "A1003")
    panel = FlowPanel()
    async with ChartApp(panel).run_test(size=(60, 30)) as pilot:
        panel.show_history(traces)
        panel.show_trace(traces[-1], project)
        await pilot.pause()
        chart = panel.chart.chart
        assert chart is not None and chart.flow_id == "return_item"
        assert panel.current_step == "ask_reason"
        assert str(panel.border_subtitle) == "return_item @ ask_reason · active · regular"
        # the waiting step is the cursor's first place and is described below the chart
        assert panel.chart.cursor == "ask_reason"
        details = str(panel.details.render())
        assert "collect return_reason  #ask_reason  · the flow waits here" in details
        assert "why the customer is returning the item" in details
        # the steps this run went through are marked, the way not taken is not
        flow = project.flow("return_item")
        assert panel.path.steps == (flow.steps[0].id, flow.steps[1].id, "ask_reason")
        roles = {
            chart.nodes[k].key: chart.rows[chart.nodes[k].y][chart.nodes[k].x].role
            for k in chart.nodes
            if chart.nodes[k].kind == "step"
        }
        assert roles[flow.steps[0].id] == "visited" and roles["ask_reason"] == "current"
        assert roles[flow.steps[2].id] == "box"  # "order not found" was not taken
        # the current step is scrolled into view
        node = chart.nodes["ask_reason"]
        assert (
            panel.chart.scroll_offset.y
            <= node.y
            < panel.chart.scroll_offset.y + panel.chart.size.height
        )


async def test_an_older_turn_shows_the_path_up_to_that_turn(project):
    traces = await conversation(project, "I want to return an item", "A1003")
    panel = FlowPanel()
    async with ChartApp(panel).run_test(size=(60, 30)) as pilot:
        panel.show_history(traces)  # the whole conversation; the path stops at turn 0
        panel.show_trace(traces[0], project)
        await pilot.pause()
        flow = project.flow("return_item")
        assert panel.path.steps == (flow.steps[0].id,)
        assert panel.current_step == flow.steps[0].id


async def test_keys_move_between_steps_and_enter_opens_a_called_flow(project):
    traces = await conversation(project, "I want to change my delivery address")
    panel = FlowPanel()
    messages: list = []
    app = ChartApp(panel)
    async with app.run_test(size=(60, 30), message_hook=messages.append) as pilot:
        panel.show_history(traces)
        panel.show_trace(traces[-1], project)
        await pilot.pause()
        chart = panel.chart
        chart.focus()
        first = project.flow("update_shipping_address").steps[0].id
        assert chart.cursor == first
        await pilot.press("down")
        await pilot.press("down")  # the `else` branch is the spine: the call step
        assert chart.cursor == "verify"
        assert "Enter: open flow verify_identity" in str(panel.details.render())
        messages.clear()
        await pilot.press("enter")
        await pilot.pause()
        assert chart_messages(messages)[:1] == [("Chosen", "verify")]
        assert panel.selected == "verify_identity" and panel.flow_select.value == "verify_identity"
        assert panel.chart.chart.flow_id == "verify_identity"
        assert str(panel.border_subtitle).endswith("· selected")
        # shift+arrows pan, ctrl+e zooms; neither moves the cursor
        cursor = chart.cursor
        zoom = chart.chart.zoom
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert chart.chart.zoom == (FULL if zoom == COMPACT else COMPACT)
        assert panel.zoom == chart.chart.zoom and chart.cursor == cursor
        await pilot.press("shift+down")
        assert chart.scroll_y > 0 or chart.max_scroll_y == 0
        assert ("ZoomToggled", None) in chart_messages(messages)
        # back to following the conversation
        panel.select_flow(None)
        await pilot.pause()
        assert panel.chart.chart.flow_id == "update_shipping_address"


async def test_a_click_on_a_step_describes_it(project):
    traces = await conversation(project, "where is my order")
    panel = FlowPanel()
    messages: list = []
    async with ChartApp(panel).run_test(size=(60, 30), message_hook=messages.append) as pilot:
        panel.show_history(traces)
        panel.show_trace(traces[-1], project)
        await pilot.pause()
        chart = panel.chart
        node = chart.chart.nodes["report_status"]
        chart.scroll_to(0, 0, animate=False)
        await pilot.pause()
        offset = (node.x + 2 - chart.scroll_x, node.y + 1 - chart.scroll_y)
        messages.clear()
        await pilot.click(FlowChart, offset=offset)
        await pilot.pause()
        assert chart.cursor == "report_status"
        assert set(chart_messages(messages)) == {("Highlighted", "report_status")}
        await pilot.click(FlowChart, offset=offset)  # once more: as Enter
        await pilot.pause()
        assert chart_messages(messages)[-1] == ("Chosen", "report_status")
        details = str(panel.details.render())
        assert details.startswith("action utter_order_status  #report_status")
        assert "next → END" in details


async def test_a_loop_marker_leads_back_to_its_step(make_project):
    root = make_project({"data/flows.yml": CHART_FLOWS})
    project = load_project(root).project
    panel = FlowPanel()
    async with ChartApp(panel).run_test(size=(60, 30)) as pilot:
        panel.select_flow("looping")
        panel.show_trace(None, project)
        await pilot.pause()
        chart = panel.chart
        loop = next(k for k, n in chart.chart.nodes.items() if n.kind == "loop")
        chart.focus()
        chart.move_to(loop)
        await pilot.pause()
        assert "↻ to ask" in str(panel.details.render())
        await pilot.press("enter")
        await pilot.pause()
        assert chart.cursor == "ask"


async def test_without_a_flow_the_panel_says_so(project):
    panel = FlowPanel()
    async with ChartApp(panel).run_test(size=(60, 30)) as pilot:
        panel.show_trace(None, project)
        await pilot.pause()
        assert not panel.chart.display
        traces = await conversation(project, "hello")
        panel.show_history(traces)
        panel.show_trace(traces[-1], project)
        await pilot.pause()
        assert "no active flow" in str(panel.query_one("#trace-note").render())
