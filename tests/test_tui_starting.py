"""`calm-tui` draws its first screen before the project is loaded: the input takes typing
at once, and what was typed or sent there goes over to the main screen."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from fake_llm import FakeLLM
from pty_app import PtyApp
from tui_helpers import MessageLog, copy_sample, start, turn_items, wait_until

from workbench.errors import WorkbenchError
from workbench.tui.app import WorkbenchApp, load_workbench
from workbench.tui.message_input import MESSAGE_PLACEHOLDER, HistoryInput
from workbench.tui.screens.main import MainScreen, TurnDone
from workbench.tui.screens.starting import LoadFailed, ProjectLoaded, StartingScreen
from workbench.wiring import Options


def gated_app(root: Path, gate: threading.Event) -> WorkbenchApp:
    """The app as `calm-tui` makes it, its project loading only once `gate` is set."""

    def loading():
        assert gate.wait(10), "the test never let the project load"
        return load_workbench(root, Options(offline=True), store=False)

    return WorkbenchApp(loading=loading, root=root, watch=False)


@pytest.fixture
def project(tmp_path):
    return copy_sample(tmp_path)


async def test_the_first_screen_takes_typing_before_the_project_is_loaded(project):
    gate = threading.Event()
    app = gated_app(project, gate)
    log = MessageLog(ProjectLoaded, TurnDone)
    async with app.run_test(size=(100, 30), message_hook=log) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, StartingScreen)
        assert not app.is_loaded
        field = app.screen.query_one(HistoryInput)
        assert app.screen.focused is field and field.placeholder == MESSAGE_PLACEHOLDER
        header = str(app.screen.query_one("#starting-header").query("Label").first().visual)
        assert project.name in header
        await pilot.press(*"hel")
        app.screen.set_focus(None)  # a click beside the input
        await pilot.press(*"lo")
        assert field.value == "hello" and app.screen.focused is field
        assert log.names() == []  # nothing loaded, nothing answered

        gate.set()
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen), what="the main screen")
        await start(pilot)
        assert app.main.chat.input.value == "hello"  # the draft went over, not sent
        assert app.main.chat.input.cursor_position == len("hello")
        assert app.screen.focused is app.main.chat.input
        assert [type(m).__name__ for m in log.messages] == ["ProjectLoaded", "TurnDone"]


async def test_a_message_sent_while_loading_is_sent_after_the_greeting(project):
    gate = threading.Event()
    app = gated_app(project, gate)
    log = MessageLog(TurnDone)
    async with app.run_test(size=(100, 30), message_hook=log) as pilot:
        await pilot.pause()
        await pilot.press(*"where is my order", "enter")
        field = app.screen.query_one(HistoryInput)
        assert field.value == ""
        queued = app.screen.query_one("#starting-queued")
        assert queued.display and "where is my order" in str(queued.visual)
        assert app.queued_message == "where is my order"
        await pilot.press(*"and my points", "enter")  # one waits already: this one stays
        assert field.value == "and my points"
        assert any("already waits" in n.message for n in app._notifications)
        field.value = ""

        gate.set()
        await wait_until(pilot, lambda: len(log.messages) >= 2, what="two turns")
        await start(pilot)
        turns = [message.trace.user_text for message in log.of(TurnDone)]
        assert turns == ["/session_start", "where is my order"]
        assert app.queued_message is None
        items = turn_items(app)
        assert len(items) == 2
        assert app.main.chat.input.history == ["where is my order"]  # ↑ brings it back


async def test_a_project_that_cannot_load_ends_the_app_with_its_error(project):
    def loading():
        raise WorkbenchError("cannot read the cassette broken.yml: not YAML")

    app = WorkbenchApp(loading=loading, root=project, watch=False)
    log = MessageLog(LoadFailed)
    async with app.run_test(size=(100, 30), message_hook=log) as pilot:
        await wait_until(pilot, lambda: log.messages, what="the failed load")
        await pilot.pause()
    assert isinstance(app.load_error, WorkbenchError)
    assert app.return_code == 1


def test_an_app_is_given_a_project_or_a_way_to_load_one(project):
    with pytest.raises(ValueError):
        WorkbenchApp()
    loaded = load_workbench(project, Options(offline=True), store=False)
    try:
        with pytest.raises(ValueError):
            WorkbenchApp(loaded, loading=lambda: loaded)
    finally:
        loaded.conversation.close()


# -- in a real terminal ---------------------------------------------------------------------


def test_keys_typed_from_the_first_frame_on_all_reach_the_input(project):
    """With a model configured (its client imports beside the project load): a key
    every 80 ms from the moment the input is drawn, through the load and the switch to
    the main screen. None is lost, and the message goes to the model."""
    letters = b"abcdefghijklmnopqrstuvwxyz"
    endpoints = project / "endpoints.yml"
    with FakeLLM() as server:
        server.default.text = "start flow check_order_status"
        endpoints.write_text(
            endpoints.read_text(encoding="utf-8").replace(
                "        model: gpt-4o-2024-11-20\n",
                f"        model: fake\n        api_base: {server.url}\n",
                1,
            ),
            encoding="utf-8",
        )
        terminal = PtyApp(project, options=("--no-store",))
        try:
            terminal.wait_for(b"history, 1-9 buttons")
            for letter in letters:
                terminal.write(bytes([letter]))
                terminal.pause(0.08)
            if b"Penny" not in terminal.text:  # the greeting: the main screen is up
                terminal.wait_for(b"Penny")
            terminal.write(b"\r")
            terminal.wait_for(b"you  " + letters)
            terminal.wait_for(b"check_order_status", timeout=60)
        finally:
            assert terminal.close() == 0
        assert any(letters.decode() in json.dumps(r) for r in server.requests)


def test_a_cassette_that_cannot_be_read_ends_calm_tui_with_its_error(project):
    broken = project / "broken_cassette.yml"
    broken.write_text("entries: [unclosed\n", encoding="utf-8")
    terminal = PtyApp(project, options=("--cassette", str(broken), "--no-store"))
    try:
        code = terminal.wait_exit(30)
    finally:
        terminal.close()
    assert code == 1
    assert b"calm-tui: error:" in terminal.text and b"broken_cassette.yml" in terminal.text
