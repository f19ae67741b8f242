"""Flow ids are YAML mapping keys: `~`, `true` or `1` are read as null, a bool and a
number, which Rasa fails on; they are refused with file:line. What Rasa's FLOW_ID_REGEX
accepts stays accepted, `END` and `START` included (they are step names, not flow ids)."""

from __future__ import annotations

import pytest

from workbench.project.validate import validate_path

FLOW = """\
flows:
  greet:
    description: Greet.
    steps:
      - action: utter_greet
  {key}:
    description: Another flow.
    steps:
      - action: utter_greet
"""


@pytest.mark.parametrize(
    ("key", "shown", "kind"),
    [
        ("~", "'~'", "null"),
        ("null", "'~'", "null"),
        ("true", "'true'", "a boolean"),
        ("False", "'false'", "a boolean"),
        ("1", "'1'", "a number"),
        ("1.5", "'1.5'", "a number"),
    ],
)
def test_keys_yaml_does_not_read_as_names_are_refused(make_project, key, shown, kind):
    root = make_project({"data/flows.yml": FLOW.format(key=key)})
    result = validate_path(root)
    [issue] = [i for i in result.issues.errors if i.code == "invalid-flow-id"]
    assert (issue.file, issue.line) == ("data/flows.yml", 6)
    assert issue.message == f"flow id {shown} is read as {kind}, not a name"
    assert set(result.project.flows) >= {"greet"}
    assert "None" not in result.project.flows and "True" not in result.project.flows


@pytest.mark.parametrize("key", ['""', "''"])
def test_an_empty_flow_id_is_refused(make_project, key):
    root = make_project({"data/flows.yml": FLOW.format(key=key)})
    errors = validate_path(root).issues.errors
    assert [(i.code, i.line) for i in errors] == [("invalid-flow-id", 6)]


@pytest.mark.parametrize("key", ["END", "START", '"1"', "'true'", "flow-2", "_private", "9lives"])
def test_what_rasa_accepts_stays_accepted(make_project, key):
    root = make_project({"data/flows.yml": FLOW.format(key=key)})
    result = validate_path(root)
    assert not result.issues.errors, result.issues.errors
    assert key.strip("'\"") in result.project.flows
