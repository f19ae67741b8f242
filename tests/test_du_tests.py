"""Dialogue-understanding tests (Rasa's `rasa test du` format): `calm-tui test --du` runs
only the command generator per user turn, on the state the expected commands build, and
`calm-tui sessions export --du` writes a stored session as one."""

from __future__ import annotations

from pathlib import Path

import pytest
from session_helpers import CANCEL_ORDER, copy_sample, record

from workbench.cli.main import main

DU_TESTS = """\
test_cases:
  - test_case: greet_by_name
    steps:
      - user: please greet me
        commands:
          - StartFlow(greet)
      - utter: utter_ask_name
      - user: Ann
        commands:
          - set slot name Ann
  - test_case: cancel_instead
    steps:
      - user: please greet me
        commands:
          - CancelFlow()
      - user: Ann
        commands:
          - SetSlot(name, Ann)
"""


@pytest.fixture
def project(make_project) -> Path:
    return make_project({"dialogue_understanding_tests/greet.yml": DU_TESTS}, name="greeter")


def test_a_passing_and_a_failing_case_with_the_mismatch_shown(project, capsys):
    code = main(["test", str(project), "--du", "--offline"])

    assert code == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    # the failing case's first turn: the offline generator starts the flow
    start = lines.index(
        "✗ dialogue_understanding_tests/greet.yml:13 cancel_instead · user: 'please greet me'"
    )
    assert lines[start + 1 : start + 5] == [
        "    expected:   CancelFlow()",
        "    predicted:  StartFlow(greet)",
        "    missing:    CancelFlow()",
        "    unexpected: StartFlow(greet)",
    ]
    # its second turn is judged on the state the expected CancelFlow() built: no flow
    # asks for a name, so "Ann" is not understood as one
    assert "✗ dialogue_understanding_tests/greet.yml:16 cancel_instead · user: 'Ann'" in lines
    # the passing case shows no turn
    assert "greet_by_name" not in out
    assert (
        "2 of 4 user turns predicted as expected (0.50 accuracy); 1 of 2 test cases passed" in out
    )
    rows = {line.split("│")[1].strip(): line for line in lines if line.startswith("│")}
    assert [cell.strip() for cell in rows["start flow"].split("│")[2:8]] == [
        "1",
        "0",
        "1",
        "0.50",
        "1.00",
        "0.67",
    ]
    assert [cell.strip() for cell in rows["cancel flow"].split("│")[2:5]] == ["0", "1", "0"]


def test_one_case_selected_passes(project, capsys):
    path = "dialogue_understanding_tests/greet.yml::greet_by_name"
    assert main(["test", str(project), path, "--du", "--offline"]) == 0
    out = capsys.readouterr().out
    assert (
        "2 of 2 user turns predicted as expected (1.00 accuracy); 1 of 1 test cases passed" in out
    )


def test_a_command_that_cannot_be_read_is_a_load_error(make_project, capsys):
    bad = DU_TESTS.replace("- CancelFlow()", "- FlyToTheMoon(now)")
    root = make_project({"dialogue_understanding_tests/bad.yml": bad}, name="bad")

    assert main(["test", str(root), "--du", "--offline"]) == 1
    err = capsys.readouterr().err
    assert "bad.yml:13" in err
    assert "cannot read command 'FlyToTheMoon(now)'" in err


def test_a_session_exported_as_a_du_test_passes_on_the_same_generator(tmp_path, capsys):
    root = copy_sample(tmp_path)
    # a cancellation, ended with a button (its slots come without the generator)
    session_id = record(root, CANCEL_ORDER)

    assert main(["sessions", "export", session_id, str(root), "--du", "--name", "cancel"]) == 0
    path = root / "dialogue_understanding_tests" / "cancel.yml"
    assert capsys.readouterr().out.strip().endswith("cancel.yml")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Exported by calm-tui from session")
    assert "  - test_case: cancel\n" in text
    assert (
        '      - user: "I want to cancel my order A1002"\n'
        "        commands:\n"
        "          - StartFlow(cancel_order)\n"
        "          - SetSlot(order_id, A1002)\n"
    ) in text
    assert (
        '      - user: "yes, cancel it"\n'
        "        commands:\n"
        "          - SetSlot(confirm_cancellation, True)\n"
        "      - utter: utter_order_cancelled\n"
    ) in text
    assert (
        '      - user: "/SetSlots(csat_score=satisfied)"\n'
        "        commands:\n"
        "          - SetSlot(csat_score, satisfied)\n"
    ) in text
    assert "slot_was_set" not in text  # a DU test checks commands only

    assert (
        main(["test", str(root), "dialogue_understanding_tests/cancel.yml", "--du", "--offline"])
        == 0
    )
    assert "4 of 4 user turns predicted as expected" in capsys.readouterr().out
