"""Rasa's stored events read as turns: its command dicts as our commands, and what an
import does with events it cannot fully use (a stack patch that does not fit, a row that
is no event, a type it does not know)."""

from __future__ import annotations

import json
import re

import pytest

from workbench.calm import commands as c
from workbench.calm.rasa_commands import command_from_rasa
from workbench.store.rasa_import import MalformedEventError, event_of, turns_of
from workbench.store.rasa_tracker_store import EventRow


@pytest.mark.parametrize(
    ("rasa", "ours"),
    [
        ({"command": "start flow", "flow": "transfer"}, c.StartFlow("transfer")),
        (
            {"command": "set slot", "name": "amount", "value": 50, "extractor": "NLU"},
            c.SetSlot("amount", 50, "NLU"),
        ),
        ({"command": "set slot", "name": "x", "value": None}, c.SetSlot("x", None, "LLM")),
        (
            {
                "command": "correct slot",
                "corrected_slots": [
                    {"name": "a", "value": 1, "filled_by": "LLM"},
                    {"name": "b", "value": "x"},
                ],
            },
            c.CorrectSlots((("a", 1), ("b", "x")), "LLM"),
        ),
        ({"command": "clarify", "options": ["a", "b"]}, c.Clarify(("a", "b"))),
        ({"command": "cannot handle", "reason": None}, c.CannotHandle()),
        (
            {"command": "error", "error_type": "rasa_internal_error_user_input_empty", "info": {}},
            c.Error("rasa_internal_error_user_input_empty"),
        ),
        ({"command": "restart agent", "agent_id": "helper"}, c.RestartAgent("helper")),
        ({"command": "cancel flow"}, c.CancelFlow()),
        ({"command": "human handoff"}, None),
    ],
)
def test_rasa_command_dicts_become_our_commands(rasa, ours):
    assert command_from_rasa(rasa) == ours


def _user(text: str, *commands: dict) -> dict:
    return {
        "event": "user",
        "text": text,
        "timestamp": 2.0,
        "parse_data": {"commands": list(commands)},
    }


def test_an_unknown_command_is_kept_as_rasa_wrote_it():
    [(_, _), (turn, _)] = turns_of(
        [
            {"event": "action", "name": "action_session_start", "timestamp": 1.0},
            _user("hi", {"command": "human handoff", "why": "asked"}),
        ]
    )
    assert [(r.name, dict(r.fields)) for r in turn.commands] == [("human handoff", {})]


def test_a_stack_patch_that_does_not_fit_is_an_error_on_its_turn_not_a_crash():
    bad = json.dumps([{"op": "replace", "path": "/3/step_id", "value": "x"}])
    [(turn, _)] = turns_of([_user("hi"), {"event": "stack", "update": bad, "timestamp": 3.0}])
    assert turn.stack_after == []
    assert turn.errors == [
        "the stack could not be rebuilt from event 1: its patch does not fit the stack before it"
    ]


def test_rows_that_are_no_event_are_named_and_unknown_types_kept():
    row = EventRow(7, "s1", "user", 1.0, "[1, 2]")
    with pytest.raises(
        MalformedEventError,
        match=re.escape("conversation 's1', event row 7 (user): its data is a JSON list"),
    ):
        event_of(row)
    with pytest.raises(MalformedEventError, match="not JSON"):
        event_of(EventRow(8, "s1", "bot", 1.0, None))
    assert event_of(EventRow(9, "s1", "mystery", 5.0, '{"x": 1}')) == {
        "x": 1,
        "event": "mystery",
        "timestamp": 5.0,
    }
