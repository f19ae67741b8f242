"""Sessions → e2e tests: a stored conversation exported (steps or assertions, with a
cassette) passes on the unchanged project and fails, at the first divergent step, once a
flow changes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from session_helpers import (
    CANCEL_ORDER,
    TWO_YESES,
    copy_sample,
    keep_instead_of_cancel,
    load,
    record,
    stored_turns,
)

from workbench.cli.main import main
from workbench.store import SessionStore
from workbench.testing.export import (
    NothingToExport,
    cassette_path_for,
    export_cassette,
    export_path,
    export_session,
    slug,
    text_pattern,
    write_export,
)
from workbench.testing.runner import run_tests, select_cases
from workbench.trace.turn import ActionRun, TurnTrace
from workbench.understanding.base import ScriptedGenerator
from workbench.understanding.cassette import CassetteGenerator, load_cassette
from workbench.understanding.offline.generator import OfflineGenerator

STEPS_YAML = """\
test_cases:
  - test_case: cancel_an_order
    steps:
      - user: "I want to cancel my order A1002"
      - utter: utter_ask_confirm_cancellation
      - slot_was_set:
          - order_id: "A1002"
          - order_status: "processing"
          - order_items:
              - "Linen throw pillow"
          - order_summary: "Linen throw pillow"
          - shipping_address: "12 Elm Street, Portland, OR 97201"
          - order_details
      - user: "yes, cancel it"
      - utter: utter_order_cancelled
      - utter: utter_ask_continue_conversation
      - slot_was_set:
          - confirm_cancellation: true
          - order_status: "cancelled"
      - user: "no, that's all"
      - utter: utter_closing_words
      - utter: utter_ask_csat_score
      - user: "/SetSlots(csat_score=satisfied)"
      - utter: utter_csat_thank_you_satisfied
"""

ASSERTIONS_YAML = """\
test_cases:
  - test_case: cancel_an_order
    steps:
      - user: "I want to cancel my order A1002"
        assertions:
          - slot_was_set:
              - name: order_id
                value: "A1002"
              - name: order_status
                value: "processing"
              - name: order_items
                value:
                  - "Linen throw pillow"
              - name: order_summary
                value: "Linen throw pillow"
              - name: shipping_address
                value: "12 Elm Street, Portland, OR 97201"
              - name: order_details
          - flow_started: cancel_order
          - action_executed: action_check_order
          - bot_uttered:
              utter_name: utter_ask_confirm_cancellation
      - user: "yes, cancel it"
        assertions:
          - slot_was_set:
              - name: confirm_cancellation
                value: true
              - name: order_status
                value: "cancelled"
          - action_executed: action_cancel_order
          - bot_uttered:
              utter_name: utter_order_cancelled
          - flow_completed:
              flow_id: cancel_order
          - flow_started: pattern_completed
          - bot_uttered:
              utter_name: utter_ask_continue_conversation
      - user: "no, that's all"
        assertions:
          - bot_uttered:
              utter_name: utter_closing_words
          - flow_started: pattern_customer_satisfaction
          - bot_uttered:
              utter_name: utter_ask_csat_score
      - user: "/SetSlots(csat_score=satisfied)"
        assertions:
          - bot_uttered:
              utter_name: utter_csat_thank_you_satisfied
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return copy_sample(tmp_path)


@pytest.fixture
def cancelled(shop: Path) -> tuple[Path, list[TurnTrace]]:
    """The sample shop with one stored conversation: cancel A1002, done, a CSAT button."""
    session_id = record(shop, CANCEL_ORDER)
    return shop, stored_turns(shop, session_id)


def run_file(root: Path, test_path: Path, generator):
    project = load(root)
    rel = test_path.relative_to(root).as_posix()
    return run_tests(project, select_cases(project, [rel]), generator)


# -- the YAML -------------------------------------------------------------------------------


def test_step_style_yaml(cancelled):
    root, turns = cancelled
    assert export_session(turns, load(root), name="cancel_an_order") == STEPS_YAML


def test_assertion_style_yaml(cancelled):
    root, turns = cancelled
    text = export_session(turns, load(root), name="cancel_an_order", assertions=True)
    assert text == ASSERTIONS_YAML


def test_the_greeting_turn_is_left_out_and_a_comment_goes_on_top(cancelled):
    root, turns = cancelled
    assert turns[0].user_text == "/session_start" and turns[0].bot_messages
    text = export_session(turns, load(root), name="x", comment="from session 1\nsecond line")
    assert text.startswith("# from session 1\n# second line\ntest_cases:\n")
    assert "session_start" not in text and "utter_greet" not in text


def test_a_session_with_only_the_greeting_cannot_be_exported(shop):
    turns = stored_turns(shop, record(shop, ["/session_start"]))
    with pytest.raises(NothingToExport):
        export_session(turns, load(shop), name="x")


def test_slots_reset_cleared_builtin_and_masked_values():
    trace = TurnTrace.from_dict(
        dict(
            index=1,
            user_text="my password is hunter22",
            slots_before={"order_id": "A1", "note": None},
            events=[
                {"event": "user", "text": "my password is hunter22"},
                {"event": "slot", "name": "note", "value": None},  # empty already: no change
                {"event": "slot", "name": "order_id", "value": None},  # cleared: a change
                {"event": "slot", "name": "password", "value": "***"},  # masked by the store
                {"event": "slot", "name": "flow_hashes", "value": {}},
                {"event": "slot", "name": "tier", "value": "gold"},
                {"event": "slot", "name": "tier", "value": None, "metadata": {"reset": True}},
                {"event": "bot", "text": "Saved (ref ***).", "metadata": {}},
                {"event": "bot", "text": "  padded  ", "metadata": {}},
            ],
            bot_messages=[
                {"text": "Saved (ref ***).", "response": None, "buttons": []},
                {"text": "  padded  ", "response": None, "buttons": []},
            ],
            actions=[ActionRun("action_save", "python")],
        )
    )
    steps = export_session([trace], None, name="t")
    assert steps == textwrap.dedent(
        """\
        test_cases:
          - test_case: t
            steps:
              - user: "my password is hunter22"
              - slot_was_set:
                  - order_id: null
                  - password
                  - tier: "gold"
        """
    )
    assertions = export_session([trace], None, name="t", assertions=True)
    assert "- name: password\n" in assertions
    assert "text_matches: 'Saved \\(ref .*\\)\\.'" in assertions
    assert "text_matches: '  padded  '" in assertions


def test_text_pattern_escapes_regex_characters_only():
    assert text_pattern("Total: $39.50 (incl. tax) [ok]?") == (
        r"Total: \$39\.50 \(incl\. tax\) \[ok\]\?"
    )
    assert text_pattern("Hi ***, welcome") == "Hi .*, welcome"


# -- the cassette -----------------------------------------------------------------------------


def test_the_cassette_holds_only_model_handled_messages(cancelled):
    _, turns = cancelled
    entries = export_cassette(turns)
    assert [e.user for e in entries] == [
        "I want to cancel my order A1002",
        "yes, cancel it",
        "no, that's all",
    ]  # no /session_start (an intent), no /SetSlots button
    assert entries[0].completion == "start flow cancel_order\nset slot order_id A1002"


# -- files ------------------------------------------------------------------------------------


def test_slug():
    assert slug("I want to cancel my order A1002!") == "i_want_to_cancel_my_order_a1002"
    assert slug("  ¿¡ !! ") == "session"
    assert len(slug("word " * 40)) <= 50


def test_export_path_creates_the_folder_and_never_overwrites(tmp_path: Path):
    first = export_path(tmp_path, "Cancel my order")
    assert first == tmp_path / "e2e_tests" / "cancel_my_order.yml"
    assert first.parent.is_dir()
    first.write_text("x")
    second = export_path(tmp_path, "Cancel my order")
    assert second.name == "cancel_my_order-2.yml"
    cassette_path_for(second).write_text("x")  # an orphan cassette also takes the name
    assert export_path(tmp_path, "Cancel my order").name == "cancel_my_order-3.yml"
    assert cassette_path_for(first).name == "cancel_my_order.cassette.yml"


def test_write_export_refuses_an_existing_file(cancelled):
    root, turns = cancelled
    out = root / "mine.yml"
    out.write_text("keep me")
    with pytest.raises(FileExistsError):
        write_export(load(root), turns, name="x", out=out)
    assert out.read_text() == "keep me"
    assert not (root / "mine.cassette.yml").exists()


# -- the round trip ---------------------------------------------------------------------------


@pytest.mark.parametrize("assertions", [False, True], ids=["steps", "assertions"])
def test_round_trip_passes_then_fails_after_a_flow_edit(cancelled, assertions):
    root, turns = cancelled
    result = write_export(load(root), turns, name="cancel_an_order", assertions=assertions)
    assert result.test_path == root / "e2e_tests" / "cancel_an_order.yml"
    assert result.cassette_path == root / "e2e_tests" / "cancel_an_order.cassette.yml"
    assert len(load_cassette(result.cassette_path)) == result.model_outputs == 3
    assert "calm-tui test . e2e_tests/cancel_an_order.yml --cassette" in (
        result.test_path.read_text()
    )

    for generator in (OfflineGenerator(), CassetteGenerator(result.cassette_path)):
        run = run_file(root, result.test_path, generator)
        assert [r.status for r in run.results] == ["passed"], run.results[0].failure

    keep_instead_of_cancel(root)
    for generator in (OfflineGenerator(), CassetteGenerator(result.cassette_path)):
        run = run_file(root, result.test_path, generator)
        [case] = run.results
        assert case.status == "failed"
        failure = case.failure
        assert failure.turn.user_text == "yes, cancel it"  # the first divergent turn
        assert [m.response for m in failure.turn.bot] == [
            "utter_order_kept",
            "utter_ask_continue_conversation",
        ]
        if assertions:
            assert failure.kind == "assertion"
            assert failure.message == "slot 'order_status' was not set"
            assert failure.expected.startswith("slot_was_set: [{name: confirm_cancellation")
        else:
            assert failure.kind == "step"
            assert failure.expected == "utter: utter_order_cancelled"
            assert failure.message == "the bot did not utter 'utter_order_cancelled'"
            assert failure.step_index == 4  # the first step of that turn that diverges
            lines = result.test_path.read_text().splitlines()
            assert lines[failure.source.line - 1].strip() == "- utter: utter_order_cancelled"


def test_assertions_on_a_repeated_message_name_its_own_turn(shop):
    """Assertions run on the turn of the first user message with a text; the second
    "yes" gets named metadata so that its assertions look at its own turn."""
    turns = stored_turns(shop, record(shop, TWO_YESES))
    text = export_session(turns, load(shop), name="two_yeses", assertions=True)
    assert text.startswith("metadata:\n  - turn_4:\n      turn: 4\ntest_cases:\n")
    assert '      - user: "yes"\n        metadata: turn_4\n' in text
    result = write_export(load(shop), turns, name="two_yeses", assertions=True)
    for generator in (OfflineGenerator(), CassetteGenerator(result.cassette_path)):
        run = run_file(shop, result.test_path, generator)
        assert [r.status for r in run.results] == ["passed"], run.results[0].failure


def test_bot_text_from_a_custom_action_round_trips(make_project):
    """Messages that are no domain response: `bot:` steps / `text_matches` assertions."""
    root = make_project(
        {
            "endpoints.yml": 'action_endpoint:\n  actions_module: "actions"\n',
            "domain.yml": """\
                version: "3.1"
                slots:
                  said:
                    type: bool
                    mappings:
                      - type: controlled
                actions:
                  - action_quote
            """,
            "data/flows.yml": """\
                flows:
                  quote:
                    description: Quote a price.
                    steps:
                      - action: action_quote
            """,
            "actions/__init__.py": """\
                from workbench.sdk import Action, SlotSet


                class ActionQuote(Action):
                    def name(self):
                        return "action_quote"

                    def run(self, dispatcher, tracker, domain):
                        dispatcher.utter_message(text="That is $5.00 (plus tax) [approx.]?")
                        return [SlotSet("said", True)]
            """,
        }
    )
    generator = ScriptedGenerator({"how much is it": "start flow quote"})
    turns = stored_turns(root, record(root, ["how much is it"], generator=generator))
    project = load(root)
    steps = export_session(turns, project, name="quote")
    assert '- bot: "That is $5.00 (plus tax) [approx.]?"' in steps
    assert "- said: true" in steps
    assertions = export_session(turns, project, name="quote", assertions=True)
    assert r"text_matches: 'That is \$5\.00 \(plus tax\) \[approx\.\]\?'" in assertions
    assert "- action_executed: action_quote" in assertions
    for style in (False, True):
        result = write_export(project, turns, name="quote", assertions=style)
        run = run_file(root, result.test_path, CassetteGenerator(result.cassette_path))
        assert [r.status for r in run.results] == ["passed"], run.results[0].failure


# -- the CLI ----------------------------------------------------------------------------------


def sessions(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["sessions", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_export_then_calm_tui_test(shop, capsys, monkeypatch):
    session_id = record(shop, CANCEL_ORDER)
    monkeypatch.chdir(shop.parent)
    code, out, _ = sessions(capsys, "export", session_id[:15], "shop")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "shop/e2e_tests/i_want_to_cancel_my_order_a1002.yml"
    assert lines[1] == "shop/e2e_tests/i_want_to_cancel_my_order_a1002.cassette.yml"
    assert "4 user steps (steps), 3 model outputs" in out
    test_file = shop / "e2e_tests" / "i_want_to_cancel_my_order_a1002.yml"
    assert test_file.read_text().startswith(f"# Exported by calm-tui from session {session_id}")
    assert "test_case: i_want_to_cancel_my_order_a1002" in test_file.read_text()

    rel, cassette = lines[0].removeprefix("shop/"), lines[1].removeprefix("shop/")
    assert main(["test", "shop", rel, "--cassette", cassette]) == 0
    assert main(["test", "shop", rel, "--offline"]) == 0
    capsys.readouterr()
    keep_instead_of_cancel(shop)
    assert main(["test", "shop", rel, "--cassette", cassette]) == 1
    out = capsys.readouterr().out
    assert "expected utter: utter_order_cancelled" in out
    assert "utter_order_kept" in out


def test_cli_export_options(shop, capsys, monkeypatch):
    session_id = record(shop, CANCEL_ORDER)
    monkeypatch.chdir(shop)
    code, out, _ = sessions(capsys, "export", session_id, "--assertions", "--name", "my case")
    assert code == 0
    path = shop / "e2e_tests" / "my_case.yml"
    assert out.splitlines()[0] == "e2e_tests/my_case.yml"
    assert "test_case: my case" in path.read_text() and "assertions:" in path.read_text()
    # again: a new file, never the old one
    code, out, _ = sessions(capsys, "export", session_id, "--name", "my case", "--no-cassette")
    assert code == 0
    assert out.splitlines()[0] == "e2e_tests/my_case-2.yml"
    assert not (shop / "e2e_tests" / "my_case-2.cassette.yml").exists()
    assert "--cassette" not in out
    # --out: exactly there, but never over an existing file
    code, out, _ = sessions(capsys, "export", session_id, "--out", "elsewhere/t.yml")
    assert code == 0
    assert (shop / "elsewhere" / "t.yml").is_file()
    assert (shop / "elsewhere" / "t.cassette.yml").is_file()
    code, _, err = sessions(capsys, "export", session_id, "--out", "elsewhere/t.yml")
    assert code == 2
    assert "exists already" in err


def test_cli_export_errors(shop, capsys):
    code, _, err = sessions(capsys, "export", "20990101", str(shop))
    assert code == 1 and "no session '20990101'" in err  # no store at all yet
    record(shop, CANCEL_ORDER)
    code, _, err = sessions(capsys, "export", "20990101", str(shop))
    assert code == 1 and "no session '20990101'" in err
    with SessionStore(shop) as store:
        greeting_only = store.create_session("offline", "default", 0, "")
        store.add_turn(greeting_only, TurnTrace(0, "/session_start", source="intent"))
    code, _, err = sessions(capsys, "export", greeting_only, str(shop))
    assert code == 1 and "no user messages" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["sessions", "export"])
    assert exit_info.value.code == 2


def test_slots_the_session_started_with_become_a_fixture_of_the_test(shop):
    """A conversation that began with slots already set (a test's fixture it came from, a
    session-start action) exports them as a fixture, so the test starts where it did."""
    import asyncio

    from workbench.project.yaml_io import parse_yaml
    from workbench.session import Session

    project = load(shop)
    session = Session(project, OfflineGenerator())
    session.set_slots({"membership_tier": "gold", "email": "ana@example.com"})

    async def chat():
        return [await session.handle("I need priority support")]

    traces = asyncio.run(chat())
    text = export_session(traces, project, name="gold_support")
    data = parse_yaml(text, "gold_support.yml")
    assert data["fixtures"] == [
        {"gold_support_start": [{"email": "ana@example.com"}, {"membership_tier": "gold"}]}
    ]
    assert data["test_cases"][0]["fixtures"] == ["gold_support_start"]
    path = shop / "e2e_tests" / "gold_support.yml"
    path.write_text(text, encoding="utf-8")
    run = run_file(shop, path, OfflineGenerator())
    assert [r.status for r in run.results] == ["passed"], run.results[0].failure
    # without the fixture the guarded premium flow does not start: the test would fail
    path.write_text(text.replace("    fixtures:\n      - gold_support_start\n", ""), "utf-8")
    assert [r.status for r in run_file(shop, path, OfflineGenerator()).results] == ["failed"]
