"""What the answering side needs of the knowledge base: ranked chunks with their file and
line, a passage of a chunk, and a refresh after a document was saved.

The knowledge base itself (`workbench.knowledge.base`: indexing, chunking, BM25 or
embeddings, the cache under `.calm/`) is opened here, with an embedder whose every call
goes through the tape, so a recorded conversation replays its embeddings too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

from workbench.knowledge.model import Embedder, Hit
from workbench.knowledge.settings import SearchSettings
from workbench.project.model import Project


class SearchableBase(Protocol):
    """`KnowledgeBase` as the answering side uses it."""

    @property
    def method(self) -> str: ...

    @property
    def issues(self) -> Sequence[object]: ...  # documents skipped, with the reason

    async def search(
        self, query: str, *, limit: int = 3, threshold: float = 0.0
    ) -> Sequence[Hit]: ...

    def passage(self, query: str, hit: Hit, sentences: int = 3) -> str: ...

    def term_weight(self, term: str) -> float: ...  # how telling a (stemmed) term is

    async def refresh(self, changed: Iterable[Path] | None = None) -> None: ...


# (project, settings, embedder or None for BM25, its model id, cache folder or None)
Opener = Callable[
    [Project, SearchSettings, Embedder | None, str | None, Path | None],
    Awaitable[SearchableBase],
]


async def open_base(
    project: Project,
    settings: SearchSettings,
    embedder: Embedder | None,
    model_id: str | None,
    cache_dir: Path | None,
) -> SearchableBase:
    """The project's knowledge base, indexed (raises when it cannot be built)."""
    from workbench.knowledge.base import open_knowledge_base

    return await open_knowledge_base(
        project, settings, embedder=embedder, cache_dir=cache_dir, model_id=model_id
    )
