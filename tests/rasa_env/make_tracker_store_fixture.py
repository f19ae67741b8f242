"""Write tests/fixtures/tracker_store/events.json: the rows Rasa's own SQLTrackerStore
stores for a few conversations with sample_project.

Run it with the Python of a Rasa Pro 3.21 environment that has the workbench installed
(it imports `rasa` and `workbench`):

    /work/rasa-env/bin/python tests/rasa_env/make_tracker_store_fixture.py

Each conversation is held with the workbench's engine on sample_project (the offline
generator, the project's in-process actions; one action made to fail, as an action
server that is down would), so that a replay against the project finds the same
behaviour. Its events are then rebuilt as Rasa's own event objects: the commands in the
user message's `parse_data` with Rasa's field names, each action's execution metadata,
and the dialogue stack as Rasa's `DialogueStackUpdated` patches, which Rasa computes
itself between the stacks the engine had. `SQLTrackerStore` saves the trackers into a
SQLite file, and the rows of its `events` table are written out as they are, so the
import is tested against the very text Rasa writes.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network here

# imported first: importing the stack frames alone runs into a circular import in Rasa
import rasa.dialogue_understanding.commands  # noqa: F401  # isort: skip
import rasa.dialogue_understanding.utils as du_utils
from rasa.core.tracker_stores.sql_tracker_store import SQLTrackerStore
from rasa.dialogue_understanding.stack.dialogue_stack import DialogueStack
from rasa.dialogue_understanding.utils import add_prompt_to_message_parse_data
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event as RasaEvent
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.providers.llm.llm_response import LLMResponse, LLMUsage

from workbench.actions.protocol import ActionResult
from workbench.project.loader import load_project
from workbench.session import Session
from workbench.trace.records import Event
from workbench.understanding.choose import choose_generator
from workbench.wiring import make_actions, new_session

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_project"
OUT = ROOT / "tests" / "fixtures" / "tracker_store" / "events.json"
START = 1_796_000_000.0  # 2026-11-30 00:53:20 UTC: fixed, so the fixture is stable

# the engine's events Rasa has no class for: what the workbench shows, not what Rasa logs
OWN_EVENTS = {"notice", "error"}


class FailingAction:
    """The project's actions, but `failing` raises as an action server that is down."""

    def __init__(self, actions: Any, failing: str) -> None:
        self.actions = actions
        self.failing = failing

    async def run(self, name: str, tracker: Any, project: Any) -> ActionResult:
        if name == self.failing:
            return ActionResult(kind="server", error="Failed to execute custom action: 502")
        result: ActionResult = await self.actions.run(name, tracker, project)
        return result


def rasa_command(command: dict[str, Any]) -> dict[str, Any]:
    """A command of the engine's user event as Rasa's `Command.as_dict()` writes it."""
    data = dict(command)
    name = data.get("command")
    if name == "set slot":
        return {
            "command": "set slot",
            "name": data.get("slot"),
            "value": data.get("value"),
            "extractor": data.get("filled_by") or "LLM",
        }
    if name == "clarify":
        return {"command": "clarify", "options": list(data.get("options") or [])}
    if name == "cannot handle":
        return {"command": "cannot handle", "reason": data.get("reason")}
    return data


class Conversation:
    """One conversation: the engine's session and the Rasa tracker its events make.
    With `prompts`, each message records the command generator's prompt and reply in
    its `parse_data`, as Rasa does with `record_commands_and_prompts` on."""

    def __init__(self, session: Session, start: float, prompts: bool = False) -> None:
        self.session = session
        self.prompts = prompts
        session.preview_prompt = prompts
        self.tracker = DialogueStateTracker(session.tracker.sender_id, slots=[])
        self.clock = start
        for event in session.start():
            self.add(dict(event))

    def add(self, data: dict[str, Any]) -> None:
        data["timestamp"] = self.clock
        self.clock += 1.0
        self.tracker.update(RasaEvent.from_parameters(data))

    async def say(self, text: str) -> None:
        trace = await self.session.handle(text)
        outcomes = list(trace.actions)
        for event in trace.events:
            if event.type in OWN_EVENTS:
                continue
            if event.type == "stack":
                self.stack(event)
                continue
            data = event.as_dict()
            if event.type == "user":
                parse_data = dict(data.get("parse_data") or {})
                parse_data["text"] = text
                parse_data["commands"] = [rasa_command(c) for c in parse_data.get("commands", [])]
                if self.prompts and trace.prompt_preview:
                    parse_data["prompts"] = [self.prompt_record(trace)]
                data["parse_data"] = parse_data
            elif event.type == "action" and event.name != "action_listen":
                run = next((r for r in outcomes if r.name == event.name), None)
                if run is not None:
                    outcomes.remove(run)
                error = run.error if run is not None else None
                # Rasa 3.21 marks every action it logs with how its run went
                data["metadata"] = {
                    **dict(data.get("metadata") or {}),
                    "execution_success": error is None,
                    "execution_error_message": error,
                }
            self.add(data)

    def prompt_record(self, trace: Any) -> dict[str, Any]:
        """The command generator's entry in `parse_data.prompts`, made by Rasa's own
        code from the prompt the engine rendered and the commands as the model's reply."""
        reply = "\n".join(c.dsl for c in trace.parsed_commands)
        response = LLMResponse(
            id=f"chatcmpl-{trace.index}",
            choices=[reply],
            created=int(self.clock),
            model="gpt-4o-2024-11-20",
            usage=LLMUsage(prompt_tokens=len(trace.prompt_preview) // 4, completion_tokens=9),
            latency_ms=640.0 + trace.index,
        )
        message = Message(data={"text": trace.user_text})
        with recording_prompts():
            add_prompt_to_message_parse_data(
                message=message,
                component_name="CompactLLMCommandGenerator",
                prompt_name="command_generator_prompt",
                user_prompt=trace.prompt_preview,
                llm_response=response,
            )
        record: dict[str, Any] = message.get("prompts")[0]
        return record

    def stack(self, event: Event) -> None:
        """Rasa's own patch from the tracker's stack to the engine's, as its event."""
        frames = [dict(frame.as_dict()) for frame in event.resolved or ()]
        updated = DialogueStack.from_dict(frames)
        for rasa_event in self.tracker.create_stack_updated_events(updated):
            rasa_event.timestamp = self.clock
            self.clock += 1.0
            self.tracker.update(rasa_event)


class recording_prompts:
    """Rasa's `record_commands_and_prompts` switch, on for the block."""

    def __enter__(self) -> None:
        self.before = du_utils.record_commands_and_prompts
        du_utils.record_commands_and_prompts = True

    def __exit__(self, *exc: object) -> None:
        du_utils.record_commands_and_prompts = self.before


async def held(
    sender_id: str, start: float, messages: list[str], failing: str = "", prompts: bool = False
) -> Any:
    # the workbench's own prompt: Rasa's prompt text is Rasa's, not to be copied here
    project = replace(load_project(SAMPLE).project, prompt="workbench")
    generator, _label = choose_generator(project, offline=True)
    actions: Any = make_actions(project)
    if failing:
        actions = FailingAction(actions, failing)
    session = new_session(project, generator, actions=actions, sender_id=sender_id, offline=True)
    conversation = Conversation(session, start, prompts)
    for message in messages:
        await conversation.say(message)
    return conversation.tracker


CONVERSATIONS: list[tuple[str, float, list[str], str, bool]] = [
    # order status, asked for the order number, to the end; Rasa recorded the prompts
    ("order-7f3a", START, ["where is my order?", "it's A1001", "no, that's all"], "", True),
    # cancel_order, whose custom action fails: pattern_internal_error
    ("cancel-b2c4", START + 3600, ["please cancel my order A1002"], "action_check_order", False),
    # a message no flow fits: pattern_cannot_handle
    ("mars-91d0", START + 7200, ["I need help with my car insurance claim"], "", False),
    # loyalty points behind a PIN (which the import must mask), then a human: handoff
    (
        "handoff-e5b7",
        START + 86400,
        [
            "I want to see my loyalty points",
            "sam@example.com",
            "8642",
            "I want to talk to a real person",
        ],
        "",
        False,
    ),
]


async def save(trackers: list[DialogueStateTracker], db: Path) -> None:
    store = SQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(db))
    for tracker in trackers:
        await store.save(tracker)


async def main_async() -> int:
    trackers = [await held(*conversation) for conversation in CONVERSATIONS]
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "rasa.db"
        await save(trackers, db)
        conn = sqlite3.connect(db)
        conn.row_factory = sqlite3.Row
        rows = [
            dict(row)
            for row in conn.execute(
                "SELECT id, sender_id, type_name, timestamp, intent_name, action_name, data"
                " FROM events ORDER BY id"
            )
        ]
        conn.close()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(rows)} rows of {len(trackers)} conversations -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main_async()))
