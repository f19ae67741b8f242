"""A `matches` pattern with a repetition inside a repetition (`(a+)+`) can backtrack
for minutes on a crafted slot value, and Python's `re` cannot be stopped: `validate`
flags it (a warning: Rasa accepts the pattern, and it is fine on most input)."""

from __future__ import annotations

import pytest

from workbench.project.regex_risk import nested_repetition
from workbench.project.validate import validate_path

FLOWS = """\
flows:
  greet:
    description: Greet the user by name.
    steps:
      - collect: name
        rejections:
          - if: not (slots.name matches "{pattern}")
            utter: utter_greet
      - action: utter_greet
"""


@pytest.mark.parametrize("pattern", ["^(a+)+$", "^(\\\\w*)*@", "(.*,)*x", "(a|b+)*c", "(?:x+y?)+$"])
def test_a_repetition_inside_a_repetition_is_flagged(make_project, pattern):
    root = make_project({"data/flows.yml": FLOWS.format(pattern=pattern)})
    result = validate_path(root)
    assert not result.issues.errors
    [warning] = [i for i in result.issues.warnings if i.code == "slow-regex"]
    assert (warning.file, warning.line) == ("data/flows.yml", 7)
    assert "repeats a repetition" in warning.message


@pytest.mark.parametrize(
    "pattern", ["^[0-9]{4}$", "^(foo|bar)+$", "^\\\\d+$", "(a++)+", "(?>a+)+$"]
)
def test_patterns_that_cannot_backtrack_badly_pass(make_project, pattern):
    root = make_project({"data/flows.yml": FLOWS.format(pattern=pattern)})
    assert not [i for i in validate_path(root).issues if i.code == "slow-regex"]


def test_an_invalid_pattern_is_left_to_the_syntax_check():
    assert nested_repetition("(a+") is False
