"""Record and replay model output, so that a conversation (or an e2e run) that needed a
model once can be re-run deterministically, offline and fast.

A cassette is a YAML file::

    version: 1
    entries:
      - user: "I want to cancel my order"
        completion: |
          start flow cancel_order
          set slot order_id A1002

`CassetteGenerator` replays it with the one replayer (`recorded.py`): for each user
message it takes the first entry not used yet whose `user` equals the message (both
whitespace-trimmed), so a message sent twice needs two entries, consumed in order. The
completion goes through `output_from_text`, the parser a real model's reply goes
through; the engine then cleans the commands as usual. A message without an entry
raises `CassetteMiss`, which names the message.

An entry may name the e2e test case it belongs to (`test_case: <name>`, or
`test_case: <file>::<name>` when two files have a case of that name). Such an entry is
used only while that test case runs (the e2e runner calls `begin_test_case`); each time
the case begins its entries become available again, so a single case, any order of
cases and repeated runs replay the same. Within the running case, its own entries are
tried first, then entries without `test_case` (today's shared, consumed-in-order pool).

`RecordingGenerator` wraps any generator and appends `{user, completion}` for every
message it understands, rewriting the file (atomically) after each turn. Given the
conversation's `scrub` (wiring passes the store's scrubber), it writes the entries with
their secrets masked, the secrets the conversation has seen so far included, so a PIN
typed in one turn is masked in every entry on the next write.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from workbench.calm.commands import Command
from workbench.calm.values import JSONValue
from workbench.engine.tracker import Tracker
from workbench.errors import WorkbenchError
from workbench.project.model import Project
from workbench.project.yaml_io import YamlSyntaxError, parse_yaml
from workbench.understanding.base import CommandGenerator, GeneratorOutput, output_from_text
from workbench.understanding.dsl.parser import Syntax
from workbench.understanding.recorded import (
    RecordedOutputGenerator,
    Recording,
    Unmask,
    project_syntax,
)
from workbench.understanding.retrieval import FlowRetriever
from workbench.understanding.tape import ModelTape, TapeCall, calls_data, load_calls

CASSETTE_VERSION = 1


class CassetteError(WorkbenchError, ValueError):
    """A cassette file that cannot be read (missing, not YAML, wrong shape)."""


class CassetteMiss(WorkbenchError, LookupError):
    """No unused cassette entry for a user message."""

    def __init__(
        self,
        message: str,
        path: Path | str,
        used: int = 0,
        total: int = 0,
        test_case: str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path)
        self.test_case = test_case
        detail = f"{used} of {total} entries already used" if total else "the cassette is empty"
        where = f" (test case {test_case!r})" if test_case else ""
        super().__init__(
            f"no cassette entry for the user message {message.strip()!r}{where} in "
            f"{self.path} ({detail}); record the run again"
        )

    def __repr__(self) -> str:  # the session logs generator failures with repr()
        return f"CassetteMiss: {self}"


@dataclass
class CassetteEntry:
    user: str
    completion: str
    # the e2e test case this entry belongs to (`name` or `file::name`); None: any
    test_case: str | None = None


def load_cassette(path: Path | str) -> list[CassetteEntry]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CassetteError(f"cassette {path} does not exist") from exc
    except OSError as exc:
        raise CassetteError(f"cannot read cassette {path}: {exc}") from exc
    try:
        data = parse_yaml(text, str(path))
    except YamlSyntaxError as exc:
        raise CassetteError(f"cassette {path} is not valid YAML: {exc}") from exc
    if data is None:
        return []
    if not isinstance(data, dict):
        raise CassetteError(f"cassette {path}: expected a mapping with `version` and `entries`")
    version = data.get("version", CASSETTE_VERSION)
    if version != CASSETTE_VERSION:
        raise CassetteError(
            f"cassette {path}: version {version!r} is not supported (expected {CASSETTE_VERSION})"
        )
    raw_entries = data.get("entries") or []
    if not isinstance(raw_entries, list):
        raise CassetteError(f"cassette {path}: `entries` must be a list")
    entries = []
    for index, item in enumerate(raw_entries):
        if not isinstance(item, dict) or "user" not in item:
            raise CassetteError(
                f"cassette {path}: entry {index + 1} must be a mapping with `user` and `completion`"
            )
        completion = item.get("completion")
        test_case = item.get("test_case")
        if test_case is not None and not isinstance(test_case, str):
            raise CassetteError(
                f"cassette {path}: entry {index + 1}: `test_case` must be a test case name"
            )
        entries.append(
            CassetteEntry(
                str(item["user"]),
                "" if completion is None else str(completion),
                test_case.strip() if test_case else None,
            )
        )
    return entries


def dump_cassette(entries: list[CassetteEntry], calls: Sequence[TapeCall] = ()) -> str:
    """The cassette as YAML text: block style, multi-line completions as literal `|`;
    the other model calls (`tape.py`) under `calls:` when there are any."""
    from ruamel.yaml import YAML
    from ruamel.yaml.scalarstring import LiteralScalarString

    def scalar(text: str) -> str:
        # literal blocks cannot hold trailing spaces on a line or a leading space/tab
        if "\n" in text.strip("\n") and not re.search(r"[ \t]\n|[ \t]$|^[ \t]", text):
            literal: str = LiteralScalarString(text)  # a str that dumps as a `|` block
            return literal
        return text

    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    stream = io.StringIO()
    data: dict[str, object] = {
        "version": CASSETTE_VERSION,
        "entries": [_entry_data(e, scalar(e.completion)) for e in entries],
    }
    if calls:
        rows = calls_data(calls)
        for row in rows:
            if isinstance(row.get("text"), str):
                row["text"] = scalar(str(row["text"]))
        data["calls"] = rows
    yaml.dump(data, stream)
    return stream.getvalue()


def _entry_data(entry: CassetteEntry, completion: object) -> dict[str, object]:
    data: dict[str, object] = {"test_case": entry.test_case} if entry.test_case else {}
    data.update(user=entry.user, completion=completion)
    return data


def save_cassette(
    path: Path | str, entries: list[CassetteEntry], calls: Sequence[TapeCall] = ()
) -> None:
    """Write atomically: a temp file in the same folder, then os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dump_cassette(entries, calls)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with open(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        # mkstemp creates 0600; keep an existing file's mode, else a normal 0644
        os.chmod(temp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


class CassetteGenerator(RecordedOutputGenerator):
    """Replays a cassette; one instance consumes its entries across sessions in order.
    Entries with a `test_case` are used only while that test case runs."""

    name = "cassette"

    def __init__(
        self, path: Path | str, syntax: Syntax | None = None, unmask: Unmask | None = None
    ) -> None:
        self.path = Path(path)
        self.entries = load_cassette(self.path)
        # the other model calls, replayed by whatever makes them (wiring sets its scrub)
        self.tape = ModelTape("replay", load_calls(self.path), self.path)
        recordings = [Recording(e.user, e.completion, e.test_case, origin=e) for e in self.entries]
        super().__init__(recordings, miss=self._miss, syntax=syntax, unmask=unmask)

    def _miss(self, message: str, used: int, total: int, test_case: str | None) -> Exception:
        return CassetteMiss(message, self.path, used, total, test_case)

    @property
    def unused(self) -> list[CassetteEntry]:
        return [cast(CassetteEntry, r.origin) for r in self.unused_recordings]


class RecordingGenerator:
    """Wraps a generator and records what it replied, one entry per understood message.

    The file is rewritten after every turn, so an interrupted run keeps what it recorded.
    With `append`, entries already in the file are kept and new ones go after them.
    """

    def __init__(
        self,
        inner: CommandGenerator,
        path: Path | str,
        *,
        append: bool = False,
        syntax: Syntax | None = None,
        scrub: Callable[[JSONValue], JSONValue] | None = None,
    ) -> None:
        self.inner = inner
        self.path = Path(path)
        self.syntax = syntax
        self.scrub = scrub
        self.entries: list[CassetteEntry] = []
        calls: list[TapeCall] = []
        if append and self.path.exists():
            self.entries = load_cassette(self.path)
            calls = load_calls(self.path)
        # the other model calls of the conversation, written into the same file
        self.tape = ModelTape(
            "record",
            calls,
            self.path,
            scrub=(lambda text: str(scrub(text))) if scrub is not None else None,
            on_record=self.write_cassette,
        )
        retriever = getattr(inner, "retriever", None)
        if isinstance(retriever, FlowRetriever):  # flow retrieval's embeddings are kept too
            retriever.record_embeddings(self.tape)

    @property
    def name(self) -> str:
        return self.inner.name

    async def generate(self, message: str, tracker: Tracker, project: Project) -> GeneratorOutput:
        output = await self.inner.generate(message, tracker, project)
        completion = completion_for(output, self.syntax or project_syntax(project))
        self.entries.append(CassetteEntry(message.strip(), completion))
        if self.scrub is not None:
            # a `set slot pin 4321` tells the scrubber that 4321 is a secret
            self.scrub([command.as_dict() for command in output.commands])
        self.write_cassette()
        return output

    def write_cassette(self) -> None:
        """Write the file; wiring calls it again when the conversation ends, when the
        scrubber may know secrets it learned after the last turn's write."""
        entries = self.entries
        if self.scrub is not None:
            entries = [
                CassetteEntry(str(self.scrub(e.user)), str(self.scrub(e.completion)), e.test_case)
                for e in entries
            ]
        save_cassette(self.path, entries, self.tape.calls)

    def __getattr__(self, name: str) -> object:  # anything else the inner generator offers
        return getattr(self.inner, name)


def completion_for(output: GeneratorOutput, syntax: Syntax) -> str:
    """The text to record: the model's raw output. A generator that produced commands
    without text (or text that would not parse back to the same commands) gets the
    commands written in the DSL instead, so that replay gives the same commands."""
    raw = output.raw_output
    if raw is not None and _same(output_from_text(raw, syntax).commands, output.commands):
        return raw
    dsl = "\n".join(command.to_dsl() for command in output.commands)
    if raw is None or _same(output_from_text(dsl, syntax).commands, output.commands):
        return dsl
    return raw


def _same(left: list[Command], right: list[Command]) -> bool:
    return [c.as_dict() for c in left] == [c.as_dict() for c in right]
