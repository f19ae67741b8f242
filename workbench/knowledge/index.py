"""The searchable form of the chunks: BM25 postings (no embeddings) or a matrix of unit
vectors (embeddings), rebuilt from per-document parts after every change.

BM25 scores are normalised into 0..1 so that `vector_store.threshold` means something
without embeddings:

    score(chunk) = bm25(query, chunk) / ((k1 + 1) * sum over distinct query words t of idf(t))

The denominator is BM25's upper bound for the query (every word, each very often), so the
order is BM25's and the scale is the same for every question: a chunk of average length
that holds every query word once scores 0.4, one that holds words carrying half of the
question's weight (rare words weigh more) once scores 0.2. A query word that no chunk
holds still counts in the denominator. Chunks sharing no word with the query are not hits.

Embedding scores are cosine similarities (-1..1; in practice 0..1), as Rasa's vector
stores report them. numpy computes them when it is installed (it comes with the local
embeddings extra); otherwise plain Python does, which is slower on large knowledge bases.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType

from workbench.knowledge.cache import unpack
from workbench.knowledge.model import Chunk, KnowledgeIssue
from workbench.understanding.lexical import bm25_idf
from workbench.understanding.words import terms

K1 = 1.5
B = 0.75


@dataclass(frozen=True)
class DocIndex:
    """One document's part of the index."""

    source: str
    key: str  # content hash, see cache.document_key
    chunks: tuple[Chunk, ...]
    counts: tuple[Counter[str], ...] = ()  # BM25: the words of each chunk
    vectors: bytes = b""  # embeddings: float32, one row per chunk
    dimension: int = 0
    issues: tuple[KnowledgeIssue, ...] = field(default=())


ChunkKey = tuple[str, int]  # (document, index of the chunk in it)


class TermIndex:
    """BM25 (k1 1.5, b 0.75) over every chunk, with postings so a query reads only the
    chunks that hold its words. Documents are added and removed one at a time, so saving a
    document updates the postings of its own words only."""

    def __init__(self) -> None:
        self.postings: dict[str, dict[ChunkKey, int]] = {}
        self.lengths: dict[ChunkKey, int] = {}
        self.length_sum = 0
        self._words: dict[str, tuple[Counter[str], ...]] = {}  # what each document added

    @property
    def total(self) -> int:
        return len(self.lengths)

    def add(self, source: str, counts: tuple[Counter[str], ...]) -> None:
        self.remove(source)
        self._words[source] = counts
        for index, chunk_counts in enumerate(counts):
            key = (source, index)
            length = sum(chunk_counts.values())
            self.lengths[key] = length
            self.length_sum += length
            for term, tf in chunk_counts.items():
                self.postings.setdefault(term, {})[key] = tf

    def remove(self, source: str) -> None:
        for index, chunk_counts in enumerate(self._words.pop(source, ())):
            key = (source, index)
            self.length_sum -= self.lengths.pop(key, 0)
            for term in chunk_counts:
                holders = self.postings.get(term)
                if holders is not None:
                    holders.pop(key, None)
                    if not holders:
                        del self.postings[term]

    def idf(self, term: str) -> float:
        return bm25_idf(len(self.postings.get(term, ())), self.total)

    def scores(self, query: str) -> dict[ChunkKey, float]:
        """Normalised score of every chunk that holds a query word."""
        wanted = list(dict.fromkeys(terms(query)))
        if not wanted or not self.total:
            return {}
        average = (self.length_sum / self.total) or 1.0
        raw: dict[ChunkKey, float] = {}
        for term in wanted:
            holders = self.postings.get(term)
            if not holders:
                continue
            idf = self.idf(term)
            for key, tf in holders.items():
                norm = K1 * (1 - B + B * self.lengths[key] / average)
                raw[key] = raw.get(key, 0.0) + idf * tf * (K1 + 1) / (tf + norm)
        scale = (K1 + 1) * sum(self.idf(term) for term in wanted)
        return {k: min(1.0, s / scale) for k, s in raw.items()} if scale > 0 else {}


def chunk_counts(chunks: Sequence[Chunk]) -> tuple[Counter[str], ...]:
    return tuple(Counter(terms(chunk.text)) for chunk in chunks)


class VectorIndex:
    """Every chunk's vector, scaled to unit length, so a dot product is the cosine."""

    def __init__(self, docs: Sequence[DocIndex]) -> None:
        parts = [doc for doc in docs if doc.chunks]
        self.dimension = parts[0].dimension if parts else 0
        self._numpy = _numpy()
        data = b"".join(doc.vectors for doc in parts)
        self.size = sum(len(doc.chunks) for doc in parts)
        if self._numpy is not None:
            np = self._numpy
            matrix = np.frombuffer(data, dtype=np.float32).reshape(self.size, self.dimension)
            norms = np.linalg.norm(matrix, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            self._matrix = matrix / norms
            self._rows: list[list[float]] = []
        else:
            self._rows = [_unit(row) for row in unpack(data, self.dimension)] if data else []

    def similarities(self, query: Sequence[float]) -> list[float]:
        if len(query) != self.dimension:
            raise ValueError(
                f"the query vector has {len(query)} dimensions, the documents' {self.dimension}"
            )
        if not self.size:
            return []
        unit = _unit(query)
        if self._numpy is not None:
            product = self._matrix @ self._numpy.asarray(unit, dtype=self._numpy.float32)
            return [float(x) for x in product.tolist()]
        return [sum(a * b for a, b in zip(row, unit, strict=True)) for row in self._rows]


def _unit(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm else list(vector)


def _numpy() -> ModuleType | None:
    try:
        if importlib.util.find_spec("numpy") is None:
            return None
        return importlib.import_module("numpy")
    except (ImportError, ValueError):
        return None
