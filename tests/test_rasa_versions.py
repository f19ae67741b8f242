"""Rasa version profiles: the two behaviours that changed between Rasa 3.14 and 3.21
(reference section i), and `workbench.yml` where a project names its version."""

from __future__ import annotations

import pytest
from engine_helpers import (
    ANYTHING_ELSE,
    NO_KNOWLEDGE_BASE,
    SHOP_DIR,
    SOMETHING_ELSE,
    Chat,
    continue_with,
    flow_events,
    write_project,
)

from workbench.project.choices import DEFAULT_RASA_VERSION
from workbench.project.loader import load_project, with_rasa_version

NAME_Q = "What is your name?"
SOMETHING_ELSE_3_14 = "What else can I help you with?"


def shop_as(version: str | None):
    result = load_project(SHOP_DIR, with_tests=False, rasa_version=version)
    assert result.issues.errors == []
    return result.project


def test_the_default_profile_is_3_21():
    assert DEFAULT_RASA_VERSION == "3.21"
    assert shop_as(None).rasa_version == "3.21"


# --- end of pattern_search while a flow waits on a question ----------------------------------


async def test_3_21_asks_to_continue_after_a_knowledge_answer():
    chat = Chat(shop_as("3.21"))
    await chat.run([("/start flow greet", [NAME_Q])])
    trace = await chat.say("what is CALM?", "provide info")
    assert trace.bot_texts == [NO_KNOWLEDGE_BASE, continue_with("greet user")]
    assert ("flow_started", "pattern_continue_interrupted") in flow_events(trace)


async def test_3_14_reasks_the_open_question_after_a_knowledge_answer():
    chat = Chat(shop_as("3.14"))
    await chat.run([("/start flow greet", [NAME_Q])])
    trace = await chat.say("what is CALM?", "provide info")
    assert trace.bot_texts == [NO_KNOWLEDGE_BASE, NAME_Q]
    assert ("flow_started", "pattern_continue_interrupted") not in flow_events(trace)
    # the question is open again: the answer goes straight to the flow
    trace = await chat.say("/set slot name Bob")
    assert trace.bot_texts[0] == "Hello Bob!"


@pytest.mark.parametrize("version", ["3.14", "3.21"])
async def test_a_knowledge_answer_without_a_flow_completes_in_both_profiles(version):
    chat = Chat(shop_as(version))
    trace = await chat.say("what is CALM?", "provide info")
    assert trace.bot_texts[0] == NO_KNOWLEDGE_BASE
    assert ("flow_started", "pattern_completed") in flow_events(trace)


async def test_3_14_still_asks_to_continue_after_an_interrupting_flow():
    chat = Chat(shop_as("3.14"))
    await chat.run([("/start flow greet", [NAME_Q])])
    trace = await chat.say("/start flow jump")
    assert trace.bot_texts == ["Last.", "Middle.", continue_with("greet user")]


# --- pattern_completed --------------------------------------------------------------------------


async def test_3_21_completed_asks_whether_to_continue_first():
    chat = Chat(shop_as("3.21"))
    trace = await chat.say("/start flow jump")
    assert trace.bot_texts == ["Last.", "Middle.", ANYTHING_ELSE]
    assert trace.stack_after[-1].as_dict()["collect"] == "continue_conversation"
    trace = await chat.say("/set slot continue_conversation true")
    assert trace.bot_texts == [SOMETHING_ELSE]


async def test_3_14_completed_offers_help_straight_away():
    chat = Chat(shop_as("3.14"))
    trace = await chat.say("/start flow jump")
    assert trace.bot_texts == ["Last.", "Middle.", SOMETHING_ELSE_3_14]
    assert ("flow_completed", "pattern_completed") in flow_events(trace)
    assert trace.stack_after == []


async def test_a_project_pattern_completed_wins_in_both_profiles(tmp_path):
    root = write_project(
        tmp_path / "p",
        domain="""
        responses:
          utter_hi:
            - text: "Hi!"
          utter_bye:
            - text: "Bye!"
        """,
        flows="""
        flows:
          hi:
            description: Say hi.
            steps:
              - action: utter_hi
          pattern_completed:
            description: Say bye.
            name: pattern completed
            steps:
              - action: utter_bye
        """,
    )
    for version in ("3.14", "3.21"):
        project = load_project(root, with_tests=False, rasa_version=version).project
        trace = await Chat(project).say("/start flow hi")
        assert trace.bot_texts == ["Hi!", "Bye!"], version


# --- switching profiles without reading the folder again -----------------------------------------


async def test_with_rasa_version_gives_what_loading_with_that_version_gives():
    loaded = shop_as("3.14")
    switched = with_rasa_version(shop_as("3.21"), "3.14")
    assert switched.rasa_version == "3.14"
    assert switched.flows == loaded.flows
    assert switched.domain == loaded.domain
    trace = await Chat(switched).say("/start flow jump")
    assert trace.bot_texts[-1] == SOMETHING_ELSE_3_14


# --- workbench.yml -----------------------------------------------------------------------------

FLOWS = """
flows:
  hi:
    description: Say hi.
    steps:
      - action: utter_hi
"""
DOMAIN = """
responses:
  utter_hi:
    - text: "Hi!"
"""


def load_with_settings(tmp_path, settings: str, rasa_version: str | None = None):
    root = write_project(
        tmp_path / "p", flows=FLOWS, domain=DOMAIN, extra={"workbench.yml": settings}
    )
    return load_project(root, with_tests=False, rasa_version=rasa_version)


@pytest.mark.parametrize("value", ['"3.14"', "3.14", "3.14.2"])
def test_workbench_yml_sets_the_rasa_version(tmp_path, value):
    result = load_with_settings(tmp_path, f"rasa_version: {value}\n")
    assert list(result.issues) == []
    assert result.project.rasa_version == "3.14"
    assert result.project.flow("pattern_completed").steps[0].action == (
        "utter_can_do_something_else"
    )
    assert "workbench.yml" in result.project.files


def test_the_rasa_version_argument_wins_over_workbench_yml(tmp_path):
    result = load_with_settings(tmp_path, 'rasa_version: "3.14"\n', rasa_version="3.21")
    assert result.project.rasa_version == "3.21"


def test_a_bad_rasa_version_is_an_error_naming_the_accepted_values(tmp_path):
    result = load_with_settings(tmp_path, "# team settings\nrasa_version: '3.9'\n")
    [error] = result.issues.errors
    assert error.location == "workbench.yml:2"
    assert "'3.9'" in error.message
    assert '"3.14"' in error.message and '"3.21"' in error.message
    assert result.project.rasa_version == DEFAULT_RASA_VERSION


def test_an_unknown_key_is_a_warning_with_its_line(tmp_path):
    result = load_with_settings(tmp_path, 'rasa_version: "3.14"\nrasa_versoin: x\n')
    assert result.issues.errors == []
    [warning] = result.issues.warnings
    assert warning.location == "workbench.yml:2"
    assert "rasa_versoin" in warning.message
    assert "rasa_version" in warning.hint
    assert result.project.rasa_version == "3.14"


def test_workbench_yml_that_is_no_mapping_is_an_error(tmp_path):
    result = load_with_settings(tmp_path, "- rasa_version\n")
    assert [e.code for e in result.issues.errors] == ["workbench-settings"]


def test_a_project_without_workbench_yml_has_the_default_profile(tmp_path):
    root = write_project(tmp_path / "p", flows=FLOWS, domain=DOMAIN)
    result = load_project(root, with_tests=False)
    assert list(result.issues) == []
    assert result.project.rasa_version == DEFAULT_RASA_VERSION


def test_an_unsupported_rasa_version_argument_is_refused(tmp_path):
    root = write_project(tmp_path / "p", flows=FLOWS, domain=DOMAIN)
    with pytest.raises(ValueError, match=r"3\.14"):
        load_project(root, rasa_version="3.9")
