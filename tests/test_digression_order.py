"""A digression that names another order: mid-cancellation of A1002 the user asks for the
status of A1001. Rasa runs commands in reverse and turns a `set slot` of a slot a stacked
flow filled into a correction placed where that `set slot` was; the offline generator
writes the value before the `start flow`, so the correction is applied to the status
check, which reports the order asked about, and nothing is cancelled without a question
that names the order."""

from __future__ import annotations

import asyncio

from session_helpers import SAMPLE, load

from workbench.actions.runner import make_action_runner
from workbench.calm.commands import CorrectSlots, SetSlot, StartFlow
from workbench.session import Session
from workbench.understanding.offline.generator import OfflineGenerator

MESSAGES = [
    "/session_start",
    "I want to cancel my order A1002",
    "what is the status of order A1001",
    "yes",
]


def _chat():
    project = load(SAMPLE)
    session = Session(project, OfflineGenerator(), actions=make_action_runner(project))

    async def run():
        return [await session.handle(text) for text in MESSAGES]

    return asyncio.run(run())


def test_the_status_asked_for_is_reported_and_nothing_is_cancelled_unasked():
    traces = _chat()
    status = traces[2]
    texts = [m.text or "" for m in status.bot_messages]
    assert any("Order A1001" in t and "shipped" in t for t in texts), texts
    assert not any("A1002" in t for t in texts), texts
    assert status.slots_after["order_id"] == "A1001"
    after_yes = traces[3]
    ran = [a.name for a in after_yes.actions]
    assert "action_cancel_order" not in ran, ran
    # the resumed cancellation asks again, naming the order it now holds
    assert any(
        "A1001" in (m.text or "") and "cancel" in (m.text or "") for m in after_yes.bot_messages
    )


def test_the_value_comes_before_the_start_flow():
    traces = _chat()
    parsed = [c.name for c in traces[2].parsed_commands]
    assert parsed == ["set slot", "start flow"], parsed
    # the cleaner keeps the correction where the value was, as Rasa's does
    assert [c.name for c in traces[2].commands] == ["start flow", "correct slot"]


def test_the_cleaner_puts_the_correction_where_the_first_corrected_value_was():
    from workbench.engine.command_cleaner import CommandCleaner
    from workbench.engine.tracker import Tracker

    project = load(SAMPLE)
    session = Session(project, OfflineGenerator(), actions=make_action_runner(project))
    asyncio.run(session.handle("I want to cancel my order A1002"))
    tracker: Tracker = session.tracker
    cleaner = CommandCleaner(project)
    before = cleaner.clean(
        [SetSlot("order_id", "A1001"), StartFlow("check_order_status")], tracker
    ).commands
    after = cleaner.clean(
        [StartFlow("check_order_status"), SetSlot("order_id", "A1001")], tracker
    ).commands
    # commands run in reverse: the first list starts the flow, then corrects above it
    assert [type(c) for c in before] == [StartFlow, CorrectSlots]
    assert [type(c) for c in after] == [CorrectSlots, StartFlow]
