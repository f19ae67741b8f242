"""A Qdrant collection as Rasa's `Qdrant_Store` searches it: the nearest points (at most
`limit`, scoring at least `threshold`, Qdrant's own similarity), each point's text under
`content_payload_key` and its metadata under `metadata_payload_key` (endpoints.yml's
`vector_store:` section, Rasa's defaults `text` and `metadata`).

The client is the official one (`pip install calm-workbench[qdrant]`); what every
collection store shares is `workbench.knowledge.collection`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from workbench.calm.values import JSONObject
from workbench.knowledge.collection import (
    CollectionBase,
    Row,
    StoreSettings,
    as_object,
    connect,
    store_settings,
)
from workbench.knowledge.model import Embedder
from workbench.project.model import Project

DEFAULT_CONTENT_KEY = "text"
DEFAULT_METADATA_KEY = "metadata"
DEFAULT_PORT = 6333
DEFAULT_GRPC_PORT = 6334
DEFAULT_TIMEOUT_S = 5


class QdrantBase(CollectionBase):
    """A qdrant collection: Qdrant applies the threshold itself (its score: higher is
    better for cosine and dot, and it turns the comparison round for distances)."""

    kind = "qdrant"
    content_hint = ": check content_payload_key in endpoints.yml"

    def __init__(
        self, client: object, settings: StoreSettings, embedder: Embedder | None, where: str
    ) -> None:
        content_key = settings.text("content_payload_key") or DEFAULT_CONTENT_KEY
        super().__init__(client, settings.collection, content_key, embedder, where)
        self.vector_name = settings.text("vector_name") or ""
        self.metadata_key = settings.text("metadata_payload_key") or DEFAULT_METADATA_KEY

    def _nearest(self, vector: list[float], limit: int, threshold: float) -> list[Row]:
        options: dict[str, object] = {
            "collection_name": self.collection,
            "query": vector,
            "limit": limit,
            "score_threshold": threshold,
            "with_payload": True,
        }
        if self.vector_name:
            options["using"] = self.vector_name
        query_points = getattr(self.client, "query_points")  # noqa: B009 - the untyped client
        response = query_points(**options)
        points = getattr(response, "points", response)
        return [
            (as_object(getattr(point, "payload", None)), float(point.score))
            for point in (points if isinstance(points, Sequence) else [])
        ]

    def _metadata(self, entry: JSONObject) -> JSONObject:
        return as_object(entry.get(self.metadata_key))


def open_qdrant(project: Project, embedder: Embedder | None, where: str) -> QdrantBase:
    """The client for endpoints.yml's `vector_store:` (the same keys Rasa reads); raises
    KnowledgeError when the section names no collection or the collection is missing."""
    settings = store_settings(project, "qdrant")
    from qdrant_client import QdrantClient

    def opened() -> tuple[QdrantClient, bool]:
        https = settings.values.get("https")
        client = QdrantClient(
            location=settings.text("location"),
            url=settings.text("url"),
            port=settings.number("port", DEFAULT_PORT),
            grpc_port=settings.number("grpc_port", DEFAULT_GRPC_PORT),
            prefer_grpc=bool(settings.values.get("prefer_grpc", False)),
            https=https if isinstance(https, bool) else None,
            api_key=settings.text("api_key"),
            prefix=settings.text("prefix"),
            timeout=settings.number("timeout", DEFAULT_TIMEOUT_S),
            host=settings.text("host"),
            path=_path(project, settings.text("path")),
        )
        return client, client.collection_exists(settings.collection)

    client = connect(where, settings.collection, opened)
    return QdrantBase(client, settings, embedder, where)


def _path(project: Project, path: str | None) -> str | None:
    if path is None or Path(path).is_absolute():
        return path
    return str(project.root / path)
