"""Every YAML problem points at a line: bytes that are not UTF-8, characters YAML does
not allow, a file that is not a mapping."""

from __future__ import annotations

from workbench.project.loader import load_project


def test_bytes_that_are_not_utf8_are_reported_at_their_line(make_project):
    root = make_project()
    (root / "domain.yml").write_bytes(
        b'version: "3.1"\nresponses:\n  utter_x:\n    - text: caf\xe9\n'
    )
    [issue] = [i for i in load_project(root).issues.errors if i.file == "domain.yml"]
    assert (issue.line, issue.column) == (4, 16)
    assert issue.message == "not UTF-8 text (invalid continuation byte: byte 0xe9)"


def test_control_characters_are_reported_at_their_line(make_project):
    root = make_project()
    (root / "domain.yml").write_text(
        'version: "3.1"\nresponses:\n  utter_x:\n    - text: "\x1b[2J"\n'
    )
    [issue] = [i for i in load_project(root).issues.errors if i.file == "domain.yml"]
    assert issue.line == 4
    assert issue.message.startswith("unacceptable character #x001b")


def test_a_domain_file_that_is_no_mapping_is_reported_at_line_1(make_project):
    root = make_project({"domain.yml": "just text\n"})
    [issue] = [i for i in load_project(root).issues.errors if i.file == "domain.yml"]
    assert (issue.code, issue.line) == ("domain-not-mapping", 1)
