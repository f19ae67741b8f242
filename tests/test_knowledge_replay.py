"""A replay gives each turn the knowledge answer it was recorded with: no model, no
document read, so an edited document does not make the replay differ, and a knowledge
question the recording did not answer is answered as usual."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.test_knowledge_answers import FEES_ANSWER, FEES_QUESTION, copy_fixture, project_at
from workbench.knowledge.recorded import RecordedKnowledge
from workbench.knowledge.service import KnowledgeService
from workbench.session import Session
from workbench.testing.replay import replay_session
from workbench.understanding.offline.generator import OfflineGenerator


def test_a_replay_answers_from_the_recording_even_after_the_document_changed(
    tmp_path: Path,
) -> None:
    root = copy_fixture(tmp_path)
    project = project_at(root)
    session = Session(project, OfflineGenerator(), knowledge=KnowledgeService(offline="--offline"))
    recorded = asyncio.run(session.handle(FEES_QUESTION))
    assert recorded.bot_texts == [FEES_ANSWER]

    fees = root / "docs" / "banking" / "fees.txt"
    fees.write_text(fees.read_text(encoding="utf-8").replace("0.5%", "0.9%"), encoding="utf-8")
    edited = project_at(root)
    report = asyncio.run(replay_session(edited, [recorded], actions=None))
    assert report.turns[0].same
    assert report.traces[0].bot_texts == [FEES_ANSWER]
    assert report.traces[0].knowledge[0].sources == recorded.knowledge[0].sources

    # a live session on the edited project says the new text
    live = Session(edited, OfflineGenerator(), knowledge=KnowledgeService(offline="--offline"))
    assert "0.9%" in asyncio.run(live.handle(FEES_QUESTION)).bot_texts[0]


def test_a_question_the_recording_did_not_answer_is_answered_live(tmp_path: Path) -> None:
    project = project_at(copy_fixture(tmp_path))
    knowledge = RecordedKnowledge([], KnowledgeService(offline="--offline"))
    session = Session(project, OfflineGenerator(), knowledge=knowledge)
    trace = asyncio.run(session.handle(FEES_QUESTION))
    assert trace.bot_texts == [FEES_ANSWER]
    assert trace.knowledge[0].mode == "offline"


def test_the_offline_generator_writes_what_the_projects_model_would(tmp_path: Path) -> None:
    """A v3 (SearchReady) project's model says `search and reply`, also for small talk;
    the offline generator writes the same, so a recorded turn replays as it ran."""
    from workbench.understanding.dsl.parser import parse_commands, write_commands

    project = project_at(copy_fixture(tmp_path))
    session = Session(project, OfflineGenerator(), knowledge=KnowledgeService(offline="--offline"))
    trace = asyncio.run(session.handle(FEES_QUESTION))
    assert trace.raw_output == "search and reply"
    assert [c.name for c in trace.commands] == ["knowledge"]

    parsed = parse_commands("start flow transfer\nset slot amount 50\nprovide info", "v2")
    assert write_commands(parsed.commands, "v3") == (
        "start flow transfer\nset slot amount 50\nsearch and reply"
    )
    assert write_commands(parsed.commands, "v1") == (
        "StartFlow(transfer)\nSetSlot(amount, 50)\nSearchAndReply()"
    )
    again = parse_commands(write_commands(parsed.commands, "v1"), "v1").commands
    assert [c.as_dict() for c in again] == [c.as_dict() for c in parsed.commands]
