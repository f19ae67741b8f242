"""The search frame: `action_trigger_search` pushes it, Enterprise Search answers it.

As in Rasa 3.21: the frame stays on top until the policy has an outcome. An answer pops
it and predicts `action_send_text` with the answer; no documents, or an answer the model
itself calls irrelevant, pops it and starts `pattern_cannot_handle` (reason
`cannot_handle_no_relevant_answer`); a failure (vector store, embeddings, model) pops it
and starts `pattern_internal_error`. Rasa predicts `action_cancel_flow` in those two
cases, which does nothing with a pattern on top; so does the engine.

The engine does no I/O: the session finds the answer (`workbench/knowledge/`) between two
predictions and hands the outcome back here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from workbench.calm.names import (
    ACTION_CANCEL_FLOW,
    ACTION_SEND_TEXT,
    PATTERN_CANNOT_HANDLE,
    PATTERN_INTERNAL_ERROR,
)
from workbench.calm.values import JSONObject
from workbench.engine import events as ev
from workbench.engine.stack import SEARCH, Frame, new_frame_id
from workbench.engine.stack_ops import push_pattern
from workbench.engine.tracker import Tracker
from workbench.project.model import Project

NO_RELEVANT_ANSWER = "cannot_handle_no_relevant_answer"

OutcomeKind = Literal["answer", "no_answer", "error"]


@dataclass(frozen=True)
class SearchOutcome:
    """What the knowledge service found for the search frame on top of the stack.

    `answer`: `text` is sent, `metadata` goes on the bot message; `no_answer` (no
    documents, or not relevant) and `error` carry the `reason` the trace shows."""

    kind: OutcomeKind
    text: str = ""
    metadata: JSONObject = field(default_factory=dict)
    reason: str = ""


def has_search_policy(project: Project) -> bool:
    """The project configures EnterpriseSearchPolicy (only then are search frames
    answered; otherwise they are popped unanswered, as before)."""
    return project.config.search is not None


def push_search_frame(tracker: Tracker) -> None:
    """`action_trigger_search`: a search frame on top of the stack."""
    tracker.stack.push(Frame(new_frame_id(tracker.rng), SEARCH))


def settle_search(project: Project, tracker: Tracker, outcome: SearchOutcome) -> str:
    """Pop the search frame and apply the outcome; returns the action to run next
    (`action_send_text` with the answer, else `action_cancel_flow` as Rasa predicts)."""
    top = tracker.stack.top()
    if top is not None and top.type == SEARCH:
        tracker.stack.pop()
    if outcome.kind == "answer":
        return ACTION_SEND_TEXT
    if outcome.kind == "no_answer":
        tracker.add(ev.notice(f"no knowledge answer: {outcome.reason}", reason=NO_RELEVANT_ANSWER))
        push_pattern(project, tracker, PATTERN_CANNOT_HANDLE, {"reason": NO_RELEVANT_ANSWER})
    else:
        tracker.add(ev.error(f"knowledge answer failed: {outcome.reason}", source="search"))
        push_pattern(project, tracker, PATTERN_INTERNAL_ERROR, {"error_type": "default"})
    return ACTION_CANCEL_FLOW
