"""Custom actions that misbehave: a slow in-process action runs off the event loop and
is abandoned after the timeout (the action server's), Ctrl-C inside an action ends that
action and not the conversation, and an action server that trickles its answer byte by
byte is held to the timeout for the whole call."""

from __future__ import annotations

import asyncio
import time

from workbench.actions.protocol import ACTION_TIMEOUT
from workbench.actions.python import PythonActions
from workbench.actions.server import DEFAULT_TIMEOUT, ActionServerClient
from workbench.engine.tracker import Tracker
from workbench.project.loader import load_project

ACTIONS = """
    import time

    from workbench.sdk import Action

    class ActionSlow(Action):
        def name(self):
            return "action_slow"

        def run(self, dispatcher, tracker, domain):
            time.sleep(1.0)
            dispatcher.utter_message(text="too late")
            return []

    class ActionInterrupted(Action):
        def name(self):
            return "action_interrupted"

        def run(self, dispatcher, tracker, domain):
            raise KeyboardInterrupt

    class ActionQuick(Action):
        def name(self):
            return "action_quick"

        def run(self, dispatcher, tracker, domain):
            dispatcher.utter_message(text="quick")
            return []
"""


def _project(make_project):
    root = make_project({"actions/__init__.py": "", "actions/acts.py": ACTIONS})
    return load_project(root).project


def test_in_process_and_server_actions_share_one_timeout():
    assert DEFAULT_TIMEOUT == ACTION_TIMEOUT
    assert PythonActions().timeout == ACTION_TIMEOUT


async def test_a_slow_action_times_out_without_freezing_the_loop(make_project):
    project = _project(make_project)
    runner = PythonActions(use_rasa_sdk=False, timeout=0.3)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    beat = asyncio.create_task(ticker())
    started = time.perf_counter()
    result = await runner.run("action_slow", Tracker(project), project)
    took = time.perf_counter() - started
    beat.cancel()
    assert result.error is not None and "did not finish within 0.3 s" in result.error
    assert took < 0.9
    assert ticks >= 5  # the loop kept running while the action slept
    quick = await runner.run("action_quick", Tracker(project), project)
    assert quick.error is None and quick.messages[0]["text"] == "quick"


async def test_ctrl_c_inside_an_action_ends_only_that_action(make_project):
    project = _project(make_project)
    runner = PythonActions(use_rasa_sdk=False)
    result = await runner.run("action_interrupted", Tracker(project), project)
    assert result.error == "action 'action_interrupted' was interrupted (Ctrl-C)"
    quick = await runner.run("action_quick", Tracker(project), project)
    assert quick.error is None


async def test_ctrl_c_while_waiting_for_an_action_ends_only_that_action(make_project):
    """The shell's Ctrl-C cancels the task that waits for the action (asyncio.run's
    SIGINT handling); the call reports it and the turn goes on."""
    project = _project(make_project)
    runner = PythonActions(use_rasa_sdk=False)

    async def call():
        result = await runner.run("action_slow", Tracker(project), project)
        return result, "went on"

    task = asyncio.create_task(call())
    await asyncio.sleep(0.2)
    task.cancel()
    result, after = await task
    assert result.error == "action 'action_slow' was interrupted (Ctrl-C)"
    assert after == "went on"


async def test_a_server_that_trickles_its_answer_is_held_to_the_total_timeout(make_project):
    project = _project(make_project)

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        try:
            for _ in range(1000):
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.05)  # each byte well within the per-read timeout
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(trickle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = ActionServerClient(f"http://127.0.0.1:{port}/webhook", timeout=0.5)
    started = time.perf_counter()
    try:
        result = await client.run("action_quick", Tracker(project), project)
    finally:
        await client.aclose()
        server.close()
    assert time.perf_counter() - started < 2.0
    assert result.error is not None and "did not answer within 0.5 s" in result.error


async def test_a_huge_message_is_refused_at_once_with_a_message(make_project):
    from workbench.session import MAX_MESSAGE_CHARACTERS, Session
    from workbench.understanding.offline.generator import OfflineGenerator

    project = _project(make_project)
    session = Session(project, OfflineGenerator())
    started = time.perf_counter()
    trace = await session.handle("x" * (1024 * 1024))
    assert time.perf_counter() - started < 1.0
    assert trace.errors == [
        f"message of 1024 KB refused: messages over {MAX_MESSAGE_CHARACTERS // 1024} KB "
        "are not processed"
    ]
    assert len(trace.user_text) < 300
    assert [c.name for c in trace.commands] == ["error"]
    assert trace.bot_messages  # the too-long pattern answers


async def test_a_huge_slot_value_from_an_action_is_refused(make_project):
    from workbench.session import Session
    from workbench.understanding.base import ScriptedGenerator

    project = _project(make_project)
    session = Session(project, ScriptedGenerator([]))
    session.start()
    followups = None
    try:
        followups = session.apply_action_events(
            [{"event": "slot", "name": "name", "value": "x" * 300_000}]
        )
    except ValueError as exc:
        assert "slot 'name' set to a value of 292 KB" in str(exc)
    assert followups is None
    assert session.tracker.slots["name"] is None


async def test_the_tui_turn_and_its_save_run_off_the_event_loop(make_project, tmp_path):
    """A slow generator (the engine turn, the offline generator and SQLite alike) runs on
    the conversation's turn thread: the UI's loop keeps ticking, and the store is
    written from that one thread."""
    import threading

    from workbench.store import SessionStore
    from workbench.tui.conversation import Conversation
    from workbench.understanding.offline.generator import OfflineGenerator
    from workbench.wiring import Parts

    project = _project(make_project)
    seen: list[str] = []

    class Slow(OfflineGenerator):
        async def generate(self, message, tracker, project):
            seen.append(threading.current_thread().name)
            time.sleep(0.5)  # blocks whatever loop it runs on
            return await super().generate(message, tracker, project)

    conversation = Conversation(project, Parts(Slow(), "offline", None), root=project.root)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    beat = asyncio.create_task(ticker())
    await conversation.send("/session_start")
    trace = await conversation.send("hello there")
    beat.cancel()
    assert seen == ["calm-tui turns"]
    assert ticks >= 10
    session_id = conversation.store_session_id
    conversation.close()
    with SessionStore(project.root) as store:
        assert [t.user_text for t in store.get_turns(session_id)][-1] == trace.user_text
