"""retrieval.py: which flows reach the prompt, their scores and the reasons, keyword ranking
and embeddings (fake server on 127.0.0.1) with the on-disk vector cache."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from fake_llm import FakeLLM

from workbench.engine.tracker import Tracker
from workbench.project.loader import load_project
from workbench.project.model import Project
from workbench.session import Session
from workbench.understanding.base import ScriptedGenerator
from workbench.understanding.lexical import BM25Index
from workbench.understanding.models import ModelSpec
from workbench.understanding.offline import OfflineGenerator
from workbench.understanding.retrieval import (
    REASON_ACTIVE,
    REASON_ALL,
    REASON_ALWAYS,
    REASON_KEYWORDS,
    REASON_RECENT,
    FlowRetriever,
    flow_document,
)

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"
STARTABLE = {
    "check_loyalty_points",
    "check_order_status",
    "cancel_order",
    "update_shipping_address",
    "return_item",
    "store_info",
    "leave_feedback",
    "talk_to_human",
    "locate_parcel",
    "delivery_problem",
}


def with_retrieval(project: Project, **settings) -> Project:
    generator = project.config.command_generator
    generator = replace(generator, flow_retrieval={"active": True, **settings})
    return replace(project, config=replace(project.config, command_generator=generator))


@pytest.fixture(scope="module")
def sample() -> Project:
    return load_project(SAMPLE).project


@pytest.fixture
def server():
    with FakeLLM() as fake:
        yield fake


def reasons(result) -> dict[str, str]:
    return {r.flow_id: r.reason for r in result.retrieved}


async def session_after(project: Project, *texts: str) -> Session:
    session = Session(project, ScriptedGenerator([]))
    for text in texts:
        await session.handle(text)
    return session


@pytest.mark.parametrize(
    ("message", "best"),
    [
        ("please cancel my order", "cancel_order"),
        ("how many loyalty points do I have?", "check_loyalty_points"),
        ("I want to send back a damaged item for a refund", "return_item"),
        ("can you change the delivery address of my parcel", "update_shipping_address"),
        ("where is my order, has it shipped yet?", "check_order_status"),
        ("I'd like to rate my experience", "leave_feedback"),
        ("what are your opening hours?", "store_info"),
    ],
)
async def test_keyword_ranking_puts_the_right_flow_first(sample, message, best):
    project = with_retrieval(sample)
    result = await FlowRetriever().retrieve(project, Tracker(project), message)
    assert result.method == "keywords"
    ranked = [r for r in result.retrieved if r.reason == REASON_KEYWORDS]
    assert ranked[0].flow_id == best
    assert ranked[0].score > ranked[1].score
    assert all(r.score is not None for r in result.retrieved)


def test_bm25_ranks_and_breaks_ties_in_document_order():
    index = BM25Index.build({"a": "red apple", "b": "green apple", "c": "blue sky"})
    assert [k for k, _ in index.rank("green apples")] == ["b", "a", "c"]
    assert [k for k, _ in index.rank("nothing matches")] == ["a", "b", "c"]


async def test_num_flows_limits_the_ranked_flows_but_not_the_always_included(sample):
    project = with_retrieval(sample, num_flows=2)
    result = await FlowRetriever().retrieve(project, Tracker(project), "cancel my order")
    assert reasons(result) == {
        "talk_to_human": REASON_ALWAYS,
        "cancel_order": REASON_KEYWORDS,
        "check_order_status": REASON_KEYWORDS,
    }
    assert result.retrieved[0].flow_id == "talk_to_human"  # trace: reasons first, then score
    assert result.flow_ids == ["check_order_status", "cancel_order", "talk_to_human"]


async def test_active_flows_are_always_included(sample):
    project = with_retrieval(sample, num_flows=1)
    session = await session_after(project, "/start flow store_info")
    result = await FlowRetriever().retrieve(project, session.tracker, "how many loyalty points")
    found = {r.flow_id: r for r in result.retrieved}
    assert found["store_info"].active and found["store_info"].reason == REASON_ACTIVE
    assert found["check_loyalty_points"].reason == REASON_KEYWORDS


async def test_link_only_flows_only_when_on_the_stack(sample):
    project = with_retrieval(sample)
    result = await FlowRetriever().retrieve(project, Tracker(project), "verify my identity")
    assert "verify_identity" not in reasons(result)
    session = await session_after(project, "/start flow check_loyalty_points")
    result = await FlowRetriever().retrieve(project, session.tracker, "me@example.com")
    found = {r.flow_id: r for r in result.retrieved}
    assert found["verify_identity"].active  # called, asking for the email
    assert found["check_loyalty_points"].active


async def test_flows_whose_guard_is_false_are_left_out(sample):
    project = with_retrieval(sample)
    tracker = Tracker(project)
    result = await FlowRetriever().retrieve(project, tracker, "urgent priority support")
    assert "premium_support" not in reasons(result)
    tracker.set_slot("membership_tier", "gold")
    result = await FlowRetriever().retrieve(project, tracker, "urgent priority support")
    assert reasons(result)["premium_support"] == REASON_KEYWORDS
    assert result.retrieved[1].flow_id == "premium_support"  # best ranked, after always-included


async def test_recently_started_flows_stay_in_the_prompt(sample):
    project = with_retrieval(sample, num_flows=1)
    session = await session_after(project, "/start flow store_info", "/SetSlots(faq_topic=payment)")
    assert not session.tracker.stack.find_user_flow("store_info")  # it ended
    result = await FlowRetriever().retrieve(project, session.tracker, "loyalty points")
    assert reasons(result)["store_info"] == REASON_RECENT


async def test_without_retrieval_every_startable_flow_is_offered(sample):
    result = await FlowRetriever().retrieve(sample, Tracker(sample), "anything")
    assert result.method == "all"
    assert set(reasons(result)) == STARTABLE
    assert reasons(result)["talk_to_human"] == REASON_ALWAYS
    assert {r.reason for r in result.retrieved} == {REASON_ALL, REASON_ALWAYS}
    assert all(r.score is None for r in result.retrieved)


# --- embeddings --------------------------------------------------------------------------------


@pytest.fixture
def project_copy(tmp_path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".calm", "__pycache__"))
    return root


def embeddings_project(root: Path, server: FakeLLM) -> Project:
    settings = {
        "embeddings": {"provider": "openai", "model": "fake-embed", "api_base": server.url},
        "num_flows": 3,
    }
    return with_retrieval(load_project(root).project, **settings)


async def test_embeddings_rank_and_are_cached_on_disk(project_copy, server):
    project = embeddings_project(project_copy, server)
    message = "please cancel my order"
    result = await FlowRetriever().retrieve(project, Tracker(project), message)
    assert result.method == "embeddings"
    ranked = [r for r in result.retrieved if r.reason == "ranked (embeddings)"]
    assert ranked[0].flow_id == "cancel_order"
    assert len(ranked) == 3
    flows_call, query_call = server.embedding_requests()
    assert len(flows_call["body"]["input"]) == len(STARTABLE) + 1  # + premium_support
    assert query_call["body"]["input"] == [message]
    cache = project_copy / ".calm" / "embeddings" / "openai_fake-embed.json"
    stored = json.loads(cache.read_text())
    assert stored["model"] == "openai/fake-embed"
    assert len(stored["vectors"]) == len(STARTABLE) + 1

    # a new retriever (a new session) reads the cache: only the query is embedded
    again = await FlowRetriever().retrieve(project, Tracker(project), message)
    assert [r.flow_id for r in again.retrieved] == [r.flow_id for r in result.retrieved]
    assert len(server.embedding_requests()) == 3
    assert server.embedding_requests()[-1]["body"]["input"] == [message]


async def test_a_changed_flow_is_embedded_again_alone(project_copy, server):
    project = embeddings_project(project_copy, server)
    retriever = FlowRetriever()
    await retriever.retrieve(project, Tracker(project), "hello")
    changed = replace(project.flows["store_info"], description="Opening hours of the shops.")
    project = replace(project, flows={**project.flows, "store_info": changed}, fingerprint="x")
    await retriever.retrieve(project, Tracker(project), "hello")
    documents_call = server.embedding_requests()[2]
    assert documents_call["body"]["input"] == [flow_document(project, changed)]


async def test_embeddings_config_from_a_model_group(project_copy, server):
    endpoints = (project_copy / "endpoints.yml").read_text()
    endpoints += (
        "  - id: embeddings\n"
        "    models:\n"
        f"      - {{provider: openai, model: fake-embed, api_base: '{server.url}'}}\n"
    )
    (project_copy / "endpoints.yml").write_text(endpoints)
    project = with_retrieval(
        load_project(project_copy).project, embeddings={"model_group": "embeddings"}
    )
    result = await FlowRetriever().retrieve(project, Tracker(project), "cancel my order")
    assert result.method == "embeddings"


async def test_failing_embeddings_fall_back_to_keywords(project_copy, server):
    server.embedding_status = 500
    project = embeddings_project(project_copy, server)
    result = await FlowRetriever().retrieve(project, Tracker(project), "cancel my order")
    assert result.method == "keywords"
    assert "embeddings failed: server" in result.note
    assert result.retrieved[1].flow_id == "cancel_order"
    assert "embeddings failed" in result.retrieved[1].reason


async def test_embeddings_without_credentials_fall_back_to_keywords(sample, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    project = with_retrieval(sample, embeddings={"provider": "openai", "model": "x"})
    result = await FlowRetriever().retrieve(project, Tracker(project), "cancel my order")
    assert result.method == "keywords"
    assert result.note == "no OPENAI_API_KEY for embeddings"


async def test_an_explicit_embeddings_model_overrides_the_config(project_copy, server):
    project = with_retrieval(load_project(project_copy).project)
    model = ModelSpec("openai/fake-embed", api_base=server.url)
    result = await FlowRetriever(model).retrieve(project, Tracker(project), "cancel my order")
    assert result.method == "embeddings"


# --- one ranker for every generator --------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    ["please cancel my order", "where is my order A1001", "I want to rate the store", "asdf"],
)
async def test_the_offline_generator_shows_the_flows_retrieval_ranks(sample, message):
    project = with_retrieval(sample)
    session = await session_after(project)
    expected = await FlowRetriever(use_local_embeddings=False).retrieve(
        project, session.tracker, message
    )
    output = await OfflineGenerator().generate(message, session.tracker, project)
    shown = [(r.flow_id, r.score, r.active) for r in output.retrieved_flows]
    assert shown == [(r.flow_id, r.score, r.active) for r in expected.retrieved]
    # the same reasons, the offline generator adding the words a flow has in common
    for shown_flow, retrieved in zip(output.retrieved_flows, expected.retrieved, strict=True):
        assert shown_flow.reason.startswith(retrieved.reason)


async def test_flow_retrieval_embeddings_are_recorded_and_replayed(project_copy, server):
    from workbench.understanding.tape import ModelTape

    project = embeddings_project(project_copy, server)
    message = "please cancel my order"
    recording = ModelTape("record")
    retriever = FlowRetriever()
    retriever.record_embeddings(recording)
    recorded = await retriever.retrieve(project, Tracker(project), message)
    assert {call.kind for call in recording.calls} == {"embedding"}
    assert len(recording.calls) == len(STARTABLE) + 2  # the flows, then the message
    requests = len(server.embedding_requests())

    (project_copy / ".calm" / "embeddings").rename(project_copy / ".calm" / "moved")
    replaying = ModelTape("replay", list(recording.calls))
    again = FlowRetriever()
    again.record_embeddings(replaying)
    replayed = await again.retrieve(project, Tracker(project), message)
    assert len(server.embedding_requests()) == requests  # nothing asked of the server
    assert [r.flow_id for r in replayed.retrieved] == [r.flow_id for r in recorded.retrieved]
