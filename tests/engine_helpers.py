"""Helpers for the engine conversation tests (tests/test_engine_*.py).

A test drives a `Session` the way a user does: with typed commands (`/start flow x`), button
payloads (`/SetSlots(a=1)`) or plain text answered by a `ScriptedGenerator`, and looks at what
came back in the `TurnTrace`.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from workbench.project.loader import load_project
from workbench.project.model import Project
from workbench.session import Session
from workbench.trace.turn import TurnTrace
from workbench.understanding.base import ScriptedGenerator

ENGINE_FIXTURES = Path(__file__).parent / "fixtures" / "engine"
SHOP_DIR = ENGINE_FIXTURES / "shop"

# default response texts (reference section e)
ANYTHING_ELSE = "Is there anything else I can help you with?"
SOMETHING_ELSE = "What exactly can I help you with?"
CLOSING_WORDS = "Okay, I'll be around in case you need further help."
ASK_CSAT = "How would you rate your experience today?"
CSAT_SATISFIED = "Thank you for your feedback! I'm glad I could help."
CSAT_UNSATISFIED = "Thank you for your feedback. I'm sorry I couldn't fully meet your expectations."
REPHRASE = "I’m sorry I am unable to understand you, could you please rephrase?"
CANNOT_HANDLE = "I'm sorry, I'm not trained to help with that."
NO_KNOWLEDGE_BASE = (
    "I am afraid, I don't know the answer. At this point, I don't have access to a knowledge base."
)
INTERNAL_ERROR = "Sorry, I am having trouble with that. Please try again in a few minutes."
EMPTY_INPUT = "I see an empty message. What can I assist you with?"
SKIP_QUESTION = (
    "I'm here to provide you with the best assistance, and in order to do so, I kindly request "
    "that we complete this step together. Your input is essential for a seamless experience!"
)
HANDOFF = (
    "I understand you want to be connected to a human agent, but that's something I cannot "
    "help you with at the moment. Is there something else I can help you with?"
)
CODE_CHANGE = (
    "There has been an update to my code. I need to wrap up our running dialogue and start "
    "from scratch."
)
CLARIFY_NO_OPTIONS = (
    "I can help, but I need more information. Please tell me a bit more about what you would "
    "like to do."
)


def too_long(limit: int) -> str:
    return (
        "I'm sorry, but your message is too long for me to process. Please keep your message "
        f"concise and within {limit} characters."
    )


def continue_with(names: str) -> str:
    return f"Would you like to continue with {names}?"


def resume(names: str) -> str:
    return f"Would you like to resume {names}?"


def stopping(name: str) -> str:
    return f"Okay, stopping {name}."


def updating(*pairs: tuple[str, str]) -> str:
    return "Ok, I am updating " + ", and ".join(f"{s} to {v}" for s, v in pairs) + "."


def clarify_options(options: str) -> str:
    return (
        f"I can help, but I need more information. Which of these would you like to do: {options}?"
    )


def bool_rejection(value: str) -> str:
    return (
        f"Sorry, the value you provided, `{value}`, is not valid. "
        "Please respond with a valid value."
    )


def float_rejection(value: str) -> str:
    return (
        f"Sorry, it seems the value you provided `{value}` is not a valid number. "
        "Please provide a valid number in your response."
    )


def categorical_rejection(value: str) -> str:
    return (
        f"Sorry, you responded with an invalid value - `{value}`. "
        "Please select one of the available options."
    )


# --- projects ----------------------------------------------------------------------------


def load(root: Path, allow_errors: bool = False) -> Project:
    result = load_project(root, with_tests=False)
    if not allow_errors:
        errors = [str(issue) for issue in result.issues.errors]
        assert errors == [], f"test project {root} does not load cleanly: {errors}"
    return result.project


@cache
def shop() -> Project:
    """tests/fixtures/engine/shop: one small flow per engine feature (loaded once)."""
    return load(SHOP_DIR)


def copy_shop(target: Path) -> Path:
    """A writable copy of the shop project (for code-change tests)."""
    shutil.copytree(SHOP_DIR, target)
    return target


MINI_CONFIG = """\
recipe: default.v1
language: en
assistant_id: engine_mini
"""


def write_project(
    root: Path,
    *,
    flows: str,
    domain: str = "",
    config: str = MINI_CONFIG,
    extra: dict[str, str] | None = None,
) -> Path:
    """A small project: config.yml, domain.yml (`version` added) and data/flows.yml."""
    files = {
        "config.yml": config,
        "domain.yml": 'version: "3.1"\n' + textwrap.dedent(domain),
        "data/flows.yml": flows,
        **(extra or {}),
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def build_project(root: Path, allow_errors: bool = False, **parts: Any) -> Project:
    return load(write_project(root, **parts), allow_errors=allow_errors)


# --- conversations -----------------------------------------------------------------------

ANY = ...  # "do not check the bot texts of this turn"


class Chat:
    """A session plus the model output for plain-text messages, in order."""

    def __init__(
        self,
        project: Project,
        model_output: Iterable[str] = (),
        actions: Any = None,
    ) -> None:
        self.generator = ScriptedGenerator(list(model_output))
        self.session = Session(project, self.generator, actions=actions)
        self.traces: list[TurnTrace] = []

    async def say(self, text: str, model_output: str | None = None) -> TurnTrace:
        """Send a message; `model_output` is what the command generator replies to it."""
        if model_output is not None:
            self.generator.queue.append(model_output)
        trace = await self.session.handle(text)
        self.traces.append(trace)
        return trace

    async def run(self, script: Sequence[tuple]) -> list[TurnTrace]:
        """Run `(message, expected bot texts)` or `(message, model output, expected bot
        texts)` turns; `ANY` as expected texts skips the check for that turn."""
        traces = []
        for index, turn in enumerate(script):
            if len(turn) == 2:
                message, expected = turn
                output = None
            else:
                message, output, expected = turn
            trace = await self.say(message, output)
            traces.append(trace)
            if expected is not ANY:
                assert trace.bot_texts == list(expected), (
                    f"turn {index} ({message!r}): bot said {trace.bot_texts!r}, "
                    f"expected {list(expected)!r}\n{describe(trace)}"
                )
        return traces

    @property
    def slots(self) -> dict[str, Any]:
        return self.session.tracker.slots

    @property
    def stack(self) -> list[dict[str, Any]]:
        return self.session.tracker.stack.as_dicts()


def plain(records: Sequence[Any]) -> list[dict[str, Any]]:
    """Trace records (events, stack frames) as the Rasa dicts they stand for; dicts (the
    tracker's own) pass as they are."""
    return [r.as_dict() if hasattr(r, "as_dict") else r for r in records]


def events(trace: TurnTrace) -> list[dict[str, Any]]:
    """The turn's events as Rasa event dicts."""
    return plain(trace.events)


def describe(trace: TurnTrace) -> str:
    """The trace in a few lines, for assertion messages."""
    lines = [f"  commands: {trace.commands}", f"  dropped: {trace.dropped}"]
    for event in events(trace):
        kind = event.get("event")
        if kind == "flow_started":
            lines.append(f"  flow_started {event.get('flow_id')}")
        elif kind in ("flow_completed", "flow_interrupted", "flow_resumed", "flow_cancelled"):
            lines.append(f"  {kind} {event.get('flow_id')} @ {event.get('step_id')}")
        elif kind == "slot":
            lines.append(f"  slot {event.get('name')}={event.get('value')!r}")
        elif kind == "action":
            lines.append(f"  action {event.get('name')}")
        elif kind == "bot":
            lines.append(f"  bot {event.get('text')!r}")
        else:
            lines.append(f"  {kind} {event.get('message', '')}")
    lines.append(f"  stack: {stack_summary(trace.stack_after)}")
    return "\n".join(lines)


FLOW_EVENTS = (
    "flow_started",
    "flow_interrupted",
    "flow_resumed",
    "flow_completed",
    "flow_cancelled",
)


def flow_events(trace: TurnTrace, include_patterns: bool = True) -> list[tuple[str, str]]:
    """(event, flow id) of the flow events of a turn, in order."""
    return [
        (e["event"], e["flow_id"])
        for e in events(trace)
        if e.get("event") in FLOW_EVENTS
        and (include_patterns or not str(e.get("flow_id", "")).startswith("pattern_"))
    ]


def events_of(trace: TurnTrace, kind: str, flow_id: str | None = None) -> list[dict[str, Any]]:
    return [
        e
        for e in events(trace)
        if e.get("event") == kind and (flow_id is None or e.get("flow_id") == flow_id)
    ]


def slot_events(trace: TurnTrace, name: str | None = None) -> list[dict[str, Any]]:
    return [
        e
        for e in events(trace)
        if e.get("event") == "slot" and (name is None or e.get("name") == name)
    ]


def action_names(trace: TurnTrace) -> list[str]:
    return [e["name"] for e in events(trace) if e.get("event") == "action"]


def index_of(trace: TurnTrace, predicate) -> int:
    for i, event in enumerate(events(trace)):
        if predicate(event):
            return i
    raise AssertionError(f"no matching event in the turn\n{describe(trace)}")


def stack_summary(frames: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """(flow id or frame type, frame_type) per frame, bottom to top."""
    return [(f.get("flow_id") or f.get("type"), f.get("frame_type")) for f in plain(frames)]


def user_frames(frames: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(f["flow_id"], f["frame_type"]) for f in plain(frames) if f.get("type") == "flow"]


def frame_of(frames: list[dict[str, Any]], frame_type: str) -> dict[str, Any]:
    """The topmost frame of that type (a pattern id or "flow")."""
    for frame in reversed(plain(frames)):
        if frame.get("type") == frame_type:
            return frame
    raise AssertionError(f"no {frame_type} frame in {stack_summary(frames)}")


def dropped_reasons(trace: TurnTrace) -> list[str]:
    return [d.reason for d in trace.dropped]


@cache
def extras() -> Project:
    """tests/fixtures/engine/extras: pattern overrides and edge cases (not valid on purpose:
    an unknown action, a broken rejection condition, a collect without question)."""
    return load(ENGINE_FIXTURES / "extras")


def commands(records: Sequence[Any]) -> list[dict[str, Any]]:
    """Command records as the dicts `Command.as_dict()` gives (name and arguments)."""
    return [{"command": c.name, **c.fields} for c in records]
