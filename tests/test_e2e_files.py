"""One reader of e2e test files: the loader and the runner's selection share its rules."""

from __future__ import annotations

from workbench.project.loader import load_project
from workbench.testing.selection import select_cases

CASE = """\
    test_cases:
      - test_case: {name}
        fixtures: [shared]
        steps:
          - user: "hi"
    """

CONFTEST = """\
    fixtures:
      - shared: [{{name: {value}}}]
    """


def fixtures_of(project, path):
    [test_file] = [tf for tf in project.test_files if tf.path == path]
    return test_file.fixtures.get("shared")


def test_a_conftest_serves_its_folder_and_those_below_the_nearer_winning(make_project):
    root = make_project(
        {
            "e2e_tests/conftest.yml": CONFTEST.format(value="Top"),
            "e2e_tests/top.yml": CASE.format(name="top"),
            "e2e_tests/sub/conftest.yml": CONFTEST.format(value="Sub"),
            "e2e_tests/sub/low.yml": CASE.format(name="low"),
            "e2e_tests/other/plain.yml": CASE.format(name="plain"),
        }
    )
    project = load_project(root).project
    assert fixtures_of(project, "e2e_tests/top.yml") == (("name", "Top"),)
    assert fixtures_of(project, "e2e_tests/sub/low.yml") == (("name", "Sub"),)
    assert fixtures_of(project, "e2e_tests/other/plain.yml") == (("name", "Top"),)


def test_a_file_outside_the_test_folders_gets_conftests_by_the_same_rule(make_project):
    root = make_project(
        {
            "conftest.yml": CONFTEST.format(value="Root"),
            "more/conftest.yml": CONFTEST.format(value="More"),
            "more/extra.yml": CASE.format(name="extra"),
            "elsewhere/conftest.yml": CONFTEST.format(value="Elsewhere"),
        }
    )
    project = load_project(root).project
    [(test_file, case)] = select_cases(project, ["more/extra.yml"])
    assert case.name == "extra"
    assert test_file.fixtures["shared"] == (("name", "More"),)
    assert [s.file for s in test_file.fixture_sources["shared"]] == ["more/conftest.yml"]
