"""A long conversation stays small: old turns are packed, and the events before a
restart are forgotten once the log is long, with positions that still add up."""

from __future__ import annotations

import asyncio

from tests.session_helpers import SAMPLE
from workbench.engine.tracker import Tracker
from workbench.project.loader import load_project
from workbench.session import Session
from workbench.trace.log import TraceLog
from workbench.trace.turn import TurnTrace
from workbench.understanding.offline.generator import OfflineGenerator


def test_old_turns_are_packed_and_read_back_whole() -> None:
    project = load_project(SAMPLE).project
    session = Session(project, OfflineGenerator())
    session.traces = TraceLog(keep=3, batch=2)
    messages = ["where is my order A1001", "I want to cancel my order A1002", "no", "hi"] * 3

    async def chat() -> list[TurnTrace]:
        return [await session.handle(text) for text in messages]

    made = asyncio.run(chat())
    log = session.traces
    assert len(log) == len(messages)
    assert log._packed, "the oldest turns are packed"
    # recent turns are the very objects the session made; old ones come back equal
    assert log[-1] is made[-1] and log[len(log) - 2] is made[-2]
    assert [t.to_dict() for t in log] == [t.to_dict() for t in made]
    assert [t.user_text for t in log[1:4]] == messages[1:4]
    assert log[0].bot_texts == made[0].bot_texts
    try:
        log[len(messages)]
    except IndexError:
        pass
    else:
        raise AssertionError("reading past the last turn must fail")


def test_events_before_a_restart_are_forgotten_only_when_the_log_is_long() -> None:
    project = load_project(SAMPLE).project
    tracker = Tracker(project)
    for index in range(30):
        tracker.add({"event": "action", "name": f"a{index}"})
    tracker.add({"event": "restart"})
    for index in range(5):
        tracker.add({"event": "action", "name": f"b{index}"})
    assert tracker.forget_before_restart(limit=100) == 0
    assert len(tracker.events) == 36 and tracker.forgotten == 0
    assert tracker.forget_before_restart(limit=10) == 30
    assert tracker.forgotten == 30
    assert tracker.events[0] == {"event": "restart"}
    assert [e["name"] for e in tracker.events[1:]] == [f"b{i}" for i in range(5)]


def test_a_long_conversation_keeps_its_turn_positions() -> None:
    project = load_project(SAMPLE).project
    session = Session(project, OfflineGenerator())
    block = ["where is my order A1001", "I want to cancel my order A1002", "yes", "/restart"]

    async def chat() -> list[TurnTrace]:
        return [await session.handle(block[i % len(block)]) for i in range(400)]

    traces = asyncio.run(chat())
    tracker = session.tracker
    assert tracker.forgotten > 0, "the sample conversation outgrew the history limit"
    last = traces[-1]
    local = last.event_offset - tracker.forgotten
    assert tracker.events[local].get("event") == "user"
    assert tracker.events[local].get("text") == last.user_text
