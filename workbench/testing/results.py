"""What an e2e run found: per test case its status, the first thing that diverged and
the turn it diverged in, and the run's totals."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from workbench.calm.names import UTTER_ACTION_KEY
from workbench.calm.values import JSONObject, SlotValue
from workbench.project.model import Source
from workbench.trace.records import BotMessage
from workbench.trace.text import command_text
from workbench.trace.turn import TurnTrace

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass
class TurnView:
    """What one turn did, for a failure report: the user message (None: session start
    and fixtures), bot messages, slot events and the commands the message became."""

    user_text: str | None
    bot: list[BotMessage] = field(default_factory=list)
    slots: list[tuple[str, SlotValue]] = field(default_factory=list)
    flows: list[str] = field(default_factory=list)  # "started x", "completed y at z"
    actions: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def to_dict(self) -> JSONObject:
        return {
            "user_text": self.user_text,
            "bot": [
                {
                    "text": m.text,
                    UTTER_ACTION_KEY: m.response,
                    "buttons": [b.as_dict() for b in m.buttons],
                }
                for m in self.bot
            ],
            "slots": [[name, value] for name, value in self.slots],
            "flows": self.flows,
            "actions": self.actions,
            "commands": self.commands,
            "dropped": self.dropped,
            "errors": self.errors,
            "notices": self.notices,
        }


@dataclass
class Failure:
    """The first thing that diverged."""

    kind: str  # "step", "assertion", "error"
    message: str
    source: Source | None = None  # where the failing step / assertion is written
    expected: str = ""  # the failing step or assertion as written
    step_index: int | None = None
    turn: TurnView | None = None

    @property
    def location(self) -> str:
        return str(self.source) if self.source else ""

    def to_dict(self) -> JSONObject:
        return {
            "kind": self.kind,
            "message": self.message,
            "location": self.location,
            "expected": self.expected,
            "step_index": self.step_index,
            "turn": self.turn.to_dict() if self.turn else None,
        }


@dataclass
class CaseResult:
    file: str
    name: str
    status: str  # passed / failed / skipped
    duration_s: float = 0.0
    failure: Failure | None = None
    source: Source | None = None
    sender_id: str = ""
    notes: list[str] = field(default_factory=list)
    traces: list[TurnTrace] = field(default_factory=list)
    # failed under the run's profile but passes under this Rasa version
    passes_under: str | None = None
    # which run of the case this is when it is repeated (`--repeat`): 1, 2, ...; 0: once
    repeat: int = 0

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"

    @property
    def turn_commands(self) -> list[tuple[str, list[str]]]:
        """Per user turn: its text and the commands accepted from it, as DSL lines."""
        return [(t.user_text, [c.dsl or command_text(c) for c in t.commands]) for t in self.traces]

    def to_dict(self) -> JSONObject:
        return {
            "file": self.file,
            "name": self.name,
            "status": self.status,
            "duration_s": self.duration_s,
            "failure": self.failure.to_dict() if self.failure else None,
            "notes": self.notes,
            "passes_under": self.passes_under,
        }


@dataclass
class RunResult:
    results: list[CaseResult]
    notes: list[str] = field(default_factory=list)
    generator: str = ""
    duration_s: float = 0.0
    rasa_version: str = ""

    @property
    def passed(self) -> list[CaseResult]:
        return [r for r in self.results if r.status == PASSED]

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if r.status == FAILED]

    @property
    def skipped(self) -> list[CaseResult]:
        return [r for r in self.results if r.status == SKIPPED]

    @property
    def ok(self) -> bool:
        return not self.failed


def new_run_id() -> str:
    """A run's id, unique per run, so that actions keeping per-conversation state (keyed
    by the sender id, which contains it) start afresh each run."""
    return time.strftime("%Y%m%d%H%M%S") + os.urandom(2).hex()
