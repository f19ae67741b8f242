"""Export a saved session as an e2e test case (Rasa's e2e format), with a cassette.

Each message the user sent becomes a `user` step; the automatic `/session_start`
greeting turn is left out (an e2e test case starts its conversation without one).

* **step style** (default): after each `user` step, the bot's messages, `utter: name`
  for a domain response (also one a custom action sent by name) and `bot: text` for
  anything else, then one `slot_was_set` with the domain slots the turn set;
* **assertion style**: each `user` step carries `assertions:` in the order things
  happened: `flow_started` (patterns included, not pattern_collect_information),
  `action_executed` for custom actions, `slot_was_set`, `bot_uttered` (`utter_name`, or
  `text_matches` with the escaped text), `flow_completed` / `flow_cancelled` for user
  flows.

Slots: a turn's `slot` events minus reset events (a flow ending), minus built-in pattern
slots and internal ones, minus a slot cleared that was empty already; the value is the
slot's last one in the turn, as recorded. A value the store masked (`***`) and a mapping
(a record an action stored) are checked by name only.

Secrets are masked before anything is written (`masked_traces`), with the placeholders
the store uses: a PIN or a card number keeps its shape, and the same placeholder is in
the user step, the slot assertion and the cassette, so the export replays as recorded.

Beside the test file goes a cassette (`<stem>.cassette.yml`) with the raw model output
of every model-handled message, so that
`calm-tui test PROJECT e2e_tests/<stem>.yml --cassette e2e_tests/<stem>.cassette.yml`
re-runs the conversation without a model.

A conversation imported from a production tracker store kept no model reply: its
cassette holds the commands Rasa recorded, written as the project's model writes them,
and its custom actions are stubbed (`stub_custom_actions`, one per action of the test
case) with what they did in production, so the test re-runs no side effect. An action
that failed there gets a stub that fails (`error:`, the workbench's: Rasa's runner
ignores it).
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from workbench.actions.recorded import RecordedRun, recorded_runs
from workbench.actions.stubs import stub_key
from workbench.calm.names import (
    DIALOGUE_STACK,
    FLOW_HASHES,
    PATTERN_COLLECT_INFORMATION,
    REQUESTED_SLOT,
    RETURN_VALUE,
    SESSION_STARTED_METADATA,
    UTTER_ACTION_KEY,
    is_pattern,
    is_session_start,
)
from workbench.calm.values import JSONObject, JSONValue, SlotValue
from workbench.errors import WorkbenchError
from workbench.project.model import Project
from workbench.store.rasa_import import is_imported, recorded_commands
from workbench.store.redact import MASK, Scrubber
from workbench.testing.replay import model_message
from workbench.trace.turn import SESSION_START_SOURCE, TurnTrace
from workbench.understanding.cassette import CassetteEntry, save_cassette
from workbench.understanding.dsl.parser import write_commands
from workbench.understanding.recorded import project_syntax

TEST_DIR = "e2e_tests"
CASSETTE_SUFFIX = ".cassette.yml"
SLUG_LENGTH = 50
COLLECT_PATTERN = PATTERN_COLLECT_INFORMATION
# tracker state that is no domain slot a test should pin down
INTERNAL_SLOTS = frozenset(
    {FLOW_HASHES, REQUESTED_SLOT, DIALOGUE_STACK, RETURN_VALUE, SESSION_STARTED_METADATA}
)
NOT_CUSTOM = ("response", "builtin")
# what Rasa adds to an event when it logs it, not what the action returned
_NOT_STUBBED = frozenset({"timestamp", "metadata", "anonymized_at"})
_REGEX_SPECIAL = re.compile(r"([\\.^$*+?{}\[\]|()])")


class NothingToExport(WorkbenchError, ValueError):
    """The session has no message from the user (only the greeting, or nothing)."""


# --- what a turn contributes ----------------------------------------------------------------


def exported_turns(traces: Sequence[TurnTrace]) -> list[TurnTrace]:
    """The turns that become `user` steps: everything but the session start greeting
    (and messages without text, which a test case cannot send)."""
    return [
        t
        for t in traces
        if t.source != SESSION_START_SOURCE and not is_session_start(t.user_text) and t.user_text
    ]


def slot_changes(trace: TurnTrace, project: Project | None) -> list[tuple[str, SlotValue]]:
    """(slot, value) for the domain slots this turn set, in the order first set."""
    last: dict[str, SlotValue] = {}
    for event in trace.events:
        if event.type != "slot" or event.metadata.get("reset"):
            continue
        name = event.name
        if name is None or name in INTERNAL_SLOTS:
            continue
        slot = project.slot(name) if project is not None else None
        if slot is not None and slot.is_builtin:
            continue
        last[name] = event.value
    return [
        (name, value)
        for name, value in last.items()
        # clearing a slot that was empty (e.g. before asking again) is no change
        if not (value is None and trace.slots_before.get(name) is None)
    ]


def starting_slots(first: TurnTrace, project: Project | None) -> list[tuple[str, SlotValue]]:
    """The domain slots that held a value other than their initial one before the first
    exported message, in the domain's order."""
    if project is None:
        return []
    found: list[tuple[str, SlotValue]] = []
    for name, slot in project.domain.slots.items():
        if slot.is_builtin or name in INTERNAL_SLOTS:
            continue
        value = first.slots_before.get(name)
        if value is not None and value != slot.initial_value:
            found.append((name, value))
    return found


def custom_actions(trace: TurnTrace, project: Project | None) -> set[str]:
    if trace.actions:
        return {a.name for a in trace.actions if a.kind not in NOT_CUSTOM}
    return set(project.custom_actions) if project is not None else set()


def text_pattern(text: str) -> str:
    """A regex that finds `text` (a part masked as `***` matches anything)."""
    return ".*".join(_REGEX_SPECIAL.sub(r"\\\1", part) for part in text.split(MASK))


def masked_traces(traces: Sequence[TurnTrace], project: Project | None) -> list[TurnTrace]:
    """`traces` with every secret masked in every turn: a live conversation's (the TUI
    exports those) and stored ones alike (masking twice changes nothing). Two passes, so
    a value known to be secret only from a later turn is masked in earlier ones too."""
    scrubber = Scrubber.for_project(project)
    dicts = [trace.to_dict() for trace in traces]
    for data in dicts:
        scrubber.learn_from(data)
    return [TurnTrace.from_dict(scrubber.masked(data)) for data in dicts]


# --- the YAML -------------------------------------------------------------------------------


def export_session(
    traces: Sequence[TurnTrace],
    project: Project | None,
    *,
    name: str,
    assertions: bool = False,
    comment: str | None = None,
) -> str:
    """The YAML text of one e2e test file holding one test case, `name`, that replays
    the session. `comment` goes at the top of the file."""
    text, _notes = _test_file(
        exported_turns(masked_traces(traces, project)),
        project,
        name=name,
        assertions=assertions,
        comment=comment,
    )
    return text


def _test_file(
    turns: list[TurnTrace],
    project: Project | None,
    *,
    name: str,
    assertions: bool,
    comment: str | None,
) -> tuple[str, list[str]]:
    """`export_session` of turns masked and chosen already, and the notes on its stubs."""
    from ruamel.yaml.comments import CommentedMap

    if not turns:
        raise NothingToExport("the session has no user messages to export")
    data = CommentedMap()
    if assertions:
        steps, metadata = _assertion_steps(turns, project)
        if metadata:
            data["metadata"] = [{key: value} for key, value in metadata.items()]
    else:
        steps = _plain_steps(turns, project)
    case: JSONObject = {"test_case": name}
    started = starting_slots(turns[0], project)
    if started:
        # the slots the session had before its first message (a fixture of a test the
        # session came from, a slot set from the Slots panel first) start the test too
        fixture = f"{name}_start"
        data["fixtures"] = [{fixture: [{slot: _value(value)} for slot, value in started]}]
        case["fixtures"] = [fixture]
    case["steps"] = steps
    data["test_cases"] = [case]
    stubs, notes = recorded_stubs(turns, project, name)
    if stubs:
        data["stub_custom_actions"] = {key: _value(stub) for key, stub in stubs.items()}
    if comment:
        data.yaml_set_start_comment(comment)
    return _dump(data), notes


def _plain_steps(turns: list[TurnTrace], project: Project | None) -> list[JSONObject]:
    steps: list[JSONObject] = []
    for trace in turns:
        steps.append({"user": _quoted(trace.user_text)})
        for message in trace.bot_messages:
            response, text = message.response, message.text
            if response:
                steps.append({"utter": str(response)})
            # a `bot` step is compared with the text stripped, and the store's mask
            # cannot match: such a message (rare, never a response) is left out
            elif text and text == text.strip() and MASK not in text:
                steps.append({"bot": _quoted(text)})
        slots = slot_changes(trace, project)
        if slots:
            steps.append(
                {
                    "slot_was_set": [
                        name if _masked(value) else {name: _value(value)} for name, value in slots
                    ]
                }
            )
    return steps


def plain_steps(turns: list[TurnTrace], project: Project | None) -> list[JSONObject]:
    """The step-style steps of `turns` (the DU export adds commands to them)."""
    return _plain_steps(turns, project)


def _assertion_steps(
    turns: list[TurnTrace], project: Project | None
) -> tuple[list[JSONObject], dict[str, JSONObject]]:
    """The steps, and named metadata for repeated messages: assertions run on the turn
    of the *first* user message with a text, unless the step names its metadata."""
    steps: list[JSONObject] = []
    metadata: dict[str, JSONObject] = {}
    seen: set[str] = set()
    for trace in turns:
        step: JSONObject = {"user": _quoted(trace.user_text)}
        if trace.user_text in seen:
            key = f"turn_{trace.index}"
            metadata[key] = {"turn": trace.index}
            step["metadata"] = key
        seen.add(trace.user_text)
        checks = _assertions(trace, project)
        if checks:
            step["assertions"] = checks
        steps.append(step)
    return steps, metadata


def _assertions(trace: TurnTrace, project: Project | None) -> list[JSONObject]:
    custom = custom_actions(trace, project)
    slots = slot_changes(trace, project)
    slot_names = {name for name, _ in slots}
    found: list[JSONObject] = []
    keys: set[str] = set()

    def add(assertion: JSONObject) -> None:
        key = json.dumps(assertion, sort_keys=True, default=str)
        if key not in keys:
            keys.add(key)
            found.append(assertion)

    for event in trace.events:
        kind = event.type
        flow_id = str(event.flow_id)
        if kind == "flow_started" and flow_id != COLLECT_PATTERN:
            add({"flow_started": flow_id})
        elif kind in ("flow_completed", "flow_cancelled") and not _is_pattern(flow_id, project):
            add({kind: {"flow_id": flow_id}})
        elif kind == "action" and event.name in custom:
            add({"action_executed": str(event.name)})
        elif kind == "slot" and event.name in slot_names:
            add(
                {
                    "slot_was_set": [
                        {"name": name} if _masked(value) else {"name": name, "value": _value(value)}
                        for name, value in slots
                    ]
                }
            )
        elif kind == "bot":
            response = event.metadata.get(UTTER_ACTION_KEY)
            text = event.text
            if response:
                add({"bot_uttered": {"utter_name": str(response)}})
            elif text:
                add({"bot_uttered": {"text_matches": _single_quoted(text_pattern(text))}})
    return found


def _is_pattern(flow_id: str, project: Project | None) -> bool:
    flow = project.flow(flow_id) if project is not None else None
    return flow.is_pattern if flow is not None else is_pattern(flow_id)


def _masked(value: object) -> bool:
    """Checked by name only: a value the store masked, and a mapping (a record an
    action stored, long and not what a reader of the test wants pinned down)."""
    return isinstance(value, dict) or (isinstance(value, str) and MASK in value)


def _value(value: object) -> object:
    """Strings double-quoted (as a reader expects `"A1001"`, and never read as a
    number or a boolean by an older YAML reader); containers converted inside."""
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_value(v) for v in value]
    return value


def _quoted(text: str) -> str:
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    return DoubleQuotedScalarString(text)


def _single_quoted(text: str) -> str:
    """Regexes single-quoted: backslashes stay as written."""
    from ruamel.yaml.scalarstring import SingleQuotedScalarString

    return SingleQuotedScalarString(text) if "\n" not in text else _quoted(text)


def _dump(data: object) -> str:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096  # one message per line, never folded
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.add_representer(
        type(None), lambda rep, _: rep.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


def dump_yaml(data: object) -> str:
    """YAML as the exported tests are written (the converted and DU tests too)."""
    return _dump(data)


# --- the cassette ---------------------------------------------------------------------------


def export_cassette(
    traces: Sequence[TurnTrace], project: Project | None = None
) -> list[CassetteEntry]:
    """The raw model output of each exported model-handled message, in order (for an
    imported turn, its recorded commands as the project's model would write them).
    Buttons, intents and direct commands never reach the model and have no entry; nor
    has a turn whose model call failed (a replay of it fails with a cassette miss)."""
    return _cassette_entries(exported_turns(masked_traces(traces, project)), project)


def _cassette_entries(turns: list[TurnTrace], project: Project | None) -> list[CassetteEntry]:
    entries = []
    syntax = project_syntax(project)
    for trace in turns:
        message = model_message(trace)
        if message is None:
            continue
        if trace.raw_output is not None:
            entries.append(CassetteEntry(message, trace.raw_output))
        elif is_imported(trace):
            entries.append(CassetteEntry(message, write_commands(recorded_commands(trace), syntax)))
    return entries


def recorded_stubs(
    turns: Sequence[TurnTrace], project: Project | None, case: str
) -> tuple[dict[str, JSONObject], list[str]]:
    """`stub_custom_actions` for the custom actions of imported `turns`, keyed to test
    case `case`: what each did in production (its first run, when it ran more than once;
    a note says so), and notes for the user."""
    custom = set(project.custom_actions) if project is not None else set()
    stubs: dict[str, JSONObject] = {}
    notes: list[str] = []
    for trace in turns:
        if not is_imported(trace):
            continue
        for run in recorded_runs(trace.events):
            if run.name not in custom:
                continue
            key = stub_key(case, run.name)
            stub = _stub(run)
            if key not in stubs:
                stubs[key] = stub
                if run.error is not None:
                    notes.append(
                        f"{run.name} failed in production ({run.error}): its stub fails too "
                        "(`error:`, which Rasa's e2e runner ignores)"
                    )
            elif stubs[key] != stub and not any(n.startswith(f"{run.name} ran ") for n in notes):
                notes.append(
                    f"{run.name} ran more than once with different results: a test case has "
                    "one stub per action, and it answers every run with the first"
                )
    return stubs, notes


def _stub(run: RecordedRun) -> JSONObject:
    if run.error is not None:
        return {"error": run.error}
    events: list[JSONValue] = []
    responses: list[JSONValue] = []
    for event in run.events:
        if event.get("event") == "bot":
            response: JSONObject = {"text": event.get("text")}
            data = event.get("data")
            if isinstance(data, dict):
                response.update({k: v for k, v in data.items() if v not in (None, [], {})})
            responses.append(response)
        elif event.get("event") == "slot":
            events.append({"event": "slot", "name": event.get("name"), "value": event.get("value")})
        else:
            events.append({k: v for k, v in event.items() if k not in _NOT_STUBBED})
    return {"events": events, "responses": responses}


# --- files ----------------------------------------------------------------------------------


def slug(text: str, fallback: str = "session") -> str:
    """`I want to cancel my order A1002!` → `i_want_to_cancel_my_order_a1002`."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    result = ""
    for word in words:
        candidate = f"{result}_{word}" if result else word
        if len(candidate) > SLUG_LENGTH:
            break
        result = candidate
    if not result and words:
        result = words[0][:SLUG_LENGTH]
    return result or fallback


def cassette_path_for(test_path: Path) -> Path:
    name = test_path.name
    for suffix in (".yml", ".yaml"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return test_path.with_name(name + CASSETTE_SUFFIX)


def export_path(project: Project | Path, title: str) -> Path:
    """`<project>/e2e_tests/<slug of title>.yml`, creating the folder; an existing file
    (or the cassette beside it) is never overwritten: `-2`, `-3`, ... are added."""
    root = project if isinstance(project, Path) else project.root
    folder = Path(root) / TEST_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stem = slug(title)
    for n in range(1, 10_000):
        path = folder / (f"{stem}.yml" if n == 1 else f"{stem}-{n}.yml")
        if not path.exists() and not cassette_path_for(path).exists():
            return path
    raise FileExistsError(f"no free file name for '{stem}' in {folder}")  # pragma: no cover


def free_path(folder: Path, stem: str) -> Path:
    """`folder/<stem>.yml`, or `<stem>-2.yml`, ... when that exists: never overwritten."""
    for n in range(1, 10_000):
        path = folder / (f"{stem}.yml" if n == 1 else f"{stem}-{n}.yml")
        if not path.exists():
            return path
    raise FileExistsError(f"no free file name for '{stem}' in {folder}")  # pragma: no cover


@dataclass
class ExportResult:
    test_path: Path
    cassette_path: Path | None
    name: str
    user_steps: int
    model_outputs: int
    notes: list[str] = field(default_factory=list)


def export_comment(session_id: str | None, generator: str, started: datetime | str) -> str:
    """The header line of an exported test: where and when its conversation came from."""
    when = started if isinstance(started, str) else started.strftime("%Y-%m-%dT%H:%M")
    where = f"session {session_id}" if session_id else "an unsaved conversation"
    return (
        f"Exported by calm-tui from {where} (generator: {generator or '?'}, "
        f"started {when[:16].replace('T', ' ')} UTC)."
    )


def write_export(
    project: Project,
    traces: Sequence[TurnTrace],
    *,
    name: str | None = None,
    title: str | None = None,
    assertions: bool = False,
    out: Path | str | None = None,
    cassette: bool = True,
    comment: str | None = None,
) -> ExportResult:
    """Write the test file (at `out`, else `export_path(project, title or name)`) and
    its cassette. Neither file may exist already (FileExistsError). With no `name`, the
    test case is named after its file, so every export's test case has a name of its own."""
    path = Path(out) if out is not None else export_path(project, title or name or "session")
    name = name or path.stem
    cassette_path = cassette_path_for(path) if cassette else None
    for existing in (path, cassette_path):
        if existing is not None and existing.exists():
            raise FileExistsError(f"{existing} exists already; it is not overwritten")
    # masked once for the test, its cassette and the notes
    turns = exported_turns(masked_traces(traces, project))
    entries = _cassette_entries(turns, project)
    header = comment or ""
    if cassette_path is not None:
        header += ("\n" if header else "") + _rerun_hint(project, path, cassette_path)
    text, notes = _test_file(turns, project, name=name, assertions=assertions, comment=header)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8", newline="\n") as stream:  # "x": never overwrite
        stream.write(text)
    if cassette_path is not None:
        try:
            save_cassette(cassette_path, entries)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    return ExportResult(
        path,
        cassette_path,
        name,
        len(turns),
        len(entries) if cassette else 0,
        notes,
    )


def _rerun_hint(project: Project, path: Path, cassette_path: Path) -> str:
    def rel(p: Path) -> str:
        try:
            return p.resolve().relative_to(project.root.resolve()).as_posix()
        except ValueError:
            return os.path.abspath(p)

    return (
        f"re-run it without a model:\n  calm-tui test . {rel(path)} --cassette {rel(cassette_path)}"
    )
