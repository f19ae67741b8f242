"""Changing the state to try a branch: a slot set or cleared from the Slots panel is sent
as the `/SetSlots(...)` message a Rasa button sends, so the store, replay and exported
tests see it as what it was."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import Button, DataTable, Input, Static, TextArea
from tui_helpers import MessageLog, copy_sample, send, settle, start, wait_until

from workbench.cli.main import main as cli_main
from workbench.project.loader import load_project
from workbench.slot_input import checked_value, set_slots_message
from workbench.tui.app import make_app
from workbench.tui.screens.correct import CorrectScreen
from workbench.tui.screens.main import ConversationRebuilt, MainScreen, TurnDone
from workbench.tui.screens.slot_edit import SlotEditScreen
from workbench.tui.widgets.panels import SlotsPanel

CANCEL = "I want to cancel order A1002"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_sample(tmp_path)


def slot(project: Path, name: str):
    return load_project(project, with_tests=False).project.slot(name)


def test_typed_values_are_checked_against_the_slot_type(project):
    confirm = slot(project, "confirm_cancellation")  # bool
    assert checked_value(confirm, " yes ") == (True, None)
    assert checked_value(confirm, "maybe") == (None, "a bool slot takes true or false")
    reason = slot(project, "return_reason")  # categorical
    value, error = checked_value(reason, "nonsense")
    assert value is None and error.startswith("one of: ") and "damaged" in error
    order = slot(project, "order_id")  # text
    assert checked_value(order, "A1001") == ("A1001", None)
    assert checked_value(order, "")[1] == "type a value (or Clear to empty the slot)"
    assert "comma" in checked_value(order, "A1001, A1002")[1]


def test_the_message_is_written_as_rasa_reads_set_slots():
    assert set_slots_message("confirm", True) == "/SetSlots(confirm=true)"
    assert set_slots_message("amount", 50.0) == "/SetSlots(amount=50)"
    assert set_slots_message("amount", 2.5) == "/SetSlots(amount=2.5)"
    assert set_slots_message("order_id", None) == "/SetSlots(order_id=null)"


async def open_slot_editor(pilot, app, name: str) -> SlotEditScreen:
    app.main.panels.reveal("slots")
    panel = app.main.query_one(SlotsPanel)
    await wait_until(pilot, lambda: panel.table.row_count > 0, what="the slot rows")
    table = panel.query_one(DataTable)
    table.focus()
    row = next(i for i in range(table.row_count) if table.get_row_at(i)[0].plain == name)
    table.move_cursor(row=row)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, SlotEditScreen), what="the editor")
    return app.screen


async def test_a_slot_set_from_the_panel_is_the_next_turn(project):
    app = make_app(project, offline=True)
    log = MessageLog(TurnDone)
    async with app.run_test(size=(100, 30), message_hook=log) as pilot:
        await start(pilot)
        await send(pilot, CANCEL)
        editor = await open_slot_editor(pilot, app, "confirm_cancellation")
        field = editor.query_one("#slot-edit-value", Input)
        field.value = "maybe"
        await pilot.pause()
        assert str(editor.query_one("#slot-edit-error", Static).render()) == (
            "a bool slot takes true or false"
        )
        assert editor.query_one("#set", Button).disabled
        await pilot.press("enter")  # not a value: nothing is sent
        assert isinstance(app.screen, SlotEditScreen)
        log.clear()
        field.value = "true"
        await pilot.press("enter")
        await wait_until(pilot, lambda: log.of(TurnDone), what="the turn")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        trace = log.of(TurnDone)[0].trace
        assert trace.user_text == "/SetSlots(confirm_cancellation=true)"
        # the branch it picks: cancelled (the flow then ends and resets its slot)
        assert any("is cancelled" in text for text in trace.bot_texts)
        assert trace.slots_after["order_status"] == "cancelled"
        assert app.conversation.traces[-1] is trace  # stored like any message


async def test_clear_and_cancel_and_built_in_slots(project):
    app = make_app(project, offline=True)
    log = MessageLog(TurnDone)
    async with app.run_test(size=(100, 30), message_hook=log) as pilot:
        await start(pilot)
        await send(pilot, CANCEL)  # cancel_order collects order_id: it can be changed
        log.clear()
        await open_slot_editor(pilot, app, "order_id")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        await settle(pilot)
        assert log.of(TurnDone) == []  # cancelled: nothing sent
        assert app.conversation.session.tracker.slots["order_id"] == "A1002"
        await open_slot_editor(pilot, app, "order_id")
        await pilot.click("#clear")
        await wait_until(pilot, lambda: log.of(TurnDone), what="the turn")
        assert log.of(TurnDone)[0].trace.user_text == "/SetSlots(order_id=null)"
        assert app.conversation.session.tracker.slots["order_id"] is None
        panel = app.main.query_one(SlotsPanel)
        panel.post_message(SlotsPanel.EditSlot("requested_slot"))
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)  # no editor for a slot patterns own
        shown = [n.message for n in app._notifications]
        assert any("'requested_slot' is a built-in slot" in m for m in shown)


def test_an_exported_conversation_with_a_slot_edit_passes_as_a_test(project, capsys):
    app = make_app(project, offline=True)

    async def chat():
        async with app.run_test(size=(100, 30)) as pilot:
            await start(pilot)
            await send(pilot, CANCEL)
            await send(pilot, "/SetSlots(confirm_cancellation=false)")
            app.main.export_now()
            await wait_until(pilot, lambda: app.last_export is not None)

    asyncio.run(chat())
    test = app.last_export.test_path
    assert "/SetSlots(confirm_cancellation=false)" in test.read_text()
    capsys.readouterr()
    code = cli_main(
        ["test", str(project), str(test), "--cassette", str(app.last_export.cassette_path)]
    )
    assert code == 0, capsys.readouterr().out


# -- correcting the model ---------------------------------------------------------------------


def test_correct_the_latest_turn_and_keep_it_as_a_test(project, capsys):
    app = make_app(project, offline=True)
    log = MessageLog(ConversationRebuilt)

    async def chat():
        async with app.run_test(size=(100, 30), message_hook=log) as pilot:
            await start(pilot)
            await send(pilot, CANCEL)
            assert app.conversation.traces[-1].raw_output.startswith("start flow cancel_order")
            await pilot.press("ctrl+g")
            await wait_until(pilot, lambda: isinstance(app.screen, CorrectScreen))
            area = app.screen.query_one(TextArea)
            assert area.text == app.conversation.traces[-1].raw_output
            area.text = "start flow check_order_status\nset slot order_id A1002\nbogus line"
            await pilot.pause()
            reading = str(app.screen.query_one("#correct-reading", Static).render())
            assert reading.startswith(
                "reads as: start flow check_order_status; set slot order_id A1002"
            )
            assert "ignored 'bogus line'" in reading
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: log.of(ConversationRebuilt), what="the re-run")
            await wait_until(pilot, lambda: app.last_export is not None, what="the export")
            last = app.conversation.traces[-1]
            assert last.user_text == CANCEL
            assert [c.dsl for c in last.commands] == [
                "start flow check_order_status",
                "set slot order_id A1002",
            ]
            assert any("A1002" in text for text in last.bot_texts)
            assert not any("Are you sure" in text for text in last.bot_texts)

    asyncio.run(chat())
    export = app.last_export
    cassette = export.cassette_path.read_text()
    assert "start flow check_order_status" in cassette
    assert "start flow cancel_order" not in cassette
    capsys.readouterr()
    code = cli_main(
        ["test", str(project), str(export.test_path), "--cassette", str(export.cassette_path)]
    )
    assert code == 0, capsys.readouterr().out


async def test_a_turn_the_model_never_saw_cannot_be_corrected(project):
    app = make_app(project, offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(pilot)
        await send(pilot, "/SetSlots(order_id=A1001)")
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        shown = [n.message for n in app._notifications]
        assert any(m.startswith("Nothing to correct: the latest message did not go") for m in shown)


# -- flows from the palette -------------------------------------------------------------------


async def palette_run(pilot, app, query: str) -> None:
    await pilot.press("ctrl+p")
    await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
    await pilot.press(*query)
    await settle(pilot)
    await pilot.press("enter")


async def test_start_and_cancel_a_flow_from_the_palette(project):
    app = make_app(project, offline=True)
    log = MessageLog(TurnDone)
    async with app.run_test(size=(100, 30), message_hook=log) as pilot:
        await start(pilot)
        log.clear()
        await palette_run(pilot, app, "start flow check_order")
        await wait_until(pilot, lambda: log.of(TurnDone), what="the turn")
        trace = log.of(TurnDone)[0].trace
        assert trace.user_text == "/start flow check_order_status"
        assert app.main.active_user_flow() == "check_order_status"
        log.clear()
        await palette_run(pilot, app, "cancel flow check")
        await wait_until(pilot, lambda: log.of(TurnDone), what="the turn")
        assert log.of(TurnDone)[0].trace.user_text == "/cancel flow"
        assert app.main.active_user_flow() is None


# --- flows started and cancelled from the Flows and Stack tables -------------------------------


async def choose_flow_row(pilot, app, panel_name: str, flow: str):
    from workbench.tui.screens.flow_actions import FlowActionScreen

    app.main.panels.reveal(panel_name)
    panel = app.main.query_one(f"#panel-{panel_name}")
    table = panel.query_one(DataTable)
    await wait_until(pilot, lambda: table.row_count > 0, what=f"the {panel_name} rows")
    table.focus()
    row = next(
        i for i in range(table.row_count) if flow in " ".join(c.plain for c in table.get_row_at(i))
    )
    table.move_cursor(row=row)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, FlowActionScreen), what="the dialog")
    return app.screen


async def test_a_flow_started_and_cancelled_from_the_flows_table_are_turns(project):
    from workbench.tui.widgets.flow_panel import FlowPanel

    app = make_app(project, offline=True)
    log = MessageLog(TurnDone)
    async with app.run_test(size=(100, 30), message_hook=log) as pilot:
        await start(pilot)
        await send(pilot, "where is my order")
        sent = len(log.messages)
        dialog = await choose_flow_row(pilot, app, "retrievedflows", "cancel_order")
        labels = [str(b.label) for b in dialog.query(Button)]
        assert labels == [
            "Show in the Flow tab (f)",
            "Start it now (s)",
            "Cancel check_order_status (c)",
            "Close (esc)",
        ]
        await pilot.press("s")
        await wait_until(pilot, lambda: len(log.messages) == sent + 1, what="the start turn")
        started = log.messages[-1].trace
        assert started.user_text == "/start flow cancel_order"
        assert [c.dsl for c in started.commands] == ["start flow cancel_order"]
        assert started.top_flow_frame.flow_id == "cancel_order"
        # the stack's row of the active flow: show it in the Flow tab (no turn is sent)
        await choose_flow_row(pilot, app, "stack", "cancel_order")
        await pilot.press("f")
        await settle(pilot)
        assert app.main.query_one(FlowPanel).selected == "cancel_order"
        assert len(log.messages) == sent + 1
        # then cancel it
        await choose_flow_row(pilot, app, "stack", "cancel_order")
        await pilot.press("c")
        await wait_until(pilot, lambda: len(log.messages) == sent + 2, what="the cancel turn")
        cancelled = log.messages[-1].trace
        assert cancelled.user_text == "/cancel flow"
        assert any(e.type == "flow_cancelled" for e in cancelled.events)
