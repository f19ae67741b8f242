"""Write tests/fixtures/tracker_store/events.json: the rows Rasa's own SQLTrackerStore
stores for a few conversations with sample_project.

Run it with the Python of a Rasa Pro 3.21 environment (it imports `rasa`):

    /work/rasa-env/bin/python tests/rasa_env/make_tracker_store_fixture.py

The conversations are built from Rasa's event classes (UserUttered with the commands in
its parse_data, BotUttered, SlotSet, ActionExecuted, FlowStarted/FlowCompleted and
DialogueStackUpdated with the JSON patches Rasa makes between two stacks) and saved by
`SQLTrackerStore` into a SQLite file; the rows of its `events` table are then written out
as they are, so the import is tested against the very text Rasa writes.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

# imported first: importing the stack frames alone runs into a circular import in Rasa
import rasa.dialogue_understanding.commands  # noqa: F401  # isort: skip
from rasa.core.tracker_stores.sql_tracker_store import SQLTrackerStore
from rasa.dialogue_understanding.stack.dialogue_stack import DialogueStack
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    FlowCompleted,
    FlowStarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "tracker_store" / "events.json"
START = 1_796_000_000.0  # 2026-11-30 00:53:20 UTC: fixed, so the fixture is stable


class Conversation:
    """One tracker, fed events with timestamps one second apart."""

    def __init__(self, sender_id: str, start: float) -> None:
        self.tracker = DialogueStateTracker(sender_id, slots=[])
        self.clock = start
        self.frames: list[dict[str, Any]] = []
        for event in (
            ActionExecuted("action_session_start"),
            SessionStarted(),
            ActionExecuted("action_listen"),
        ):
            self.add(event)

    def add(self, event: Event) -> None:
        event.timestamp = self.clock
        self.clock += 1.0
        self.tracker.update(event)

    def user(self, text: str, *commands: dict[str, Any]) -> None:
        self.add(UserUttered(text, parse_data={"text": text, "commands": list(commands)}))

    def bot(self, response: str, text: str) -> None:
        # as Rasa logs a response: the action, then what it said
        self.action(response)
        self.add(BotUttered(text, metadata={"utter_action": response}))

    def action(self, name: str) -> None:
        self.add(ActionExecuted(name))

    def stack(self, *frames: dict[str, Any]) -> None:
        """Rasa's patch from the tracker's stack to `frames`, as its stack event."""
        self.frames = [dict(frame) for frame in frames]
        updated = DialogueStack.from_dict(self.frames)
        for event in self.tracker.create_stack_updated_events(updated):
            self.add(event)


def flow(frame_id: str, flow_id: str, step_id: str) -> dict[str, Any]:
    return {
        "frame_id": frame_id,
        "flow_id": flow_id,
        "step_id": step_id,
        "frame_type": "regular",
        "type": "flow",
    }


def pattern(frame_id: str, kind: str, step_id: str, **context: Any) -> dict[str, Any]:
    return {"frame_id": frame_id, "flow_id": kind, "step_id": step_id, "type": kind, **context}


def collect(frame_id: str, slot: str) -> dict[str, Any]:
    return pattern(
        frame_id,
        "pattern_collect_information",
        "start",
        collect=slot,
        utter=f"utter_ask_{slot}",
        collect_action=f"action_ask_{slot}",
        rejections=[],
    )


def completed_order_status(start: float) -> Conversation:
    """check_order_status, asked for the order number, to the end."""
    c = Conversation("order-7f3a", start)
    c.user("where is my order?", {"command": "start flow", "flow": "check_order_status"})
    c.add(FlowStarted("check_order_status"))
    c.stack(flow("f1", "check_order_status", "0_collect_order_id"))
    c.add(FlowStarted("pattern_collect_information"))
    c.stack(flow("f1", "check_order_status", "0_collect_order_id"), collect("p1", "order_id"))
    c.bot("utter_ask_order_id", "What is your order number?")
    c.action("action_listen")
    c.user(
        "it's A1001",
        {"command": "set slot", "name": "order_id", "value": "A1001", "extractor": "LLM"},
    )
    c.add(SlotSet("order_id", "A1001", filled_by="LLM"))
    c.stack(flow("f1", "check_order_status", "1_action_check_order"))
    c.action("action_check_order")
    c.add(SlotSet("order_status", "shipped"))
    c.stack(flow("f1", "check_order_status", "report_status"))
    c.bot("utter_order_status", "Order A1001 has shipped.")
    c.add(FlowCompleted("check_order_status", "report_status"))
    c.stack()
    c.action("action_listen")
    return c


def internal_error(start: float) -> Conversation:
    """cancel_order, whose custom action fails: pattern_internal_error."""
    c = Conversation("cancel-b2c4", start)
    c.user(
        "please cancel order A1002",
        {"command": "start flow", "flow": "cancel_order"},
        {"command": "set slot", "name": "order_id", "value": "A1002", "extractor": "LLM"},
    )
    c.add(SlotSet("order_id", "A1002", filled_by="LLM"))
    c.add(FlowStarted("cancel_order"))
    c.stack(flow("f2", "cancel_order", "1_action_check_order"))
    c.action("action_check_order")
    c.add(FlowStarted("pattern_internal_error"))
    c.stack(
        flow("f2", "cancel_order", "1_action_check_order"),
        pattern("p2", "pattern_internal_error", "START", error_type="default", info={}),
    )
    c.bot("utter_internal_error_rasa", "Sorry, I am having trouble with that. Please try again.")
    c.add(FlowCompleted("pattern_internal_error", "0_utter_internal_error_rasa"))
    c.stack()
    c.action("action_listen")
    return c


def cannot_handle(start: float) -> Conversation:
    """A message no flow fits: pattern_cannot_handle."""
    c = Conversation("mars-91d0", start)
    c.user("what is the weather on mars", {"command": "cannot handle", "reason": None})
    c.add(FlowStarted("pattern_cannot_handle"))
    c.stack(pattern("p3", "pattern_cannot_handle", "START", reason="cannot_handle_default"))
    c.bot("utter_ask_rephrase", "I'm sorry I am unable to understand you, could you rephrase?")
    c.add(FlowCompleted("pattern_cannot_handle", "0_utter_ask_rephrase"))
    c.stack()
    c.action("action_listen")
    return c


def human_handoff(start: float) -> Conversation:
    """verify_identity (with a PIN, which the import must mask), then talk_to_human, which
    links to pattern_human_handoff."""
    c = Conversation("handoff-e5b7", start)
    c.user(
        "I want to see my loyalty points", {"command": "start flow", "flow": "check_loyalty_points"}
    )
    c.add(FlowStarted("check_loyalty_points"))
    c.stack(flow("f4", "check_loyalty_points", "0_call_verify_identity"))
    c.add(FlowStarted("pattern_collect_information"))
    c.stack(flow("f4", "check_loyalty_points", "0_call_verify_identity"), collect("p4", "pin"))
    c.bot("utter_ask_pin", "What is your 4-digit PIN?")
    c.action("action_listen")
    c.user("4321", {"command": "set slot", "name": "pin", "value": "4321", "extractor": "LLM"})
    c.add(SlotSet("pin", "4321", filled_by="LLM"))
    c.stack(flow("f4", "check_loyalty_points", "0_call_verify_identity"))
    c.bot("utter_identity_not_verified", "I could not verify your identity.")
    c.add(FlowCompleted("check_loyalty_points", "0_call_verify_identity"))
    c.stack()
    c.action("action_listen")
    c.user("let me talk to a real person", {"command": "start flow", "flow": "talk_to_human"})
    c.add(FlowStarted("talk_to_human"))
    c.stack(flow("f5", "talk_to_human", "0_utter_handoff_intro"))
    c.bot("utter_handoff_intro", "Let me find someone from the team for you.")
    c.add(FlowCompleted("talk_to_human", "1_link_pattern_human_handoff"))
    c.add(FlowStarted("pattern_human_handoff"))
    c.stack(pattern("p5", "pattern_human_handoff", "START"))
    c.bot(
        "utter_human_handoff_not_available",
        "I understand you want to be connected to a human agent, but that's something I "
        "cannot help you with at the moment.",
    )
    c.add(FlowCompleted("pattern_human_handoff", "0_utter_human_handoff_not_available"))
    c.stack()
    c.action("action_listen")
    return c


async def save(conversations: list[Conversation], db: Path) -> None:
    store = SQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(db))
    for conversation in conversations:
        await store.save(conversation.tracker)


def main() -> int:
    conversations = [
        completed_order_status(START),
        internal_error(START + 3600),
        cannot_handle(START + 7200),
        human_handoff(START + 86400),
    ]
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "rasa.db"
        asyncio.run(save(conversations, db))
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
    print(f"{len(rows)} rows of {len(conversations)} conversations -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
