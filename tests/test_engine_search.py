"""The search frame in the pure engine: `action_trigger_search` pushes it; with
EnterpriseSearchPolicy the executor stops on it for the session's answer, and
`settle_search` applies the outcome as Rasa's policy does."""

from __future__ import annotations

from pathlib import Path

from workbench.calm.names import (
    ACTION_CANCEL_FLOW,
    ACTION_SEND_TEXT,
    ACTION_TRIGGER_SEARCH,
    PATTERN_CANNOT_HANDLE,
    PATTERN_INTERNAL_ERROR,
    PATTERN_SEARCH,
)
from workbench.engine.core import Engine
from workbench.engine.search import SearchOutcome, has_search_policy
from workbench.engine.stack import SEARCH
from workbench.engine.stack_ops import push_pattern
from workbench.engine.tracker import Tracker
from workbench.project.loader import load_project

FIXTURE = Path(__file__).parent / "fixtures" / "knowledge"


def searching() -> tuple[Engine, Tracker]:
    """The engine stopped on the search frame pattern_search pushed."""
    project = load_project(FIXTURE).project
    engine, tracker = Engine(project), Tracker(project)
    push_pattern(project, tracker, PATTERN_SEARCH)
    prediction = engine.predict(tracker)
    assert prediction.action == ACTION_TRIGGER_SEARCH
    assert engine.run_builtin(ACTION_TRIGGER_SEARCH, tracker) == []
    assert [f.type for f in tracker.stack] == [PATTERN_SEARCH, SEARCH]
    prediction = engine.predict(tracker)
    assert prediction.search and prediction.action == ACTION_SEND_TEXT
    top = tracker.stack.top()
    assert top is not None and top.type == SEARCH  # answered by the session, then settled
    return engine, tracker


def test_the_fixture_configures_the_policy() -> None:
    assert has_search_policy(load_project(FIXTURE).project)


def test_an_answer_pops_the_frame_and_action_send_text_sends_it() -> None:
    engine, tracker = searching()
    outcome = SearchOutcome("answer", text="Half a percent.", metadata={"search_query": "fees"})
    assert engine.settle_search(tracker, outcome) == ACTION_SEND_TEXT
    assert [f.type for f in tracker.stack] == [PATTERN_SEARCH]
    [sent] = engine.run_builtin(ACTION_SEND_TEXT, tracker)
    assert isinstance(sent, dict)
    assert (sent["event"], sent["text"]) == ("bot", "Half a percent.")
    assert sent["metadata"] == {"search_query": "fees"}
    assert engine.run_builtin(ACTION_SEND_TEXT, tracker) == []  # sent once


def test_no_answer_starts_cannot_handle_with_rasas_reason() -> None:
    engine, tracker = searching()
    outcome = SearchOutcome("no_answer", reason="no document matches")
    assert engine.settle_search(tracker, outcome) == ACTION_CANCEL_FLOW
    top = tracker.stack.top()
    assert top is not None and top.type == PATTERN_CANNOT_HANDLE
    assert top.context["reason"] == "cannot_handle_no_relevant_answer"
    assert [f.type for f in tracker.stack][:-1] == [PATTERN_SEARCH]


def test_an_error_starts_the_internal_error_pattern_with_the_reason_logged() -> None:
    engine, tracker = searching()
    outcome = SearchOutcome("error", reason="embeddings model is down")
    assert engine.settle_search(tracker, outcome) == ACTION_CANCEL_FLOW
    top = tracker.stack.top()
    assert top is not None and top.type == PATTERN_INTERNAL_ERROR
    errors = [e for e in tracker.events if e.get("event") == "error"]
    assert "embeddings model is down" in str(errors[-1]["message"])
