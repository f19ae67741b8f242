"""A Qdrant collection as Rasa's `Qdrant_Store` searches it: the question embedded with
the policy's embeddings model, the collection's nearest points (at most `limit`, scoring at
least `threshold`, Qdrant's own similarity), each point's text under
`content_payload_key` and its metadata under `metadata_payload_key` (endpoints.yml's
`vector_store:` section, Rasa's defaults `text` and `metadata`).

The collection is filled by someone else, so there is nothing to index or refresh here.
Chunks name their `source` (and `line`) when the points' metadata has them, else the
collection. The client is the official one (`pip install calm-workbench[qdrant]`); its
calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from pathlib import Path

from workbench.calm.values import JSONObject, JSONValue
from workbench.knowledge.model import Chunk, Embedder, Hit, KnowledgeError, KnowledgeIssue
from workbench.knowledge.passage import best_passage
from workbench.project.model import Project

DEFAULT_CONTENT_KEY = "text"
DEFAULT_METADATA_KEY = "metadata"
DEFAULT_PORT = 6333
DEFAULT_GRPC_PORT = 6334
DEFAULT_TIMEOUT_S = 5


class QdrantBase:
    """`KnowledgeBase`'s interface over a Qdrant collection."""

    def __init__(
        self, client: object, settings: JSONObject, embedder: Embedder | None, where: str
    ) -> None:
        self.client = client
        self.collection = str(settings.get("collection") or "")
        self.vector_name = str(settings.get("vector_name") or "")
        self.content_key = str(settings.get("content_payload_key") or DEFAULT_CONTENT_KEY)
        self.metadata_key = str(settings.get("metadata_payload_key") or DEFAULT_METADATA_KEY)
        self.embedder = embedder
        self.method = f"{where}, collection {self.collection}"
        self.issues: list[KnowledgeIssue] = []

    async def search(self, query: str, *, limit: int = 3, threshold: float = 0.0) -> list[Hit]:
        if not query.strip() or limit < 1:
            return []
        if self.embedder is None:
            raise KnowledgeError(
                "a qdrant collection is searched by embeddings, and the policy's embeddings "
                "model cannot be called here (no credentials, or --offline)"
            )
        try:
            vectors = await self.embedder([query])
        except KnowledgeError:
            raise
        except Exception as error:  # LLMError, a bad reply
            raise KnowledgeError(f"embedding the question failed: {error}") from error
        options: dict[str, object] = {
            "collection_name": self.collection,
            "query": vectors[0],
            "limit": limit,
            "score_threshold": threshold,
            "with_payload": True,
        }
        if self.vector_name:
            options["using"] = self.vector_name
        query_points = getattr(self.client, "query_points")  # noqa: B009 - the untyped client
        try:
            response = await asyncio.to_thread(query_points, **options)
        except Exception as error:  # the server, the collection, the vector size
            raise KnowledgeError(
                f"searching qdrant collection {self.collection!r}: {error}"
            ) from error
        points = getattr(response, "points", response)
        return [
            Hit(self._chunk(getattr(point, "payload", None)), float(point.score), rank)
            for rank, point in enumerate(points if isinstance(points, Sequence) else [], 1)
        ]

    def passage(self, query: str, hit: Hit, sentences: int = 3) -> str:
        if hit.chunk.answer is not None:
            return hit.chunk.answer
        return best_passage(query, hit.chunk.text, sentences)

    async def refresh(self, changed: Iterable[Path] | None = None) -> None:
        """Nothing to do: the collection is kept up to date by whoever fills it."""

    def _chunk(self, payload: object) -> Chunk:
        data: dict[str, JSONValue] = payload if isinstance(payload, dict) else {}
        text = data.get(self.content_key)
        if not isinstance(text, str):
            raise KnowledgeError(
                f"a point of qdrant collection {self.collection!r} has no text under "
                f"{self.content_key!r}: check content_payload_key in endpoints.yml"
            )
        metadata = data.get(self.metadata_key)
        metadata = metadata if isinstance(metadata, dict) else {}
        source = metadata.get("source")
        line = metadata.get("line")
        answer = metadata.get("answer")
        return Chunk(
            source=str(source) if source else f"qdrant:{self.collection}",
            line=line if isinstance(line, int) and not isinstance(line, bool) else 0,
            text=text,
            answer=answer if isinstance(answer, str) else None,
        )


def open_qdrant(project: Project, embedder: Embedder | None, where: str) -> QdrantBase:
    """The client for endpoints.yml's `vector_store:` (the same keys Rasa reads); raises
    KnowledgeError when the section names no collection or the collection is missing."""
    settings = project.endpoints.raw.get("vector_store")
    settings = settings if isinstance(settings, dict) else {}
    if not settings.get("collection"):
        raise KnowledgeError("the qdrant vector store needs `collection:` in endpoints.yml")
    from qdrant_client import QdrantClient

    def number(key: str, default: int) -> int:
        value = settings.get(key)
        try:
            return int(str(value)) if value is not None else default
        except ValueError:
            return default

    def text(key: str) -> str | None:
        value = settings.get(key)
        return str(value) if value not in (None, "") else None

    https = settings.get("https")
    try:
        client = QdrantClient(
            location=text("location"),
            url=text("url"),
            port=number("port", DEFAULT_PORT),
            grpc_port=number("grpc_port", DEFAULT_GRPC_PORT),
            prefer_grpc=bool(settings.get("prefer_grpc", False)),
            https=https if isinstance(https, bool) else None,
            api_key=text("api_key"),
            prefix=text("prefix"),
            timeout=number("timeout", DEFAULT_TIMEOUT_S),
            host=text("host"),
            path=_path(project, text("path")),
        )
        exists = client.collection_exists(str(settings["collection"]))
    except Exception as error:  # a bad option, an unreachable server, a locked folder
        raise KnowledgeError(f"cannot open {where}: {error}") from error
    if not exists:
        raise KnowledgeError(
            f"{where} has no collection {settings['collection']!r}; fill it first (Rasa "
            "searches a collection someone else filled)"
        )
    return QdrantBase(client, settings, embedder, where)


def _path(project: Project, path: str | None) -> str | None:
    if path is None or Path(path).is_absolute():
        return path
    return str(project.root / path)
