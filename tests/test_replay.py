"""Replaying a stored session on the project as it is now, with its recorded model output."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from session_helpers import (
    CANCEL_ORDER,
    TWO_YESES,
    copy_sample,
    edit,
    keep_instead_of_cancel,
    load,
    record,
    reword_cancelled,
    stored_turns,
)

from workbench.actions.runner import make_action_runner
from workbench.cli.main import main
from workbench.session import Session
from workbench.testing.replay import (
    RecordedGenerator,
    compare_turn,
    model_message,
    replay_session,
    replay_turns,
)
from workbench.trace.records import BotMessage
from workbench.trace.turn import TurnTrace
from workbench.understanding.base import ScriptedGenerator
from workbench.understanding.offline.generator import OfflineGenerator
from workbench.understanding.recorded import RecordedFailure


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return copy_sample(tmp_path)


def replay(root: Path, turns: list[TurnTrace], seed: int = 0):
    return asyncio.run(replay_session(load(root), turns, seed=seed))


# -- same / different -------------------------------------------------------------------------


def test_unchanged_project_behaves_the_same(shop):
    turns = stored_turns(shop, record(shop, CANCEL_ORDER))
    report = replay(shop, turns)
    assert report.same
    assert report.first_difference is None
    assert report.summary() == "same behaviour for all 5 turns"
    assert report.lines() == ["same behaviour for all 5 turns"]
    assert [t.bot_texts for t in report.traces] == [t.bot_texts for t in turns]
    assert report.sender_id.startswith("replay-")


def test_repeated_messages_get_their_recorded_outputs_in_order(shop):
    turns = stored_turns(shop, record(shop, TWO_YESES))
    assert replay(shop, turns).same


def test_a_flow_edit_names_the_first_differing_turn(shop):
    turns = stored_turns(shop, record(shop, CANCEL_ORDER))
    keep_instead_of_cancel(shop)
    report = replay(shop, turns)
    assert not report.same
    first = report.first_difference
    assert (first.index, first.user_text) == (2, "yes, cancel it")
    assert first.bot_differs and not first.flows_differ
    assert [m.response for m in first.expected_bot] == [
        "utter_order_cancelled",
        "utter_ask_continue_conversation",
    ]
    assert [m.response for m in first.actual_bot] == [
        "utter_order_kept",
        "utter_ask_continue_conversation",
    ]
    assert (
        first.expected_commands == first.actual_commands == ["set slot confirm_cancellation True"]
    )
    assert report.summary() == "turn 2 of 5 behaves differently, user: 'yes, cancel it'"
    text = "\n".join(report.lines())
    assert "bot messages, recorded:\n    [utter_order_cancelled] 'Done! Order A1002" in text
    assert "bot messages, now:\n    [utter_order_kept] 'No problem, order A1002" in text
    assert "commands: set slot confirm_cancellation True" in text


def test_a_response_text_edit_is_a_difference(shop):
    turns = stored_turns(shop, record(shop, CANCEL_ORDER))
    reword_cancelled(shop)
    first = replay(shop, turns).first_difference
    assert first.index == 2
    assert first.expected_bot[0].response == first.actual_bot[0].response
    assert first.actual_bot[0].text.startswith("All done! Order A1002")


def test_a_renamed_flow_changes_the_flows_and_drops_the_recorded_command(shop):
    turns = stored_turns(shop, record(shop, CANCEL_ORDER))
    edit(shop, "data/flows/orders.yml", "  cancel_order:", "  cancel_purchase:")
    report = replay(shop, turns)
    first = report.first_difference
    assert (first.index, first.user_text) == (1, "I want to cancel my order A1002")
    assert first.flows_differ
    assert "started cancel_order" in first.expected_flows
    assert "started cancel_order" not in first.actual_flows
    assert any("cancel_order" in d for d in first.dropped)
    assert len(report.differing) > 1
    assert report.summary().endswith("later turns differ too)")
    text = "\n".join(report.lines())
    assert "flows, recorded: " in text and "flows, now:" in text
    assert "dropped now: start flow cancel_order" in text


def test_the_recorded_seed_picks_the_same_response_variations(make_project):
    root = make_project(
        {
            "domain.yml": """\
                version: "3.1"
                slots:
                  name:
                    type: text
                responses:
                  utter_ask_name:
                    - text: "What is your name?"
                  utter_greet:
                    - text: "Hello {name}!"
                    - text: "Hi {name}!"
                    - text: "Hey there, {name}."
                    - text: "Good to see you, {name}."
                    - text: "Welcome, {name}!"
            """,
        }
    )
    names = ["Ada", "Bob", "Cy", "Di", "Ed", "Flo"]
    script = {"hello": "start flow greet"} | {f"I am {n}": f"set slot name {n}" for n in names}
    messages = [m for n in names for m in ("hello", f"I am {n}")]
    turns = stored_turns(root, record(root, messages, generator=ScriptedGenerator(script), seed=7))
    assert replay(root, turns, seed=7).same
    assert not replay(root, turns, seed=1).same


# -- the generator ----------------------------------------------------------------------------


def test_recorded_generator_rewinds_a_conversation_and_goes_on_live(shop):
    """What the TUI's rewind does: replay the first turns, then carry on."""
    turns = stored_turns(shop, record(shop, CANCEL_ORDER))
    project = load(shop)

    async def go():
        generator = RecordedGenerator(turns[:2], fallback=OfflineGenerator())
        session = Session(project, generator, actions=make_action_runner(project), sender_id="r")
        replayed = await replay_turns(session, turns[:2])
        assert generator.unused == []
        live = await session.handle("yes, cancel it")  # not recorded: the fallback answers
        return replayed, live

    replayed, live = asyncio.run(go())
    assert [t.bot_messages for t in replayed] == [t.bot_messages for t in turns[:2]]
    assert replayed[1].raw_output == turns[1].raw_output
    assert replayed[1].generator == "recorded"
    assert live.bot_messages == turns[2].bot_messages


def test_recorded_generator_without_a_fallback_misses(shop):
    turns = stored_turns(shop, record(shop, CANCEL_ORDER))
    project = load(shop)

    async def go():
        session = Session(project, RecordedGenerator(turns), sender_id="m")
        return await session.handle("something nobody said")

    trace = asyncio.run(go())
    assert any("RecordedMiss" in e and "something nobody said" in e for e in trace.errors)


def test_model_message_and_recorded_failures():
    button = TurnTrace(1, "/SetSlots(a=1)", source="button")
    direct = TurnTrace(2, "/start flow x", source="direct", raw_output="/start flow x")
    greeting = TurnTrace(0, "/session_start", source="intent")
    too_long = TurnTrace(3, "x" * 500, source="user")
    slashed = TurnTrace(
        4, "  /hello there ", source="user", generator="llm", raw_output="start flow greet"
    )
    failed = TurnTrace(
        5,
        "hi",
        source="user",
        generator="llm",
        errors=["command generator failed: Timeout('no reply in 7 s')"],
    )
    assert [model_message(t) for t in (button, direct, greeting, too_long)] == [None] * 4
    assert model_message(slashed) == "hello there"
    assert model_message(failed) == "hi"

    async def go():
        generator = RecordedGenerator([failed, slashed])
        with pytest.raises(RecordedFailure, match="no reply in 7 s"):
            await generator.generate("hi", None, None)
        return await generator.generate("hello there", None, None)

    output = asyncio.run(go())
    assert [c.as_dict() for c in output.commands] == [{"command": "start flow", "flow": "greet"}]
    assert output.raw_output == "start flow greet"


def test_a_part_the_store_masked_matches_anything():
    recorded = TurnTrace(1, "x", bot_messages=[BotMessage("Your code is ***.")])
    same = TurnTrace(1, "x", bot_messages=[BotMessage("Your code is 12345.")])
    other = TurnTrace(1, "x", bot_messages=[BotMessage("Your PIN is 12345.")])
    assert compare_turn(recorded, same).same
    assert not compare_turn(recorded, other).same


# -- the CLI ----------------------------------------------------------------------------------


def sessions(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["sessions", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_replay(shop, capsys):
    session_id = record(shop, CANCEL_ORDER, seed=3)
    code, out, _ = sessions(capsys, "replay", session_id[:15], str(shop))
    assert code == 0
    assert f"replayed session {session_id}" in out and "seed 3" in out
    assert "same behaviour for all 5 turns" in out

    keep_instead_of_cancel(shop)
    code, out, _ = sessions(capsys, "replay", session_id, str(shop))
    assert code == 1
    assert "turn 2 of 5 behaves differently, user: 'yes, cancel it'" in out
    assert "[utter_order_kept] 'No problem, order A1002 stays as it is.'" in out

    code, out, _ = sessions(capsys, "replay", session_id, str(shop), "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["session"] == session_id and data["same"] is False
    assert data["first_difference"]["index"] == 2
    assert data["differing_turns"] == [2]


def test_cli_replay_errors(shop, capsys):
    code, _, err = sessions(capsys, "replay", "20990101", str(shop))
    assert code == 1 and "no session '20990101'" in err
    session_id = record(shop, CANCEL_ORDER)
    code, _, err = sessions(capsys, "replay", "20990101", str(shop))
    assert code == 1 and "no session" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["sessions", "replay"])
    assert exit_info.value.code == 2
    edit(shop, "data/flows/orders.yml", "  cancel_order:", "  cancel_order: [")
    code, _, err = sessions(capsys, "replay", session_id, str(shop))
    assert code == 1
    assert "orders.yml" in err and "does not load" in err


def test_cli_replay_under_another_generator_compares_the_understanding(shop, capsys):
    """A/B for one session: recorded with a model that took the cancellation for a status
    question, replayed with the offline generator, turn by turn."""
    wrong = {
        "I want to cancel my order A1002": "start flow check_order_status\nset slot order_id A1002"
    }
    session_id = record(shop, CANCEL_ORDER, generator=ScriptedGenerator(wrong))
    code, out, _ = sessions(capsys, "replay", session_id, str(shop))
    assert code == 0 and "recorded model outputs" in out
    code, out, _ = sessions(capsys, "replay", session_id, str(shop), "--offline")
    assert code == 1
    assert "offline" in out
    assert "turn 1 of 5 behaves differently, user: 'I want to cancel my order A1002'" in out
    assert "commands, recorded: start flow check_order_status | set slot order_id A1002" in out
    assert "commands, now:      start flow cancel_order | set slot order_id A1002" in out
    code, _, err = sessions(capsys, "replay", session_id, str(shop), "--record", "x.yml")
    assert code == 2 and "does not record" in err
