"""Dialogue-understanding test files (Rasa's `rasa test du` format): read and written.

A DU test file is an e2e test file whose `user` steps list the commands the command
generator is expected to predict for that message::

    test_cases:
      - test_case: user_greets
        steps:
          - user: please greet me
            commands:
              - StartFlow(greet)
          - utter: utter_ask_name
          - user: Ann
            commands:
              - SetSlot(name, Ann)

Commands are read in any syntax the command parser knows (Rasa's `StartFlow(x)`, the
v2/v3 `start flow x`) and written as Rasa writes them (`StartFlow(x)`). Fixtures,
metadata and `stub_custom_actions` are read by the e2e loader, as in e2e tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from workbench.calm.commands import Clarify, Command
from workbench.calm.values import JSONObject
from workbench.project.e2e import build_test_file, is_test_file
from workbench.project.issues import IssueList
from workbench.project.model import Project, TestCase, TestFile
from workbench.project.yaml_io import YamlSyntaxError, line_of, parse_yaml
from workbench.testing.export import (
    NothingToExport,
    dump_yaml,
    exported_turns,
    free_path,
    masked_traces,
    plain_steps,
    slug,
)
from workbench.trace.turn import TurnTrace
from workbench.understanding.dsl.parser import parse_commands, write_commands

DU_TEST_DIR = "dialogue_understanding_tests"
KEY_COMMANDS = "commands"
# Rasa's file-level keys for custom commands: read by Rasa, not used here
RASA_ONLY_KEYS = ("additional_commands", "remove_default_commands")


@dataclass(frozen=True)
class DUCase:
    """One DU test case: the e2e view of it, and per step the expected commands (None
    for a bot step)."""

    test_file: TestFile
    case: TestCase
    commands: tuple[tuple[Command, ...] | None, ...]


def read_du_file(root: Path, path: Path, issues: IssueList) -> list[DUCase]:
    """The test cases of one DU file; problems go to `issues` (none read when there
    are errors). Raises OSError/UnicodeDecodeError when the file cannot be read."""
    try:
        rel = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        rel = path.as_posix()
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"), rel)
    except YamlSyntaxError as error:
        issues.error(rel, getattr(error, "line", 0) or 0, "invalid-du-test", str(error))
        return []
    if not is_test_file(data):
        return []
    for key in RASA_ONLY_KEYS:
        if data.pop(key, None) is not None:
            issues.warning(rel, 0, "unknown-test-key", f"`{key}` (custom commands) is ignored")
    expected = _pop_commands(rel, data.get("test_cases"), issues)
    test_file = build_test_file(rel, data, issues)
    if issues.errors:
        return []
    return [
        DUCase(test_file, case, commands)
        for case, commands in zip(test_file.test_cases, expected, strict=True)
    ]


def _pop_commands(
    file: str, cases: object, issues: IssueList
) -> list[tuple[tuple[Command, ...] | None, ...]]:
    """Each case's expected commands per step, taken out of the user steps so that the
    e2e loader reads the rest."""
    result = []
    for case in cases if isinstance(cases, list) else []:
        steps = case.get("steps") if isinstance(case, dict) else None
        per_step: list[tuple[Command, ...] | None] = []
        for index, step in enumerate(steps if isinstance(steps, list) else []):
            if not isinstance(step, dict) or "user" not in step:
                per_step.append(None)
                continue
            line = line_of(steps, index)
            raw = step.pop(KEY_COMMANDS, None)
            if raw is None:
                raw = []
            if not isinstance(raw, list):
                issues.error(file, line, "invalid-du-test", "`commands` must be a list")
                raw = []
            per_step.append(tuple(_commands(file, line, raw, issues)))
        result.append(tuple(per_step))
    return result


def _commands(file: str, line: int, raw: list[object], issues: IssueList) -> list[Command]:
    commands: list[Command] = []
    for item in raw:
        parsed = parse_commands(str(item), "any")
        if parsed.dropped or not parsed.commands:
            reason = parsed.dropped[0].reason if parsed.dropped else "no command"
            issues.error(
                file, line, "invalid-du-command", f"cannot read command {item!r}: {reason}"
            )
            continue
        commands.extend(parsed.commands)
    return commands


# --- comparing ------------------------------------------------------------------------------


def command_text(command: Command) -> str:
    """The command as a DU test writes it (`StartFlow(x)`; its DSL line when Rasa's
    syntax has no word for it)."""
    return write_commands([command], "v1") or command.to_dsl()


def same_command(expected: Command, predicted: Command) -> bool:
    """As Rasa compares them: a `Clarify` expected without options matches any."""
    if isinstance(expected, Clarify) and isinstance(predicted, Clarify):
        return not expected.options or sorted(expected.options) == sorted(predicted.options)
    return command_text(expected) == command_text(predicted)


def differences(
    expected: Sequence[Command], predicted: Sequence[Command]
) -> tuple[list[Command], list[Command], list[Command]]:
    """(matched, missing: expected but not predicted, unexpected: predicted but not
    expected), each predicted command matching one expected command at most."""
    left = list(predicted)
    matched, missing = [], []
    for command in expected:
        found = next((i for i, p in enumerate(left) if same_command(command, p)), None)
        if found is None:
            missing.append(command)
        else:
            matched.append(left.pop(found))
    return matched, missing, left


# --- writing --------------------------------------------------------------------------------


def du_test_yaml(traces: Sequence[TurnTrace], project: Project | None, name: str) -> str:
    """One DU test case from a conversation: its messages and responses, each user step
    with the commands the session accepted for it."""
    turns = exported_turns(masked_traces(traces, project))
    if not turns:
        raise NothingToExport("the session has no user messages to export")
    steps: list[JSONObject] = []
    turn_index = 0
    for step in plain_steps(turns, project):
        if "slot_was_set" in step:
            continue  # a DU test checks commands; the slots are what they set
        if "user" in step:
            records = turns[turn_index].commands
            turn_index += 1
            texts = [
                command_text(command)
                for record in records
                for command in parse_commands(record.dsl, "any").commands
            ]
            step = {**step, KEY_COMMANDS: list(dict.fromkeys(texts))}
        steps.append(step)
    return dump_yaml({"test_cases": [{"test_case": name, "steps": steps}]})


def du_export_path(root: Path, title: str) -> Path:
    """`<project>/dialogue_understanding_tests/<slug>.yml`, never an existing file."""
    return free_path(root / DU_TEST_DIR, slug(title))
