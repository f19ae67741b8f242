"""Helpers for the export and replay tests: a private copy of sample_project, a
conversation driven through a `Session` and stored turn by turn in its `SessionStore`,
and the project edits that change the assistant's behaviour."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from workbench.actions.runner import make_action_runner
from workbench.project.loader import load_project
from workbench.project.model import Project
from workbench.session import Session
from workbench.store import SessionStore
from workbench.trace.turn import TurnTrace
from workbench.understanding.base import CommandGenerator
from workbench.understanding.offline.generator import OfflineGenerator

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"

# what `calm-tui shell` sends first, then a cancellation, the end of it, a button
CANCEL_ORDER = [
    "/session_start",
    "I want to cancel my order A1002",
    "yes, cancel it",
    "no, that's all",
    "/SetSlots(csat_score=satisfied)",
]
# the same text ("yes") answers two different questions
TWO_YESES = [
    "/session_start",
    "where is my order A1001",
    "yes",
    "I want to cancel my order A1002",
    "yes",
    "no",
]


def copy_sample(tmp_path: Path, name: str = "shop") -> Path:
    root = tmp_path / name
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".calm", "__pycache__"))
    return root


def load(root: Path) -> Project:
    result = load_project(root)
    assert not result.issues.errors, [str(i) for i in result.issues.errors]
    return result.project


def record(
    root: Path,
    messages: Sequence[str],
    *,
    generator: CommandGenerator | None = None,
    seed: int = 0,
    sender_id: str = "default",
    at: datetime | None = None,
) -> str:
    """Chat on the project as `calm-tui shell` does and store every turn; the session id.
    `at`: when the first turn ended (a minute between turns), instead of now."""
    project = load(root)
    generator = generator or OfflineGenerator()
    session = Session(
        project,
        generator,
        actions=make_action_runner(project),
        sender_id=sender_id,
        seed=seed,
    )

    async def chat() -> list[TurnTrace]:
        return [await session.handle(text) for text in messages]

    traces = asyncio.run(chat())
    with SessionStore(root) as store:
        session_id = store.create_session(generator.name, sender_id, seed, project.fingerprint)
        for number, trace in enumerate(traces):
            finished = None if at is None else at + timedelta(minutes=number)
            store.add_turn(session_id, trace, finished_at=finished)
    return session_id


def stored_turns(root: Path, session_id: str) -> list[TurnTrace]:
    with SessionStore(root) as store:
        return store.get_turns(session_id)


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {rel}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def keep_instead_of_cancel(root: Path) -> None:
    """A flow edit: cancel_order's "yes" branch now keeps the order."""
    edit(
        root, "data/flows/orders.yml", "- action: action_cancel_order", "- action: utter_order_kept"
    )


def reword_cancelled(root: Path) -> None:
    """A response edit: utter_order_cancelled says something else (same name)."""
    edit(
        root,
        "domain/responses/orders.yml",
        '"Done! Order {order_id}',
        '"All done! Order {order_id}',
    )
