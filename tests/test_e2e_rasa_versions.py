"""The e2e runner and the Rasa version profiles: a case that fails under the active
profile is run again under the other one, and the report says when it passes there."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console

from workbench.cli import test as e2e_cli
from workbench.cli.test import cmd_test
from workbench.project.loader import load_project
from workbench.testing.report import failure_text, junit_xml, print_report
from workbench.testing.runner import FAILED, PASSED, run_tests, select_cases
from workbench.understanding.base import ScriptedGenerator
from workbench.understanding.cassette import (
    CassetteEntry,
    CassetteGenerator,
    RecordingGenerator,
    load_cassette,
    save_cassette,
)

HINT = "passes under Rasa 3.14 — written for another version?"

FILES = {
    "config.yml": "recipe: default.v1\nlanguage: en\nassistant_id: versions_bot\n",
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
""",
    "data/flows.yml": """\
flows:
  greet:
    description: Greet the user by name.
    steps:
      - collect: name
      - action: utter_greet
""",
}

# written for 3.14: the knowledge answer is followed by the open question again, and the
# end of the flow by "what else can I help you with"
TESTS = """\
test_cases:
  - test_case: written_for_3_14
    steps:
      - user: "/start flow greet"
      - utter: utter_ask_name
      - user: "what is CALM?"
      - utter: utter_no_knowledge_base
      - utter: utter_ask_name
      - user: "/SetSlots(name=Bob)"
      - utter: utter_greet
      - utter: utter_can_do_something_else
  - test_case: written_for_3_21
    steps:
      - user: "/start flow greet"
      - user: "what is CALM?"
      - utter: utter_no_knowledge_base
      - utter: utter_ask_continue_interrupted_flow_confirmation
  - test_case: wrong_everywhere
    steps:
      - user: "/start flow greet"
      - utter: utter_greet
"""


@pytest.fixture
def root(tmp_path) -> Path:
    folder = tmp_path / "bot"
    for rel, text in {**FILES, "e2e_tests/versions.yml": TESTS}.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def answers() -> ScriptedGenerator:
    return ScriptedGenerator({"what is CALM?": "provide info"})


def run(root: Path, generator=None, **options):
    project = load_project(root).project
    return run_tests(project, select_cases(project, []), generator or answers(), **options)


def by_name(run_result):
    return {r.name: r for r in run_result.results}


def test_a_case_written_for_the_other_version_fails_with_the_hint(root):
    result = run(root)
    assert [n for n in result.notes if "--rasa-version 3.14" in n] != []
    results = by_name(result)
    case = results["written_for_3_14"]
    assert case.status == FAILED
    assert case.passes_under == "3.14"
    assert HINT in failure_text(case)
    assert results["written_for_3_21"].status == PASSED
    # failing under both profiles: no hint
    assert results["wrong_everywhere"].status == FAILED
    assert results["wrong_everywhere"].passes_under is None
    assert HINT not in failure_text(results["wrong_everywhere"])


def test_running_under_3_14_passes_it_and_hints_at_3_21_for_the_other(root):
    results = by_name(run(root, rasa_version="3.14"))
    assert results["written_for_3_14"].status == PASSED
    assert results["written_for_3_21"].status == FAILED
    assert results["written_for_3_21"].passes_under == "3.21"


def test_the_other_version_is_not_tried_when_turned_off(root):
    case = by_name(run(root, try_other_version=False))["written_for_3_14"]
    assert case.status == FAILED
    assert case.passes_under is None


def test_report_and_junit_show_the_hint(root):
    result = run(root)
    console = Console(record=True, width=200)
    print_report(result, console)
    text = console.export_text()
    assert "passes under 3.14" in text  # in the table
    assert HINT in text  # with the failure
    assert "Rasa 3.21 profile" in text
    xml = ET.tostring(junit_xml(result).getroot(), encoding="unicode")
    tree = ET.fromstring(xml)
    [case] = [c for c in tree.iter("testcase") if c.get("name") == "written_for_3_14"]
    failure = case.find("failure")
    assert HINT in failure.get("message")
    assert HINT in failure.text
    assert case.find("properties/property").get("value") == "3.14"
    [other] = [c for c in tree.iter("testcase") if c.get("name") == "wrong_everywhere"]
    assert HINT not in other.find("failure").get("message")


def test_the_second_run_leaves_the_cassette_for_the_next_cases(root, tmp_path):
    """Both cases send the same message; the second run of the first case must not use up
    the entry the second case needs."""
    cassette = tmp_path / "c.yml"
    save_cassette(
        cassette,
        [
            CassetteEntry("what is CALM?", "provide info"),
            CassetteEntry("what is CALM?", "provide info"),
        ],
    )
    generator = CassetteGenerator(cassette)
    results = by_name(run(root, generator))
    assert results["written_for_3_14"].passes_under == "3.14"
    assert results["written_for_3_21"].status == PASSED
    assert generator.unused == []


def test_the_second_run_is_not_recorded(root, tmp_path):
    cassette = tmp_path / "rec.yml"
    results = by_name(run(root, RecordingGenerator(answers(), cassette)))
    assert results["written_for_3_14"].passes_under == "3.14"
    # one model call per case that asked the model, none for the second run
    assert [e.user for e in load_cassette(cassette)] == ["what is CALM?", "what is CALM?"]


def cli(root: Path, *args: str) -> int:
    cassette = root / "calm.yml"
    save_cassette(cassette, [CassetteEntry("what is CALM?", "provide info")])
    target = "e2e_tests/versions.yml::written_for_3_14"
    return cmd_test([str(root), target, "--cassette", str(cassette), *args])


def test_the_cli_takes_rasa_version(root, capsys):
    assert cli(root) == 1
    assert HINT in capsys.readouterr().out
    assert cli(root, "--rasa-version", "3.14") == 0
    with pytest.raises(SystemExit):
        cli(root, "--rasa-version", "3.9")


def test_the_cli_reads_rasa_version_from_workbench_yml(root):
    (root / "workbench.yml").write_text('rasa_version: "3.14"\n', encoding="utf-8")
    assert cli(root) == 0


def test_cli_choices_are_the_supported_versions():
    from workbench.project.choices import RASA_VERSIONS

    (option,) = [a for a in e2e_cli.test_parser()._actions if a.dest == "rasa_version"]
    assert tuple(option.choices) == RASA_VERSIONS
