"""A conversation for the History tests: check_order_status is interrupted by
return_item, resumed, then cancelled, and return_item carries on (no event says so)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from workbench.actions.runner import make_action_runner
from workbench.project.loader import load_project
from workbench.project.model import Project
from workbench.session import Session
from workbench.trace.turn import TurnTrace
from workbench.understanding.base import ScriptedGenerator

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"
SCRIPT = {
    "where is my order": "start flow check_order_status",
    "I want to return an item": "start flow return_item",
    "back to my order": "start flow check_order_status",
    "stop": "cancel flow",
}
TEXTS = ("/session_start", "where is my order", "I want to return an item", "back to my order")
SENDER = "tester"


def interrupted_conversation(folder: Path) -> tuple[Project, list[TurnTrace]]:
    """The project (a copy of sample_project in `folder`) and the five turns."""
    root = folder / "sample"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".calm", "*.db", "__pycache__"))
    project = load_project(root).project

    async def talk() -> list[TurnTrace]:
        session = Session(
            project,
            ScriptedGenerator(SCRIPT),
            actions=make_action_runner(project),
            sender_id=SENDER,
        )
        return [await session.handle(text) for text in (*TEXTS, "stop")]

    return project, asyncio.run(talk())
