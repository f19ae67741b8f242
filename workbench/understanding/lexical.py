"""The plain BM25 ranker of flow retrieval, used when no embeddings model is configured
(or embedding fails). Pure Python, deterministic.

Terms come from `offline_text.terms` (the normaliser, stop words and stemmer the offline
generator uses), so `check_order_status` gives "check", "order", "status" and "orders"
matches "order".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from workbench.project.model import Flow, Project
from workbench.understanding.offline.text import bm25_idf, terms


@dataclass(frozen=True)
class BM25Index:
    """Okapi BM25 over documents given as {key: text}. Build once, query many times."""

    keys: tuple[str, ...]
    term_counts: tuple[Counter, ...]
    lengths: tuple[int, ...]
    idf: Mapping[str, float]
    average_length: float
    k1: float = 1.5
    b: float = 0.75

    @classmethod
    def build(cls, documents: Mapping[str, str], k1: float = 1.5, b: float = 0.75) -> BM25Index:
        keys = tuple(documents)
        counts = tuple(Counter(terms(documents[key])) for key in keys)
        lengths = tuple(sum(c.values()) for c in counts)
        holding: Counter = Counter()
        for c in counts:
            holding.update(c.keys())
        n = len(keys)
        idf = {term: bm25_idf(df, n) for term, df in holding.items()}
        average = (sum(lengths) / n) if n else 0.0
        return cls(keys, counts, lengths, idf, average or 1.0, k1, b)

    def scores(self, query: str) -> dict[str, float]:
        """Score of every document for `query` (0.0 when no query term occurs in it)."""
        query_terms = terms(query)
        result: dict[str, float] = {}
        for key, counts, length in zip(self.keys, self.term_counts, self.lengths, strict=True):
            score = 0.0
            norm = self.k1 * (1 - self.b + self.b * length / self.average_length)
            for term in query_terms:
                tf = counts.get(term)
                if tf:
                    score += self.idf[term] * tf * (self.k1 + 1) / (tf + norm)
            result[key] = score
        return result

    def rank(self, query: str) -> list[tuple[str, float]]:
        """Documents best first; ties keep the order the documents were given in."""
        scores = self.scores(query)
        order = {key: i for i, key in enumerate(self.keys)}
        return sorted(scores.items(), key=lambda item: (-item[1], order[item[0]]))


def flow_text(flow: Flow, project: Project, slot_names: Iterable[str] = ()) -> str:
    """What a flow is about, for keyword matching: id words, name, description, and the
    names, descriptions and allowed values of the slots it collects."""
    parts = [flow.id.replace("_", " ").replace("-", " "), flow.name, flow.description or ""]
    for name in slot_names:
        slot = project.slot(name)
        parts.append(name.replace("_", " "))
        parts.extend(s.description or "" for s in flow.steps if s.collect == name)
        if slot is not None:
            parts.append(slot.description or "")
            parts.extend(str(v) for v in slot.values)
    return " ".join(p for p in parts if p)
