"""`TurnTrace`: everything one turn did, timed. The TUI panels, `shell --debug`, the
store and the e2e report all read this and nothing else."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RetrievedFlow:
    flow_id: str
    score: float | None = None
    active: bool = False
    reason: str = ""  # why it is in the prompt: "ranked", "active", "always included"


@dataclass
class ActionRun:
    name: str
    kind: str  # response / builtin / python / server / stub
    duration_ms: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    traceback: str | None = None
    warnings: list[str] = field(default_factory=list)
    # what the action server printed or logged while it ran this action
    log_lines: list[str] = field(default_factory=list)


@dataclass
class ModelUsage:
    model: str | None = None
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    error: str | None = None


@dataclass
class TurnTrace:
    index: int
    user_text: str
    generator: str = ""
    source: str = "user"  # user / button / direct / session_start
    retrieved_flows: list[RetrievedFlow] = field(default_factory=list)
    prompt: str | None = None
    prompt_tokens: int | None = None
    raw_output: str | None = None
    usage: ModelUsage | None = None
    parsed_commands: list[dict[str, Any]] = field(default_factory=list)
    commands: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    rewritten: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    bot_messages: list[dict[str, Any]] = field(default_factory=list)
    actions: list[ActionRun] = field(default_factory=list)
    slots_before: dict[str, Any] = field(default_factory=dict)
    slots_after: dict[str, Any] = field(default_factory=dict)
    stack_before: list[dict[str, Any]] = field(default_factory=list)
    stack_after: list[dict[str, Any]] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    # what the user should know about this turn that is no error (e.g. a skipped step)
    notices: list[str] = field(default_factory=list)

    @property
    def changed_slots(self) -> dict[str, tuple[Any, Any]]:
        names = set(self.slots_before) | set(self.slots_after)
        return {
            name: (self.slots_before.get(name), self.slots_after.get(name))
            for name in sorted(names)
            if self.slots_before.get(name) != self.slots_after.get(name)
        }

    @property
    def bot_texts(self) -> list[str]:
        return [m.get("text") or "" for m in self.bot_messages]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TurnTrace:
        data = dict(data)
        data["retrieved_flows"] = [RetrievedFlow(**f) for f in data.get("retrieved_flows", [])]
        data["actions"] = [ActionRun(**a) for a in data.get("actions", [])]
        if data.get("usage") is not None:
            data["usage"] = ModelUsage(**data["usage"])
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})
