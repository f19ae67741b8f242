"""`stub_tools` / `stub_agents` in e2e files, read as `stub_custom_actions` keys are: a
name for the file, `<test case>::<name>` (spaces written `_`) for one test."""

from __future__ import annotations

import pytest

from workbench.agents.stubs import CallStubs, StubError

TOOLS = {
    "track": {"content": "for every test", "structuredContent": {"status": "in transit"}},
    "late_parcel::track": {"content": "for this test", "isError": True},
}
AGENTS = {
    "helper": [
        {"status": "input_required", "message": "Which parcel?"},
        {"status": "completed", "slots": {"outcome": "resend"}},
    ]
}


def test_a_test_cases_own_stub_wins_over_the_files():
    mine = CallStubs(TOOLS, AGENTS, "late parcel").tool("track")
    assert mine.text == "for this test" and mine.is_error
    other = CallStubs(TOOLS, AGENTS, "another test").tool("track")
    assert other.text == "for every test" and other.structured == {"status": "in transit"}
    assert CallStubs(TOOLS, AGENTS).tool("untracked") is None


def test_agent_turns_are_used_in_order_and_the_last_answers_any_further_turn():
    stubs = CallStubs(TOOLS, AGENTS)
    statuses = [stubs.agent("helper").status for _ in range(3)]
    assert statuses == ["input_required", "completed", "completed"]
    assert stubs.agent("helper").slots == (("outcome", "resend"),)


def test_a_stub_with_an_unknown_status_names_the_statuses():
    with pytest.raises(StubError, match="use one of completed, input_required"):
        CallStubs({}, {"helper": [{"status": "done"}]}).agent("helper")
