"""The panels of the workbench screen, each mounted alone in a tiny app and fed real
traces from a `Session` on a copy of sample_project (its actions write a SQLite file)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.containers import Grid
from textual.content import Content
from textual.widgets import Checkbox, DataTable, Input, Static

from workbench.actions.runner import make_action_runner
from workbench.calm.commands import SetSlot, StartFlow
from workbench.engine.tracker import Tracker
from workbench.project.loader import load_project
from workbench.project.model import (
    Project,
)
from workbench.session import Session
from workbench.trace.records import CommandRecord, Event, StackFrame
from workbench.trace.text import command_text, event_line, frame_context, value_text
from workbench.trace.turn import ModelUsage, RetrievedFlow, TurnTrace
from workbench.tui.conversation import UNKNOWN_PROJECT
from workbench.tui.widgets import (
    NO_TURN,
    PANELS,
    AgentsPanel,
    CommandsPanel,
    FlowChosen,
    FlowPanel,
    HistoryPanel,
    PromptPanel,
    RetrievedFlowsPanel,
    SlotsPanel,
    StackPanel,
    TracePanel,
)
from workbench.understanding.base import GeneratorOutput, ScriptedGenerator
from workbench.understanding.offline.generator import OfflineGenerator

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"


# --- helpers -----------------------------------------------------------------------------


class PanelApp(App):
    """Composes the panels it is given and nothing else."""

    def __init__(self, *panels: TracePanel) -> None:
        super().__init__()
        self.panels = panels
        self.submitted: list[str] = []
        self.chosen: list[str] = []

    def compose(self) -> ComposeResult:
        yield from self.panels

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submitted.append(event.value)

    def on_flow_chosen(self, event: FlowChosen) -> None:
        self.chosen.append(event.flow_id)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "sample"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".calm", "*.db", "__pycache__"))
    return load_project(root).project


async def run_turns(project: Project, *texts: str, generator: Any = None) -> TurnTrace:
    session = Session(project, generator or OfflineGenerator(), actions=make_action_runner(project))
    trace = None
    for text in texts:
        trace = await session.handle(text)
    assert trace is not None
    return trace


def rows(table: DataTable) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def text_of(panel: TracePanel) -> str:
    return str(panel.query_one("#trace-body", Static).render())


def body(panel: TracePanel) -> Content:
    content = panel.query_one("#trace-body", Static).content
    assert isinstance(content, Content)
    return content


def line_styles(content: Content, needle: str) -> list[str]:
    """The styles of the spans that cover the first occurrence of `needle`."""
    start = content.plain.index(needle)
    return [str(span.style) for span in content.spans if span.start <= start < span.end]


def note(panel: TracePanel) -> Static:
    return panel.query_one("#trace-note", Static)


def test_text_helpers():
    assert command_text(
        CommandRecord.from_dict(
            {"command": "set slot", "slot": "a", "value": 3, "filled_by": "LLM"}
        )
    ) == ("set slot a 3")
    assert (
        command_text(CommandRecord.from_dict({"command": "correct slot", "slots": [["a", "B"]]}))
        == "correct slot a=B"
    )
    assert value_text(None) == "null" and value_text("A1") == "'A1'"
    assert value_text("x" * 100, 10) == "'xxxxxxxx…"
    assert event_line(Event.from_dict({"event": "slot", "name": "order_id", "value": "A1001"}))[
        1
    ] == ("slot order_id = 'A1001'")
    assert event_line(
        Event.from_dict(
            {"event": "bot", "text": "Hello there", "metadata": {"utter_action": "utter_greet"}}
        )
    )[1] == ('bot "Hello there" (utter_greet)')
    assert (
        event_line(Event.from_dict({"event": "flow_started", "flow_id": "x"}))[1]
        == "flow_started x"
    )
    frame = {"frame_id": "1", "type": "pattern_collect_information", "collect": "order_id"}
    assert (
        frame_context(StackFrame.from_dict({**frame, "utter": "utter_ask_order_id"}))
        == "collect order_id"
    )


# --- the contract ---------------------------------------------------------------------


def test_panels_are_listed_with_titles():
    assert [p.panel_title for p in PANELS] == [
        "Flows",
        "Commands",
        "Slots",
        "Stack",
        "Prompt",
        "History",
        "Flow",
        "Calls",
        "Docs",
    ]
    assert all(issubclass(p, TracePanel) for p in PANELS)


async def test_every_panel_shows_the_empty_state(project):
    panels = [panel_class() for panel_class in PANELS]
    app = PanelApp(*panels)
    async with app.run_test(size=(100, 60)) as pilot:
        for panel in panels:
            panel.show_trace(None, project)
        await pilot.pause()
        for panel in panels:
            if isinstance(panel, (CommandsPanel, PromptPanel, AgentsPanel)):
                assert text_of(panel) == NO_TURN
            elif isinstance(panel, HistoryPanel):
                assert str(panel.query_one("#history-body", Static).render()) == NO_TURN
            else:
                assert str(note(panel).render()) == NO_TURN
                assert note(panel).display
        assert panels[0].query_one(DataTable).row_count == 0


async def test_a_trace_given_before_mount_is_drawn_on_mount(project):
    trace = await run_turns(project, "where is my order")
    panel = StackPanel()
    panel.show_trace(trace, project)
    async with PanelApp(panel).run_test() as pilot:
        await pilot.pause()
        assert rows(panel.query_one(DataTable))[0][1].startswith("pattern_collect_information")


async def test_tab_reaches_every_panel_and_all_fit_a_small_terminal(project):
    trace = await run_turns(project, "where is my order", "A1001")

    class GridApp(App):
        CSS = "Grid { grid-size: 4 2; }"

        def compose(self) -> ComposeResult:
            with Grid():
                for panel_class in PANELS:
                    yield panel_class()

    app = GridApp()
    async with app.run_test(size=(100, 30)) as pilot:
        panels = list(app.query(TracePanel))
        for panel in panels:
            panel.show_trace(trace, project)
        await pilot.pause()
        chain = app.screen.focus_chain
        for panel in panels:
            assert any(w is panel or panel in w.ancestors for w in chain), panel.panel_title
        # focusing a panel lands in it even when the panel itself does not take focus
        flows = app.query_one(RetrievedFlowsPanel)
        flows.focus()
        await pilot.pause()
        assert app.focused is not None and flows in app.focused.ancestors_with_self


# --- panels with real traces ---------------------------------------------------------


async def test_retrieved_flows_show_score_reason_and_active_marker(project):
    trace = await run_turns(project, "where is my order", "A1001")
    panel = RetrievedFlowsPanel()
    app = PanelApp(panel)
    async with app.run_test(size=(100, 20)) as pilot:
        panel.show_trace(trace, project)
        await pilot.pause()
        table = panel.query_one(DataTable)
        shown = rows(table)
        assert [r[1] for r in shown] == [f.flow_id for f in trace.retrieved_flows]
        top = trace.retrieved_flows[0]
        assert top.flow_id == "check_order_status" and top.active
        assert shown[0][0] == "●"
        assert shown[0][2] == f"{top.score:.2f}"
        assert shown[0][3] == top.reason
        assert "bold" in str(table.get_row_at(0)[1].style)
        assert all(r[0] == "" for r in shown[1:])
        assert not note(panel).display

        table.focus()
        table.move_cursor(row=1)
        await pilot.press("enter")
        assert app.chosen == [trace.retrieved_flows[1].flow_id]


async def test_commands_show_raw_output_dropped_and_rewritten(project):
    raw = "start flow delete_everything\nset slot foo 3\nstart flow check_order_status"
    trace = await run_turns(project, "hi", generator=ScriptedGenerator([raw]))
    panel = CommandsPanel()
    async with PanelApp(panel).run_test(size=(100, 30)) as pilot:
        panel.show_trace(trace, project)
        await pilot.pause()
        text = text_of(panel)
        assert "user · scripted" in text
        for line in raw.splitlines():
            assert f"│ {line}" in text
        assert "Parsed (3)" in text and "Accepted (1)" in text
        reason = "start flow delete_everything: flow 'delete_everything' does not exist"
        assert reason in text
        assert any("$text-error" in s for s in line_styles(body(panel), reason))
        rewritten = "set slot foo 3 → cannot handle cannot_handle_default: slot 'foo' is not"
        assert rewritten in text
        assert any("$text-warning" in s for s in line_styles(body(panel), rewritten))
        assert text.index("Accepted (1)\n  start flow check_order_status") > 0
        assert "2 dropped" in str(panel.border_subtitle)


class Explaining:
    """Names the rule that made each command, as the offline generator does."""

    name = "explaining"

    async def generate(self, message: str, tracker: Tracker, project: Project) -> GeneratorOutput:
        return GeneratorOutput(
            [StartFlow("check_order_status"), SetSlot("order_id", "A1001")],
            why=["'order' is in the message", ""],
        )


async def test_commands_show_why_each_command_was_made(project):
    trace = await run_turns(project, "where is order A1001", generator=Explaining())
    panel = CommandsPanel()
    async with PanelApp(panel).run_test(size=(100, 30)) as pilot:
        panel.show_trace(trace, project)
        await pilot.pause()
        text = text_of(panel)
        assert "  start flow check_order_status\n      why: 'order' is in the message\n" in text
        assert text.endswith("  set slot order_id A1001") and text.count("why:") == 1


async def test_slots_highlight_changes_filter_and_toggle_builtins(project):
    trace = await run_turns(project, "where is my order", "A1001")
    panel = SlotsPanel()
    async with PanelApp(panel).run_test(size=(100, 40)) as pilot:
        panel.show_trace(trace, project)
        await pilot.pause()
        table = panel.query_one(DataTable)
        shown = rows(table)
        assert shown[0][:2] == ["order_id", "text"]
        assert shown[0][2] == "'A1001'  was null"
        name_cell = table.get_row_at(0)[0]
        assert str(name_cell.style) == "bold yellow"
        names = [r[0] for r in shown]
        assert set(names[: len(trace.changed_slots)]) == set(trace.changed_slots)
        assert "email" in names  # unchanged domain slots are listed too
        assert "max_clarification_options" not in names  # built-in: hidden by default

        panel.query_one("#slot-filter", Input).value = "ORDER_S"
        await pilot.pause()
        assert [r[0] for r in rows(table)] == ["order_status", "order_summary"]

        panel.query_one("#slot-filter", Input).value = "nothing like this"
        await pilot.pause()
        assert table.row_count == 0 and "no slot matches" in str(note(panel).render())

        panel.query_one("#slot-filter", Input).value = "clarification"
        panel.query_one("#slot-builtin", Checkbox).value = True
        await pilot.pause()
        assert [r[0] for r in rows(table)] == ["max_clarification_options"]
        assert "dim" in str(table.get_row_at(0)[0].style)


async def test_the_highlighted_slot_is_shown_in_full_below_the_table(project):
    trace = await run_turns(project, "where is my order", "A1001")
    panel = SlotsPanel()
    async with PanelApp(panel).run_test(size=(60, 30)) as pilot:  # a narrow side panel
        panel.show_trace(trace, project)
        await pilot.pause()
        table = panel.query_one(DataTable)
        detail = panel.query_one("#slot-detail", Static)
        assert str(detail.render()) == "order_id (text) = 'A1001'  was null"
        whole = value_text(trace.slots_after["order_details"], 400)
        table.focus()
        row = next(i for i, r in enumerate(rows(table)) if r[0] == "order_details")
        assert len(rows(table)[row][2]) < len(whole)  # cut in the table's value column ...
        table.move_cursor(row=row)
        await pilot.pause()
        assert whole in str(detail.render())  # ... whole down here
        assert detail.region.width <= 60 and detail.region.height >= 2  # wrapped


async def test_enter_in_the_slot_filter_does_not_reach_the_app(project):
    trace = await run_turns(project, "where is my order")
    panel = SlotsPanel()
    app = PanelApp(panel)
    async with app.run_test() as pilot:
        panel.show_trace(trace, project)
        panel.query_one("#slot-filter", Input).focus()
        await pilot.press("enter")
        assert app.submitted == []


async def test_stack_lists_frames_top_first_and_marks_changes(project):
    first = await run_turns(project, "where is my order")
    panel = StackPanel()
    app = PanelApp(panel)
    async with app.run_test(size=(100, 20)) as pilot:
        panel.show_trace(first, project)
        await pilot.pause()
        shown = rows(panel.query_one(DataTable))
        assert len(shown) == 2
        mark, frame, kind = shown[0]
        assert mark == "+"
        assert frame.split("\n")[0] == "pattern_collect_information"
        assert kind == "pattern\ncollect order_id"
        assert shown[1][1] == "check_order_status\n@ 0_collect_order_id"
        assert shown[1][2].startswith("regular")
        assert panel.border_subtitle == "2 frames"

        table = panel.query_one(DataTable)
        table.focus()
        await pilot.press("enter")  # a pattern frame: nothing to choose
        table.move_cursor(row=1)
        await pilot.press("enter")
        assert app.chosen == ["check_order_status"]


async def test_stack_shows_frames_that_ended_this_turn(project):
    session = Session(project, OfflineGenerator(), actions=make_action_runner(project))
    await session.handle("where is my order")
    trace = await session.handle("A1001")
    panel = StackPanel()
    async with PanelApp(panel).run_test(size=(100, 20)) as pilot:
        panel.show_trace(trace, project)
        await pilot.pause()
        shown = rows(panel.query_one(DataTable))
        ended = [r for r in shown if r[0] == "−"]
        assert any(r[1].startswith("check_order_status") for r in ended)
        assert shown[0][0] == "+"  # the new top frames come first


async def test_prompt_panel_without_and_with_a_model_call(project):
    trace = await run_turns(project, "where is my order")
    panel = PromptPanel()
    async with PanelApp(panel).run_test(size=(100, 30)) as pilot:
        panel.show_trace(trace, project)
        await pilot.pause()
        text = text_of(panel)
        assert text.startswith("no model call (offline generator)")
        assert "start flow check_order_status" in text

        llm_trace = TurnTrace(
            index=3,
            user_text="hi",
            generator="llm",
            prompt="You are a helpful assistant.\nUser: hi",
            raw_output="start flow greet",
            usage=ModelUsage(
                model="openai/gpt-4o-mini",
                latency_ms=812.4,
                prompt_tokens=1234,
                completion_tokens=9,
                cost=0.00021,
            ),
        )
        panel.show_trace(llm_trace, project)
        await pilot.pause()
        text = text_of(panel)
        assert "openai/gpt-4o-mini · 1234 prompt + 9 completion tokens · 812 ms · $0.00021" in text
        assert "Prompt\nYou are a helpful assistant.\nUser: hi\nCompletion\nstart flow greet" in (
            text
        )

        # which template the prompt came from heads the prompt
        llm_trace.prompt_template = (
            "Rasa prompt command_prompt_v2_gpt_5_1_2025_11_13_template.jinja2"
        )
        panel.show_trace(llm_trace, project)
        await pilot.pause()
        assert (
            "Prompt · Rasa prompt command_prompt_v2_gpt_5_1_2025_11_13_template.jinja2\n"
            "You are a helpful assistant." in text_of(panel)
        )


def history_lines(panel: HistoryPanel) -> list[str]:
    return str(panel.query_one("#history-body", Static).render()).splitlines()


async def test_events_are_listed_in_order(project):
    session = Session(project, OfflineGenerator(), actions=make_action_runner(project))
    await session.handle("where is my order")
    trace = await session.handle("A1001")
    panel = HistoryPanel()
    async with PanelApp(panel).run_test(size=(120, 40)) as pilot:
        panel.show_trace(trace, project)  # a turn alone: the panel was told no conversation
        await pilot.pause()
        lines = history_lines(panel)
        assert len(lines) == len(trace.events) + len(trace.commands)
        expected = [
            'user "A1001"',
            "slot order_id = 'A1001'",
            "flow_completed pattern_collect_information",
            "action action_check_order  python",
            "slot order_status = 'shipped' (CUSTOM)",
            "action utter_order_status",
            'bot "Good news! Order A1001',
            "flow_completed check_order_status",
            "action action_listen",
        ]
        positions = [next(i for i, ln in enumerate(lines) if e in ln) for e in expected]
        assert positions == sorted(positions)
        assert "(utter_order_status)" in lines[positions[6]]
        assert lines[0].startswith(f"▌{trace.index} ")


async def test_an_action_servers_log_lines_follow_their_action(project):
    session = Session(project, OfflineGenerator(), actions=make_action_runner(project))
    await session.handle("where is my order")
    trace = await session.handle("A1001")
    (at,) = [i for i, a in enumerate(trace.actions) if a.name == "action_check_order"]
    # as a started action server's are
    trace.actions[at] = replace(trace.actions[at], log_lines=("looking up A1001", "found it"))
    panel = HistoryPanel()
    async with PanelApp(panel).run_test(size=(120, 40)) as pilot:
        panel.show_trace(trace, project)
        await pilot.pause()
        lines = history_lines(panel)
        at = next(i for i, line in enumerate(lines) if "action action_check_order" in line)
        assert [line.split(maxsplit=1)[1].strip() for line in lines[at + 1 : at + 3]] == [
            "│ looking up A1001",
            "│ found it",
        ]
        assert "slot order_status" in lines[at + 3]


class FailingGenerator:
    name = "broken"

    async def generate(self, message: str, tracker: Tracker, project: Project) -> GeneratorOutput:
        raise RuntimeError("the model fell over")


async def test_events_show_errors_in_red(project):
    trace = await run_turns(project, "hello", generator=FailingGenerator())
    panel = HistoryPanel()
    async with PanelApp(panel).run_test(size=(120, 30)) as pilot:
        panel.show_trace(trace, project)
        await pilot.pause()
        needle = "command generator failed: RuntimeError('the model fell over')"
        assert needle in "\n".join(history_lines(panel))
        content = panel.query_one("#history-body", Static).content
        assert isinstance(content, Content)
        assert any("$text-error" in s for s in line_styles(content, needle))


async def test_the_flow_panel_says_when_the_turns_own_project_is_gone(project):
    trace = await run_turns(project, "where is my order")
    panel = FlowPanel()
    async with PanelApp(panel).run_test(size=(80, 30)) as pilot:
        panel.project_note = UNKNOWN_PROJECT
        panel.show_trace(trace, project)
        await pilot.pause()
        assert str(panel.border_subtitle).endswith(f" · {UNKNOWN_PROJECT}")
        panel.project_note = ""
        panel.show_trace(trace, project)
        await pilot.pause()
        assert UNKNOWN_PROJECT not in str(panel.border_subtitle)


async def test_a_trace_that_names_a_flow_twice_still_renders(project):
    trace = TurnTrace(
        index=1,
        user_text="hi",
        retrieved_flows=[RetrievedFlow("store_info", 0.5), RetrievedFlow("store_info", 0.25)],
    )
    panel = RetrievedFlowsPanel()
    app = PanelApp(panel)
    async with app.run_test() as pilot:
        panel.show_trace(trace, project)
        await pilot.pause()
        assert [r[1:3] for r in rows(panel.query_one(DataTable))] == [
            ["store_info", "0.50"],
            ["store_info", "0.25"],
        ]
        panel.query_one(DataTable).focus()
        panel.query_one(DataTable).move_cursor(row=1)
        await pilot.press("enter")
        assert app.chosen == ["store_info"]


async def test_stack_marks_a_frame_that_moved_to_another_step(project):
    frame = {"frame_id": "f1", "type": "flow", "flow_id": "cancel_order", "frame_type": "regular"}
    trace = TurnTrace(
        index=2,
        user_text="A1004",
        stack_before=[
            StackFrame.from_dict({**frame, "step_id": "cancel_order_0_collect_order_id"})
        ],
        stack_after=[StackFrame.from_dict({**frame, "step_id": "confirm_cancellation"})],
    )
    panel = StackPanel()
    async with PanelApp(panel).run_test() as pilot:
        panel.show_trace(trace, project)
        await pilot.pause()
        assert rows(panel.query_one(DataTable)) == [
            ["~", "cancel_order\n@ confirm_cancellation", "regular\n"]
        ]
