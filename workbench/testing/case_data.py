"""What a test file gives its test cases besides steps: fixtures (slots set before the
first message), named metadata (sent with user messages) and per-case stub names."""

from __future__ import annotations

from workbench.calm.values import JSONObject, SlotValue
from workbench.project.model import TestCase, TestFile


def stub_case_name(name: str) -> str:
    """The test case part of a per-test stub key (`<name>::<action>`)."""
    return name.replace(" ", "_")


def fixture_slots(
    test_file: TestFile, case: TestCase, notes: list[str] | None = None
) -> list[tuple[str, SlotValue]]:
    """(slot, value) pairs of the case's fixtures, in the order the file defines the
    fixtures (as Rasa applies them)."""
    wanted = set(case.fixtures)
    for name in case.fixtures:
        if name not in test_file.fixtures and notes is not None:
            notes.append(f"{case.source}: fixture '{name}' is not defined; ignored")
    pairs: list[tuple[str, SlotValue]] = []
    for name, slots in test_file.fixtures.items():
        if name in wanted:
            pairs.extend(slots)
    return pairs


def named_metadata(test_file: TestFile, name: str | None, notes: list[str] | None) -> JSONObject:
    if not name:
        return {}
    if name not in test_file.metadata:
        if notes is not None:
            message = f"{test_file.path}: metadata '{name}' is not defined; none is sent"
            if message not in notes:
                notes.append(message)
        return {}
    return dict(test_file.metadata[name])


def merge_metadata(case: JSONObject, step: JSONObject) -> JSONObject:
    """The step's metadata wins over the test case's."""
    return {**case, **step}
