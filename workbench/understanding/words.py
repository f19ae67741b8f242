"""The words of a text, as every ranker and rule compares them: normalised (case,
apostrophes, contractions), split on non-letters and `_`/`-`, stop words left out and
lightly stemmed, so `check_order_status` gives "check", "order", "status" and "orders"
matches "order".

Standard library only, deterministic. Flow retrieval's BM25 and the offline generator's
field-weighted ranking (`lexical.py`) and the offline rules all use these, so a word means
the same to each of them.
"""

from __future__ import annotations

import re
from functools import lru_cache

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
    return _normalize(str(text))


# the same slot values, flow texts and category names are normalised on every turn
@lru_cache(maxsize=8192)
def _normalize(text: str) -> str:
    text = text.translate(_APOSTROPHES).lower()
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def words(text: str) -> list[str]:
    """The words of a text (normalised; `_` and `-` separate words)."""
    return _WORD.findall(normalize(text).replace("_", " "))


@lru_cache(maxsize=16384)
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
