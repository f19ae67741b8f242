"""Reading slot values out of what people type: numbers, yes/no, categories, ids, emails.

Pure functions, standard library only, used by the offline generator. Nothing here knows
a particular project: categorical values and their button titles, the examples in a
slot's description ("such as A1001") and its name are passed in.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from workbench.understanding.words import STOP_WORDS, normalize, stem, words

__all__ = [
    "CategoricalMatch",
    "SlotShape",
    "clean_free_text",
    "find_emails",
    "format_number",
    "match_categorical",
    "parse_bool",
    "parse_number",
    "parse_ordinal",
    "shape_from_example",
]

# --- numbers ---------------------------------------------------------------------------------

_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_DIGIT_WORDS = {k: v for k, v in _UNITS.items() if v < 10}
_SUFFIX_SCALE = {"k": 1_000, "mn": 1_000_000, "bn": 1_000_000_000}
_SCALE_AFTER_DIGITS = {"hundred": 100, **_SCALES, "grand": 1_000}

# A number written with digits: not glued to a letter or another number on its left
# (so the 1001 of "A1001" is no number), thousands separators, a decimal point or comma,
# an optional currency sign before and a unit or suffix after (`3.5kg`, `5k`, `50%`).
_DIGITS = re.compile(
    r"""(?<![\w.,])
    (?P<sign>[-+\u2212])?
    (?P<currency>[$\u20ac\u00a3\u00a5])?\s?
    (?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?|\.\d+)
    (?P<suffix>[a-z%\u00b0]*)
    (?![\w])""",
    re.VERBOSE | re.IGNORECASE,
)
_WORD_TOKEN = re.compile(r"[a-z]+")


def format_number(value: float) -> str:
    """`50.0` -> "50", `3.5` -> "3.5": what goes on a `set slot` line."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _digits_value(match: re.Match[str], text: str) -> float:
    raw = match.group("number")
    if re.fullmatch(r"\d+,\d{1,2}", raw):  # a decimal comma: "3,50"
        raw = raw.replace(",", ".")
    value = float(raw.replace(",", ""))
    suffix = match.group("suffix").lower()
    if suffix in _SUFFIX_SCALE:
        value *= _SUFFIX_SCALE[suffix]
    else:
        after = _WORD_TOKEN.match(text.lower(), match.end() + (1 if not suffix else 0))
        if not suffix and after and after.group() in _SCALE_AFTER_DIGITS:
            value *= _SCALE_AFTER_DIGITS[after.group()]
    if match.group("sign") in ("-", "\u2212"):
        value = -value
    before = text[: match.start()].lower().split()
    if before and before[-1] in ("minus", "negative"):
        value = -value
    return value


def _is_number_word(word: str) -> bool:
    return word in _UNITS or word in _TENS or word in _SCALES or word in ("hundred", "dozen")


def _word_numbers(text: str) -> list[tuple[int, float]]:
    """(position, value) of each number written in words: "twenty five", "a hundred",
    "one thousand two hundred", "two and a half", "three point five"."""
    tokens = [(m.start(), m.group()) for m in _WORD_TOKEN.finditer(text.lower())]
    found: list[tuple[int, float]] = []
    i = 0
    while i < len(tokens):
        position, word = tokens[i]
        nxt = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        starts = _is_number_word(word) or (
            word in ("a", "an") and nxt in ("hundred", "thousand", "million", "dozen", "half")
        )
        if word == "half":
            starts = True
        if not starts:
            i += 1
            continue
        value, j = _read_word_number(tokens, i)
        if j > i:
            before = tokens[i - 1][1] if i > 0 else ""
            found.append((position, -value if before in ("minus", "negative") else value))
            i = j
        else:
            i += 1
    return found


def _read_word_number(tokens: list[tuple[int, str]], i: int) -> tuple[float, int]:
    total = 0.0
    current = 0.0
    seen = False
    j = i
    while j < len(tokens):
        word = tokens[j][1]
        nxt = tokens[j + 1][1] if j + 1 < len(tokens) else ""
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word in _SCALES:
            total += (current or 1) * _SCALES[word]
            current = 0
        elif word == "dozen":
            current = (current or 1) * 12
        elif word in ("a", "an") and nxt in ("hundred", "thousand", "million", "dozen", "half"):
            pass
        elif word == "half":
            current = current + 0.5 if seen else 0.5
        elif word == "and" and (nxt in ("a", "an") or _is_number_word(nxt)) and seen:
            pass
        elif word == "point" and seen and nxt in _DIGIT_WORDS:
            decimals = ""
            k = j + 1
            while k < len(tokens) and tokens[k][1] in _DIGIT_WORDS:
                decimals += str(_DIGIT_WORDS[tokens[k][1]])
                k += 1
            current += float("0." + decimals)
            j = k
            seen = True
            continue
        else:
            break
        seen = True
        j += 1
    # a trailing connector is not part of the number
    while j > i and tokens[j - 1][1] in ("and", "a", "an"):
        j -= 1
    return total + current, j


def parse_number(text: str) -> float | None:
    """The first number in a text, in digits or words; None if there is none.

    "$50" -> 50, "50 dollars" -> 50, "3.5 kg" -> 3.5, "1,200" -> 1200, "5k" -> 5000,
    "fifty" -> 50, "twenty five" -> 25, "a hundred" -> 100,
    "one thousand two hundred" -> 1200, "two and a half" -> 2.5, "minus 3" -> -3.
    Digits glued to letters ("A1001") are not numbers.
    """
    text = str(text).replace("\u2019", "'")
    candidates: list[tuple[int, float]] = []
    for match in _DIGITS.finditer(text):
        try:
            candidates.append((match.start(), _digits_value(match, text)))
        except ValueError:
            continue
    candidates.extend(_word_numbers(text))
    if not candidates:
        return None
    return min(candidates, key=lambda item: item[0])[1]


# --- yes / no ------------------------------------------------------------------------------

_YES_WORDS = {
    "yes",
    "yeah",
    "yea",
    "yep",
    "yup",
    "ya",
    "yas",
    "yess",
    "sure",
    "ok",
    "okay",
    "okey",
    "k",
    "kk",
    "correct",
    "right",
    "true",
    "affirmative",
    "absolutely",
    "definitely",
    "certainly",
    "indeed",
    "confirm",
    "confirmed",
    "confirming",
    "agreed",
    "agree",
    "alright",
    "aye",
    "exactly",
    "precisely",
    "positive",
    "y",
    "1",
}
_NO_WORDS = {
    "no",
    "nope",
    "nah",
    "nay",
    "naw",
    "negative",
    "never",
    "false",
    "incorrect",
    "wrong",
    "n",
    "0",
}
_YES_PHRASES = (
    "go ahead",
    "please do",
    "of course",
    "that is right",
    "that is correct",
    "sounds good",
    "sounds great",
    "do it",
    "i do",
    "for sure",
    "why not",
    "go for it",
    "let us do it",
    "i am sure",
    "that works",
    "works for me",
    "fine by me",
    "that is fine",
    "yes please",
    "i would like that",
    "i would love that",
    "please proceed",
    "proceed",
    "that is it",
)
_NO_PHRASES = (
    "not really",
    "i do not think so",
    "do not think so",
    "no thanks",
    "no thank you",
    "i would rather not",
    "rather not",
    "not now",
    "not at all",
    "i do not",
    "do not",
    "please do not",
    "not yet",
    "i changed my mind",
)
# answers to "anything else?" that mean no
_WEAK_YES = {"ok", "okay", "okey", "k", "kk", "alright", "right", "sure", "great", "cool"}
_CLOSING_PHRASES = (
    "that is all",
    "that is it",
    "that will be all",
    "nothing",
    "nothing else",
    "i am good",
    "i am fine",
    "i am done",
    "all set",
    "all good",
    "we are done",
    "bye",
    "goodbye",
    "good bye",
    "thanks",
    "thank you",
    "cheers",
    "no more",
)
_UNSURE = ("not sure", "i do not know", "do not know", "dunno", "maybe", "perhaps")


def _phrase_positions(text: str, phrases: Iterable[str]) -> list[int]:
    out = []
    for phrase in phrases:
        for match in re.finditer(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", text):
            out.append(match.start())
    return out


def parse_bool(text: str, closing_means_no: bool = False) -> bool | None:
    """Yes or no, from the first decisive word or phrase; None if neither or unsure.

    "yes" / "yeah" / "sure, go ahead" / "that's right" -> True; "no" / "nope" / "not really" /
    "don't" -> False; "not correct" -> False; "not sure" -> None. With `closing_means_no`
    (for "anything else?" questions) "that's all", "I'm good", "nothing", "thanks" -> False.
    """
    norm = normalize(text)
    flat = " ".join(words(norm))
    if not flat:
        thumbs = norm.count("\U0001f44d") - norm.count("\U0001f44e")
        return None if thumbs == 0 else thumbs > 0
    if _phrase_positions(flat, _UNSURE) and not _phrase_positions(flat, ("yes", "no")):
        return None
    hits: list[tuple[int, int, bool]] = []  # (position, -length, value)
    no_phrases = _NO_PHRASES + (_CLOSING_PHRASES if closing_means_no else ())
    yes_phrases = tuple(p for p in _YES_PHRASES if not (closing_means_no and p == "that is it"))
    for phrase in yes_phrases:
        hits.extend((p, -len(phrase), True) for p in _phrase_positions(flat, [phrase]))
    for phrase in no_phrases:
        hits.extend((p, -len(phrase), False) for p in _phrase_positions(flat, [phrase]))
    tokens = flat.split()
    offset = 0
    for index, token in enumerate(tokens):
        position = flat.index(token, offset)
        offset = position + len(token)
        previous = tokens[index - 1] if index else ""
        if token in _YES_WORDS:
            if token in ("y", "1", "k", "right", "positive") and len(tokens) > 2:
                continue  # only as a whole short answer
            if previous == "not":
                hits.append((position - 4, -len(token) - 4, False))
            else:
                hits.append((position, -len(token), True))
        elif token in _NO_WORDS:
            if token in ("n", "0", "never", "wrong", "negative") and len(tokens) > 3:
                continue
            hits.append((position, -len(token), False))
    if not hits:
        return None
    hits.sort()
    if closing_means_no and hits[0][2] and any(not value for _, _, value in hits):
        first_yes = flat[hits[0][0] :].split()[0] if flat[hits[0][0] :].split() else ""
        if first_yes in _WEAK_YES:
            return False  # "ok thanks", "sure, that's all"
    return hits[0][2]


# --- ordinals (button choices) ------------------------------------------------------------

_ORDINALS = {
    "first": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
    "5th": 4,
    "sixth": 5,
    "6th": 5,
    "last": -1,
}


def parse_ordinal(text: str, count: int) -> int | None:
    """The index of a choice named by position: "the first one", "option 2", "the last"."""
    tokens = words(text)
    if not tokens or len(tokens) > 5 or count <= 0:
        return None
    for index, token in enumerate(tokens):
        if token in _ORDINALS:
            value = _ORDINALS[token]
            return count - 1 if value == -1 else (value if value < count else None)
        if token in ("option", "number", "choice", "button") and index + 1 < len(tokens):
            nxt = tokens[index + 1]
            number = int(nxt) if nxt.isdigit() else _UNITS.get(nxt)
            if number is not None and 1 <= number <= count:
                return number - 1
    return None


# --- categorical values ----------------------------------------------------------------------

_NEGATORS = {"not", "never", "no"}
_INTENSIFIERS = {"very", "really", "so", "too", "that", "at", "all", "quite", "totally", "fully"}
_NEG_PREFIXES = ("un", "dis", "in", "im", "non")

_POSITIVE = {
    "good",
    "great",
    "excellent",
    "amazing",
    "awesome",
    "perfect",
    "fantastic",
    "wonderful",
    "happy",
    "fine",
    "nice",
    "love",
    "loved",
    "helpful",
    "pleased",
    "brilliant",
    "superb",
    "satisfied",
    "positive",
    "glad",
    "cool",
    "well",
    "best",
    "thumbs",
    "\U0001f44d",
}
_NEGATIVE = {
    "bad",
    "terrible",
    "awful",
    "horrible",
    "poor",
    "unhappy",
    "disappointed",
    "disappointing",
    "useless",
    "unhelpful",
    "worst",
    "hate",
    "hated",
    "annoyed",
    "annoying",
    "frustrated",
    "frustrating",
    "angry",
    "negative",
    "meh",
    "rubbish",
    "dissatisfied",
    "unsatisfied",
    "\U0001f44e",
}


def _category_terms(text: str, bases: frozenset[str] = frozenset()) -> list[str]:
    """Stemmed content terms with negation folded in: "not satisfied", "unsatisfied" and
    "dissatisfied" all give `not_satisfi` (the prefixed forms only when the base is a term
    of the slot's values)."""
    out: list[str] = []
    negate = False
    for word in words(text):
        if word in _NEGATORS:
            negate = True
            continue
        if negate and word in _INTENSIFIERS:
            continue
        if word in STOP_WORDS:
            negate = False if word not in ("does", "do", "did", "is", "are", "was") else negate
            continue
        term = stem(word)
        for prefix in _NEG_PREFIXES:
            base = stem(word[len(prefix) :]) if word.startswith(prefix) else ""
            if base and base in bases:
                term = "not_" + base
                break
        if negate:
            term = term[4:] if term.startswith("not_") else "not_" + term
            negate = False
        out.append(term)
    return out


def _similar(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) < 4 or len(b) < 4 or a.startswith("not_") != b.startswith("not_"):
        return False
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.8


@dataclass(frozen=True)
class CategoricalMatch:
    value: str
    score: float
    strong: bool  # the whole value (or a whole button title) is in the message
    via: str = ""


def match_categorical(
    text: str,
    values: Sequence[str],
    titles: Mapping[str, Sequence[str]] | None = None,
    choices: Sequence[str] = (),
    allow_sentiment: bool = True,
) -> CategoricalMatch | None:
    """The categorical value a message names, or None if none (or two equally) match.

    A value is recognised by its own words (`store_credit` <- "store credit please"), by the
    title of a button that sets it ("It arrived damaged" -> `damaged`), partly by a word
    only that value has ("the credit one" -> `store_credit`), with typos (difflib), by
    position among `choices` (the ask response's buttons: "the second one"), and for a
    value pair such as satisfied/unsatisfied by sentiment ("great" / "terrible").
    """
    titles = titles or {}
    raw_forms: dict[str, list[str]] = {}
    for value in values:
        raw_forms[value] = [value.replace("_", " "), *titles.get(value, ())]
    base_terms: set[str] = set()
    for spellings in raw_forms.values():
        for spelling in spellings:
            base_terms.update(t for t in _category_terms(spelling) if not t.startswith("not_"))
    bases = frozenset(base_terms)
    forms_terms: dict[str, list[list[str]]] = {
        value: [t for t in (_category_terms(form, bases) for form in forms) if t]
        for value, forms in raw_forms.items()
    }
    message = _category_terms(text, bases)
    flat_message = " ".join(words(text))
    scores: dict[str, tuple[float, bool, str]] = {}

    # the value itself, exactly as written ("store_credit", "opening hours")
    for value in values:
        spelled = " ".join(words(value))
        if spelled and re.search(rf"(?<![a-z0-9]){re.escape(spelled)}(?![a-z0-9])", flat_message):
            negated = re.search(rf"\bnot\s+{re.escape(spelled)}\b", flat_message)
            if not negated:
                scores[value] = (1.0, True, "value")

    def present(term: str) -> bool:
        return any(_similar(term, m) for m in message)

    all_terms: dict[str, set[str]] = {
        v: {t for form in fs for t in form} for v, fs in forms_terms.items()
    }
    for value, forms in forms_terms.items():
        if value in scores:
            continue
        others: set[str] = (
            set().union(*(all_terms[v] for v in values if v != value)) if values else set()
        )
        best: tuple[float, bool, str] = (0.0, False, "")
        for index, form in enumerate(forms):
            matched = [t for t in form if present(t)]
            if not matched:
                continue
            via = "value words" if index == 0 else "button title"
            if len(matched) == len(form):
                candidate = (0.95 if index == 0 else 0.9, True, via)
            elif any(t not in others for t in matched):
                distinct = [t for t in form if t not in others]
                share = sum(1 for t in distinct if present(t)) / max(len(distinct), 1)
                candidate = (0.5 + 0.3 * share, False, via)
            else:
                continue
            best = max(best, candidate)
        if best[0] > 0:
            scores[value] = best

    if not scores and allow_sentiment:
        polar = _polar_pair(values, forms_terms)
        if polar is not None:
            positive, negative = polar
            feeling = _sentiment(text)
            if feeling is not None:
                chosen = positive if feeling else negative
                scores[chosen] = (0.7, False, "sentiment")

    if not scores and choices:
        position = parse_ordinal(text, len(choices))
        if position is None and flat_message.isdigit() and not any(v.isdigit() for v in values):
            number = int(flat_message)
            position = number - 1 if 1 <= number <= len(choices) else None
        if position is not None:
            scores[choices[position]] = (0.85, True, "choice position")

    if not scores:
        return None
    ranked = sorted(scores.items(), key=lambda item: (-item[1][0], values.index(item[0])))
    top_value, (top_score, strong, via) = ranked[0]
    if len(ranked) > 1 and ranked[1][1][0] >= top_score - 1e-9:
        return None  # two values match equally well: ask again rather than guess
    return CategoricalMatch(top_value, round(top_score, 3), strong, via)


def _polar_pair(
    values: Sequence[str], forms_terms: dict[str, list[list[str]]]
) -> tuple[str, str] | None:
    """(positive, negative) if the values are a pair such as satisfied/unsatisfied."""
    if len(values) != 2:
        return None
    first, second = (forms_terms[v][0] if forms_terms[v] else [] for v in values)
    if len(first) == 1 and second == ["not_" + first[0]]:
        return values[0], values[1]
    if len(second) == 1 and first == ["not_" + second[0]]:
        return values[1], values[0]
    return None


def _sentiment(text: str) -> bool | None:
    tokens = words(text)
    raw = normalize(text)
    score = 0
    negate = False
    for token in tokens:
        if token in _NEGATORS:
            negate = True
            continue
        if token in _POSITIVE:
            score += -1 if negate else 1
            negate = False
        elif token in _NEGATIVE:
            score += 1 if negate else -1
            negate = False
        elif token not in _INTENSIFIERS:
            negate = False
    score += raw.count("\U0001f44d") - raw.count("\U0001f44e")
    if score == 0:
        answer = parse_bool(text)
        return answer
    return score > 0


# --- text: emails, ids, free text ------------------------------------------------------------

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def find_emails(text: str) -> list[str]:
    return [m.group().rstrip(".") for m in _EMAIL.finditer(str(text))]


def shape_from_example(example: str) -> str:
    """A regex for tokens shaped like an example: "A1001" -> `[A-Za-z]\\d{4}`."""
    parts: list[str] = []
    previous: str | None = None
    count = 0

    def flush() -> None:
        if previous is None:
            return
        token = {"a": "[A-Za-z]", "d": r"\d"}.get(previous, re.escape(previous))
        parts.append(token + (f"{{{count}}}" if count > 1 else ""))

    for char in example:
        kind = "a" if char.isalpha() else "d" if char.isdigit() else char
        if kind == previous:
            count += 1
            continue
        flush()
        previous, count = kind, 1
    flush()
    return "".join(parts)


_EXAMPLE = re.compile(r"(?<![\w@])[A-Za-z#]{0,4}-?\d[A-Za-z0-9-]*(?![\w@])")
# "a contact handle starting with @", "begins with a #"
_PREFIX_HINT = re.compile(
    r"\b(?:start(?:s|ing)?|begin(?:s|ning)?)\s+with\s+(?:an?\s+)?[\"'`]?([@#$%&+~^])",
    re.IGNORECASE,
)
_N_DIGITS = re.compile(r"\b(\d{1,2})[- ]digits?\b", re.IGNORECASE)
_TOKEN = re.compile(r"#?[A-Za-z0-9][A-Za-z0-9-]*")
# three or more groups of digits split by single spaces or dashes: a card or account number
_DIGIT_GROUPS = re.compile(r"(?<![\w-])\d{2,6}(?:[ -]\d{2,6}){2,}(?![\w-])")


@dataclass(frozen=True)
class SlotShape:
    """What a text slot's value looks like, read from its name, description, the collect
    steps' descriptions and the question's text."""

    kind: str  # "email", "token" (an id, code, number, PIN), "prefixed" or "text"
    patterns: tuple[str, ...] = ()  # regexes of example values ("[A-Za-z]\d{4}")
    prefix: str = ""  # "prefixed": values start with this symbol ("@handle", "#tag")
    uppercase: bool = False  # examples write their letters in upper case
    digits_only: bool = False
    aliases: tuple[str, ...] = field(default_factory=tuple)

    @property
    def extractable(self) -> bool:
        """Whether a value is picked out of the message rather than the whole message."""
        return self.kind in ("email", "token", "prefixed")

    def extract(self, text: str, strict: bool = False) -> tuple[str, int] | None:
        """(value, rank) of the best token for an email/token slot: rank 0 matches an
        example's shape, 1 has the same kind of characters, 2 merely contains a digit.
        With `strict`, only rank 0 (or an email) is returned."""
        if self.kind == "email":
            emails = find_emails(text)
            return (emails[0], 0) if emails else None
        if self.kind == "prefixed":
            found = re.search(re.escape(self.prefix) + r"[\w][\w.\-]*", str(text))
            return (found.group().rstrip(".-"), 0) if found else None
        if self.kind != "token":
            return None
        without_emails = _EMAIL.sub(" ", str(text))
        best: tuple[int, int, str] | None = None
        # a number written in groups ("4111 1111 1111 1111") is one value, kept as written
        grouped = [m for m in _DIGIT_GROUPS.finditer(without_emails)]
        for match in grouped:
            joined = re.sub(r"[ -]", "", match.group())
            rank = 0 if any(re.fullmatch(p, joined) for p in self.patterns) else 1
            if self.patterns and rank and not self._same_classes(joined):
                continue
            if strict and rank > 0:
                continue
            if best is None or (rank, -1) < best[:2]:
                best = (rank, -1, match.group())
        for position, match in enumerate(_TOKEN.finditer(without_emails)):
            if any(g.start() <= match.start() < g.end() for g in grouped):
                continue
            token = match.group().lstrip("#").strip("-")
            if not token or not any(c.isdigit() for c in token):
                continue
            rank = 2
            if any(re.fullmatch(p, token) for p in self.patterns):
                rank = 0
            elif self._same_classes(token):
                rank = 1
            if strict and rank > 0:
                continue
            if best is None or (rank, position) < best[:2]:
                best = (rank, position, token)
        if best is None:
            return None
        value = best[2].upper() if self.uppercase else best[2]
        return value, best[0]

    def _same_classes(self, token: str) -> bool:
        has_letters = any(c.isalpha() for c in token)
        if self.digits_only:
            return not has_letters
        if not self.patterns:
            return True
        wants_letters = any("A-Za-z" in p for p in self.patterns)
        return has_letters == wants_letters


_ID_WORDS = {
    "id",
    "number",
    "num",
    "no",
    "code",
    "pin",
    "zip",
    "zipcode",
    "postcode",
    "reference",
    "ref",
    "phone",
    "tracking",
    "ticket",
    "sku",
    "iban",
    "otp",
    "account",
    "serial",
    "passcode",
}


def slot_shape(name: str, hints: Iterable[str]) -> SlotShape:
    """Classify a text slot from its name and hint texts (descriptions, question)."""
    name_words = words(name)
    hint_list = [h for h in hints if h]
    aliases = _aliases(name_words)
    first_hint = " ".join(words(hint_list[0])) if hint_list else ""
    if (
        "email" in name_words
        or "mail" in name_words
        or ("email address" in first_hint and "phone" not in first_hint)
    ):
        return SlotShape("email", aliases=aliases)
    for hint in hint_list:
        prefixed = _PREFIX_HINT.search(hint)
        if prefixed:
            return SlotShape("prefixed", prefix=prefixed.group(1), aliases=aliases)
    examples: list[str] = []
    digits: list[int] = []
    for hint in hint_list:
        for match in _EXAMPLE.finditer(hint):
            token = match.group().lstrip("#").strip("-")
            if len(token) >= 3 and not re.search(r"[A-Za-z]{5,}", token):
                examples.append(token)
        digits.extend(int(m.group(1)) for m in _N_DIGITS.finditer(hint))
    patterns = [shape_from_example(e) for e in examples]
    patterns.extend(rf"\d{{{n}}}" for n in digits)
    patterns = list(dict.fromkeys(patterns))
    letters = "".join(c for e in examples for c in e if c.isalpha())
    id_like = bool(set(name_words) & _ID_WORDS) or bool(patterns)
    if not id_like:
        return SlotShape("text", aliases=aliases)
    return SlotShape(
        "token",
        patterns=tuple(patterns),
        uppercase=bool(letters) and letters.isupper(),
        digits_only=bool(patterns) and all("A-Za-z" not in p for p in patterns),
        aliases=aliases,
    )


def _aliases(name_words: list[str]) -> tuple[str, ...]:
    """Ways a person names a slot: "order id" -> order id, order number, id, number."""
    out = [" ".join(name_words)]
    if name_words and name_words[-1] in ("id", "no", "num", "nr"):
        head = " ".join(name_words[:-1])
        out += [f"{head} number", f"{head} no", f"{head} #"] if head else ["number"]
    if len(name_words) > 1:
        out.append(name_words[-1])
    return tuple(dict.fromkeys(a.strip() for a in out if a.strip()))


_LEADING_FILLERS = re.compile(
    r"^(?:(?:um+|uh+|erm?|hmm+)\b[\s,.!:-]*"
    r"|(?:well|ok(?:ay)?|so|sure|yes|yeah|yep|oh|right|alright)\s*[,.!:-]+\s*)+",
    re.IGNORECASE,
)
_TRAILING_FILLERS = re.compile(
    r"(?:[\s,.!]+(?:thanks|thank you|thx|please|pls|cheers)\b)+[\s.!]*$", re.IGNORECASE
)


NAME_WORDS = frozenset({"name", "names", "nickname", "handle", "username", "title"})
_IT_IS_INTRO = re.compile(r"^(?:it|that|this)(?:'s|\s+is|\s+was)\s+", re.IGNORECASE)


def clean_free_text(text: str, aliases: Sequence[str] = ()) -> str:
    """The message as the value of a free-text slot: one line, obvious fillers removed
    ("um, ", ", thanks"), and an introduction naming the slot ("my new address is ...")."""
    value = " ".join(str(text).replace("\u2019", "'").split())
    value = _TRAILING_FILLERS.sub("", value)
    stripped = _LEADING_FILLERS.sub("", value)
    if stripped:
        value = stripped
    for alias in sorted(aliases, key=len, reverse=True):
        intro = re.match(
            rf"^(?:(?:my|the|our|your|a)\s+)?(?:new\s+)?{re.escape(alias)}\s*"
            r"(?:is|are|would be|will be|should be|=|:)\s+",
            value,
            re.IGNORECASE,
        )
        if intro and value[intro.end() :].strip():
            value = value[intro.end() :]
            break
    else:
        # "It's Jane Bar" answering "what's the name?": the name, not the sentence
        if any(alias.split()[-1] in NAME_WORDS for alias in aliases if alias):
            intro = _IT_IS_INTRO.match(value)
            if intro and 0 < len(value[intro.end() :].split()) <= 4:
                value = value[intro.end() :]
    return value.strip()
