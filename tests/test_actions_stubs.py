"""E2E `stub_custom_actions`: file-level stubs, per-test overrides, fallback, gaps."""

from __future__ import annotations

from pathlib import Path

from workbench.actions.stubs import StubbedActions, stub_key
from workbench.engine.tracker import Tracker
from workbench.project.loader import load_project
from workbench.project.model import Project
from workbench.session import ActionResult

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"

STUBS = {
    "check_balance": {
        "events": [{"event": "slot", "name": "balance", "value": 100.0}],
        "responses": [{"text": "Balance fetched"}],
    },
    "balance_check_for_gold::check_balance": {
        "events": [{"event": "slot", "name": "balance", "value": 5000.0}],
    },
    "log_visit": {"events": []},
}


class Recorder:
    """A fallback runner that records what it was asked to run."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def run(self, name: str, tracker: Tracker, project: Project) -> ActionResult:
        self.calls.append(name)
        return ActionResult(kind="python", events=[{"event": "slot", "name": "x", "value": 1}])


def project() -> Project:
    return load_project(SAMPLE).project


async def test_file_level_stubs_apply_to_every_test():
    p = project()
    for test_case in (None, "some other test"):
        result = await StubbedActions(STUBS, test_case).run("check_balance", Tracker(p), p)
        assert result.kind == "stub"
        assert result.error is None
        assert result.events == [{"event": "slot", "name": "balance", "value": 100.0}]
        assert result.messages == [{"text": "Balance fetched"}]


async def test_a_per_test_stub_wins_and_spaces_in_the_name_become_underscores():
    p = project()
    runner = StubbedActions(STUBS, "balance check for gold")
    result = await runner.run("check_balance", Tracker(p), p)
    assert result.events == [{"event": "slot", "name": "balance", "value": 5000.0}]
    assert result.messages == []
    assert runner.stub_for("check_balance")[0] == "balance_check_for_gold::check_balance"
    assert stub_key("balance check for gold", "a") == "balance_check_for_gold::a"


async def test_an_empty_stub_is_still_a_stub():
    p = project()
    fallback = Recorder()
    result = await StubbedActions(STUBS, None, fallback).run("log_visit", Tracker(p), p)
    assert (result.kind, result.events, result.messages, result.error) == ("stub", [], [], None)
    assert fallback.calls == []


async def test_an_unstubbed_action_falls_back():
    p = project()
    fallback = Recorder()
    runner = StubbedActions(STUBS, "balance check for gold", fallback)
    result = await runner.run("check_address", Tracker(p), p)
    assert fallback.calls == ["check_address"]
    assert result.kind == "python"
    assert result.events == [{"event": "slot", "name": "x", "value": 1}]


async def test_an_unstubbed_action_without_fallback_is_a_clear_error():
    p = project()
    result = await StubbedActions(STUBS, "gold case").run("check_address", Tracker(p), p)
    assert result.kind == "stub"
    assert "custom action 'check_address' has no stub" in result.error
    assert "'gold_case::check_address'" in result.error


async def test_the_stub_is_not_changed_by_what_the_session_does_with_the_result():
    p = project()
    runner = StubbedActions(STUBS)
    first = await runner.run("check_balance", Tracker(p), p)
    first.events[0]["value"] = -1
    second = await runner.run("check_balance", Tracker(p), p)
    assert second.events[0]["value"] == 100.0


async def test_malformed_stubs_are_errors_naming_the_stub():
    p = project()
    bad = {
        "a": {"events": {"event": "slot"}},
        "b": {"events": [{"name": "x"}]},
        "c": {"responses": "hello"},
        "d": ["events"],
    }
    runner = StubbedActions(bad)
    for name in "abcd":
        result = await runner.run(name, Tracker(p), p)
        assert result.error and f"stub '{name}'" in result.error, name


async def test_the_sample_projects_stub_file():
    p = project()
    (test_file,) = [tf for tf in p.test_files if tf.path.endswith("stubbed_actions.yml")]
    cases = {tc.name: tc for tc in test_file.test_cases}
    shipped = StubbedActions.for_test(test_file, cases["check_a_shipped_order_with_stubs"])
    delivered = StubbedActions.for_test(test_file, "check_a_delivered_order_with_stubs")
    status = {}
    for label, runner in (("shipped", shipped), ("delivered", delivered)):
        result = await runner.run("action_check_order", Tracker(p), p)
        status[label] = {e["name"]: e["value"] for e in result.events}["order_status"]
        # values from ruamel.yaml arrive as plain Python types
        assert type(result.events[0]["value"]) is str
    assert status == {"shipped": "shipped", "delivered": "delivered"}
    saved = await shipped.run("action_save_feedback", Tracker(p), p)
    assert saved.messages == [{"text": "(feedback saved)"}]
