"""Keep secrets out of everything the workbench writes or prints.

A trace can carry credentials: a slot or header named like a secret, a card number or
an IBAN the user typed, an API key in a model error, a token in an action server URL.
One `Scrubber` per conversation is applied at every exit (the session store, exports,
`--record` cassettes, `shell --debug`, the e2e report, crash logs). It remembers every
secret it has seen, so a PIN stays masked in the prompts and histories of all later
turns, after its slot was reset.

Which values are secrets:

* the value of a slot (or key, or header) whose name is secret: whole name tokens
  (`pin`, `user_password`, `card_number`, not `passenger_count` or `card_type`), or a
  slot the project's `workbench.yml` lists in `secret_slots` (`not_secret_slots` opts out);
* wherever they appear: Luhn-valid card numbers, IBANs with a valid checksum, provider
  API keys, bearer tokens and secrets in URL queries.

Placeholders keep the value's shape where a flow may check it, so a masked conversation
still replays: a digit string becomes zeros of the same length (a PIN `4321` → `0000`),
a card number a Luhn-valid dummy of the same length and spacing, an IBAN a valid dummy
IBAN of the same country and length; anything else becomes `***`. A placeholder is its
own placeholder, so scrubbing twice (a replayed export) changes nothing.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
from collections.abc import Iterable

from workbench.calm.values import JSONObject, JSONValue
from workbench.project.model import Project

MASK = "***"
# Words that make a key name a secret. Whole words, so `prompt_tokens` stays readable
# and `passenger_count` is no password.
SECRET_WORDS = frozenset(
    {
        "apikey",
        "auth",
        "authorization",
        "bearer",
        "cardnumber",
        "ccv",
        "cookie",
        "credential",
        "credentials",
        "cvc",
        "cvv",
        "cvv2",
        "iban",
        "pass",
        "passcode",
        "passphrase",
        "passwd",
        "password",
        "pin",
        "pincode",
        "secret",
        "ssn",
        "token",
    }
)
SECRET_PAIRS = frozenset(
    {
        ("api", "key"),
        ("access", "key"),
        ("private", "key"),
        ("card", "number"),
        ("card", "num"),
        ("card", "no"),
        ("card", "nr"),
        ("credit", "card"),
        ("debit", "card"),
        ("security", "code"),
        ("social", "security"),
    }
)
# `card` alone is a card number; `card_type`, `gift_card_balance` are not secrets
SECRET_ALONE = frozenset({"card"})
# Values that are credentials whatever they are called: provider API keys, then
# `Authorization: Bearer x` and `?token=x` in messages and URLs (the secret part only).
KEY_PATTERNS = re.compile(
    r"\bsk-[A-Za-z0-9_\-]{12,}"  # OpenAI, Anthropic (sk-ant-...), many compatible servers
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}"
    r"|\bAKIA[0-9A-Z]{16}\b|\bAIza[0-9A-Za-z_\-]{30,}|\bxox[abprs]-[A-Za-z0-9\-]{10,}"
)
AUTH_HEADER = re.compile(r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?)[^\"'\n,;}]+")
BEARER = re.compile(r"\b([Bb]earer\s+)[A-Za-z0-9._~+/=\-]{16,}")
QUERY_SECRET = re.compile(
    r"(?i)([?&](?:api[_-]?key|key|token|access_token|auth|password|secret)=)[^&#\s\"']+"
)
# 13-19 digits, single spaces or dashes between groups; issuers start with 2-6 (a
# 13-digit millisecond timestamp starts with 1)
CARD = re.compile(r"(?<![\d.,])[2-6]\d(?:[ -]?\d){11,17}(?![\d]|[.,]\d)")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
DIGITS = re.compile(r"\d(?:[ -]?\d)*")
# shorter learned secrets are masked as whole words only: `123` in `A1234` stays
SUBSTRING_LENGTH = 6
ENV_SECRET_LENGTH = 8  # `OPENAI_API_KEY=sk-…` is a secret, `AUTH_MODE=on` is not
CACHE_LIMIT = 20_000  # names and texts a Scrubber remembers having looked at
MIN_ECHO_LENGTH = 3  # a 1- or 2-character value is masked where found, not searched for


@functools.lru_cache(maxsize=4096)  # asked for every key of every stored trace
def is_secret_name(name: str) -> bool:
    words = [w for w in re.split(r"[^a-z0-9]+", _uncamel(name).lower()) if w]
    if any(w in SECRET_WORDS for w in words):
        return True
    if len(words) == 1 and words[0] in SECRET_ALONE:
        return True
    return any(pair in SECRET_PAIRS for pair in itertools.pairwise(words))


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        n = int(char)
        if position % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    compact = text.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def placeholder(value: str) -> str:
    """The stand-in for a secret, of the same shape where a flow may check the shape."""
    text = value.strip()
    if DIGITS.fullmatch(text):
        digits = re.sub(r"\D", "", text)
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return _keep_spacing(text, _dummy_card(len(digits)))
        return re.sub(r"\d", "0", text)
    compact = text.replace(" ", "")
    if re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+", compact) and iban_valid(compact):
        return _keep_spacing(text, _dummy_iban(compact[:2], len(compact)))
    return MASK


def scrub_text(text: str, echoes: Iterable[str] = ()) -> str:
    """`text` with the given secrets and anything shaped like a secret masked (no
    memory: a `Scrubber` also masks the secrets seen earlier in its conversation)."""
    return Scrubber(remember=False).text(text, extra=echoes)


def scrub(value: JSONValue) -> JSONValue:
    """A copy of `value` (dicts, lists, scalars) with its secrets masked."""
    return Scrubber(remember=False).scrub(value)


class Scrubber:
    """The secrets of one conversation: those named by the project (`secret_slots`,
    `not_secret_slots` in workbench.yml) and every secret value seen so far, each with
    its placeholder. `scrub()` a JSON-like value, or `text()` a string, before it is
    stored, written or printed. `remember=False`: forget after each call."""

    def __init__(
        self,
        secret_slots: Iterable[str] = (),
        not_secret_slots: Iterable[str] = (),
        *,
        remember: bool = True,
    ) -> None:
        self.secret_slots = frozenset(secret_slots)
        self.not_secret_slots = frozenset(not_secret_slots)
        self.remember = remember
        self.known: dict[str, str] = {}  # secret value → placeholder
        self._pattern: re.Pattern[str] | None = None
        # every stored trace repeats most of its keys and strings: each is looked at once
        # (the masked texts until the next secret is learned)
        self._names: dict[str, bool] = {}
        self._masked: dict[str, str] = {}

    @classmethod
    def for_project(cls, project: Project | None) -> Scrubber:
        """The project's secret slots; and the credentials in the environment (a model
        server may echo the API key it was sent in an error, whatever its shape)."""
        scrubber = cls() if project is None else cls(project.secret_slots, project.not_secret_slots)
        for name, value in os.environ.items():
            if len(value) >= ENV_SECRET_LENGTH and is_secret_name(name):
                scrubber.learn(value)
        return scrubber

    def is_secret(self, name: str) -> bool:
        known = self._names.get(name)
        if known is None:
            known = name not in self.not_secret_slots and (
                name in self.secret_slots or is_secret_name(name)
            )
            if len(self._names) < CACHE_LIMIT:
                self._names[name] = known
        return known

    def learn(self, value: JSONValue) -> str:
        """Remember `value` as a secret; its placeholder."""
        text = str(value)
        mask = placeholder(text)
        stripped = text.strip()
        long_enough = len(stripped) >= MIN_ECHO_LENGTH
        if long_enough and stripped != mask and stripped not in self.known:
            self.known[stripped] = mask
            self._pattern = None
            self._masked.clear()
            PROCESS_SECRETS.setdefault(stripped, mask)
        return mask

    def scrub(self, value: JSONValue) -> JSONValue:
        """A copy of `value` with the secrets masked; secrets found in it are learned."""
        known = dict(self.known)
        try:
            self._collect(value)
            return self._mask(value, False)
        finally:
            if not self.remember:
                self.known, self._pattern = known, None
                self._masked.clear()

    def learn_from(self, value: JSONValue) -> None:
        """Learn the secrets in `value` without masking it: the first pass over a whole
        conversation, so that a secret said late is masked in its earlier turns too."""
        self._collect(value)

    def masked(self, record: JSONObject) -> JSONObject:
        """A copy of `record` with the secrets known so far masked (after `learn_from`
        of a whole conversation; nothing is learned from it)."""
        masked = self._mask(record, False)
        assert isinstance(masked, dict)
        return masked

    def scrub_record(self, record: JSONObject) -> JSONObject:
        """`scrub` of a mapping (a trace or an event as a dict): a mapping comes back."""
        scrubbed = self.scrub(record)
        assert isinstance(scrubbed, dict)
        return scrubbed

    def text(self, text: str, extra: Iterable[str] = ()) -> str:
        known = dict(self.known)
        try:
            for secret in extra:
                self.learn(secret)
            return self._text(text)
        finally:
            if not self.remember:
                self.known, self._pattern = known, None
                self._masked.clear()

    # -- inside -----------------------------------------------------------------------

    def _secret_keys(self, data: dict[str, JSONValue]) -> set[str]:
        """Keys of `data` whose values are secrets: secret-named keys, and the `value` of
        a `{"name": "pin", "value": ...}` pair (slot events, headers) or of a
        `{"slot": "pin", "value": ...}` command."""
        keys = {k for k in data if isinstance(k, str) and self.is_secret(k)}
        for name_key in ("name", "slot"):
            name = data.get(name_key)
            if isinstance(name, str) and self.is_secret(name) and "value" in data:
                keys.add("value")
        return keys

    def _collect(self, value: JSONValue) -> None:
        if isinstance(value, dict):
            secret = self._secret_keys(value)
            for key, item in value.items():
                if key in secret:
                    self._leaves(item)
                else:
                    self._collect(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                self._collect(item)

    def _leaves(self, value: JSONValue) -> None:
        if isinstance(value, dict):
            for item in value.values():
                self._leaves(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                self._leaves(item)
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            self.learn(value)

    def _mask(self, value: JSONValue, secret: bool) -> JSONValue:
        if isinstance(value, dict):
            keys = self._secret_keys(value)
            return {k: self._mask(v, secret or k in keys) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._mask(item, secret) for item in value]
        if secret and value is not None and not isinstance(value, bool):
            return placeholder(str(value))
        if isinstance(value, str):
            return self._text(value)
        return value

    def _text(self, text: str) -> str:
        masked = self._masked.get(text)
        if masked is None:
            masked = self._mask_text(text)
            if len(self._masked) >= CACHE_LIMIT:
                self._masked.clear()
            self._masked[text] = masked
        return masked

    def _mask_text(self, text: str) -> str:
        # shapes first: a PIN taken from a card's digits must not break up the card
        text = CARD.sub(_card_match, text)
        text = IBAN.sub(_iban_match, text)
        text = KEY_PATTERNS.sub(MASK, text)
        text = AUTH_HEADER.sub(lambda m: f"{m[1]}{MASK}", text)
        text = BEARER.sub(lambda m: f"{m[1]}{MASK}", text)
        text = QUERY_SECRET.sub(lambda m: f"{m[1]}{MASK}", text)
        if self.known:
            text = self._known_pattern().sub(lambda m: self.known[m[0]], text)
        return text

    def _known_pattern(self) -> re.Pattern[str]:
        if self._pattern is None:
            parts = []
            for secret in sorted(self.known, key=len, reverse=True):  # longest first
                escaped = re.escape(secret)
                if len(secret) < SUBSTRING_LENGTH:
                    escaped = rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])"
                parts.append(escaped)
            self._pattern = re.compile("|".join(parts))
        return self._pattern


# A placeholder in a recorded message: `***`, a run of zeros (a PIN), a dummy card
# number, a dummy IBAN (all as `placeholder` makes them).
PLACEHOLDER = re.compile(
    r"\*\*\*"
    r"|(?<![A-Za-z0-9])4(?:[ -]?0){11,17}[ -]?\d(?![A-Za-z0-9])"
    r"|\b[A-Z]{2}\d{2}(?: ?0){11,30}\b"
    r"|(?<![A-Za-z0-9])0(?:[ -]?0){2,}(?![A-Za-z0-9])"
)


def unmask(recorded: str, message: str) -> dict[str, str] | None:
    """The values `message` has where `recorded` (a masked message) has placeholders,
    if it is that message with values of the placeholders' shapes in their places,
    else None. A cassette recorded from a test file that holds a PIN is masked; when the
    test runs again, its message with the real PIN finds the recording this way."""
    pattern = []
    placeholders = []
    position = 0
    for match in PLACEHOLDER.finditer(recorded):
        pattern.append(re.escape(recorded[position : match.start()]))
        text = match[0]
        if text == MASK:
            pattern.append("(.+?)")
        else:  # the same shape: each digit or letter of the dummy one of its kind
            shape = "".join(
                r"\d" if c.isdigit() else "[A-Z]" if c.isalpha() else re.escape(c) for c in text
            )
            pattern.append(f"({shape})")
        placeholders.append(text)
        position = match.end()
    if not placeholders:
        return None
    pattern.append(re.escape(recorded[position:]))
    found = re.fullmatch("".join(pattern), message, flags=re.DOTALL)
    if found is None:
        return None
    values: dict[str, str] = {}
    for text, value in zip(placeholders, found.groups(), strict=True):
        if placeholder(value) != text and text != MASK:
            return None  # a real card number for a dummy card, not any 16 digits
        values.setdefault(text, value)
    return values


# Every secret any conversation of this process has seen: a crash report may quote a
# value from any of them.
PROCESS_SECRETS: dict[str, str] = {}


def scrub_crash_text(text: str) -> str:
    """`text` (a traceback) with the process's known secrets and secret shapes masked."""
    scrubber = Scrubber.for_project(None)  # the environment's credentials
    for secret in list(PROCESS_SECRETS):
        scrubber.learn(secret)
    return scrubber.text(text)


def _card_match(match: re.Match[str]) -> str:
    text = match[0]
    digits = re.sub(r"\D", "", text)
    if not luhn_valid(digits):
        return text
    return _keep_spacing(text, _dummy_card(len(digits)))


def _iban_match(match: re.Match[str]) -> str:
    """The longest valid IBAN the match starts with, masked (the pattern may take in a
    following word in capitals: `DE89 3704 0044 0532 0130 00 OK`)."""
    text = match[0]
    for end in range(len(text), 14, -1):
        candidate = text[:end]
        if candidate.endswith(" ") or (end < len(text) and text[end] != " "):
            continue
        compact = candidate.replace(" ", "")
        if iban_valid(compact):
            return _keep_spacing(candidate, _dummy_iban(compact[:2], len(compact))) + text[end:]
    return text


def _dummy_card(length: int) -> str:
    """`4000…0` with the Luhn check digit that makes it valid."""
    body = "4" + "0" * (length - 2)
    for check in "0123456789":
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("unreachable: one check digit always fits")  # pragma: no cover


def _dummy_iban(country: str, length: int) -> str:
    bban = "0" * (length - 4)
    rearranged = bban + "".join(str(int(c, 36)) for c in country) + "00"
    return f"{country}{98 - int(rearranged) % 97:02d}{bban}"


def _keep_spacing(original: str, compact: str) -> str:
    """`compact` laid out with the separators of `original` (`4111 1111 …`)."""
    chars = iter(compact)
    return "".join(c if c in " -" else next(chars, "0") for c in original)


def _uncamel(name: str) -> str:
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
