"""Keys never surprise: typing goes to the message input from wherever the focus is,
actions sit on ctrl keys the input does not use, and those that write a file or change the
conversation ask first. The footer, the palette and the help screen come from one
registry (workbench/tui/keys.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from tui_helpers import MessageLog, copy_sample, send, start, text_of, wait_until

from workbench.tui import keys
from workbench.tui.app import make_app
from workbench.tui.screens.confirm import ConfirmScreen
from workbench.tui.screens.help import HelpScreen
from workbench.tui.screens.main import MainScreen
from workbench.tui.screens.sessions import SessionsScreen, TranscriptScreen

SIZE = (100, 30)
# every letter that was once a hotkey, and then some
SENTENCE = "see if we fork, export or rewind when typing words like these"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_sample(tmp_path)


def files_of(root: Path) -> set[str]:
    """The project's files, except the session store (a turn writes it)."""
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and ".calm" not in p.relative_to(root).parts
    }


async def type_text(pilot, text: str) -> None:
    await pilot.press(*[" " if c == " " else c for c in text])


async def test_a_sentence_typed_from_every_focusable_widget_reaches_the_input(project):
    app = make_app(project, offline=True)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await start(pilot)
        await send(pilot, "where is my order A1001")
        await send(pilot, "I want to cancel order A1002")
        before = files_of(project)
        turns = len(app.conversation.traces)
        chat_input = app.main.chat.input
        focusable = [w for w in app.main.focus_chain if w is not chat_input]
        assert len(focusable) >= 3, focusable  # the chat log, the tabs, a panel at least
        for widget in focusable:
            chat_input.value = ""
            # a past turn selected, as when `w` used to rewind
            app.main.chat.select(1)
            await wait_until(pilot, lambda: app.main.viewing == 1)
            widget.focus()
            await pilot.pause()
            log.clear()
            await type_text(pilot, SENTENCE)
            await pilot.pause()
            assert chat_input.value == SENTENCE, f"typed from {widget!r}"
            assert app.focused is chat_input
            assert isinstance(app.screen, MainScreen), f"typed from {widget!r}: {app.screen!r}"
            assert app.screen.maximized is None
            assert log.names() == [], f"typed from {widget!r}: {log.names()}"
            assert len(app.conversation.traces) == turns
        assert files_of(project) == before


async def test_a_paste_into_the_chat_log_goes_to_the_input(project):
    app = make_app(project, offline=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        app.main.chat.chat_log.focus()
        await pilot.pause()
        app.main.chat.chat_log.post_message(events.Paste("hello there"))
        await wait_until(pilot, lambda: app.main.chat.input.value == "hello there")
        assert app.focused is app.main.chat.input


async def test_export_asks_and_writes_nothing_when_declined(project):
    app = make_app(project, offline=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await send(pilot, "where is my order A1001")
        before = files_of(project)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "e2e_tests/" in text_of(app.screen)
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.pause()
        assert files_of(project) == before
        assert app.last_export is None
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: app.last_export is not None)
        added = files_of(project) - before
        assert app.last_export.test_path.relative_to(project).as_posix() in added


async def test_rewind_asks_and_keeps_the_conversation_when_declined(project):
    app = make_app(project, offline=True)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await start(pilot)
        await send(pilot, "where is my order A1001")
        await send(pilot, "I want to cancel order A1002")
        app.main.chat.chat_log.focus()
        app.main.chat.select(1)
        await wait_until(pilot, lambda: app.main.viewing == 1)
        log.clear()
        await pilot.press("ctrl+b")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "turn 1" in text_of(app.screen)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.pause()
        assert len(app.conversation.traces) == 3
        assert log.names() == []


async def test_footer_palette_and_help_come_from_the_registry(project):
    app = make_app(project, offline=True)
    async with app.run_test(size=(160, 45)) as pilot:
        await start(pilot)
        bound: dict[str, set[str]] = {}
        for key, active in app.active_bindings.items():
            if active.node is app.main:
                bound.setdefault(active.binding.action, set()).add(key)
        for action in keys.MAIN:
            if action.key and action.action != "rewind":  # rewind: with a past turn shown
                assert bound[action.action] == set(action.key.split(","))
            # no action of the registry sits on a printable key
            assert all(len(k) > 1 for k in action.key.split(",") if k)
        palette = {c.title: c.help for c in app.get_system_commands(app.main)}
        for action in keys.MAIN:
            if action.palette and action.action != "rewind":
                assert action.title in palette
                if action.key:
                    assert f"({action.shown_key})" in palette[action.title]
        assert "Rewind here" not in palette  # only with a past turn selected
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        shown = text_of(app.screen)
        for action in keys.MAIN:
            assert action.title in shown
            if action.key:
                assert action.shown_key in shown
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))


async def two_sessions_in_the_browser(pilot, app) -> None:
    """An order question, a new conversation with a cancellation, then ctrl+o."""
    await start(pilot)
    await send(pilot, "where is my order A1001")
    await pilot.press("ctrl+r")
    await wait_until(pilot, lambda: len(app.conversation.traces) == 1)
    await send(pilot, "I want to cancel order A1002")
    await pilot.press("ctrl+o")
    await wait_until(pilot, lambda: isinstance(app.screen, SessionsScreen))


async def test_typing_in_the_session_browser_searches(project):
    app = make_app(project, offline=True)
    async with app.run_test(size=SIZE) as pilot:
        await two_sessions_in_the_browser(pilot, app)
        browser = app.screen
        table = browser.query_one("DataTable")
        assert table.row_count == 2
        table.focus()
        await type_text(pilot, "cancel")  # letters that once resumed, forked, deleted
        await wait_until(pilot, lambda: table.row_count == 1)
        assert isinstance(app.screen, SessionsScreen)
        assert browser.query_one("#sessions-search").value == "cancel"
        assert "cancel" in str(table.get_row_at(0)[1])
        await type_text(pilot, "zzz")
        await wait_until(pilot, lambda: table.row_count == 0)
        assert "No session matches" in text_of(browser.query_one("#sessions-empty"))


async def test_typing_in_a_read_only_transcript_does_nothing(project):
    app = make_app(project, offline=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await send(pilot, "where is my order A1001")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: len(app.conversation.traces) == 1)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionsScreen))
        table = app.screen.query_one("DataTable")
        table.focus()
        table.move_cursor(row=1)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, TranscriptScreen))
        await type_text(pilot, "resume or fork")
        await pilot.pause()
        assert isinstance(app.screen, TranscriptScreen)


async def test_the_session_browser_previews_the_highlighted_session(project):
    app = make_app(project, offline=True)
    async with app.run_test(size=SIZE) as pilot:
        await two_sessions_in_the_browser(pilot, app)
        browser = app.screen
        table = browser.query_one("DataTable")
        preview = browser.query_one("#sessions-preview")
        table.focus()
        table.move_cursor(row=0)  # newest first: the cancellation
        await wait_until(pilot, lambda: "cancel order A1002" in text_of(preview))
        shown = text_of(preview)
        assert "  1  you  I want to cancel order A1002" in shown
        assert "bot  Order A1002" in shown
        table.move_cursor(row=1)
        await wait_until(pilot, lambda: "where is my order A1001" in text_of(preview))
        assert "Good news! Order A1001" in text_of(preview)
