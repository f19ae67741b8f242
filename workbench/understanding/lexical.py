"""The one lexical ranker: Okapi BM25 over the words of a text (`words.py`).

`BM25Index` ranks documents given as plain text; flow retrieval uses it when no
embeddings model is configured (or embedding fails), and the offline generator reports
the flows it retrieved with the same ranking, so the Flows panel shows the same order
whichever generator runs.

`FieldIndex` is a field-weighted layer on the same BM25 idf, for the offline generator's
decisions: a document is made of weighted fields (for a flow: its name, its id, its
description, what its collect steps ask for) and its scores mean the same whatever the
number of flows:

    score(doc) = sum over distinct query terms t of
                 max over the doc's fields f that hold t of weight(f) * idf(t, f)

    idf(t, f)  = bm25_idf(number of docs holding t) / bm25_idf(1)
                 (for title fields counted over the title fields only, so a word that is in
                 one flow's name is a strong signal even if other descriptions use it)

Unknown query words of five letters or more may match a close vocabulary term (typos,
`difflib` ratio >= 0.85) at 80% of its weight.

Pure Python, deterministic.
"""

from __future__ import annotations

import difflib
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from workbench.project.model import Flow, Project
from workbench.understanding.words import terms


def bm25_idf(holding: int, total: int) -> float:
    return math.log((total - holding + 0.5) / (holding + 0.5) + 1.0)


@dataclass(frozen=True)
class BM25Index:
    """Okapi BM25 over documents given as {key: text}. Build once, query many times."""

    keys: tuple[str, ...]
    term_counts: tuple[Counter[str], ...]
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
        holding: Counter[str] = Counter()
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

    def matched(self, query: str, key: str) -> list[str]:
        """The distinct query terms that document `key` holds, in query order."""
        counts = self.term_counts[self.keys.index(key)]
        return [t for t in dict.fromkeys(terms(query)) if counts.get(t)]

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


@dataclass(frozen=True)
class Match:
    """One document's score, the query terms that produced it and how much of the query
    the document's main fields explain (`coverage`, 0..1)."""

    doc_id: str
    score: float
    matched: tuple[str, ...] = ()
    coverage: float = 0.0


class FieldIndex:
    """Documents with weighted fields, ranked against a query by `rank`.

    `fields` maps field name -> weight. `title_fields` get their idf counted over those
    fields only. `coverage_fields` are the fields whose matches count towards
    `Match.coverage`.
    """

    FUZZY_MIN_LENGTH = 5
    FUZZY_CUTOFF = 0.85
    FUZZY_FACTOR = 0.8

    def __init__(
        self,
        fields: Mapping[str, float],
        title_fields: Iterable[str] = (),
        coverage_fields: Iterable[str] | None = None,
    ) -> None:
        self.weights = dict(fields)
        self.title_fields = frozenset(title_fields)
        self.coverage_fields = frozenset(coverage_fields if coverage_fields is not None else fields)
        self.docs: dict[str, dict[str, frozenset[str]]] = {}
        self._idf: dict[tuple[str, bool], float] = {}
        self._vocabulary: list[str] | None = None

    def add(self, doc_id: str, fields: Mapping[str, Iterable[str]]) -> None:
        """Add a document: field name -> texts (each text is normalised and stemmed)."""
        doc: dict[str, frozenset[str]] = {}
        for name, texts in fields.items():
            if name not in self.weights:
                raise KeyError(f"unknown field {name!r}")
            bag: set[str] = set()
            for text in texts:
                if text:
                    bag.update(terms(text))
            doc[name] = frozenset(bag)
        self.docs[doc_id] = doc
        self._idf.clear()
        self._vocabulary = None

    def idf(self, term: str, title: bool = False) -> float:
        """Normalised idf: 1.0 for a term in exactly one document, less the more hold it."""
        key = (term, title)
        if key not in self._idf:
            total = len(self.docs)
            holding = 0
            for doc in self.docs.values():
                fields = (
                    (bag for name, bag in doc.items() if name in self.title_fields)
                    if title
                    else doc.values()
                )
                if any(term in bag for bag in fields):
                    holding += 1
            best = bm25_idf(1, max(total, 1))
            self._idf[key] = bm25_idf(holding, total) / best if holding and best else 0.0
        return self._idf[key]

    @property
    def vocabulary(self) -> list[str]:
        if self._vocabulary is None:
            vocab: set[str] = set()
            for doc in self.docs.values():
                for bag in doc.values():
                    vocab |= bag
            self._vocabulary = sorted(vocab)
        return self._vocabulary

    def expand(self, query_terms: Iterable[str]) -> list[tuple[str, float, str]]:
        """(vocabulary term, factor, query term) for each distinct query term that matches."""
        out: list[tuple[str, float, str]] = []
        seen: set[str] = set()
        vocab = set(self.vocabulary)
        for term in query_terms:
            if term in seen:
                continue
            seen.add(term)
            if term in vocab:
                out.append((term, 1.0, term))
            elif len(term) >= self.FUZZY_MIN_LENGTH and not term.isdigit():
                close = difflib.get_close_matches(
                    term, self.vocabulary, n=1, cutoff=self.FUZZY_CUTOFF
                )
                if close:
                    out.append((close[0], self.FUZZY_FACTOR, term))
        return out

    def score(self, doc_id: str, query_terms: list[str]) -> Match:
        doc = self.docs[doc_id]
        total = 0.0
        matched: list[str] = []
        covered = 0
        for term, factor, original in self.expand(query_terms):
            best = 0.0
            in_main = False
            for name, bag in doc.items():
                if term not in bag:
                    continue
                best = max(best, self.weights[name] * self.idf(term, name in self.title_fields))
                in_main = in_main or name in self.coverage_fields
            if best > 0:
                total += best * factor
                matched.append(original if factor == 1.0 else f"{original}~{term}")
                covered += in_main
        distinct = len(set(query_terms))
        coverage = covered / distinct if distinct else 0.0
        return Match(doc_id, round(total, 4), tuple(matched), round(coverage, 4))

    def rank(self, query: str | Iterable[str]) -> list[Match]:
        """Every document with its score, best first (ties by id, so the order is stable)."""
        query_terms = terms(query) if isinstance(query, str) else list(query)
        matches = [self.score(doc_id, query_terms) for doc_id in self.docs]
        return sorted(matches, key=lambda m: (-m.score, m.doc_id))
