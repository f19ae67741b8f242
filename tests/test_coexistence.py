"""Coexistence projects (a router plus the `route_session_to_calm` slot): every understood
message routes the session to CALM as Rasa's generators do, and a turn that belongs to the
NLU side says so instead of being answered by CALM."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from engine_helpers import commands, events

from workbench.cli.main import main
from workbench.engine.coexistence import NLU_SIDE, NOT_CONSULTED, ROUTE_TO_CALM_SLOT
from workbench.project.loader import load_project
from workbench.project.validate import validate_path
from workbench.session import Session
from workbench.understanding.base import ScriptedGenerator
from workbench.understanding.offline.generator import OfflineGenerator

COEXISTENCE = Path(__file__).parent / "fixtures" / "coexistence"
ROUTE_TRUE = {"command": "set slot", "slot": ROUTE_TO_CALM_SLOT, "value": True}


def session(generator=None, root: Path = COEXISTENCE) -> Session:
    return Session(load_project(root).project, generator or OfflineGenerator())


def turn(s: Session, text: str):
    return asyncio.run(s.handle(text))


def test_fixture_is_valid_and_its_e2e_tests_pass(capsys):
    result = validate_path(COEXISTENCE)
    assert list(result.issues) == []  # nlu.yml and rules.yml are read as NLU data, silently
    assert main(["test", str(COEXISTENCE)]) == 0
    assert "3 passed" in capsys.readouterr().out


def test_every_understood_message_sets_the_routing_slot():
    s = session()
    trace = turn(s, "I want to send money")
    # appended after what the model said, as Rasa's generators do
    assert ROUTE_TRUE.items() <= commands(trace.parsed_commands)[-1].items()
    assert any(ROUTE_TRUE.items() <= c.items() for c in commands(trace.commands))
    # no flow collects the routing slot, and it is set all the same
    assert trace.slots_after[ROUTE_TO_CALM_SLOT] is True
    assert trace.notices == [NOT_CONSULTED["LLMBasedRouter"]]
    trace = turn(s, "John")
    # the slot already holds True: the cleaner drops the command like any other
    assert any(ROUTE_TO_CALM_SLOT in d.reason for d in trace.dropped)
    assert trace.notices == []
    assert trace.slots_after["recipient"] == "John"


def test_a_turn_for_the_nlu_side_is_not_answered_by_calm():
    # a model that would start a flow if it were asked
    s = session(ScriptedGenerator(["start flow transfer_money"]))
    s.set_slots({ROUTE_TO_CALM_SLOT: False})
    trace = turn(s, "I want to send money")
    assert trace.notices == [NLU_SIDE]
    assert commands(trace.commands) == [] and trace.bot_messages == []
    assert trace.generator == ""  # the command generator was not asked
    assert not any(e["event"] == "flow_started" for e in events(trace))
    assert {"event": "notice", "message": NLU_SIDE} in events(trace)


def test_intent_messages_route_as_rasas_message_processor_does():
    s = session()
    trace = turn(s, "/greet")  # a domain intent that starts no flow: the NLU side's
    assert trace.slots_after[ROUTE_TO_CALM_SLOT] is False
    assert trace.notices == [NLU_SIDE]
    assert trace.bot_messages == []
    s = session()
    trace = turn(s, "/check_balance")  # an nlu_trigger: CALM
    assert trace.slots_after[ROUTE_TO_CALM_SLOT] is True
    assert trace.bot_texts[0] == "Your balance is 100."
    s = session()
    trace = turn(s, "/session_start")  # no decision yet
    assert trace.slots_after.get(ROUTE_TO_CALM_SLOT) is None


def test_cannot_handle_stays_beside_the_routing_command():
    # nothing parses: Rasa keeps cannot handle next to the routing slot's command
    trace = turn(session(ScriptedGenerator(["blah"])), "gibberish")
    assert [c.name for c in trace.commands] == ["set slot", "cannot handle"]
    assert trace.slots_after[ROUTE_TO_CALM_SLOT] is True


def test_clarification_is_kept_beside_the_routing_command():
    generator = ScriptedGenerator(["disambiguate flows transfer_money check_balance"])
    trace = turn(session(generator), "money")
    assert "clarify" in [c.name for c in trace.commands]


def test_intent_based_router_says_the_intent_is_unknown(tmp_path):
    root = tmp_path / "coexistence"
    shutil.copytree(COEXISTENCE, root)
    config = root / "config.yml"
    config.write_text(config.read_text().replace("LLMBasedRouter", "IntentBasedRouter"))
    trace = turn(session(root=root), "I want to send money")
    assert trace.notices == [NOT_CONSULTED["IntentBasedRouter"]]
    assert trace.slots_after[ROUTE_TO_CALM_SLOT] is True


def test_a_router_needs_the_bool_routing_slot_and_the_slot_a_router(tmp_path):
    root = tmp_path / "coexistence"
    shutil.copytree(COEXISTENCE, root)
    domain = root / "domain.yml"
    domain.write_text(domain.read_text().replace("type: bool", "type: text"))
    [issue] = validate_path(root).issues.errors
    assert (issue.code, issue.file) == ("coexistence-slot", "config.yml")
    domain.write_text(
        domain.read_text().replace("type: text\n    influence", "type: bool\n    influence")
    )
    config = root / "config.yml"
    config.write_text(config.read_text().replace("- name: LLMBasedRouter", "- name: Other"))
    [issue] = validate_path(root).issues.errors
    assert (issue.code, issue.file, issue.line) == ("coexistence-slot", "domain.yml", 6)


def test_action_reset_routing_ends_the_routing_session(tmp_path):
    root = tmp_path / "coexistence"
    shutil.copytree(COEXISTENCE, root)
    domain = root / "domain.yml"
    domain.write_text(
        domain.read_text().replace(
            "  recipient:\n    type: text\n",
            "  recipient:\n    type: text\n    shared_for_coexistence: true\n",
        )
    )
    flows = root / "data" / "flows.yml"
    flows.write_text(
        flows.read_text()
        + "\n  leave_calm:\n    description: Go back to the old assistant.\n"
        + "    steps:\n      - action: action_reset_routing\n"
    )
    assert validate_path(root).ok
    s = session(root=root)
    s.set_slots({ROUTE_TO_CALM_SLOT: True, "recipient": "John", "amount": 5.0})
    trace = turn(s, "/start flow leave_calm")
    assert {"event": "routing_session_ended"} in events(trace)
    assert trace.slots_after[ROUTE_TO_CALM_SLOT] is None
    assert trace.slots_after["recipient"] == "John"  # shared with the NLU side
    assert trace.slots_after["amount"] is None
    assert trace.stack_after == []


def test_a_failing_e2e_test_on_the_nlu_side_shows_the_notice(tmp_path, capsys):
    root = tmp_path / "coexistence"
    shutil.copytree(COEXISTENCE, root)
    (root / "e2e_tests" / "nlu.yml").write_text(
        "fixtures:\n  - old_assistant:\n      - route_session_to_calm: false\n"
        "test_cases:\n  - test_case: greeting_on_the_nlu_side\n    fixtures: [old_assistant]\n"
        "    steps:\n      - user: hi\n      - utter: utter_greet\n"
    )
    assert main(["test", str(root), "e2e_tests/nlu.yml"]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "note: this turn is routed to the NLU side of the assistant" in out
