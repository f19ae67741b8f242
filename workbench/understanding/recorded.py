"""Replaying recorded model output: the one replayer behind cassettes and saved sessions.

A `Recording` is what a model replied to one user message (or that it failed). The
`RecordedOutputGenerator` answers each message with the first unused recording whose
`user` equals it (both whitespace-trimmed), so a message sent twice gets its recordings
in order. The reply goes through `output_from_text`, the parser a real model's reply
goes through; the engine then cleans the commands as usual.

Recordings may belong to an e2e test case (`test_case: <name>` or `<file>::<name>`): they
are used only while that case runs (`begin_test_case`), and become available again each
time it begins, so a single case, any order of cases and repeated runs replay the same.
Within the running case its own recordings are tried first, then those without one.

A message without a recording goes to `fallback` when there is one (the live generator,
when a rewound conversation goes on), else raises the error `miss` makes: each source
says in its own words what to do (record the cassette again, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from workbench.calm.commands import Command
from workbench.engine.tracker import Tracker
from workbench.errors import WorkbenchError
from workbench.project.model import Project
from workbench.trace.turn import RetrievedFlow
from workbench.understanding.base import CommandGenerator, GeneratorOutput, output_from_text
from workbench.understanding.dsl.parser import SYNTAX_BY_GENERATOR, Syntax


@dataclass
class Recording:
    user: str
    # the model's raw reply; None when the generator failed (see `failure`)
    completion: str | None
    # the e2e test case this recording belongs to (`name` or `file::name`); None: any
    test_case: str | None = None
    # what the generator raised when this was recorded (`GeneratorFailure.error`)
    failure: str | None = None
    # what the panels showed when it was recorded (saved sessions keep these)
    prompt: str | None = None
    prompt_tokens: int | None = None
    retrieved_flows: tuple[RetrievedFlow, ...] = ()
    # where the recording came from (a cassette entry, a saved turn), for `unused`
    origin: object = None
    # the commands themselves, where no reply was kept: a tracker store holds the
    # commands Rasa's generator made of a message, never the model's text
    commands: tuple[Command, ...] | None = None


class RecordedFailure(WorkbenchError, RuntimeError):
    """Replays a turn in which the command generator failed when it was recorded."""

    def __repr__(self) -> str:
        return f"RecordedFailure: the recorded command generator failed: {self}"


# makes the error for a message without a recording: (message, used, total, test case)
MissError = Callable[[str, int, int, "str | None"], Exception]
# (recorded message with masked secrets, message) → the values in the placeholders' places
Unmask = Callable[[str, str], "dict[str, str] | None"]


def project_syntax(project: Project | None) -> Syntax:
    """The DSL the project's configured command generator's model replies in."""
    generator = project.config.command_generator if project is not None else None
    if generator is None:
        return "v2"
    return SYNTAX_BY_GENERATOR.get(generator.name, "v2")


class RecordedOutputGenerator:
    """Answers each message with the model output recorded for it; one instance consumes
    its recordings across sessions, in order."""

    name = "recorded"

    def __init__(
        self,
        recordings: Sequence[Recording],
        *,
        miss: MissError,
        fallback: CommandGenerator | None = None,
        syntax: Syntax | None = None,
        unmask: Unmask | None = None,
    ) -> None:
        self.recordings = list(recordings)
        self.unmask = unmask
        self.used = [False] * len(self.recordings)
        self.miss = miss
        self.fallback = fallback
        self.syntax = syntax
        self.test_case: tuple[str, str | None] | None = None  # (name, file)

    def begin_test_case(self, name: str | None, file: str | None = None) -> None:
        """The e2e runner starts test case `name` of `file` (None: no test case). The
        case's own recordings become available again, so it replays the same each time."""
        self.test_case = (name, file) if name is not None else None
        for index, recording in enumerate(self.recordings):
            if recording.test_case is not None and self._belongs(recording):
                self.used[index] = False

    def _belongs(self, recording: Recording) -> bool:
        if self.test_case is None or recording.test_case is None:
            return False
        name, file = self.test_case
        if recording.test_case == name:
            return True
        written_file, sep, written_name = recording.test_case.rpartition("::")
        return (
            bool(sep)
            and file is not None
            and written_name == name
            and _same_file(written_file, file)
        )

    def take(self, message: str) -> Recording | None:
        """The recording that answers `message`, marked used; None if there is none.
        Recorded with its secrets masked, a message matches with the secrets in the
        placeholders' places (`unmask`), and the reply gets them back."""
        key = message.strip()
        # the running test case's own recordings first, then the shared ones
        for masked in (False, True) if self.unmask is not None else (False,):
            for scoped in (True, False):
                for index, recording in enumerate(self.recordings):
                    if self.used[index]:
                        continue
                    if not (self._belongs(recording) if scoped else recording.test_case is None):
                        continue
                    if not masked and recording.user.strip() == key:
                        self.used[index] = True
                        return recording
                    values = self._unmasked(recording, key) if masked else None
                    if values is not None:
                        self.used[index] = True
                        return replace(recording, completion=_filled(recording.completion, values))
        return None

    def _unmasked(self, recording: Recording, key: str) -> dict[str, str] | None:
        return self.unmask(recording.user.strip(), key) if self.unmask is not None else None

    async def generate(self, message: str, tracker: Tracker, project: Project) -> GeneratorOutput:
        recording = self.take(message)
        if recording is not None:
            return self.output(recording, project)
        if self.fallback is not None:
            return await self.fallback.generate(message, tracker, project)
        case = self.test_case[0] if self.test_case else None
        raise self.miss(message, sum(self.used), len(self.recordings), case)

    def output(self, recording: Recording, project: Project) -> GeneratorOutput:
        if recording.completion is None and recording.failure is not None:
            raise RecordedFailure(recording.failure)
        if recording.completion is None and recording.commands is not None:
            output = GeneratorOutput(list(recording.commands))
        else:
            syntax = self.syntax or project_syntax(project)
            output = output_from_text(recording.completion or "", syntax)
        output.prompt = recording.prompt
        output.prompt_tokens = recording.prompt_tokens
        output.retrieved_flows = list(recording.retrieved_flows)
        return output

    @property
    def unused_recordings(self) -> list[Recording]:
        return [r for r, used in zip(self.recordings, self.used, strict=True) if not used]

    def rewind(self) -> None:
        """Make every recording available again."""
        self.used = [False] * len(self.recordings)


def _filled(completion: str | None, values: dict[str, str]) -> str | None:
    """`completion` with each placeholder replaced by the value the message had there."""
    if completion is None:
        return None
    for placeholder, value in values.items():
        completion = completion.replace(placeholder, value)
    return completion


def _same_file(written: str, actual: str) -> bool:
    """`written` (in a recording) names the test file `actual` (relative to the project):
    equal paths, or `actual` ends with it."""
    written = written.strip().replace("\\", "/").removeprefix("./")
    actual = actual.replace("\\", "/").removeprefix("./")
    return actual == written or actual.endswith("/" + written)
