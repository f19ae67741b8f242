"""The sample project's MCP tool call and sub-agent, end to end: conversations against its
own parcels server (`mcp_tools/parcels.py`, a real MCP server started on 127.0.0.1) and a
fake OpenAI-compatible model that emits tool calls; then the same conversation recorded
and replayed with neither; offline, the agent says it needs a model."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path

import pytest
from fake_llm import FakeLLM
from mcp_fixtures import sample_parcels_http

from workbench.agents.mcp_client import forget_tools
from workbench.project.loader import load_project
from workbench.trace.calls import AGENT, RECORDED, TOOL
from workbench.understanding.base import ScriptedGenerator
from workbench.understanding.tape import ModelTape
from workbench.wiring import new_session

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"
UNDERSTOOD = {
    "where is my parcel PX100?": "start flow locate_parcel\nset slot tracking_number PX100",
    "where is my parcel PX999?": "start flow locate_parcel\nset slot tracking_number PX999",
    "my delivery is late": "start flow delivery_problem",
    "it is PX300, please send a new one": "continue agent",
}


def sample_copy(tmp_path: Path, url: str | None = None, llm_url: str | None = None) -> Path:
    """The sample project, its parcels server at `url`, its agent's model at `llm_url`."""
    root = tmp_path / "sample"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".calm", "__pycache__"))
    endpoints = root / "endpoints.yml"
    text = endpoints.read_text(encoding="utf-8")
    if url is not None:
        text = text.replace("http://127.0.0.1:5058/mcp", url)
    if llm_url is not None:
        text = re.sub(
            r"(- id: agent_llm\n    models:\n      - provider: openai\n)",
            rf"\1        api_base: {llm_url}\n        api_key: test-key\n",
            text,
        )
    endpoints.write_text(text, encoding="utf-8")
    forget_tools()
    return root


def converse(root: Path, messages: list[str], tape: ModelTape | None = None, offline=False):
    project = load_project(root).project
    session = new_session(
        project, ScriptedGenerator(UNDERSTOOD), tape=tape or ModelTape(), offline=offline
    )
    session.start()

    async def run():
        return [await session.handle(message) for message in messages]

    return asyncio.run(run())


@pytest.fixture(scope="module")
def parcels_server(tmp_path_factory):
    """The sample's parcels server, run from a copy of the project."""
    root = tmp_path_factory.mktemp("server") / "sample"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".calm", "__pycache__"))
    with sample_parcels_http(root) as url:
        yield url


# --- the flow's direct tool call ------------------------------------------------------------


def test_the_flow_calls_the_tool_and_maps_its_result_to_slots(tmp_path, parcels_server):
    root = sample_copy(tmp_path, parcels_server)
    (trace,) = converse(root, ["where is my parcel PX100?"])
    assert trace.bot_texts[0] == "Parcel PX100 is in transit; expected: tomorrow."
    assert trace.slots_after["parcel_status"] == "in transit"
    (call,) = trace.calls
    assert (call.kind, call.name, call.server, call.status) == (
        TOOL,
        "track_parcel",
        "parcels",
        "ok",
    )
    assert call.arguments == {"tracking_number": "PX100"}
    assert call.result["structuredContent"] == {
        "tracking_number": "PX100",
        "status": "in transit",
        "eta": "tomorrow",
    }
    assert call.duration_ms > 0
    executed = [e for e in trace.events if e.type == "mcp_tool_executed"]
    assert executed[0].data["is_error"] is False


def test_a_tool_error_goes_to_the_internal_error_pattern_with_the_reason(tmp_path, parcels_server):
    root = sample_copy(tmp_path, parcels_server)
    (trace,) = converse(root, ["where is my parcel PX999?"])
    assert (
        trace.bot_texts[0]
        == "Sorry, I am having trouble with that. Please try again in a few minutes."
    )
    assert trace.calls[0].status == "error"
    assert "no parcel with tracking number PX999" in trace.calls[0].error
    assert any("Tool 'track_parcel' execution failed" in e for e in trace.errors)


def test_a_server_that_is_down_is_an_error_with_the_reason(tmp_path):
    root = sample_copy(tmp_path, "http://127.0.0.1:9/mcp")
    (trace,) = converse(root, ["where is my parcel PX100?"])
    assert trace.bot_texts[0].startswith("Sorry, I am having trouble")
    assert "cannot connect to http://127.0.0.1:9/mcp" in trace.calls[0].error
    assert any("cannot connect" in e for e in trace.errors)


# --- the sub-agent --------------------------------------------------------------------------


def agent_model(server: FakeLLM) -> None:
    """What the delivery helper's model does: asks, then looks the parcel up and settles."""
    server.queue("I'm sorry! What is the tracking number, and shall we resend or refund?")
    server.queue(
        "", tool_calls=[{"name": "track_parcel", "arguments": {"tracking_number": "PX300"}}]
    )
    server.queue(
        "",
        tool_calls=[{"name": "set_slot_delivery_outcome", "arguments": {"slot_value": "resend"}}],
    )


def test_the_agent_asks_uses_the_tool_and_hands_back_with_its_slot(tmp_path, parcels_server):
    with FakeLLM() as model:
        agent_model(model)
        root = sample_copy(tmp_path, parcels_server, model.url)
        first, second = converse(
            root, ["my delivery is late", "it is PX300, please send a new one"]
        )
        requests = model.chat_requests()
    assert first.bot_texts == [
        "I'm sorry! What is the tracking number, and shall we resend or refund?"
    ]
    assert [f.type for f in first.stack_after][-1] == "agent"
    (asked,) = first.calls
    assert (asked.kind, asked.name, asked.status) == (AGENT, "delivery_helper", "input_required")
    assert "Works out what to do about a late, lost or damaged delivery" in asked.prompt
    assert second.bot_texts == [
        "We will send a replacement today.",
        "Is there anything else I can help you with?",
    ]
    assert second.slots_after["delivery_outcome"] == "resend"
    (done,) = second.calls
    assert done.status == "completed"
    assert done.slots == (("delivery_outcome", "resend"),)
    kinds = [(s.kind, s.name) for s in done.steps]
    assert ("tool", "track_parcel") in kinds
    tool_step = next(s for s in done.steps if s.kind == "tool")
    assert tool_step.arguments == {"tracking_number": "PX300"}
    assert "held at the depot" in json.dumps(tool_step.result)
    assert kinds[-1][0] == "exit_check"
    # the model was offered the connection's tool and the exit slot's tool, nothing else
    offered = {t["function"]["name"] for t in requests[0]["body"]["tools"]}
    assert offered == {"track_parcel", "set_slot_delivery_outcome"}
    assert not any(f.type == "agent" for f in second.stack_after)


def test_a_recorded_agent_conversation_replays_with_no_model_and_no_server(
    tmp_path, parcels_server
):
    recording = ModelTape(mode="record")
    with FakeLLM() as model:
        agent_model(model)
        root = sample_copy(tmp_path, parcels_server, model.url)
        live = converse(
            root,
            [
                "my delivery is late",
                "it is PX300, please send a new one",
                "where is my parcel PX100?",
            ],
            recording,
        )
    kinds = {call.kind for call in recording.calls}
    assert {"agent_step", "mcp_tool"} <= kinds
    replay_root = sample_copy(tmp_path / "replay", "http://127.0.0.1:9/mcp", "http://127.0.0.1:9")
    replayed = converse(
        replay_root,
        ["my delivery is late", "it is PX300, please send a new one", "where is my parcel PX100?"],
        ModelTape(mode="replay", calls=list(recording.calls)),
    )
    assert [t.bot_texts for t in replayed] == [t.bot_texts for t in live]
    assert replayed[1].slots_after["delivery_outcome"] == "resend"
    assert replayed[2].slots_after["parcel_status"] == "in transit"
    assert {c.source for t in replayed for c in t.calls} == {RECORDED}


def test_offline_the_agent_says_it_needs_a_model_and_the_ways_out(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    root = sample_copy(tmp_path)
    (trace,) = converse(root, ["my delivery is late"])
    (call,) = trace.calls
    assert call.status == "fatal_error"
    assert call.source == "offline"
    assert "agent delivery_helper needs a model" in call.error
    assert "OPENAI_API_KEY" in call.error
    assert "--cassette" in call.error and "stub_agents" in call.error
    assert trace.bot_texts[0].startswith("Sorry, I am having trouble")
    assert any("needs a model" in e for e in trace.errors)


def test_an_agent_that_never_finishes_is_stopped_and_its_flow_ended(tmp_path, parcels_server):
    with FakeLLM() as model:
        for _ in range(12):
            model.queue(
                "", tool_calls=[{"name": "track_parcel", "arguments": {"tracking_number": "PX100"}}]
            )
        root = sample_copy(tmp_path, parcels_server, model.url)
        (trace,) = converse(root, ["my delivery is late"])
    (call,) = trace.calls
    assert call.status == "fatal_error"
    assert "10" in call.error
    assert len([s for s in call.steps if s.kind == "model"]) == 10
    assert trace.bot_texts[0].startswith("Sorry, I am having trouble")
    assert not any(f.flow_id == "delivery_problem" for f in trace.stack_after)
