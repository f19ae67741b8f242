"""Production conversations replayed against today's project: imported from a Rasa
tracker store (the fixture rows Rasa's SQLTrackerStore wrote for conversations held on
sample_project), their user messages and recorded commands go through the project as
it is now, custom actions answer from the recorded events, and the first turn whose
outcome differs is reported as production's against today's."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from tracker_store_servers import make_sqlite_store

from workbench.actions.recorded import RecordedActions, recorded_runs
from workbench.cli.main import main
from workbench.cli.test import cmd_test
from workbench.project.loader import load_project
from workbench.store.sessions import SessionStore
from workbench.testing.replay import replay_session
from workbench.understanding.cassette import CassetteEntry, load_cassette

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"
SENDERS = ["handoff-e5b7", "mars-91d0", "cancel-b2c4", "order-7f3a"]


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A copy of sample_project with every fixture conversation imported."""
    root = tmp_path / "sample_project"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".calm", "__pycache__"))
    db = make_sqlite_store(tmp_path / "rasa.db")
    assert (
        main(["sessions", "import", str(root), "--tracker-store", f"sqlite:///{db}", *SENDERS]) == 0
    )
    return root


def session_of(root: Path, sender: str) -> str:
    with SessionStore(root) as store:
        return next(s.id for s in store.list_sessions() if s.sender_id == sender)


def replay(capsys, root: Path, sender: str, *extra: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["sessions", "replay", session_of(root, sender), str(root), *extra])
    return code, " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("sender", SENDERS)
def test_each_production_conversation_behaves_the_same_on_the_project_it_was_held_on(
    sample, capsys, sender
):
    code, out = replay(capsys, sample, sender)
    assert code == 0, out
    assert "commands recorded in production, custom actions from the recorded events" in out
    assert "same behaviour for all" in out


def test_custom_actions_answer_from_the_recorded_events_and_run_nothing(sample):
    with SessionStore(sample) as store:
        turns = store.get_turns(session_of(sample, "order-7f3a"))
    project = load_project(sample).project
    report = asyncio.run(replay_session(project, turns, actions=RecordedActions(turns)))
    assert report.same
    [check] = [a for t in report.traces for a in t.actions if a.name == "action_check_order"]
    assert check.kind == "recorded" and check.error is None
    # the slots it set in production, with the values it set then
    assert report.traces[2].slots_after["order_status"] == "shipped"
    assert report.traces[2].slots_after["shipping_address"] == "12 Elm Street, Portland, OR 97201"


def test_an_action_that_failed_in_production_fails_again_unless_actions_run_live(sample, capsys):
    code, out = replay(capsys, sample, "cancel-b2c4")
    assert code == 0 and "same behaviour for all 2 turns" in out
    # run for real, the sample's action works: today the cancellation goes on
    code, out = replay(capsys, sample, "cancel-b2c4", "--live-actions")
    assert code == 1
    assert "turn 1 of 2 behaves differently, user: 'please cancel my order A1002'" in out
    assert "bot messages, in production:" in out
    assert "'Sorry, I am having trouble with that. Please try again in a few minutes.'" in out
    assert "Are you sure you want to cancel it?" in out
    assert "flows, in production:" in out and "started pattern_internal_error" in out


def test_an_edited_response_shows_what_production_said_and_what_the_project_says_now(
    sample, capsys
):
    responses = sample / "domain" / "responses" / "orders.yml"
    text = responses.read_text(encoding="utf-8")
    assert "Good news! Order" in text
    responses.write_text(text.replace("Good news! Order", "Update: order"), encoding="utf-8")
    code, out = replay(capsys, sample, "order-7f3a")
    assert code == 1
    assert 'turn 2 of 4 behaves differently, user: "it\'s A1001"' in out
    assert "bot messages, in production: [utter_order_status] 'Good news! Order A1001" in out
    assert "bot messages, now: [utter_order_status] 'Update: order A1001" in out


def test_a_replay_shows_the_production_turn_whose_flow_changed(sample, capsys):
    flows = next(
        p
        for p in (sample / "data" / "flows").glob("*.yml")
        if "check_order_status:" in p.read_text(encoding="utf-8")
    )
    flows.write_text(
        flows.read_text(encoding="utf-8").replace("check_order_status:", "track_order:", 1),
        encoding="utf-8",
    )
    code, out = replay(capsys, sample, "order-7f3a")
    assert code == 1
    assert "turn 1 of 4 behaves differently, user: 'where is my order?'" in out
    assert "flows, in production: started check_order_status" in out
    assert "commands, in production: start flow check_order_status" in out


def test_live_actions_are_for_imported_sessions_only(sample, capsys):
    with SessionStore(sample) as store:  # a session held in the workbench
        local = store.create_session("offline", "local-1", 0, "fingerprint")
    capsys.readouterr()
    code = main(["sessions", "replay", local, str(sample), "--live-actions"])
    assert code == 2
    assert "--live-actions is for imported sessions" in capsys.readouterr().err


def test_an_action_s_own_events_end_where_the_next_prediction_begins(sample):
    with SessionStore(sample) as store:
        turns = store.get_turns(session_of(sample, "order-7f3a"))
    runs = {run.name: run for run in recorded_runs(turns[2].events)}
    assert [e["event"] for e in runs["action_check_order"].events] == ["slot"] * 5
    assert [e["event"] for e in runs["utter_order_status"].events] == ["bot"]


# -- kept as a test -----------------------------------------------------------------------------


def export(capsys, root: Path, sender: str) -> tuple[Path, Path, str]:
    capsys.readouterr()
    assert main(["sessions", "export", session_of(root, sender), str(root)]) == 0
    out = capsys.readouterr().out
    stem = "production_" + sender.replace("-", "_")
    test = root / "e2e_tests" / f"{stem}.yml"
    return test, root / "e2e_tests" / f"{stem}.cassette.yml", " ".join(out.split())


@pytest.mark.parametrize("sender", SENDERS)
def test_an_exported_production_conversation_is_a_passing_test(sample, capsys, sender):
    test, cassette, _out = export(capsys, sample, sender)
    assert cmd_test([str(sample), str(test), "--cassette", str(cassette), "-q"]) == 0
    assert "1 passed" in capsys.readouterr().out


def test_the_export_replays_recorded_commands_and_stubs_the_actions(sample, capsys):
    test, cassette, _out = export(capsys, sample, "order-7f3a")
    assert load_cassette(cassette) == [
        CassetteEntry("where is my order?", "start flow check_order_status"),
        CassetteEntry("it's A1001", "set slot order_id A1001"),
        CassetteEntry("no, that's all", "set slot continue_conversation False"),
    ]
    stubs = YAML(typ="safe").load(test.read_text(encoding="utf-8"))["stub_custom_actions"]
    check = stubs["production_order_7f3a::action_check_order"]
    assert check["responses"] == []
    assert {"event": "slot", "name": "order_status", "value": "shipped"} in check["events"]
    # stubbed: an action that now breaks does not run, and the test still passes
    actions = sample / "actions" / "actions.py"
    actions.write_text(
        actions.read_text(encoding="utf-8")
        + "\nraise RuntimeError('the order database is gone')\n",
        encoding="utf-8",
    )
    assert cmd_test([str(sample), str(test), "--cassette", str(cassette), "-q"]) == 0


def test_an_action_that_failed_in_production_gets_a_failing_stub_and_a_warning(sample, capsys):
    test, _cassette, out = export(capsys, sample, "cancel-b2c4")
    assert (
        "note: action_check_order failed in production (Failed to execute custom action: 502)"
        in out
    )
    stubs = YAML(typ="safe").load(test.read_text(encoding="utf-8"))["stub_custom_actions"]
    assert stubs == {
        "production_cancel_b2c4::action_check_order": {
            "error": "Failed to execute custom action: 502"
        }
    }
    assert main(["validate", str(sample)]) == 0
    assert "fails with `error`, which is the workbench's" in capsys.readouterr().out


def test_an_exported_production_conversation_keeps_its_secrets_masked(sample, capsys):
    test, cassette, _out = export(capsys, sample, "handoff-e5b7")
    written = test.read_text(encoding="utf-8") + cassette.read_text(encoding="utf-8")
    assert "8642" not in written
    assert 'user: "0000"' in written and "set slot pin 0000" in written


def test_what_the_model_saw_and_said_is_kept_where_rasa_recorded_it(sample):
    with SessionStore(sample) as store:
        recorded = store.get_turns(session_of(sample, "order-7f3a"))
        plain = store.get_turns(session_of(sample, "mars-91d0"))
    first = recorded[1]
    assert first.prompt is not None and "check_order_status" in first.prompt
    assert first.raw_output == "start flow check_order_status"
    assert first.usage is not None
    assert (first.usage.model, first.usage.latency_ms, first.usage.completion_tokens) == (
        "gpt-4o-2024-11-20",
        640.0,
        9,
    )
    assert first.prompt_tokens == first.usage.prompt_tokens and first.prompt_tokens > 0
    # recorded without `record_commands_and_prompts`: the commands only
    assert (plain[1].prompt, plain[1].raw_output, plain[1].usage) == (None, None, None)
