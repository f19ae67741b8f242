"""The trace records: stored sessions of earlier versions still open and render, the
records round-trip through the store, a session times turns with the clock it is given,
and every front end words a command, a dropped command and a message alike."""

from __future__ import annotations

import asyncio
import io
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console
from session_helpers import copy_sample, load

from workbench.calm.commands import StartFlow
from workbench.cli.main import main
from workbench.session import Session
from workbench.shell import print_trace
from workbench.store import SessionStore
from workbench.testing.replay import compare_turn
from workbench.testing.runner import turn_view
from workbench.trace.records import (
    BotMessage,
    Button,
    CommandRecord,
    DroppedRecord,
    Event,
    RewrittenRecord,
    StackFrame,
)
from workbench.trace.text import (
    bot_message_lines,
    chat_markup,
    command_call,
    command_text,
    dropped_text,
    rewritten_text,
)
from workbench.trace.turn import TurnTrace
from workbench.tui.conversation import PROJECTS_KEPT, UNKNOWN_PROJECT, Conversation
from workbench.understanding.base import GeneratorOutput, ScriptedGenerator
from workbench.understanding.offline.generator import OfflineGenerator
from workbench.wiring import Parts

V1_STORE = Path(__file__).parent / "fixtures" / "stores" / "v1_sessions.db"
V1_SESSION = "20261206-0210-faba"


# --- a store written while traces held plain dicts ----------------------------------------


@pytest.fixture
def v1_root(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    (root / ".calm").mkdir(parents=True)
    shutil.copy(V1_STORE, root / ".calm" / "sessions.db")
    return root


def test_a_v1_store_opens_with_typed_records(v1_root: Path):
    with SessionStore(v1_root) as store:
        turns = store.get_turns(V1_SESSION)
    assert [t.user_text for t in turns][:3] == [
        "/session_start",
        "I want to cancel my order A1002",
        "/start flow no_such_flow",
    ]
    greeting, cancel, unknown, correction = turns[:4]
    assert greeting.project_fingerprint == ""  # not kept then
    assert [command_text(c) for c in cancel.commands] == [
        "start flow cancel_order",
        "set slot order_id A1002",
    ]
    assert all(isinstance(c, CommandRecord) and c.why == "" for c in cancel.commands)
    assert cancel.bot_messages[0].response == "utter_ask_confirm_cancellation"
    assert cancel.bot_messages[0].buttons == (
        Button("Yes, cancel it", "/SetSlots(confirm_cancellation=true)"),
        Button("No, keep it", "/SetSlots(confirm_cancellation=false)"),
    )
    assert [a.name for a in cancel.actions][:2] == [
        "action_run_slot_rejections",
        "action_check_order",
    ]
    assert all(isinstance(e, Event) for a in cancel.actions for e in a.events)
    flow = [f for f in cancel.stack_after if f.is_flow]
    assert [(f.flow_id, f.step_id, f.kind) for f in flow] == [
        ("cancel_order", "confirm_cancellation", "regular")
    ]
    assert cancel.events[0].type == "user" and cancel.events[0].text == cancel.user_text
    (dropped,) = unknown.dropped
    assert dropped_text(dropped) == ("start flow no_such_flow: flow 'no_such_flow' does not exist")
    (rewritten,) = correction.rewritten
    assert rewritten_text(rewritten) == (
        "set slot order_id A1003 → correct slot order_id=A1003: "
        "'order_id' already holds 'A1002': this is a correction"
    )
    for trace in turns:
        assert TurnTrace.from_dict(trace.to_dict()) == trace


def test_sessions_show_renders_a_v1_store(v1_root: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["sessions", "show", V1_SESSION, str(v1_root), "-v"]) == 0
    out = capsys.readouterr().out
    assert "you> I want to cancel my order A1002" in out
    assert "bot> Order A1002 (Linen throw pillow) hasn't shipped yet." in out
    assert "1 Yes, cancel it → /SetSlots(confirm_cancellation=true)" in out
    assert "commands     start flow(flow='cancel_order'); set slot(slot='order_id'," in out
    assert "dropped     start flow(flow='no_such_flow'): flow 'no_such_flow' does not" in out
    assert "rewritten    set slot(slot='order_id', value='A1003', filled_by='LLM') →" in out
    assert "stack        cancel_order (regular) @ confirm_cancellation" in out
    assert "actions      action_run_slot_rejections, action_check_order," in out
    assert "flow events  started cancel_order, started pattern_collect_information," in out


# --- live traces -----------------------------------------------------------------------------


class Ticking:
    """A clock that moves 5 ms each time it is read."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 0.005
        return self.now


def test_a_session_times_its_turns_with_the_clock_it_is_given(tmp_path: Path):
    project = load(copy_sample(tmp_path))
    session = Session(project, ScriptedGenerator(["start flow store_info"]), clock=Ticking())
    trace = asyncio.run(session.handle("what are your opening hours"))
    # one reading each: start, understood, applied, every action's start and end, finished
    actions = len(trace.actions)
    assert trace.timings_ms == pytest.approx(
        {
            "understand": 5.0,
            "clean_apply": 5.0,
            "execute": 5.0 * (2 * actions + 1),
            "total": 5.0 * (2 * actions + 3),
        }
    )
    assert all(run.duration_ms == pytest.approx(5.0) for run in trace.actions)


def test_live_traces_round_trip_through_the_store(tmp_path: Path):
    root = copy_sample(tmp_path)
    project = load(root)
    session = Session(project, OfflineGenerator(), clock=lambda: 0.0)

    async def chat() -> None:
        for text in ("/session_start", "I want to cancel my order A1002", "/start flow nope"):
            await session.handle(text)

    asyncio.run(chat())
    assert {t.project_fingerprint for t in session.traces} == {project.fingerprint}
    with SessionStore(root) as store:
        session_id = store.create_session("offline", "default", 0, project.fingerprint)
        for trace in session.traces:
            store.add_turn(session_id, trace)
        stored = store.get_turns(session_id)
    assert [t.to_dict() for t in stored] == [t.to_dict() for t in session.traces]
    assert stored[1].commands[0].dsl == "start flow cancel_order"


class Explaining:
    """A generator that says why it made its command."""

    name = "explaining"

    async def generate(self, message, tracker, project) -> GeneratorOutput:
        return GeneratorOutput([StartFlow("store_info")], why=["the message names the store"])


def test_why_a_command_was_made_is_kept_with_it(tmp_path: Path):
    project = load(copy_sample(tmp_path))
    session = Session(project, Explaining())
    trace = asyncio.run(session.handle("where is the shop"))
    assert [(c.name, c.why) for c in trace.parsed_commands] == [
        ("start flow", "the message names the store")
    ]
    assert [(c.name, c.why) for c in trace.commands] == [
        ("start flow", "the message names the store")
    ]
    out = io.StringIO()
    print_trace(trace, Console(file=out, width=200))
    assert re.search(r"why +start flow store_info: the message names the store", out.getvalue())


# --- one wording ---------------------------------------------------------------------------


def test_the_front_ends_word_a_turn_alike(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    root = copy_sample(tmp_path)
    project = load(root)
    raw = "start flow delete_everything\nstart flow cancel_order\nset slot order_id A1002"
    session = Session(project, ScriptedGenerator([raw]), clock=lambda: 0.0)
    trace = asyncio.run(session.handle("cancel it please"))
    (dropped,) = trace.dropped
    short = dropped_text(dropped)
    assert short == "start flow delete_everything: flow 'delete_everything' does not exist"

    # e2e report and replay: the short form
    view = turn_view(session.tracker.events[trace.event_offset :], trace, trace.user_text)
    assert view.dropped == [short]
    assert view.commands == [command_text(c) for c in trace.commands]
    assert compare_turn(trace, trace).dropped == [short]
    assert view.bot == trace.bot_messages

    # the shell's --debug and `sessions show -v`: the same table
    shell_out = io.StringIO()
    print_trace(trace, Console(file=shell_out, width=200))
    assert re.search(
        rf"dropped +{re.escape(dropped_text(dropped, full=True))}", shell_out.getvalue()
    )
    with SessionStore(root) as store:
        session_id = store.create_session("scripted", "default", 0, project.fingerprint)
        store.add_turn(session_id, trace)
    capsys.readouterr()
    assert main(["sessions", "show", session_id, str(root), "-v"]) == 0
    shown = " ".join(capsys.readouterr().out.split())  # as wide as the terminal: wrapped
    assert f"dropped {dropped_text(dropped, full=True)}" in shown

    # a bot message with buttons reads the same in the shell and the report
    message = BotMessage("Sure?", "utter_ask_sure", (Button("Yes", "/SetSlots(sure=true)"),))
    first = message.buttons[0]
    assert f"{first.title} [dim]→ {first.payload}" in chat_markup(message)[-1]
    assert f"{first.title} → {first.payload}" in bot_message_lines([message])[-1]


def test_records_read_the_dicts_of_earlier_traces():
    assert CommandRecord.from_dict({"command": "set slot", "slot": "a", "value": 3}) == (
        CommandRecord("set slot", {"slot": "a", "value": 3})
    )
    old = {"reason": "r", "command": {"command": "cancel flow"}, "line": None}
    assert DroppedRecord.from_dict(old) == DroppedRecord("r", CommandRecord("cancel flow"))
    assert DroppedRecord.from_dict(old).as_dict() == old
    rewritten = RewrittenRecord.from_dict(
        {"original": {"command": "a"}, "replacement": {"command": "b"}, "reason": "r"}
    )
    assert (rewritten.original.name, rewritten.replacement.name) == ("a", "b")
    message = {"text": "hi", "response": "utter_hi", "buttons": [{"title": "t", "payload": "p"}]}
    assert BotMessage.from_dict(message).as_dict() == message
    frame = {"frame_id": "x", "type": "pattern_collect_information", "collect": "order_id"}
    assert StackFrame.from_dict(frame).as_dict() == frame
    assert StackFrame.from_dict(frame).kind == "pattern"
    assert command_call(CommandRecord("start flow", {"flow": "x"})) == "start flow(flow='x')"


# --- the projects a conversation keeps -----------------------------------------------------


def test_a_conversation_keeps_the_last_projects_by_fingerprint(tmp_path: Path):
    project = load(copy_sample(tmp_path))
    conversation = Conversation(
        project, Parts(OfflineGenerator(), "offline", None), root=tmp_path, store=False
    )
    old = TurnTrace(1, "hi", project_fingerprint=project.fingerprint)
    assert conversation.project_for(old) == (project, "")
    versions = [replace(project, fingerprint=f"v{n}") for n in range(PROJECTS_KEPT + 1)]
    for version in versions:
        conversation.replace_project(version)
    assert conversation.project_for(TurnTrace(2, "x", project_fingerprint="v1")) == (
        versions[1],
        "",
    )
    # the first project has fallen out: the current one stands in, and says so
    current = conversation.project
    assert conversation.project_for(old) == (current, UNKNOWN_PROJECT)
    assert conversation.project_for(TurnTrace(3, "x")) == (current, "")
