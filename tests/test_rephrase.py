"""Rephrased responses (`nlg: type: rephrase`) against a fake model on 127.0.0.1: which
responses are rephrased, with which prompt, what the trace keeps, what happens when the
model is down or there is none, and a recorded conversation replayed with no model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from generative_project import (
    ORIGINAL,
    PLAIN,
    REPHRASED,
    GenerativeLLM,
    write_project,
)
from tui_helpers import send, settle, start, text_of, turn_items, wait_until

from workbench.calm.names import DOMAIN_GROUND_TRUTH_KEY, UTTER_SOURCE_KEY
from workbench.project.loader import load_project
from workbench.project.model import Project
from workbench.project.validate import validate_path
from workbench.testing.replay import replay_session
from workbench.trace.records import BotMessage
from workbench.trace.text import bot_message_lines, trace_rows
from workbench.trace.turn import TurnTrace
from workbench.tui.app import make_app
from workbench.understanding import llm
from workbench.understanding.base import ScriptedGenerator
from workbench.understanding.cassette import CassetteGenerator, RecordingGenerator
from workbench.wiring import new_session

START = "/start flow fees"  # a direct command: only the rephraser calls the model


@pytest.fixture
def server():
    with GenerativeLLM() as fake:
        yield fake


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(llm, "BACKOFF_BASE_S", 0.0)


def project_on(tmp_path: Path, url: str, **edits: str) -> Project:
    root = write_project(tmp_path / "fees", url)
    for name, text in edits.items():
        (root / name).write_text(text)
    result = load_project(root)
    assert not result.issues.errors, [str(i) for i in result.issues.errors]
    return result.project


def turn(project: Project, text: str = START, **options) -> TurnTrace:
    session = new_session(project, ScriptedGenerator([]), **options)
    return asyncio.run(session.handle(text))


def by_response(trace: TurnTrace) -> dict[str | None, BotMessage]:
    return {message.response: message for message in trace.bot_messages}


def rephrase_prompts(server: GenerativeLLM) -> list[str]:
    return [
        r["body"]["messages"][0]["content"]
        for r in server.chat_requests()
        if r["body"]["model"] == "rephraser"
    ]


def test_a_response_marked_rephrase_is_rephrased_and_keeps_its_original(tmp_path, server):
    trace = turn(project_on(tmp_path, server.url))
    fees, plain = by_response(trace)["utter_fees"], by_response(trace)["utter_plain"]
    assert fees.text == REPHRASED
    assert fees.original_text == ORIGINAL and fees.rephrased
    # a response without `rephrase: true` is sent as written (rephrase_all is off)
    assert plain.text == PLAIN and plain.original_text is None and plain.rephrase_note is None
    prompt = rephrase_prompts(server)[0]
    assert f"Message to rewrite: {ORIGINAL}" in prompt
    assert f"USER: {START}" in prompt
    # the bot event is Rasa's: the rephrased text, the rephraser as its source, and
    # the response's texts as the ground truth judges read
    event = next(e for e in trace.events if e.type == "bot")
    assert event.text == REPHRASED
    assert event.metadata[UTTER_SOURCE_KEY] == "ContextualResponseRephraser"
    assert event.metadata[DOMAIN_GROUND_TRUTH_KEY] == [ORIGINAL]


def test_rephrase_all_rephrases_every_response(tmp_path, server):
    project = project_on(tmp_path, server.url)
    (project.root / "endpoints.yml").write_text(
        (project.root / "endpoints.yml").read_text() + "  rephrase_all: true\n"
    )
    project = load_project(project.root).project
    assert by_response(turn(project))["utter_plain"].text == REPHRASED


def test_a_response_may_say_rephrase_false_under_rephrase_all(tmp_path, server):
    domain = f"""\
version: "3.1"
responses:
  utter_fees:
    - text: "{ORIGINAL}"
      metadata:
        rephrase: false
  utter_plain:
    - text: "{PLAIN}"
"""
    project = project_on(tmp_path, server.url, **{"domain.yml": domain})
    (project.root / "endpoints.yml").write_text(
        (project.root / "endpoints.yml").read_text() + "  rephrase_all: true\n"
    )
    messages = by_response(turn(load_project(project.root).project))
    assert messages["utter_fees"].text == ORIGINAL
    assert messages["utter_plain"].text == REPHRASED


def test_the_project_prompt_template_and_a_response_prompt(tmp_path, server):
    project = project_on(tmp_path, server.url)
    root = project.root
    (root / "prompts").mkdir()
    (root / "prompts" / "rephrase.jinja2").write_text(
        "TEMPLATE {{ suggested_response }} | {{ current_input }} | {{ language }}"
    )
    (root / "endpoints.yml").write_text(
        (root / "endpoints.yml").read_text() + "  prompt_template: prompts/rephrase.jinja2\n"
    )
    turn(load_project(root).project)
    assert rephrase_prompts(server)[0] == f"TEMPLATE {ORIGINAL} | USER: {START} | English"
    domain = (
        (root / "domain.yml")
        .read_text()
        .replace(
            "rephrase: true",
            'rephrase: true\n        rephrase_prompt: "OWN {{ suggested_response }}"',
        )
    )
    (root / "domain.yml").write_text(domain)
    turn(load_project(root).project)
    assert rephrase_prompts(server)[-2] == f"OWN {ORIGINAL}"


def test_summarize_history_asks_the_model_for_a_summary_first(tmp_path, server):
    project = project_on(tmp_path, server.url)
    root = project.root
    text = (root / "endpoints.yml").read_text().replace("summarize_history: false", "")
    (root / "endpoints.yml").write_text(text)
    trace = turn(load_project(root).project)
    prompts = rephrase_prompts(server)
    assert "Summarise this conversation" in prompts[0]
    # the model's summary (the fake answers every rephraser call alike) is the history
    assert f"Conversation so far:\n{REPHRASED}" in prompts[1]
    assert by_response(trace)["utter_fees"].text == REPHRASED


def test_a_model_that_is_down_keeps_the_original_with_the_reason(tmp_path, server):
    server.rephraser_down = True
    trace = turn(project_on(tmp_path, server.url))
    fees = by_response(trace)["utter_fees"]
    assert fees.text == ORIGINAL and not fees.rephrased
    assert fees.rephrase_note is not None
    assert fees.rephrase_note.startswith("not rephrased: server:")
    assert "rephrase" in dict(trace_rows(trace))
    assert trace.errors == []  # the conversation goes on, as in Rasa


def test_offline_keeps_the_original_and_says_so(tmp_path, server):
    trace = turn(project_on(tmp_path, server.url), offline=True)
    fees = by_response(trace)["utter_fees"]
    assert fees.text == ORIGINAL and fees.rephrase_note == "not rephrased (offline)"
    assert server.requests == []
    lines = bot_message_lines(trace.bot_messages)
    assert f"  [utter_fees] {ORIGINAL!r}" in lines
    assert "      not rephrased (offline)" in lines


def test_no_credentials_is_offline_too(tmp_path, server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    endpoints = "nlg:\n  type: rephrase\n  llm:\n    provider: openai\n    model: gpt-4o\n"
    trace = turn(project_on(tmp_path, server.url, **{"endpoints.yml": endpoints}))
    note = by_response(trace)["utter_fees"].rephrase_note
    assert note == "not rephrased (offline): no OPENAI_API_KEY"


def test_without_a_rephrase_nlg_nothing_changes(tmp_path, server):
    trace = turn(project_on(tmp_path, server.url, **{"endpoints.yml": "nlg:\n  type: response\n"}))
    fees = by_response(trace)["utter_fees"]
    assert fees.text == ORIGINAL and fees.original_text is None and fees.rephrase_note is None
    event = next(e for e in trace.events if e.type == "bot")
    assert UTTER_SOURCE_KEY not in event.metadata
    assert server.requests == []


def test_the_trace_renders_and_stores_the_original(tmp_path, server):
    trace = turn(project_on(tmp_path, server.url))
    lines = bot_message_lines(trace.bot_messages)
    assert f"  [utter_fees] {REPHRASED!r}" in lines
    assert f"      rephrased from: {ORIGINAL}" in lines
    rows = trace_rows(trace)
    assert ("rephrase", f"utter_fees: rephrased from: {ORIGINAL}") in rows
    loaded = TurnTrace.from_dict(trace.to_dict())
    assert by_response(loaded)["utter_fees"].original_text == ORIGINAL
    # a message stored before rephrasing existed still loads
    old = BotMessage.from_dict({"text": "hi", "response": "utter_hi", "buttons": []})
    assert old.original_text is None and old.rephrase_note is None


def test_a_recorded_rephrasing_replays_with_no_model(tmp_path, server):
    project = project_on(tmp_path, server.url)
    cassette = tmp_path / "chat.cassette.yml"
    recording = RecordingGenerator(ScriptedGenerator([]), cassette)
    session = new_session(project, recording)
    asyncio.run(session.handle(START))
    assert "kind: rephrase" in cassette.read_text()
    server.__exit__(None, None, None)  # no model from here on
    replaying = new_session(project, CassetteGenerator(cassette))
    replayed = asyncio.run(replaying.handle(START))
    assert by_response(replayed)["utter_fees"].text == REPHRASED
    assert by_response(replayed)["utter_fees"].original_text == ORIGINAL


async def test_the_chat_shows_originals_on_ctrl_t(tmp_path, server):
    project = project_on(tmp_path, server.url)
    app = make_app(project.root, watch=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(pilot)
        await send(pilot, START)
        await settle(pilot)
        item = turn_items(app)[-1]
        assert REPHRASED in text_of(item)
        original = item.query(".original").first()
        assert not original.display
        app.main.chat.chat_log.focus()
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: original.display, what="the originals")
        assert f"rephrased from: {ORIGINAL}" in str(original.render())
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: not original.display, what="the originals hidden")


def test_a_stored_conversation_replays_its_rephrasings_with_no_model(tmp_path, server):
    project = project_on(tmp_path, server.url)
    session = new_session(project, ScriptedGenerator([]))
    traces = [asyncio.run(session.handle(START))]
    server.__exit__(None, None, None)  # no model from here on
    report = asyncio.run(replay_session(project, traces, actions=None))
    assert report.same, report.lines()
    replayed = by_response(report.traces[0])
    assert replayed["utter_fees"].text == REPHRASED
    assert replayed["utter_fees"].original_text == ORIGINAL


def test_validate_names_a_missing_nlg_prompt_template(tmp_path, server):
    project = project_on(tmp_path, server.url)
    root = project.root
    (root / "endpoints.yml").write_text(
        (root / "endpoints.yml").read_text() + "  prompt_template: prompts/nope.jinja2\n"
    )
    issues = validate_path(root).issues.errors
    assert [(i.code, i.file, i.line) for i in issues] == [
        ("missing-prompt-template", "endpoints.yml", 1)
    ]


def test_a_cassette_without_the_rephrasing_keeps_the_original(tmp_path, server):
    project = project_on(tmp_path, server.url)
    cassette = tmp_path / "empty.cassette.yml"
    cassette.write_text("version: 1\nentries: []\n")
    session = new_session(project, CassetteGenerator(cassette))
    fees = by_response(asyncio.run(session.handle(START)))["utter_fees"]
    assert fees.text == ORIGINAL
    assert fees.rephrase_note == (
        "not rephrased: the cassette holds no rephrasing of this prompt (record the run again)"
    )
    assert server.requests == []
