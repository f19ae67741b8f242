"""A sub-agent with `protocol: a2a`, run against a real A2A server built with the a2a-sdk
server classes (tests/a2a_servers/travel_agent.py) on a free 127.0.0.1 port."""

from __future__ import annotations

import json
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.agents import a2a
from workbench.agents.a2a import run_a2a_agent
from workbench.calm.external import (
    COMPLETED,
    FATAL_ERROR,
    INPUT_REQUIRED,
    AgentInput,
    AgentOutcome,
    AgentSlot,
)
from workbench.project.model import Source, SubAgent

sys.path.insert(0, str(Path(__file__).parent / "a2a_servers"))
from travel_agent import PLAIN_CARD_PATH, agent_card, serving

CONVERSATION = "USER: I want to book a flight"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving() as base_url:
        yield base_url


def travel_agent(agent_card: str, **configuration: object) -> SubAgent:
    return SubAgent(
        name="travel_agent",
        description="Books flights",
        source=Source("sub_agents/travel/config.yml", 1),
        protocol="a2a",
        folder="travel",
        configuration={"agent_card": agent_card, **configuration},
    )


def turn(message: str, sender: str, **changes: object) -> AgentInput:
    given = AgentInput(
        agent="travel_agent",
        user_message=message,
        slots=(AgentSlot("passenger_name", "Ada"), AgentSlot("destination", None)),
        conversation=CONVERSATION if message == "I want to book a flight" else "",
        sender_id=sender,
    )
    return AgentInput(**{**given.__dict__, **changes})


def a_sender() -> str:
    return f"sender-{uuid.uuid4().hex[:8]}"


def card_url(server: str) -> str:
    return f"{server}/.well-known/agent-card.json"


async def test_the_agent_asks_first_then_answers_on_the_same_task(server):
    agent, sender = travel_agent(card_url(server)), a_sender()

    asked = await run_a2a_agent(agent, turn("I want to book a flight", sender))
    assert asked.status == INPUT_REQUIRED, asked.error
    # the first message carried the slots that have a value, as a `slots` data part
    assert asked.message == "Where would you like to fly, Ada?"
    [step] = asked.steps
    assert step.kind == "a2a" and step.name == "travel_agent"
    assert step.arguments["text"] == CONVERSATION
    assert step.arguments["context_id"] == sender
    assert step.arguments["slots"] == {"passenger_name": "Ada"}
    assert "task_id" not in step.arguments
    assert step.result["state"] == "input-required"
    assert step.latency_ms > 0

    answered = await run_a2a_agent(agent, turn("Lisbon", sender))
    assert answered.status == COMPLETED, answered.error
    # the status message's text, then the artifact's
    assert answered.message == "Your flight to Lisbon is booked.\nTicket TK-42"
    # data parts set no slots (Rasa keeps them as structured results)
    assert answered.slots == ()
    [step] = answered.steps
    assert step.arguments["text"] == "Lisbon"
    assert step.arguments["task_id"] == asked.steps[0].result["task_id"]
    assert step.result["task_id"] == step.arguments["task_id"]
    assert step.result["data"] == [{"booking": {"destination": "Lisbon", "context": sender}}]
    assert answered.duration_ms >= step.latency_ms

    # the task is over: the next turn opens a new one
    again = await run_a2a_agent(agent, turn("I want to book a flight", sender))
    assert again.status == INPUT_REQUIRED
    assert again.steps[0].result["task_id"] != step.result["task_id"]


async def test_an_agent_that_cannot_stream_returns_the_task_whole(server):
    agent, sender = travel_agent(f"{server}{PLAIN_CARD_PATH}"), a_sender()
    asked = await run_a2a_agent(agent, turn("I want to book a flight", sender))
    assert (asked.status, asked.message) == (INPUT_REQUIRED, "Where would you like to fly, Ada?")
    answered = await run_a2a_agent(agent, turn("Oslo", sender))
    assert answered.status == COMPLETED, answered.error
    assert answered.message.startswith("Your flight to Oslo is booked.")


async def test_each_sender_has_its_own_task(server):
    agent, first, second = travel_agent(card_url(server)), a_sender(), a_sender()
    await run_a2a_agent(agent, turn("I want to book a flight", first))
    # the other conversation has no open task: its answer opens a new one
    other = await run_a2a_agent(agent, turn("Rome", second))
    assert other.status == INPUT_REQUIRED
    mine = await run_a2a_agent(agent, turn("Paris", first))
    assert (mine.status, mine.message.splitlines()[0]) == (
        COMPLETED,
        "Your flight to Paris is booked.",
    )


async def test_a_restarted_agent_forgets_its_open_task(server):
    agent, sender = travel_agent(card_url(server)), a_sender()
    await run_a2a_agent(agent, turn("I want to book a flight", sender))
    restarted = await run_a2a_agent(agent, turn("Paris", sender, restarted=True))
    assert restarted.status == INPUT_REQUIRED
    assert "task_id" not in restarted.steps[0].arguments


async def test_a_resumed_agent_is_sent_the_whole_conversation_on_its_task(server):
    agent, sender = travel_agent(card_url(server)), a_sender()
    await run_a2a_agent(agent, turn("I want to book a flight", sender))
    resumed = await run_a2a_agent(
        agent, turn("Madrid", sender, resumed=True, conversation="USER: …\nUSER: Madrid")
    )
    [step] = resumed.steps
    assert "task_id" in step.arguments and step.arguments["text"] == "USER: …\nUSER: Madrid"
    assert resumed.status == COMPLETED


async def test_a_failed_task_is_tried_again_then_fatal_with_its_reason(server):
    agent = travel_agent(card_url(server), max_retries=2)
    outcome = await run_a2a_agent(agent, turn("please fail", a_sender()))
    assert outcome.status == FATAL_ERROR
    assert outcome.error == (
        "A2A agent 'travel_agent': the task ended failed: the booking system is down "
        "(tried 2 times)"
    )
    assert [step.result["state"] for step in outcome.steps] == ["failed", "failed"]
    assert all(step.error for step in outcome.steps)


async def test_a_task_the_agent_cancels_ends_the_turn_with_an_error_as_in_rasa(server):
    agent = travel_agent(card_url(server), max_retries=1)
    outcome = await run_a2a_agent(agent, turn("cancel that", a_sender()))
    assert outcome.status == FATAL_ERROR
    assert outcome.error == "A2A agent 'travel_agent': the task ended canceled: Booking withdrawn."
    assert len(outcome.steps) == 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_server_that_is_down_is_a_fatal_error_that_says_so():
    url = f"http://127.0.0.1:{free_port()}/.well-known/agent-card.json"
    outcome = await run_a2a_agent(travel_agent(url), turn("hi", a_sender()))
    assert outcome.status == FATAL_ERROR
    assert outcome.error == f"A2A agent 'travel_agent': cannot reach {url} (connection refused)"
    [step] = outcome.steps
    assert step.kind == "a2a" and step.error


async def test_a_card_whose_server_is_down_fails_at_the_first_message(tmp_path):
    port = free_port()
    card = agent_card(f"http://127.0.0.1:{port}", streaming=True)
    from google.protobuf.json_format import MessageToDict

    (tmp_path / "card.json").write_text(json.dumps(MessageToDict(card)))
    outcome = await run_a2a_agent(travel_agent("card.json"), turn("hi", a_sender()), tmp_path)
    assert outcome.status == FATAL_ERROR
    assert outcome.error == (
        f"A2A agent 'travel_agent': cannot reach http://127.0.0.1:{port}/ (connection refused)"
    )


async def test_a_card_file_relative_to_the_project_folder_is_used(server, tmp_path):
    import httpx

    card = httpx.get(card_url(server)).json()
    (tmp_path / "sub_agents").mkdir()
    (tmp_path / "sub_agents" / "card.json").write_text(json.dumps(card))
    agent = travel_agent("sub_agents/card.json")
    outcome = await run_a2a_agent(agent, turn("I want to book a flight", a_sender()), tmp_path)
    assert (outcome.status, outcome.message) == (
        INPUT_REQUIRED,
        "Where would you like to fly, Ada?",
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "agent card file not found: {path}"),
        ("{not json", "the agent card file {path} is not valid JSON"),
        ("[1, 2]", "the agent card file {path} holds no JSON object"),
        ('{"name": 42, "capabilities": "many"}', "the agent card file {path} is not an agent card"),
    ],
)
async def test_a_missing_or_invalid_card_file_is_a_fatal_error(tmp_path, content, expected):
    path = tmp_path / "card.json"
    if content is not None:
        path.write_text(content)
    outcome = await run_a2a_agent(travel_agent("card.json"), turn("hi", a_sender()), tmp_path)
    assert outcome.status == FATAL_ERROR
    assert outcome.error.startswith("A2A agent 'travel_agent': " + expected.format(path=path))


async def test_a_card_url_that_is_not_served_is_a_fatal_error(server):
    url = f"{server}/no/such-card.json"
    outcome = await run_a2a_agent(travel_agent(url), turn("hi", a_sender()))
    assert outcome.status == FATAL_ERROR
    assert (
        outcome.error == f"A2A agent 'travel_agent': cannot fetch the agent card {url} (HTTP 404)"
    )


async def test_a_card_with_no_interface_is_a_fatal_error(tmp_path):
    (tmp_path / "card.json").write_text(json.dumps({"name": "x", "description": "y"}))
    outcome = await run_a2a_agent(travel_agent("card.json"), turn("hi", a_sender()), tmp_path)
    assert outcome.error == (
        "A2A agent 'travel_agent': the agent card names no URL to send messages to"
    )


async def test_an_agent_with_no_card_says_where_to_give_one():
    agent = travel_agent("")
    outcome = await run_a2a_agent(agent, turn("hi", a_sender()))
    assert outcome.error == (
        "A2A agent 'travel_agent': no `configuration.agent_card` (its URL or JSON file) "
        "in sub_agents/travel/config.yml"
    )


async def test_a_server_that_does_not_answer_in_time_is_a_timeout():
    # a socket that accepts connections and never answers
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/card.json"
        outcome = await run_a2a_agent(travel_agent(url, timeout=0.3), turn("hi", a_sender()))
    assert outcome.status == FATAL_ERROR
    assert outcome.error == f"A2A agent 'travel_agent': cannot reach {url} (timed out after 0.3 s)"


async def test_without_the_sdk_the_turn_says_how_to_install_it(monkeypatch):
    # an environment without a2a-sdk: its modules cannot be imported
    monkeypatch.setitem(sys.modules, "a2a.client", None)
    outcome: AgentOutcome = await run_a2a_agent(travel_agent("card.json"), turn("hi", "s"))
    assert outcome.status == FATAL_ERROR
    assert outcome.error == (
        "A2A agent 'travel_agent': needs the A2A SDK (pip install 'calm-workbench[agents]')"
    )
    assert a2a.INSTALL in outcome.error


async def test_a_task_still_working_when_the_reply_ends_is_asked_about_until_it_settles(server):
    agent = travel_agent(f"{server}{PLAIN_CARD_PATH}")
    outcome = await run_a2a_agent(agent, turn("tell me later", a_sender()))
    assert (outcome.status, outcome.message) == (COMPLETED, "All flights are full.")


async def test_the_caller_runs_an_a2a_agent_with_its_card_relative_to_the_project(server, tmp_path):
    import shutil

    import httpx

    from workbench.agents.caller import ExternalCaller
    from workbench.calm.external import AgentCallRequest
    from workbench.project.loader import load_project

    root = tmp_path / "project"
    shutil.copytree(Path(__file__).parent / "fixtures" / "compat", root)
    folder = root / "sub_agents" / "travel"
    folder.mkdir()
    (folder / "card.json").write_text(httpx.get(card_url(server)).text)
    (folder / "config.yml").write_text(
        "agent:\n  name: travel_agent\n  description: Books flights.\n  protocol: a2a\n"
        "configuration:\n  agent_card: sub_agents/travel/card.json\n"
    )
    project = load_project(root).project
    request = AgentCallRequest("travel_agent", "book_flight", "ask_agent")
    outcome, record = await ExternalCaller().run_agent(
        project, request, turn("I want to book a flight", a_sender())
    )
    assert (outcome.status, outcome.message) == (
        INPUT_REQUIRED,
        "Where would you like to fly, Ada?",
    )
    assert (record.status, record.source) == (INPUT_REQUIRED, "live")
    assert [step.kind for step in record.steps] == ["a2a"]


async def test_an_agent_that_stops_answering_mid_task_is_a_timeout(server):
    agent = travel_agent(card_url(server), timeout=0.3)
    outcome = await run_a2a_agent(agent, turn("stall", a_sender()))
    assert outcome.status == FATAL_ERROR
    assert outcome.error == (
        f"A2A agent 'travel_agent': no answer from {server}/ within 0.3 s (timeout)"
    )


async def test_a_task_the_agent_no_longer_knows_is_a_fatal_error(server):
    sender = a_sender()
    await run_a2a_agent(travel_agent(card_url(server)), turn("I want to book a flight", sender))
    # the agent restarted meanwhile (here: another server answers for it) and forgot the task
    with serving() as restarted:
        outcome = await run_a2a_agent(travel_agent(card_url(restarted)), turn("Rome", sender))
    assert outcome.status == FATAL_ERROR
    assert outcome.error.startswith("A2A agent 'travel_agent': the agent answered with an error")
    assert len(outcome.steps) == 1
    # the forgotten task is dropped: the next turn starts afresh
    again = await run_a2a_agent(travel_agent(card_url(server)), turn("Rome", sender))
    assert "task_id" not in again.steps[0].arguments


async def test_a_card_offering_no_transport_the_client_speaks_is_a_fatal_error(tmp_path):
    card = {
        "name": "x",
        "description": "y",
        "supportedInterfaces": [{"url": "http://127.0.0.1:1/", "protocolBinding": "GRPC"}],
    }
    (tmp_path / "card.json").write_text(json.dumps(card))
    outcome = await run_a2a_agent(travel_agent("card.json"), turn("hi", a_sender()), tmp_path)
    assert outcome.status == FATAL_ERROR
    assert outcome.error.startswith(
        "A2A agent 'travel_agent': cannot talk to the agent its card describes"
    )
