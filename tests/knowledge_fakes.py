"""A small stand-in knowledge base for the answering tests: the documents under the
policy's source, cut at blank lines (or read as Q/A pairs), ranked by shared words or,
given an embedder, by cosine similarity of the vectors it returns.

    opener = FakeOpener()
    service = KnowledgeService(opener=opener)
    ...
    opener.bases[0].refreshed     # the paths each refresh was given
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from workbench.knowledge.model import Embedder, Hit
from workbench.knowledge.settings import SearchSettings
from workbench.project.model import Project
from workbench.understanding.words import terms

PAIR = re.compile(r"Q:\s*(?P<q>.+?)\s*\n\s*A:\s*(?P<a>.+)", re.DOTALL)


@dataclass(frozen=True)
class FakeChunk:
    source: str
    line: int
    text: str
    answer: str | None = None


@dataclass(frozen=True)
class FakeHit:
    chunk: FakeChunk
    score: float
    rank: int


@dataclass
class FakeBase:
    root: Path
    settings: SearchSettings
    embedder: Embedder | None = None
    model_id: str | None = None
    issues: list[str] = field(default_factory=list)
    refreshed: list[list[Path]] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    chunks: list[FakeChunk] = field(default_factory=list)
    vectors: list[list[float]] = field(default_factory=list)

    @property
    def method(self) -> str:
        return f"embeddings {self.model_id}" if self.embedder else "bm25"

    async def load(self) -> None:
        folder = self.root / (self.settings.docs_source or "docs")
        self.chunks = []
        for path in sorted(folder.rglob("*.txt")):
            source = path.relative_to(self.root).as_posix()
            self.chunks.extend(self._chunks(source, path.read_text(encoding="utf-8")))
        if self.embedder is not None:
            self.vectors = await self.embedder([c.text for c in self.chunks])

    def _chunks(self, source: str, text: str) -> list[FakeChunk]:
        chunks = []
        for match in re.finditer(r"\S.*?(?=\n\s*\n|\Z)", text, re.DOTALL):
            block, line = match.group(0).strip(), text.count("\n", 0, match.start()) + 1
            pair = PAIR.match(block)
            if self.settings.use_generative_llm:
                chunks.append(FakeChunk(source, line, block))
            elif pair:
                chunks.append(FakeChunk(source, line, pair["q"], pair["a"].strip()))
        return chunks

    async def search(
        self, query: str, *, limit: int = 3, threshold: float = 0.0
    ) -> Sequence[FakeHit]:
        self.queries.append(query)
        if self.embedder is not None:
            wanted = (await self.embedder([query]))[0]
            scores = [_cosine(wanted, vector) for vector in self.vectors]
        else:
            query_terms = set(terms(query))
            scores = [
                len(query_terms & set(terms(c.text))) / (len(query_terms) or 1) for c in self.chunks
            ]
        ranked = sorted(
            ((i, s) for i, s in enumerate(scores) if s > max(threshold, 0.0)),
            key=lambda item: -item[1],
        )
        return [
            FakeHit(self.chunks[i], round(s, 4), rank)
            for rank, (i, s) in enumerate(ranked[:limit], start=1)
        ]

    def passage(self, query: str, hit: Hit, sentences: int = 3) -> str:
        parts = [s for s in re.split(r"(?<=[.!?])\s+", hit.chunk.text) if s]
        wanted = set(terms(query))
        best = max(
            range(max(1, len(parts) - sentences + 1)),
            key=lambda i: len(wanted & set(terms(" ".join(parts[i : i + sentences])))),
        )
        return " ".join(parts[best : best + sentences])

    def term_weight(self, term: str) -> float:
        return 1.0

    async def refresh(self, changed: Iterable[Path] | None = None) -> None:
        self.refreshed.append(list(changed or []))
        await self.load()


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


@dataclass
class FakeOpener:
    """An `Opener` for `KnowledgeService`; `error` makes opening fail with it."""

    bases: list[FakeBase] = field(default_factory=list)
    error: Exception | None = None

    async def __call__(
        self,
        project: Project,
        settings: SearchSettings,
        embedder: Embedder | None,
        model_id: str | None,
        cache_dir: Path | None,
    ) -> FakeBase:
        if self.error is not None:
            raise self.error
        base = FakeBase(project.root, settings, embedder, model_id)
        await base.load()
        self.bases.append(base)
        return base
