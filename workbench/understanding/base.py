"""The command generator interface and the scripted generator used in tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from workbench.calm.commands import Command, DroppedCommand
from workbench.engine.tracker import Tracker
from workbench.project.model import Project
from workbench.trace.turn import ModelUsage, RetrievedFlow
from workbench.understanding.dsl.parser import Syntax, parse_commands

# how a generator failure reads in a turn's errors (and so in stored sessions)
GENERATOR_FAILED = "command generator failed: "


@dataclass(frozen=True)
class GeneratorFailure:
    """The command generator could not reply: it raised (`error` is the exception as
    `repr` shows it, e.g. `CassetteMiss: no cassette entry for ...`) or its model failed
    (`error` says how). The turn goes on as `pattern_internal_error`."""

    error: str

    @classmethod
    def of(cls, exc: BaseException) -> GeneratorFailure:
        return cls(repr(exc))

    @property
    def text(self) -> str:
        """The line the turn's errors show."""
        return GENERATOR_FAILED + self.error

    @classmethod
    def from_text(cls, text: str) -> GeneratorFailure | None:
        """The failure an error line reports, if it reports one (stored turns keep only
        the line)."""
        return cls(text[len(GENERATOR_FAILED) :]) if text.startswith(GENERATOR_FAILED) else None


def generator_failure(errors: Iterable[str]) -> GeneratorFailure | None:
    """The generator failure among a turn's error lines, if there is one."""
    for text in errors:
        failure = GeneratorFailure.from_text(text)
        if failure is not None:
            return failure
    return None


@dataclass
class GeneratorOutput:
    commands: list[Command]
    dropped: list[DroppedCommand] = field(default_factory=list)
    raw_output: str | None = None
    prompt: str | None = None
    prompt_tokens: int | None = None
    # which template the prompt was rendered from ("Rasa prompt <file>", "workbench prompt", …)
    prompt_template: str | None = None
    prompt_preview: str | None = None  # offline: what a model would have been sent
    retrieved_flows: list[RetrievedFlow] = field(default_factory=list)
    usage: ModelUsage | None = None
    # things the user should know about how this message was understood (not errors)
    notices: list[str] = field(default_factory=list)
    # why each command was made ("why this command"), aligned with `commands`; "" = no reason
    # known (a model's output carries none; the offline generator names the rule that won)
    why: list[str] = field(default_factory=list)
    # set when the generator could not reply: the commands are then the fallback `Error`
    failure: GeneratorFailure | None = None


class CommandGenerator(Protocol):
    """Anything that turns a user message into commands."""

    @property
    def name(self) -> str: ...

    async def generate(
        self, message: str, tracker: Tracker, project: Project
    ) -> GeneratorOutput: ...


def output_from_text(raw: str, syntax: Syntax = "v2") -> GeneratorOutput:
    """What a model replied, parsed: the one path every text-producing generator takes."""
    parsed = parse_commands(raw, syntax)
    return GeneratorOutput(list(parsed.commands), list(parsed.dropped), raw_output=raw)


class ScriptedGenerator:
    """Replies with prepared model output: per message (a mapping) or in order (a list)."""

    name = "scripted"

    def __init__(self, replies: Mapping[str, str] | Iterable[str], syntax: Syntax = "v2") -> None:
        self.syntax = syntax
        if isinstance(replies, Mapping):
            self.by_message = {k.strip(): v for k, v in replies.items()}
            self.queue: list[str] = []
        else:
            self.by_message = {}
            self.queue = list(replies)

    async def generate(self, message: str, tracker: Tracker, project: Project) -> GeneratorOutput:
        if message.strip() in self.by_message:
            raw = self.by_message[message.strip()]
        elif self.queue:
            raw = self.queue.pop(0)
        else:
            raw = ""
        return output_from_text(raw, self.syntax)
