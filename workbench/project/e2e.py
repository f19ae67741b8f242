"""E2E test files (Rasa's format: `test_cases`, `fixtures`, `metadata`, `stub_custom_actions`).

The one reader of test files: the project loader builds those under the test folders
with it, the test runner those it is pointed at elsewhere, and both share fixtures the
same way: a test file gets the fixtures of every `conftest.yml` in its own folder and
the folders above it (up to the project folder), a nearer conftest winning over a
farther one and the file's own fixtures winning over all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import TypeGuard

from workbench.calm.values import JSONObject, SlotValue
from workbench.project.issues import IssueList
from workbench.project.model import Source, TestCase, TestFile, TestStep
from workbench.project.yaml_io import YamlSyntaxError, line_of, parse_yaml

STEP_KINDS = ("user", "bot", "utter", "slot_was_set", "slot_was_not_set")
USER_STEP_KEYS = frozenset({"user", "metadata", "assertions", "assertion_order_enabled"})
# `stub_tools` and `stub_agents` are the workbench's (workbench/agents/stubs.py): Rasa's
# format has no stubs for MCP tools and sub-agents
TEST_FILE_KEYS = frozenset(
    {"test_cases", "fixtures", "metadata", "stub_custom_actions", "stub_tools", "stub_agents"}
)
TEST_CASE_KEYS = frozenset({"test_case", "steps", "fixtures", "metadata"})


CONFTEST_NAMES = ("conftest.yml", "conftest.yaml")

Fixtures = dict[str, tuple[tuple[str, SlotValue], ...]]
FixtureSources = dict[str, tuple[Source, ...]]
# a conftest's fixtures by the folder it is in (relative to the project, "." = the project)
Conftests = Mapping[str, tuple[Fixtures, FixtureSources]]


def is_test_file(data: object) -> TypeGuard[JSONObject]:
    return isinstance(data, dict) and "test_cases" in data


def is_conftest(path: Path, data: object) -> bool:
    return path.stem == "conftest" and isinstance(data, dict) and "fixtures" in data


def conftest_folder(file: str) -> str:
    """The key `with_conftests` files a conftest (given as its project path) under."""
    return PurePosixPath(file).parent.as_posix()


def with_conftests(test_file: TestFile, conftests: Conftests) -> TestFile:
    """The test file with the fixtures of the conftests in its folder and above."""
    folder = PurePosixPath(test_file.path).parent
    shared: Fixtures = {}
    sources: FixtureSources = {}
    for above in reversed([folder, *folder.parents]):  # the farthest first: nearer wins
        fixtures, where = conftests.get(above.as_posix(), ({}, {}))
        shared.update(fixtures)
        sources.update(where)
    if not shared:
        return test_file
    return replace(
        test_file,
        fixtures={**shared, **test_file.fixtures},
        fixture_sources={**sources, **test_file.fixture_sources},
    )


def read_test_file(root: Path, path: Path, issues: IssueList) -> TestFile | None:
    """One test file read on its own (the runner's, outside the test folders the loader
    reads), with its conftests; None if the file holds no `test_cases`. Raises OSError,
    UnicodeDecodeError or YamlSyntaxError when the file cannot be read."""
    rel = _project_path(root, path)
    data = parse_yaml(path.read_text(encoding="utf-8"), rel)
    if not is_test_file(data):
        return None
    test_file = build_test_file(rel, data, issues)
    conftests: dict[str, tuple[Fixtures, FixtureSources]] = {}
    for folder in [path.parent, *path.parent.parents]:
        if folder != root and root not in folder.parents:
            continue
        for name in CONFTEST_NAMES:
            conftest = folder / name
            if not conftest.is_file():
                continue
            file = _project_path(root, conftest)
            try:
                conf = parse_yaml(conftest.read_text(encoding="utf-8"), file)
            except (OSError, UnicodeDecodeError, YamlSyntaxError):
                continue  # the conftest's own problem, not this file's
            if is_conftest(conftest, conf) and isinstance(conf, dict):
                fixtures = build_fixtures(file, conf["fixtures"], issues)
                conftests.setdefault(conftest_folder(file), fixtures)
    return with_conftests(test_file, conftests)


def _project_path(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def build_test_file(file: str, data: JSONObject, issues: IssueList) -> TestFile:
    for key in data:
        if key not in TEST_FILE_KEYS:
            issues.warning(
                file,
                line_of(data, key),
                "unknown-test-key",
                f"unknown key '{key}' in e2e test file is ignored",
                "allowed: " + ", ".join(sorted(TEST_FILE_KEYS)),
            )
    cases = []
    raw_cases = data.get("test_cases")
    if not isinstance(raw_cases, list):
        issues.error(
            file,
            line_of(data, "test_cases"),
            "invalid-test",
            "`test_cases` must be a list",
        )
        raw_cases = []
    for index, item in enumerate(raw_cases):
        case = _test_case(file, item, line_of(raw_cases, index), issues)
        if case is not None:
            cases.append(case)
    stubs = data.get("stub_custom_actions")
    if isinstance(stubs, dict):
        _warn_failing_stubs(file, stubs, issues)
    fixtures, fixture_sources = build_fixtures(file, data.get("fixtures"), issues)
    return TestFile(
        path=file,
        test_cases=tuple(cases),
        fixtures=fixtures,
        fixture_sources=fixture_sources,
        metadata=_named_maps(data.get("metadata")),
        stub_custom_actions={str(k): v for k, v in stubs.items()}
        if isinstance(stubs, dict)
        else {},
        stub_tools=_stub_map(file, data, "stub_tools", issues),
        stub_agents=_stub_map(file, data, "stub_agents", issues),
    )


def _warn_failing_stubs(file: str, stubs: JSONObject, issues: IssueList) -> None:
    for key, stub in stubs.items():
        if isinstance(stub, dict) and "error" in stub:
            issues.warning(
                file,
                line_of(stubs, key),
                "stub-error-not-in-rasa",
                f"stub '{key}' fails with `error`, which is the workbench's: Rasa's e2e "
                "runner ignores it and the stubbed action returns nothing",
            )


def _stub_map(file: str, data: JSONObject, key: str, issues: IssueList) -> JSONObject:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        issues.error(file, line_of(data, key), "invalid-test", f"`{key}` must be a mapping")
        return {}
    return {str(k): v for k, v in value.items()}


def build_fixtures(file: str, value: object, issues: IssueList) -> tuple[Fixtures, FixtureSources]:
    """`fixtures: [{name: [{slot: value}, ...]}]` → {name: ((slot, value), ...)} and
    where each fixture is defined."""
    fixtures: Fixtures = {}
    sources: FixtureSources = {}
    if not isinstance(value, list):
        return fixtures, sources
    for index, item in enumerate(value):
        if not isinstance(item, dict) or len(item) != 1:
            issues.error(
                file,
                line_of(value, index),
                "invalid-test",
                "a fixture is `- name: [{slot: value}, ...]`",
            )
            continue
        name, slots = next(iter(item.items()))
        pairs, lines = [], []
        entries = slots if isinstance(slots, list) else []
        for entry_index, entry in enumerate(entries):
            if isinstance(entry, dict):
                for key, slot_value in entry.items():
                    pairs.append((str(key), slot_value))
                    lines.append(Source(file, line_of(entries, entry_index)))
        fixtures[str(name)] = tuple(pairs)
        sources[str(name)] = tuple(lines)
    return fixtures, sources


def _named_maps(value: object) -> dict[str, JSONObject]:
    result: dict[str, JSONObject] = {}
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict):
            for name, content in item.items():
                result[str(name)] = dict(content) if isinstance(content, dict) else {}
    return result


def _test_case(file: str, item: object, line: int, issues: IssueList) -> TestCase | None:
    if not isinstance(item, dict) or not item.get("test_case"):
        issues.error(file, line, "invalid-test", "each test case needs a `test_case` name")
        return None
    name = str(item["test_case"])
    for key in item:
        if key not in TEST_CASE_KEYS:
            issues.warning(
                file,
                line_of(item, key),
                "unknown-test-key",
                f"unknown key '{key}' in test case '{name}' is ignored",
            )
    steps = []
    raw_steps = item.get("steps")
    if raw_steps is not None and not isinstance(raw_steps, list):
        issues.error(file, line, "invalid-test", f"`steps` of test case '{name}' must be a list")
        raw_steps = []
    elif not raw_steps:  # Rasa's schema allows it; such a test checks nothing
        issues.warning(file, line, "invalid-test", f"test case '{name}' has no steps")
        raw_steps = []
    for index, raw in enumerate(raw_steps):
        step_line = line_of(raw_steps, index)
        kind = next((k for k in STEP_KINDS if isinstance(raw, dict) and k in raw), None)
        if kind is None:
            issues.error(
                file,
                step_line,
                "invalid-test-step",
                f"step in test case '{name}' is none of: " + ", ".join(STEP_KINDS),
            )
            continue
        allowed = USER_STEP_KEYS if kind == "user" else {kind}
        for key in raw:
            if key not in allowed:
                issues.error(
                    file,
                    line_of(raw, key),
                    "invalid-test-step",
                    f"unknown key '{key}' in a {kind} step of test case '{name}'",
                )
        assertions = raw.get("assertions") if kind == "user" else None
        value = raw[kind]
        if kind in ("user", "bot", "utter"):
            value = "" if value is None else str(value)
        metadata = raw.get("metadata")
        steps.append(
            TestStep(
                kind=kind,
                value=value,
                source=Source(file, step_line),
                metadata=str(metadata) if metadata else None,
                assertions=tuple(a for a in assertions if isinstance(a, dict))
                if isinstance(assertions, list)
                else (),
                assertion_order_enabled=bool(raw.get("assertion_order_enabled", False)),
            )
        )
    fixtures = item.get("fixtures")
    return TestCase(
        name=name,
        steps=tuple(steps),
        source=Source(file, line),
        fixtures=tuple(str(f) for f in fixtures) if isinstance(fixtures, list) else (),
        metadata=str(item["metadata"]) if item.get("metadata") else None,
    )
