"""A qdrant vector store searched as Rasa searches it, with the official client: here the
client's own local engine on a folder (`vector_store: {type: qdrant, path: ...}`), filled
by the test as someone else would fill a collection."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from knowledge_helpers import FakeEmbedder, write_project
from qdrant_client import QdrantClient, models

from workbench.knowledge.base import open_knowledge_base
from workbench.knowledge.model import KnowledgeError
from workbench.project.loader import load_project
from workbench.project.model import Project

POINTS = [
    ("Q: What are the fees for international transfers? A: 0.5% plus a small fee.", "fees.txt"),
    ("Q: How do I block my card? A: Tap Block card in the app.", "cards.txt"),
    ("Our offices are open from nine to five on weekdays.", None),
]
FEES = "what are the fees for international transfers?"


def qdrant_project(root: Path, embedder: FakeEmbedder, **store: object) -> Project:
    write_project(root, "- name: EnterpriseSearchPolicy\n  vector_store: {type: qdrant}\n")
    settings = {"type": "qdrant", "path": "qdrant-data", "collection": "faq", **store}
    (root / "endpoints.yml").write_text(
        "vector_store:\n" + "".join(f"  {key}: {value}\n" for key, value in settings.items())
    )
    client = QdrantClient(path=str(root / "qdrant-data"))
    client.create_collection(
        "faq",
        vectors_config=models.VectorParams(
            size=embedder.dimension, distance=models.Distance.COSINE
        ),
    )
    client.upsert(
        "faq",
        points=[
            models.PointStruct(
                id=index,
                vector=embedder.vector(text),
                payload={"text": text, "metadata": {"source": source} if source else {}},
            )
            for index, (text, source) in enumerate(POINTS)
        ],
    )
    client.close()  # the local engine allows one client per folder
    return load_project(root).project


def open_store(project: Project, embedder: FakeEmbedder | None):
    assert project.config.search is not None
    return asyncio.run(
        open_knowledge_base(project, project.config.search, embedder=embedder, cache_dir=None)
    )


def test_the_collection_is_searched_by_the_embedded_question(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    project = qdrant_project(tmp_path, embedder)
    base = open_store(project, embedder)
    assert base.method.startswith("qdrant (in process), collection faq")
    hits = asyncio.run(base.search(FEES, limit=2))
    assert [h.rank for h in hits] == [1, 2]
    assert hits[0].chunk.source == "fees.txt" and hits[0].chunk.text == POINTS[0][0]
    assert hits[0].score > hits[1].score
    assert embedder.texts == [FEES]  # the question alone: the collection is already filled
    assert "0.5% plus a small fee" in base.passage(FEES, hits[0])
    # the threshold goes to qdrant (its similarity: higher is better)
    assert asyncio.run(base.search(FEES, limit=3, threshold=0.99)) == []


def test_a_point_without_a_source_names_the_collection(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    base = open_store(qdrant_project(tmp_path, embedder), embedder)
    hits = asyncio.run(base.search(POINTS[2][0], limit=1))
    assert hits[0].chunk.source == "qdrant:faq"


def test_wrong_settings_and_no_embeddings_are_clear_errors(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    project = qdrant_project(tmp_path / "a", embedder, collection="missing")
    with pytest.raises(KnowledgeError, match="has no collection 'missing'"):
        open_store(project, embedder)

    project = qdrant_project(tmp_path / "b", embedder, content_payload_key="body")
    base = open_store(project, embedder)
    with pytest.raises(KnowledgeError, match="no text under 'body'"):
        asyncio.run(base.search(FEES))

    project = qdrant_project(tmp_path / "c", embedder)
    base = open_store(project, None)
    with pytest.raises(KnowledgeError, match="searched by embeddings"):
        asyncio.run(base.search(FEES))


def test_validate_warns_of_a_missing_collection(tmp_path: Path) -> None:
    from workbench.knowledge.store_checks import vector_store_issues

    project = qdrant_project(tmp_path, FakeEmbedder(), collection="missing")
    [issue] = vector_store_issues(project)
    assert issue.code == "vector-store-unavailable" and not issue.is_error
    assert "has no collection 'missing'" in issue.message
    assert issue.file.endswith("config.yml")
    assert vector_store_issues(qdrant_project(tmp_path / "ok", FakeEmbedder())) == []
