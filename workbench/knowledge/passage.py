"""The offline answer from a prose chunk: the few consecutive sentences that share the most
(rare) words with the question, not the whole 1,000-character chunk.

Sentences end at `.`, `!` or `?` followed by white space, and at line ends (a heading or a
list item is a sentence of its own). A window of `sentences` consecutive sentences is
scored by the query words it holds, each counted once and weighted by how rare it is in
the knowledge base; among equal windows, the one where they occur most often, then the one
whose first sentence matches best (a question with its answer beats the question with the
sentences before it), then the earliest (so with no word in common, the chunk's first
sentences).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from workbench.understanding.words import terms

SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences_of(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def best_passage(
    query: str,
    text: str,
    sentences: int = 3,
    weight: Callable[[str], float] | None = None,
) -> str:
    """The best `sentences` consecutive sentences of `text` for `query`, joined by a space."""
    parts = sentences_of(text)
    count = max(1, sentences)
    if len(parts) <= count:
        return " ".join(parts)
    wanted = set(terms(query))
    words = [set(terms(part)) & wanted for part in parts]

    def weigh(held: set[str]) -> float:
        return sum(weight(t) if weight else 1.0 for t in held)

    best_start, best_score = 0, (-1.0, -1.0, -1.0)
    for start in range(len(parts) - count + 1):
        window = words[start : start + count]
        score = (
            weigh(set().union(*window)),
            sum(weigh(held) for held in window),
            weigh(window[0]),  # a passage starts where the match is
        )
        if score > best_score:
            best_start, best_score = start, score
    return " ".join(parts[best_start : best_start + count])
