"""Commands: what the understanding layer tells the engine a message means.

Plain, immutable data. The model may emit the user-facing ones; the others are made by
the workbench itself (cleaning, input checks, hot reload). `name` is the stored name used
in traces and e2e exports; `to_dsl()` gives the line a model would have written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from workbench.calm.values import JSONObject, JSONValue, SlotValue

# what set a slot, recorded on the slot event (`filled_by`), with Rasa's names
FROM_LLM = "LLM"
FROM_BUTTON = "CommandPayloadReader"
FROM_NLU = "NLU"
FROM_ACTION = "CUSTOM"


@dataclass(frozen=True)
class Command:
    name: ClassVar[str] = "command"

    def to_dsl(self) -> str:
        return self.name

    def as_dict(self) -> JSONObject:
        data: JSONObject = {"command": self.name}
        data.update({k: _plain(v) for k, v in self.__dict__.items()})
        return data


@dataclass(frozen=True)
class StartFlow(Command):
    name: ClassVar[str] = "start flow"
    flow: str

    def to_dsl(self) -> str:
        return f"start flow {self.flow}"


@dataclass(frozen=True)
class SetSlot(Command):
    name: ClassVar[str] = "set slot"
    slot: str
    value: SlotValue
    filled_by: str = FROM_LLM

    def to_dsl(self) -> str:
        return f"set slot {self.slot} {self.value}"


@dataclass(frozen=True)
class CancelFlow(Command):
    name: ClassVar[str] = "cancel flow"


@dataclass(frozen=True)
class Clarify(Command):
    name: ClassVar[str] = "clarify"
    options: tuple[str, ...] = ()

    def to_dsl(self) -> str:
        return "disambiguate flows " + " ".join(self.options)


@dataclass(frozen=True)
class KnowledgeAnswer(Command):
    name: ClassVar[str] = "knowledge"

    def to_dsl(self) -> str:
        return "provide info"


@dataclass(frozen=True)
class ChitChatAnswer(Command):
    name: ClassVar[str] = "chitchat"

    def to_dsl(self) -> str:
        return "offtopic reply"


@dataclass(frozen=True)
class RepeatBotMessages(Command):
    name: ClassVar[str] = "repeat"

    def to_dsl(self) -> str:
        return "repeat message"


@dataclass(frozen=True)
class SkipQuestion(Command):
    name: ClassVar[str] = "skip question"


@dataclass(frozen=True)
class ContinueAgent(Command):
    """The waiting sub-agent gets this turn (nothing to do: the agent frame is on top)."""

    name: ClassVar[str] = "continue agent"


@dataclass(frozen=True)
class RestartAgent(Command):
    name: ClassVar[str] = "restart agent"
    agent: str = ""

    def to_dsl(self) -> str:
        return f"restart agent {self.agent}"


# --- internal commands (never parsed from model output) --------------------------------

CANNOT_HANDLE_DEFAULT = "cannot_handle_default"
CANNOT_HANDLE_CHITCHAT = "cannot_handle_chitchat"
CANNOT_HANDLE_NOT_SUPPORTED = "cannot_handle_not_supported"
CANNOT_HANDLE_NO_RELEVANT_ANSWER = "cannot_handle_no_relevant_answer"

ERROR_DEFAULT = "rasa_internal_error_default"
ERROR_INPUT_TOO_LONG = "rasa_internal_error_user_input_too_long"
ERROR_INPUT_EMPTY = "rasa_internal_error_user_input_empty"


@dataclass(frozen=True)
class CannotHandle(Command):
    name: ClassVar[str] = "cannot handle"
    reason: str = CANNOT_HANDLE_DEFAULT


@dataclass(frozen=True)
class Error(Command):
    name: ClassVar[str] = "error"
    error_type: str = ERROR_DEFAULT
    info: JSONObject = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class CorrectSlots(Command):
    name: ClassVar[str] = "correct slot"
    slots: tuple[tuple[str, SlotValue], ...] = ()
    filled_by: str = FROM_LLM

    def to_dsl(self) -> str:
        return "; ".join(f"set slot {name} {value}" for name, value in self.slots)


@dataclass(frozen=True)
class HandleCodeChange(Command):
    name: ClassVar[str] = "handle code change"


@dataclass(frozen=True)
class SessionStart(Command):
    name: ClassVar[str] = "session start"


@dataclass(frozen=True)
class SessionEnd(Command):
    name: ClassVar[str] = "session end"


@dataclass(frozen=True)
class Restart(Command):
    name: ClassVar[str] = "restart"


@dataclass(frozen=True)
class Noop(Command):
    name: ClassVar[str] = "noop"


@dataclass(frozen=True)
class DroppedCommand:
    """A command (or an unparseable line) that will not run, and why."""

    reason: str
    command: Command | None = None
    line: str | None = None

    def as_dict(self) -> JSONObject:
        return {
            "reason": self.reason,
            "command": self.command.as_dict() if self.command else None,
            "line": self.line,
        }


@dataclass(frozen=True)
class RewrittenCommand:
    """A command the cleaner replaced by another one (e.g. set slot → correct slot)."""

    original: Command
    replacement: Command
    reason: str

    def as_dict(self) -> JSONObject:
        return {
            "original": self.original.as_dict(),
            "replacement": self.replacement.as_dict(),
            "reason": self.reason,
        }


def _plain(value: object) -> JSONValue:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value
