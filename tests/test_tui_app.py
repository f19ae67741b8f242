"""The workbench app, driven headless with Textual's Pilot on a copy of sample_project.

Text goes into the Input by setting its value (key presses are slow); turns run in
workers, so every wait is a bounded poll (tests/tui_helpers.py), never a fixed sleep.
"""

from __future__ import annotations

import asyncio
from itertools import pairwise
from pathlib import Path

import pytest
from textual.widgets import Tab, Tabs
from tui_helpers import (
    MessageLog,
    copy_sample,
    send,
    settle,
    start,
    text_of,
    turn_items,
    wait_until,
)

from workbench.cli.main import main as cli_main
from workbench.store.sessions import SessionStore
from workbench.tui.app import make_app
from workbench.tui.screens.main import (
    ConversationRebuilt,
    MainScreen,
    ProjectReloaded,
    TurnDone,
    TurnFailed,
)
from workbench.tui.screens.sessions import ConfirmScreen, SessionsScreen, TranscriptScreen
from workbench.tui.widgets.chat import ChatPane, TurnItem
from workbench.tui.widgets.flow_panel import FlowPanel
from workbench.tui.widgets.history_panel import HistoryPanel
from workbench.tui.widgets.panel_area import PanelArea, PanelTabs, ordered_panels, panel_id
from workbench.tui.widgets.panels import PANELS, CommandsPanel
from workbench.tui.widgets.status import ErrorBanner, WorkbenchHeader
from workbench.understanding.base import ScriptedGenerator

SIZE = (100, 30)
ORDER = "where is my order A1001"
CANCEL = "I want to cancel order A1002"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_sample(tmp_path)


def app_on(project: Path, **options):
    options.setdefault("offline", True)
    return make_app(project, **options)


def notifications(app) -> list[str]:
    return [n.message for n in app._notifications]


# -- chat and panels ---------------------------------------------------------------------------


async def test_start_greets_and_shows_project_and_generator(project):
    app = app_on(project)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        assert isinstance(app.screen, MainScreen)
        assert app.focused is app.main.chat.input
        greeting = text_of(turn_items(app)[0])
        assert "session start" in greeting and "Penny" in greeting
        header = text_of(app.query_one(WorkbenchHeader))
        assert "sample_project" in header
        assert "offline" in header
        assert "loaded" in header


async def test_a_turn_updates_every_panel(project, monkeypatch):
    shown: dict[str, list] = {}
    for cls in PANELS:
        original = cls.show_trace

        def spy(self, trace, project, _original=original):
            shown.setdefault(type(self).__name__, []).append(trace)
            return _original(self, trace, project)

        monkeypatch.setattr(cls, "show_trace", spy)
    app = app_on(project)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await send(pilot, ORDER)
        last = app.conversation.traces[-1]
        assert last.user_text == ORDER
        assert {cls.__name__ for cls in PANELS} <= set(shown)
        for name, traces in shown.items():
            assert traces[-1] is last, name
        commands = text_of(app.query_one(CommandsPanel))
        assert "start flow check_order_status" in commands
        chat = text_of(turn_items(app)[-1])
        assert ORDER in chat and "Good news! Order A1001" in chat


async def test_dropped_commands_are_shown(project):
    generator = ScriptedGenerator({"book me a flight": "start flow book_flight"})
    app = app_on(project, generator=generator)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await send(pilot, "book me a flight")
        trace = app.conversation.traces[-1]
        assert trace.dropped
        commands = app.query_one(CommandsPanel)
        body = text_of(commands)
        assert "Dropped (1)" in body and "book_flight" in body
        assert "dropped" in str(commands.border_subtitle)
        assert "1 command dropped" in text_of(turn_items(app)[-1])
        assert "scripted" in text_of(app.query_one(WorkbenchHeader))


async def test_buttons_are_chosen_by_number_and_by_click(project):
    app = app_on(project)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await start(pilot)
        await send(pilot, CANCEL)
        buttons = app.main.chat.current_buttons()
        assert [b.title for b in buttons] == ["Yes, cancel it", "No, keep it"]
        log.clear()
        await send(pilot, "2")  # the number of the second button
        # the digit is submitted; the pane sends the button's payload in its place
        assert log.names() == ["Submitted", "Send", "TurnDone"]
        assert log.of(ChatPane.Send)[0].text == buttons[1].payload
        assert app.conversation.traces[-1].user_text == buttons[1].payload
        assert "▸ No, keep it" in text_of(turn_items(app)[-1])
        # the old turn's buttons are inactive now; a fresh question has live ones
        await send(pilot, CANCEL)
        old = turn_items(app)[-3].query("ChatButton")
        assert old and all(b.disabled for b in old)
        live = turn_items(app)[-1].query("ChatButton").first()
        before = len(app.conversation.traces)
        log.clear()
        await pilot.click(live)
        await wait_until(pilot, lambda: len(app.conversation.traces) > before)
        await settle(pilot)
        assert log.names() == ["Pressed", "Send", "TurnDone"]
        assert log.of(ChatPane.Send)[0].text == buttons[0].payload
        assert app.conversation.traces[-1].user_text == buttons[0].payload


async def test_input_keeps_history(project):
    app = app_on(project)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await send(pilot, "hello")
        await send(pilot, ORDER)
        chat_input = app.main.chat.input
        await pilot.press("up")
        assert chat_input.value == ORDER
        await pilot.press("up")
        assert chat_input.value == "hello"
        await pilot.press("down", "down")
        assert chat_input.value == ""


# -- time travel -------------------------------------------------------------------------------


async def test_selecting_an_older_turn_shows_its_trace(project):
    app = app_on(project)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await send(pilot, ORDER)
        await send(pilot, CANCEL)
        traces = app.conversation.traces
        panel = app.query_one(CommandsPanel)
        assert panel.trace is traces[2]

        await pilot.click(turn_items(app)[1])  # the mouse
        await wait_until(pilot, lambda: app.main.viewing == 1)
        assert all(p.trace is traces[1] for p in app.query_one(PanelArea).panels)
        marker = text_of(app.query_one("#viewing"))
        assert "viewing turn 1 of 2" in marker

        app.main.chat.chat_log.focus()
        await pilot.press("up")  # the keys
        await wait_until(pilot, lambda: app.main.viewing == 0)
        assert panel.trace is traces[0]

        await pilot.press("escape")
        await wait_until(pilot, lambda: app.main.viewing is None)
        assert panel.trace is traces[2]
        assert not app.query_one("#viewing").display
        assert app.focused is app.main.chat.input


async def test_rewind_restarts_from_the_selected_turn(project):
    app = app_on(project)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await start(pilot)
        await send(pilot, ORDER)
        await send(pilot, CANCEL)
        first_store_session = app.conversation.store_session_id
        old_sender = app.conversation.session.tracker.sender_id
        app.main.chat.chat_log.focus()
        app.main.chat.select(1)
        await wait_until(pilot, lambda: app.main.viewing == 1)
        log.clear()
        await pilot.press("ctrl+b")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.press("y")
        await wait_until(pilot, lambda: len(app.conversation.traces) == 2, what="the replay")
        await settle(pilot)
        # the replay is one message: no turn is sent, none is done one by one
        assert log.names() == ["ConversationRebuilt"]
        rebuilt = log.of(ConversationRebuilt)[0]
        assert rebuilt.what == "Rewound to turn 1"
        assert [t.user_text for t in rebuilt.outcome.traces] == ["/session_start", ORDER]
        traces = app.conversation.traces
        assert [t.user_text for t in traces] == ["/session_start", ORDER]
        assert traces[1].bot_texts[0].startswith("Good news! Order A1001")
        assert len(turn_items(app)) == 2
        assert app.main.viewing is None
        assert app.conversation.session.tracker.sender_id != old_sender
        assert app.conversation.session.generator is app.conversation.generator
        second_store_session = app.conversation.store_session_id
        assert second_store_session and second_store_session != first_store_session
        assert any("Rewound to turn 1" in m for m in notifications(app))
        await send(pilot, CANCEL)  # goes on live
        assert len(app.conversation.traces) == 3
    with SessionStore(project) as store:
        assert store.get_session(second_store_session).turn_count == 3
        assert store.get_session(first_store_session).turn_count == 3
        # a title of its own, so the browser tells the two apart
        assert store.get_session(first_store_session).title == ORDER
        assert store.get_session(second_store_session).title == f"{ORDER} (rewound to turn 1)"


async def test_the_rewind_button_asks_the_screen_to_rewind(project):
    app = app_on(project)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await start(pilot)
        await send(pilot, ORDER)
        await send(pilot, CANCEL)
        app.main.chat.select(1)
        await wait_until(pilot, lambda: app.main.viewing == 1)
        log.clear()
        await pilot.click("#rewind")
        await wait_until(pilot, lambda: len(app.conversation.traces) == 2, what="the replay")
        await settle(pilot)
        assert log.names() == ["Pressed", "RewindRequested", "ConversationRebuilt"]
        assert log.of(ChatPane.RewindRequested)[0].index == 1
        assert log.of(ConversationRebuilt)[0].what == "Rewound to turn 1"


async def test_rewind_needs_a_selected_turn(project):
    app = app_on(project)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await start(pilot)
        app.main.action_rewind()
        await pilot.pause()
        assert any("Select an earlier turn" in m for m in notifications(app))
        assert not log.of(ConversationRebuilt)


# -- export, restart ---------------------------------------------------------------------------


def test_export_writes_a_test_that_passes(project, capsys):
    app = app_on(project)

    async def chat_and_export():
        async with app.run_test(size=SIZE) as pilot:
            await start(pilot)
            await send(pilot, ORDER)
            await send(pilot, CANCEL)
            await send(pilot, "1")
            app.main.chat.chat_log.focus()
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_until(pilot, lambda: app.last_export is not None)
            assert any(app.last_export.test_path.name in m for m in notifications(app))
            first = app.last_export
            await pilot.press("ctrl+s")  # the same conversation again: a test of its own
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_until(pilot, lambda: app.last_export is not first)
            exports.extend([first, app.last_export])
            session_ids.append(app.conversation.store_session_id)

    exports: list = []
    session_ids: list[str] = []
    asyncio.run(chat_and_export())
    result, again = exports
    assert again.test_path != result.test_path and again.name != result.name
    for export in exports:
        header = export.test_path.read_text().splitlines()[0]
        assert header.startswith(
            f"# Exported by calm-tui from session {session_ids[0]} (generator: offline"
        )
        assert f"test_case: {export.name}" in export.test_path.read_text()
    assert result.test_path.parent == project / "e2e_tests"
    assert result.cassette_path is not None and result.cassette_path.exists()
    capsys.readouterr()
    code = cli_main(
        ["test", str(project), str(result.test_path), "--cassette", str(result.cassette_path)]
    )
    out = capsys.readouterr().out
    assert code == 0, out


async def test_restart_starts_a_new_conversation(project):
    app = app_on(project)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await start(pilot)
        await send(pilot, ORDER)
        first = app.conversation.store_session_id
        log.clear()
        await pilot.press("ctrl+r")  # works while typing
        await wait_until(pilot, lambda: len(turn_items(app)) == 1, what="the new greeting")
        await settle(pilot)
        # the greeting is a turn of its own: done without a message sent
        assert log.names() == ["TurnDone"]
        assert log.of(TurnDone)[0].trace.user_text == "/session_start"
        assert [t.user_text for t in app.conversation.traces] == ["/session_start"]
        assert app.conversation.store_session_id is None  # created at the first message
        await send(pilot, CANCEL)
        assert app.conversation.store_session_id not in (None, first)
    with SessionStore(project) as store:
        assert store.get_session(first).status == "ended"


# -- sessions ----------------------------------------------------------------------------------


async def test_session_browser_opens_resumes_and_deletes(project):
    app = app_on(project)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await send(pilot, ORDER)
        await send(pilot, CANCEL)
        kept = app.conversation.store_session_id
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: len(turn_items(app)) == 1)
        await settle(pilot)
        await send(pilot, "hello")
        doomed = app.conversation.store_session_id
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: len(turn_items(app)) == 1)
        await settle(pilot)

        app.main.chat.chat_log.focus()
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionsScreen))
        browser = app.screen
        table = browser.query_one("DataTable")
        assert table.row_count == 2
        assert set(browser.summaries) == {kept, doomed}

        # delete, with a confirmation
        table.move_cursor(row=table.get_row_index(doomed))
        await pilot.press("delete")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: table.row_count == 1)
        assert set(browser.summaries) == {kept}

        # open read-only: the chat without an input, the panels on the last turn
        table.move_cursor(row=table.get_row_index(kept))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, TranscriptScreen))
        transcript = app.screen
        chat = transcript.query_one(ChatPane)
        assert len(chat.chat_log.query(TurnItem)) == 3
        assert not transcript.query("#chat-input")
        assert transcript.query_one(CommandsPanel).trace.user_text == CANCEL
        transcript.query_one(PanelArea).reveal("history")
        await pilot.pause()
        history = transcript.query_one(HistoryPanel)  # the stored conversation, whole
        assert {row.turn for row in history.rows} == {0, 1, 2}
        assert (history.sender_id or "").startswith("tui-")

        # resume from there: replayed, then live in the same store session
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_until(pilot, lambda: len(app.conversation.traces) == 3, what="the replay")
        await settle(pilot)
        assert [t.user_text for t in app.conversation.traces][1:] == [ORDER, CANCEL]
        assert len(turn_items(app)) == 3
        assert app.conversation.store_session_id == kept
        await send(pilot, "1")
        assert app.conversation.traces[-1].bot_texts[0].startswith("Done! Order A1002")
    with SessionStore(project) as store:
        assert store.get_session(doomed) is None
        assert store.get_session(kept).turn_count == 4


async def test_the_session_browser_buttons_run_their_actions(project):
    app = app_on(project)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await send(pilot, ORDER)
        app.main.chat.chat_log.focus()
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionsScreen))
        await pilot.click("#close")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen), what="Back")


async def test_the_current_session_cannot_be_deleted(project):
    app = app_on(project)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await send(pilot, ORDER)
        app.main.action_sessions()
        await wait_until(pilot, lambda: isinstance(app.screen, SessionsScreen))
        await pilot.press("delete")
        await pilot.pause()
        assert isinstance(app.screen, SessionsScreen)
        assert any("in progress" in m for m in notifications(app))
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))


async def test_no_store_saves_nothing(project):
    app = app_on(project, store=False)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await send(pilot, ORDER)
    assert not (project / ".calm" / "sessions.db").exists()


async def test_a_store_that_fails_is_a_notification(project):
    (project / ".calm").write_text("a file where the store folder should be")
    app = app_on(project)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await send(pilot, ORDER)
        assert any("not saved" in m for m in notifications(app))
        await send(pilot, CANCEL)  # still chatting
        assert len(app.conversation.traces) == 3


async def test_a_failing_turn_is_a_notification(project, monkeypatch):
    app = app_on(project)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await start(pilot)
        log.clear()

        async def broken(text):
            raise RuntimeError("boom")

        monkeypatch.setattr(app.conversation, "send", broken)
        app.main.chat.input.value = "hello"
        await pilot.press("enter")
        await wait_until(pilot, lambda: any("boom" in m for m in notifications(app)))
        assert not app.main.chat.busy
        assert app.is_running
        assert log.names() == ["Submitted", "Send", "TurnFailed"]
        assert log.of(TurnFailed)[0].error == "RuntimeError: boom"


# -- hot reload --------------------------------------------------------------------------------


async def test_an_edit_on_disk_changes_the_next_turn(project):
    app = app_on(project)
    responses = project / "domain" / "responses" / "orders.yml"
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await start(pilot)
        log.clear()
        text = responses.read_text()
        assert "Good news! Order {order_id}" in text
        responses.write_text(text.replace("Good news! Order {order_id}", "Great news! {order_id}"))
        await wait_until(pilot, lambda: app.reload_count >= 1, what="the reload")
        assert any("Reloaded domain/responses/orders.yml" in m for m in notifications(app))
        # a save is a reload message, not a turn (a save may arrive as more than one change)
        assert set(log.names()) == {"ProjectReloaded"}
        assert all(m.result.ok for m in log.of(ProjectReloaded))
        log.clear()
        await send(pilot, ORDER)
        assert log.names() == ["Submitted", "Send", "TurnDone"]
        assert "Great news! A1001" in text_of(turn_items(app)[-1])
        assert "reloaded" in text_of(app.query_one(WorkbenchHeader))


async def test_a_reload_leaves_what_it_did_not_change_as_it_was(project):
    """A response edit changes no panel: the slot table keeps the row the user was on,
    and the header alone is drawn again."""
    app = app_on(project)
    responses = project / "domain" / "responses" / "orders.yml"
    async with app.run_test(size=(160, 45)) as pilot:
        await start(pilot)
        await send(pilot, ORDER)
        table = app.main.query_one("#panel-slots").query_one("#trace-table")
        table.move_cursor(row=3)
        body = app.main.query_one("#panel-commands").query_one("#trace-body")
        shown = body.visual
        text = responses.read_text()
        responses.write_text(text.replace("Good news! Order {order_id}", "Great news! {order_id}"))
        await wait_until(pilot, lambda: app.reload_count >= 1, what="the reload")
        assert table.cursor_row == 3
        assert body.visual is shown  # not rendered again
        assert "reloaded orders.yml" in text_of(app.query_one(WorkbenchHeader))


async def test_editing_the_running_flow_continues_it_and_says_so(project):
    app = app_on(project)
    flows = project / "data" / "flows" / "orders.yml"
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await send(pilot, CANCEL)
        assert "cancel" in text_of(turn_items(app)[-1]).lower()
        text = flows.read_text()
        old = "description: whether the customer really wants to cancel the order"
        flows.write_text(text.replace(old, "description: true when the customer confirms"))
        await wait_until(pilot, lambda: app.reload_count >= 1, what="the reload")
        assert "flow cancel_order changed; continuing at collect confirm_cancellation" in (
            notifications(app)
        )
        await send(pilot, "yes")
        last = text_of(turn_items(app)[-1])
        assert "cancelled" in last.lower() and "changed" not in last


async def test_a_broken_edit_shows_the_banner_and_keeps_the_old_flows(project):
    app = app_on(project)
    flows = project / "data" / "flows" / "orders.yml"
    good = flows.read_text()
    log = MessageLog(ProjectReloaded)
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await start(pilot)
        old_project = app.conversation.project
        banner = app.query_one(ErrorBanner)
        assert not banner.display
        flows.write_text(good + "\n  broken_flow:\n    steps: [unclosed\n")
        await wait_until(pilot, lambda: banner.display, what="the error banner")
        assert log.of(ProjectReloaded) and not log.of(ProjectReloaded)[-1].result.ok
        shown = text_of(banner)
        assert "data/flows/orders.yml:" in shown
        assert "last good version is in use" in shown
        assert "⚠ 1 error" in text_of(app.query_one(WorkbenchHeader))
        assert app.conversation.project is old_project
        await send(pilot, ORDER)  # the old flows still answer
        assert "Good news! Order A1001" in text_of(turn_items(app)[-1])

        flows.write_text(good)
        await wait_until(pilot, lambda: not banner.display, what="the banner to clear")
        assert log.of(ProjectReloaded)[-1].result.ok
        assert app.conversation.project is not old_project


async def test_an_action_that_does_not_import_shows_in_the_banner(project):
    app = app_on(project)
    actions = project / "actions" / "actions.py"
    good = actions.read_text()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        banner = app.query_one(ErrorBanner)
        actions.write_text(good + "\ndef broken(:\n")
        await wait_until(pilot, lambda: banner.display, what="the actions error")
        assert "actions:" in text_of(banner)
        actions.write_text(good)
        await wait_until(pilot, lambda: not banner.display, what="the banner to clear")


# -- ergonomics --------------------------------------------------------------------------------


async def test_maximize_the_focused_pane(project):
    app = app_on(project)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        app.main.chat.chat_log.focus()
        await pilot.press("ctrl+f")
        assert isinstance(app.screen.maximized, ChatPane)
        await pilot.press("escape")
        assert app.screen.maximized is None
        app.query_one(PanelTabs).query_one("Tabs").focus()
        await pilot.press("ctrl+f")
        assert isinstance(app.screen.maximized, PanelTabs)
        await pilot.press("ctrl+f")
        assert app.screen.maximized is None


async def test_every_panel_tab_fits_the_tab_bar_at_100_columns(project):
    app = app_on(project)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        area = app.main.panels
        # optional tabs (Knowledge for a project without documents, ...) asked for too:
        # the bar must hold every panel at once
        for cls in PANELS:
            area.reveal(panel_id(cls))
        area.reveal(panel_id(PANELS[0]))
        await pilot.pause()
        bar = app.query_one(PanelTabs).query_one(Tabs)
        tabs = list(bar.query(Tab))
        assert [str(tab.label) for tab in tabs] == [cls.panel_title for cls in ordered_panels()]
        assert bar.scroll_x == 0
        for tab in tabs:
            title = str(tab.label)
            assert tab.display, title
            assert tab.region.width >= len(title), f"{title} is cut: {tab.region}"
            assert bar.region.x <= tab.region.x, title
            assert tab.region.right <= bar.region.right, f"{title} is past the bar: {tab.region}"
        # one column between neighbours, so the labels do not run together
        for left, right in pairwise(tabs):
            assert right.region.x > left.region.right, (str(left.label), str(right.label))


async def test_wide_terminals_pin_slots_and_stack(project):
    app = app_on(project)
    async with app.run_test(size=(180, 40)) as pilot:
        await start(pilot)
        await wait_until(pilot, lambda: app.query("#pinned"))
        await send(pilot, ORDER)
        pinned = app.query_one("#pinned")
        assert {type(p).__name__ for p in pinned.query("TracePanel")} == {
            "SlotsPanel",
            "StackPanel",
        }
        assert all(p.trace is app.conversation.traces[-1] for p in app.query_one(PanelArea).panels)


async def test_letter_keys_type_into_the_input(project):
    app = app_on(project)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await pilot.press("s", "e", "w", "f")
        assert app.main.chat.input.value == "sewf"
        assert isinstance(app.screen, MainScreen) and app.screen.maximized is None


async def test_the_command_palette_offers_the_workbench_commands(project):
    app = app_on(project)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        titles = {c.title for c in app.get_system_commands(app.main)}
        assert {"Restart conversation", "Sessions", "Export session as e2e test"} <= titles
        assert "Rewind here" not in titles
        app.main.chat.select(0)
        await send(pilot, ORDER)
        app.main.chat.select(0)
        await wait_until(pilot, lambda: app.main.viewing == 0)
        assert "Rewind here" in {c.title for c in app.get_system_commands(app.main)}


# -- the command line --------------------------------------------------------------------------


def test_cli_rejects_cassette_with_record(project, capsys):
    assert cli_main([str(project), "--cassette", "a.yml", "--record", "b.yml"]) == 2
    assert "exclude each other" in capsys.readouterr().err


def test_cli_reports_a_missing_cassette(project, capsys):
    assert cli_main([str(project), "--cassette", str(project / "nope.yml")]) == 2
    assert "calm-tui: error:" in capsys.readouterr().err


def test_cli_tui_options(project):
    from workbench.cli.tui import parser as _tui_parser

    args = _tui_parser().parse_args([str(project), "--offline", "--no-store", "--seed", "3"])
    assert args.offline and args.no_store and args.seed == 3
    app = make_app(project, offline=args.offline, store=not args.no_store, seed=args.seed)
    assert app.conversation.label.startswith("offline")
    assert app.conversation.recorder is None
    assert app.conversation.session.tracker.seed == 3


async def test_a_project_broken_at_start_opens_with_the_banner(project):
    flows = project / "data" / "flows" / "orders.yml"
    good = flows.read_text()
    flows.write_text(good + "\n  broken_flow:\n    steps: [unclosed\n")
    app = app_on(project)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        banner = app.query_one(ErrorBanner)
        assert banner.display
        assert "fix the errors" in text_of(banner)
        assert "fix and save" in text_of(app.query_one(WorkbenchHeader))
        flows.write_text(good)
        await wait_until(pilot, lambda: not banner.display, what="the banner to clear")
        assert app.watcher.last_good is app.conversation.project


async def test_a_turn_is_a_send_then_a_turn_done_message(project):
    log = MessageLog(ChatPane.Send, TurnDone)
    app = app_on(project)
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await start(pilot)
        log.clear()
        await send(pilot, ORDER)
        assert log.names() == ["Send", "TurnDone"]
        assert log.of(ChatPane.Send)[0].text == ORDER
        assert log.of(TurnDone)[0].trace is app.conversation.traces[-1]


async def test_typed_text_is_submitted_sent_and_done_in_that_order(project):
    log = MessageLog()
    app = app_on(project)
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await start(pilot)
        log.clear()
        await send(pilot, ORDER)
        assert log.names() == ["Submitted", "Send", "TurnDone"]
        assert log.of(TurnDone)[0].trace.user_text == ORDER
        # while a turn runs, another submit is refused before it becomes a Send
        log.clear()
        app.main.chat.set_busy(True, ORDER)
        app.main.chat.input.value = CANCEL
        await pilot.press("enter")
        await pilot.pause()
        app.main.chat.set_busy(False)
        assert log.names() == ["Submitted"]
        assert any("Still answering" in m for m in notifications(app))


async def test_a_bug_while_showing_a_turn_is_a_notification(project, monkeypatch):
    app = app_on(project)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)

        async def broken(trace):
            raise ValueError("cannot draw")

        monkeypatch.setattr(app.main.chat, "add_turn", broken)
        app.main.chat.input.value = ORDER
        await pilot.press("enter")
        await wait_until(pilot, lambda: any("cannot draw" in m for m in notifications(app)))
        assert app.is_running
        assert len(app.conversation.traces) == 2  # the turn itself happened (and was saved)


async def test_the_header_names_how_custom_actions_run(project):
    from workbench.tui.screens.main import ActionsReady

    ready: list[ActionsReady] = []
    app = app_on(project)

    def hook(message) -> None:
        if isinstance(message, ActionsReady) and message not in ready:
            ready.append(message)

    async with app.run_test(size=(160, 45), message_hook=hook) as pilot:
        await start(pilot)
        assert [m.label for m in ready] == ["actions in-process"]
        assert ready[0].problems == []
        assert "actions in-process" in text_of(app.query_one(WorkbenchHeader))


async def test_actions_off_and_a_missing_module_are_said_at_start(project):
    from workbench.wiring import Options

    (project / "actions" / "needs_lib.py").write_text("import not_installed_anywhere_lib\n")
    app = make_app(project, options=Options(offline=True, actions="off"), store=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await start(pilot)
        assert "actions off" in text_of(app.query_one(WorkbenchHeader))
    app = make_app(project, options=Options(offline=True), store=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await start(pilot)
        await wait_until(
            pilot, lambda: any("not_installed_anywhere_lib" in m for m in notifications(app))
        )
        warning = next(m for m in notifications(app) if "not_installed_anywhere_lib" in m)
        assert "actions/needs_lib.py:1" in warning


async def test_a_nested_config_is_noted_at_start(project):
    (project / "config").mkdir()
    (project / "config.yml").rename(project / "config" / "config.yml")
    app = app_on(project, store=False)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        assert "using config/config.yml (no config.yml at the project root)" in notifications(app)


async def test_an_older_turn_is_drawn_against_the_project_it_was_made_with(project):
    app = app_on(project, store=False)
    flows = project / "data" / "flows" / "orders.yml"
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await send(pilot, CANCEL)
        made_with = app.conversation.traces[-1]
        assert [f.step_id for f in made_with.stack_after if f.is_flow] == ["confirm_cancellation"]
        text = flows.read_text()
        for old in ("id: confirm_cancellation\n", "then: confirm_cancellation\n"):
            text = text.replace(old, old.replace("confirm_cancellation", "confirm_it"))
        flows.write_text(text)
        app.main.reload_now()
        await wait_until(
            pilot,
            lambda: app.conversation.project.fingerprint != made_with.project_fingerprint,
            what="the reload",
        )
        assert app.conversation.project.flow("cancel_order").step("confirm_it") is not None
        await send(pilot, ORDER)
        app.main.chat.chat_log.focus()
        app.main.chat.select(1)
        await wait_until(pilot, lambda: app.main.viewing == 1)
        panel = app.main.query_one(FlowPanel)
        assert panel.project.fingerprint == made_with.project_fingerprint
        chart = panel.chart.chart
        assert chart is not None and panel.current_step == "confirm_cancellation"
        assert chart.nodes["confirm_cancellation"].step_kind == "collect"
        assert "confirm_it" not in chart.nodes
        assert panel.project_note == ""


async def test_the_header_says_which_prompt_a_model_gets(project):
    from workbench.project.loader import load_project
    from workbench.understanding.llm_generator import LLMCommandGenerator
    from workbench.understanding.models import ModelSpec

    (project / "workbench.yml").write_text("prompt: workbench\n", encoding="utf-8")
    loaded = load_project(project).project
    model = LLMCommandGenerator(loaded, ModelSpec("openai/gpt-4o-mini"))
    app = make_app(project, generator=model, store=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await start(pilot)
        assert "workbench prompt" in text_of(app.query_one(WorkbenchHeader))


async def test_the_palette_screenshot_is_saved_under_the_project(project):
    app = app_on(project)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        app.deliver_screenshot()  # what the palette's "Screenshot" command runs
        folder = project / ".calm" / "screenshots"
        await wait_until(pilot, lambda: any(folder.glob("*.svg")), what="the screenshot")
        await wait_until(
            pilot,
            lambda: any(str(folder) in m for m in notifications(app)),
            what="the notification naming the file",
        )
        [svg] = folder.glob("*.svg")
        assert svg.read_text().startswith("<svg")
