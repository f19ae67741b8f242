"""Knowledge answers replayed from a recording: `sessions replay` and rewinding in the
workbench give each turn the answer it was recorded with, as they give it the recorded
commands and rephrasings, so a replay calls no model and reads no document. A knowledge
question the recording did not answer (an edit made the conversation go elsewhere) is
answered as usual, by the service the replay was given."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from workbench.engine.tracker import Tracker
from workbench.knowledge.answer import Answered, answered, failed, no_answer
from workbench.knowledge.service import KnowledgeService
from workbench.project.model import Project
from workbench.trace.records import KnowledgeRecord
from workbench.trace.turn import TurnTrace


class RecordedKnowledge(KnowledgeService):
    """Answers from `traces` by the user message of the turn, in recorded order."""

    def __init__(self, traces: Iterable[TurnTrace], live: KnowledgeService | None = None) -> None:
        live = live or KnowledgeService()
        super().__init__(live.tape, live.offline, live.opener, live.clock)
        self.recorded: dict[str, deque[KnowledgeRecord]] = {}
        for trace in traces:
            for record in trace.knowledge:
                self.recorded.setdefault(trace.user_text, deque()).append(record)

    async def answer(self, project: Project, tracker: Tracker) -> Answered:
        message = tracker.latest_message.get("text") if tracker.latest_message else None
        waiting = self.recorded.get(message) if isinstance(message, str) else None
        if not waiting:
            return await super().answer(project, tracker)
        record = waiting.popleft()
        if record.outcome == "answer" and record.answer is not None:
            return answered(record, record.answer, record.sources)
        if record.outcome == "no_answer":
            return no_answer(record, record.reason)
        return failed(record, record.reason or "the recorded knowledge answer failed")
