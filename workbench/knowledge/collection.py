"""A collection in a remote vector store (qdrant, milvus), searched as Rasa searches one:
the question embedded with the policy's embeddings model, the collection's nearest
entries, each entry's text and metadata made into a chunk.

The collection is filled by someone else (Rasa's ingestion, a script), so there is nothing
to index or refresh here. What differs per store is how the client is asked for the
nearest entries and where an entry keeps its metadata (`QdrantBase`, `MilvusBase`); the
rest — the embedded question, the errors, the chunks, the passages — is this module's.
A chunk names its `source` (and `line`) when the entry's metadata has them, else the
collection. Client calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from workbench.calm.values import JSONObject, JSONValue
from workbench.knowledge.model import Chunk, Embedder, Hit, KnowledgeError, KnowledgeIssue
from workbench.knowledge.passage import best_passage
from workbench.project.model import Project

# an entry of the collection as the client returned it (qdrant's payload, milvus' entity)
# and its score as the store computed it
Row = tuple[JSONObject, float]
Client = TypeVar("Client")


@dataclass(frozen=True)
class StoreSettings:
    """endpoints.yml's `vector_store:` section (`${ENV}` already substituted by the loader),
    read the forgiving way Rasa reads it: a value that is not a number gives the default."""

    values: JSONObject

    @property
    def collection(self) -> str:
        return str(self.values.get("collection") or "")

    def text(self, key: str) -> str | None:
        value = self.values.get(key)
        return str(value) if value not in (None, "") else None

    def number(self, key: str, default: int) -> int:
        value = self.values.get(key)
        try:
            return int(str(value)) if value is not None else default
        except ValueError:
            return default


def store_settings(project: Project, kind: str) -> StoreSettings:
    """The `vector_store:` section; KnowledgeError when it names no collection."""
    values = project.endpoints.raw.get("vector_store")
    settings = StoreSettings(values if isinstance(values, dict) else {})
    if not settings.collection:
        raise KnowledgeError(f"the {kind} vector store needs `collection:` in endpoints.yml")
    return settings


def connect(where: str, collection: str, opened: Callable[[], tuple[Client, bool]]) -> Client:
    """The client `opened` returns with whether `collection` exists; a failure (a bad
    option, an unreachable server, a locked folder) or a missing collection is a
    KnowledgeError naming `where`."""
    try:
        client, exists = opened()
    except Exception as error:
        raise KnowledgeError(f"cannot open {where}: {error}") from error
    if not exists:
        raise KnowledgeError(
            f"{where} has no collection {collection!r}; fill it first (Rasa searches a "
            "collection someone else filled)"
        )
    return client


class CollectionBase:
    """`KnowledgeBase`'s interface over a collection. A store subclasses it with
    `_nearest` (the client's search) and `_metadata` (where an entry keeps it)."""

    kind = ""  # "qdrant" | "milvus"
    content_hint = ""  # how to name another text key, for the error that none was found

    def __init__(
        self,
        client: object,
        collection: str,
        content_key: str,
        embedder: Embedder | None,
        where: str,
    ) -> None:
        self.client = client
        self.collection = collection
        self.content_key = content_key
        self.embedder = embedder
        self.method = f"{where}, collection {collection}"
        self.issues: list[KnowledgeIssue] = []

    async def search(self, query: str, *, limit: int = 3, threshold: float = 0.0) -> list[Hit]:
        if not query.strip() or limit < 1:
            return []
        vector = await self._embedded(query)
        try:
            rows = await asyncio.to_thread(self._nearest, vector, limit, threshold)
        except Exception as error:  # the server, the collection, the vector size
            raise KnowledgeError(
                f"searching {self.kind} collection {self.collection!r}: {error}"
            ) from error
        return [Hit(self._chunk(entry), score, rank) for rank, (entry, score) in enumerate(rows, 1)]

    def passage(self, query: str, hit: Hit, sentences: int = 3) -> str:
        if hit.chunk.answer is not None:
            return hit.chunk.answer
        return best_passage(query, hit.chunk.text, sentences)

    def term_weight(self, term: str) -> float:
        """Every term alike: the collection's texts are not counted here."""
        return 1.0

    async def refresh(self, changed: Iterable[Path] | None = None) -> None:
        """Nothing to do: the collection is kept up to date by whoever fills it."""

    def _nearest(self, vector: list[float], limit: int, threshold: float) -> list[Row]:
        """The nearest entries, best first, at most `limit`, those failing `threshold`
        left out (runs in a worker thread)."""
        raise NotImplementedError

    def _metadata(self, entry: JSONObject) -> JSONObject:
        raise NotImplementedError

    async def _embedded(self, query: str) -> list[float]:
        if self.embedder is None:
            raise KnowledgeError(
                f"a {self.kind} collection is searched by embeddings, and the policy's "
                "embeddings model cannot be called here (no credentials, or --offline)"
            )
        try:
            vectors = await self.embedder([query])
        except KnowledgeError:
            raise
        except Exception as error:  # LLMError, a bad reply
            raise KnowledgeError(f"embedding the question failed: {error}") from error
        return vectors[0]

    def _chunk(self, entry: JSONObject) -> Chunk:
        text = entry.get(self.content_key)
        if not isinstance(text, str):
            raise KnowledgeError(
                f"an entry of {self.kind} collection {self.collection!r} has no text under "
                f"{self.content_key!r}{self.content_hint}"
            )
        metadata = self._metadata(entry)
        source = metadata.get("source")
        line = metadata.get("line")
        answer = metadata.get("answer")
        return Chunk(
            source=str(source) if source else f"{self.kind}:{self.collection}",
            line=line if isinstance(line, int) and not isinstance(line, bool) else 0,
            text=text,
            answer=answer if isinstance(answer, str) else None,
        )


def as_object(value: JSONValue | object) -> JSONObject:
    """A client's record as a JSON object ({} when it is none)."""
    return value if isinstance(value, dict) else {}
