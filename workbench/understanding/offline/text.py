"""Text matching for the offline generator: normalising, stemming, field-weighted ranking.

Standard library only, deterministic. (`lexical.py` holds the plain BM25 ranker that flow
retrieval uses; the offline generator needs field weights and scores that mean the same
whatever the number of flows, so it ranks with `FieldIndex` below.)

A document is made of weighted fields (for a flow: its name, its id, its description,
what its collect steps ask for). The score is a field-weighted TF-IDF with binary term
frequency and BM25's idf, normalised so that a term found in exactly one document scores
1.0 times the field weight whatever the number of documents:

    score(doc) = sum over distinct query terms t of
                 max over the doc's fields f that hold t of weight(f) * idf(t, f)

    idf(t, f)  = bm25_idf(number of docs holding t) / bm25_idf(1)
                 (for title fields counted over the title fields only, so a word that is in
                 one flow's name is a strong signal even if other descriptions use it)

Unknown query words of five letters or more may match a close vocabulary term (typos,
`difflib` ratio >= 0.85) at 80% of its weight.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "STOP_WORDS",
    "FieldIndex",
    "Match",
    "normalize",
    "stem",
    "terms",
    "words",
]

# Function words and the words of a request ("I would like to ...") that say nothing about
# what is requested. "where" is kept on purpose: flow descriptions use it ("tell the
# customer where their order is").
_STOP_TEXT = """
    a an the and or but if then else so of to in on at by for with from about as into onto
    over under up down out off again further than too very just also only own same such
    i me my mine myself we us our ours ourselves you your yours yourself yourselves he him
    his she her hers it its itself they them their theirs themselves this that these those
    am is are was were be been being have has had having do does did doing done
    will would shall should can could may might must ought
    want wanted wants wanna like need needs needed please pls plz kindly help let lets
    tell say said know get got getting give make some any something anything thing things
    there here now still yet already ok okay hey hi hello thanks thank um uh er hmm well
    really actually maybe just quite much many how what which who whom whose why when
    not no nor all each every both few more most other
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_CONTRACTIONS = (
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"\bcannot\b"), "can not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bshan't\b"), "shall not"),
    (re.compile(r"\bain't\b"), "is not"),
    (re.compile(r"\b(\w+)n't\b"), r"\1 not"),
    (
        re.compile(r"\b(does|do|did|is|are|was|were|has|have|had|could|would|should|ca)nt\b"),
        r"\1 not",
    ),
    (re.compile(r"\bca not\b"), "can not"),
    (re.compile(r"\blet's\b"), "let us"),
    (re.compile(r"\b(i|you|we|they|he|she|it|that|there|who|what)'d\b"), r"\1 would"),
    (re.compile(r"\b(i|you|we|they|he|she|it|that|there|who|what)'ll\b"), r"\1 will"),
    (re.compile(r"\b(i|you|we|they)'ve\b"), r"\1 have"),
    (re.compile(r"\b(you|we|they|what|who)'re\b"), r"\1 are"),
    (re.compile(r"\bi'm\b"), "i am"),
    (re.compile(r"\b(it|that|what|where|who|how|there|here|he|she)'s\b"), r"\1 is"),
    (re.compile(r"'s\b"), ""),
)
_WORD = re.compile(r"[a-z0-9]+")


def normalize(text: str) -> str:
    """Lowercase, typographic apostrophes unified, contractions expanded, spaces collapsed."""
    text = str(text).translate(_APOSTROPHES).lower()
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def words(text: str) -> list[str]:
    """The words of a text (normalised; `_` and `-` separate words)."""
    return _WORD.findall(normalize(text).replace("_", " "))


def stem(word: str) -> str:
    """A light suffix stripper: plural -s/-es/-ies, -ing, -ed, a final -e, doubled letter.

    Applied to both sides of every comparison, so only consistency matters:
    arrive/arrived/arriving -> arriv, ship/shipped/shipping -> ship, returns -> return.
    """
    w = word
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w.endswith("ing") and len(w) >= 6:
        w = w[:-3]
    elif w.endswith("ed") and len(w) >= 5:
        w = w[:-2]
    if w.endswith("e") and len(w) >= 4:
        w = w[:-1]
    if len(w) >= 4 and w[-1] == w[-2]:
        w = w[:-1]
    return w


def terms(text: str, stop_words: frozenset[str] = STOP_WORDS) -> list[str]:
    """Stemmed content terms of a text, in order (duplicates kept)."""
    return [stem(w) for w in words(text) if w not in stop_words]


def bm25_idf(holding: int, total: int) -> float:
    return math.log((total - holding + 0.5) / (holding + 0.5) + 1.0)


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
