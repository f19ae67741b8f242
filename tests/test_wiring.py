"""`wiring`: one way from a project and options to a running conversation, for every
front end; and the one meaning of a typed number (`buttons.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.buttons import button_text, turn_buttons, typed_choice
from workbench.errors import UsageError
from workbench.store.sessions import SessionStore
from workbench.trace.records import BotMessage, Button
from workbench.understanding.base import ScriptedGenerator
from workbench.understanding.cassette import (
    CassetteEntry,
    CassetteGenerator,
    RecordingGenerator,
    save_cassette,
)
from workbench.wiring import (
    Options,
    build_conversation,
    load,
    make_generator,
    make_parts,
    new_session,
    option_path,
)

BUTTONS_DOMAIN = """\
version: "3.1"
slots:
  name:
    type: text
  size:
    type: text
responses:
  utter_ask_name:
    - text: "What is your name?"
  utter_greet:
    - text: "Hello {name}!"
  utter_pick:
    - text: "Which size?"
      buttons:
        - title: "small"
        - title: "large"
          payload: "/SetSlots(size=large)"
"""
PICK_FLOW = """\
flows:
  greet:
    description: Greet the user by name.
    steps:
      - collect: name
      - action: utter_greet
  pick:
    description: Offer sizes.
    steps:
      - action: utter_pick
"""


def project_of(root: Path):
    result = load(root, Options())
    assert not result.issues.errors, result.issues.errors
    return result.project


# --- file options -------------------------------------------------------------------------


def test_option_paths_follow_the_rule_of_the_project_file_options(tmp_path, monkeypatch):
    root = tmp_path / "shop"
    (root / "e2e_tests").mkdir(parents=True)
    (root / "e2e_tests" / "x.cassette.yml").write_text("entries: []\n")
    (tmp_path / "here.yml").write_text("entries: []\n")
    monkeypatch.chdir(tmp_path)
    # there in the current folder: taken from there
    assert option_path(Path("here.yml"), root) == tmp_path / "here.yml"
    # not there: from the project root (as --config and --data are)
    assert option_path(Path("e2e_tests/x.cassette.yml"), root) == (
        root / "e2e_tests" / "x.cassette.yml"
    )
    assert option_path(Path("new.yml"), root) == root / "new.yml"
    assert option_path(tmp_path / "abs.yml", root) == tmp_path / "abs.yml"


def test_cassette_and_record_are_found_from_outside_the_project(
    make_project, tmp_path, monkeypatch
):
    root = make_project()
    project = project_of(root)
    save_cassette(root / "run.cassette.yml", [CassetteEntry("hi", "start flow greet")])
    monkeypatch.chdir(tmp_path)
    generator, label = make_generator(project, Options(cassette=Path("run.cassette.yml")))
    assert isinstance(generator, CassetteGenerator)
    assert label == "cassette run.cassette.yml"
    generator, label = make_generator(project, Options(offline=True, record=Path("rec.yml")))
    assert isinstance(generator, RecordingGenerator)
    assert generator.path == root / "rec.yml"  # beside the project, as --cassette finds it
    assert label.endswith("recording to rec.yml")


def test_a_cassette_that_is_not_there_is_a_usage_error(make_project):
    project = project_of(make_project())
    with pytest.raises(UsageError, match=r"nope\.yml: the file does not exist"):
        make_generator(project, Options(cassette=Path("nope.yml")))


# --- the conversation -----------------------------------------------------------------------


async def test_build_conversation_saves_each_turn_and_closes(make_project):
    root = make_project()
    project = project_of(root)
    conversation = build_conversation(
        project, Options(offline=True), sender_id="ada", seed=4, store=True
    )
    assert conversation.label.startswith("offline")
    assert conversation.session.tracker.sender_id == "ada"
    assert conversation.session.tracker.seed == 4
    trace = await conversation.session.handle("/start flow greet")
    conversation.recorder(trace)
    conversation.close()
    with SessionStore(root) as store:
        (summary,) = store.list_sessions()
        assert summary.sender_id == "ada" and summary.seed == 4
        assert summary.generator == conversation.label
        assert summary.status == "ended"
        assert [t.user_text for t in store.get_turns(summary.id)] == ["/start flow greet"]


def test_without_the_store_nothing_is_written(make_project):
    root = make_project()
    conversation = build_conversation(project_of(root), Options(offline=True), store=False)
    assert conversation.recorder is None
    conversation.close()
    assert not (root / ".calm").exists()


def test_a_given_generator_replaces_the_choice_and_names_the_label(make_project):
    project = project_of(make_project())
    script = ScriptedGenerator([])
    parts = make_parts(project, Options(cassette=Path("not/read.yml")), generator=script)
    assert parts.generator is script and parts.label == script.name
    session = new_session(project, parts.generator, actions=parts.actions, sender_id="s")
    assert session.generator is script and session.actions is parts.actions
    parts.close()


# --- a typed number -----------------------------------------------------------------------


BUTTONS = [Button("small", ""), Button("large", "/SetSlots(size=large)")]


def test_a_number_picks_a_button_by_payload_else_title():
    assert typed_choice("2", BUTTONS) == "/SetSlots(size=large)"
    assert typed_choice(" 1 ", BUTTONS) == "small"
    assert typed_choice("3", BUTTONS) == "3"
    assert typed_choice("0", BUTTONS) == "0"
    assert typed_choice("small", BUTTONS) == "small"
    assert typed_choice("1", []) == "1"
    assert [button_text(b) for b in BUTTONS] == ["small", "/SetSlots(size=large)"]


def test_buttons_are_numbered_across_a_turns_messages():
    messages = [
        BotMessage("a", buttons=(BUTTONS[0],)),
        BotMessage("b"),
        BotMessage(buttons=(BUTTONS[1],)),
    ]
    assert turn_buttons(messages) == BUTTONS
    small, large = Button("small", ""), Button("large", "/l")
    messages = [BotMessage(buttons=(small,)), BotMessage(), BotMessage(buttons=(large,))]
    assert turn_buttons(messages) == [small, large]
    assert typed_choice("1", turn_buttons(messages)) == "small"
    assert typed_choice("2", turn_buttons(messages)) == "/l"
