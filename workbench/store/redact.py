"""Keep secrets out of sessions.db.

A trace can carry credentials: a slot or header named like a secret, an API key in a
model error, a token in an action server URL. `scrub()` returns a copy of a JSON-like
value with those replaced by `***`. A value found under a secret-looking name is also
masked wherever else it appears in the same value (e.g. the user message that filled
a `password` slot), so it is not stored in a second place.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

MASK = "***"
# Words that make a key name a secret. Whole words, so `prompt_tokens` stays readable.
SECRET_WORDS = frozenset(
    {
        "apikey",
        "auth",
        "authorization",
        "bearer",
        "cookie",
        "credential",
        "credentials",
        "passphrase",
        "passwd",
        "password",
        "secret",
        "token",
    }
)
SECRET_PAIRS = frozenset({("api", "key"), ("access", "key"), ("private", "key")})
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
MIN_ECHO_LENGTH = 6  # shorter secret values are masked where found, not searched for


def is_secret_name(name: str) -> bool:
    words = [w for w in re.split(r"[^a-z0-9]+", _uncamel(name).lower()) if w]
    if any(w in SECRET_WORDS for w in words):
        return True
    return any(pair in SECRET_PAIRS for pair in itertools.pairwise(words))


def scrub(value: Any) -> Any:
    """A copy of `value` (dicts, lists, scalars) with secrets replaced by `***`."""
    found: set[str] = set()
    _collect(value, found)
    echoes = sorted((s for s in found if len(s) >= MIN_ECHO_LENGTH), key=len, reverse=True)
    return _mask(value, echoes)


def scrub_text(text: str, echoes: list[str] | tuple[str, ...] = ()) -> str:
    for secret in echoes:
        text = text.replace(secret, MASK)
    text = KEY_PATTERNS.sub(MASK, text)
    text = AUTH_HEADER.sub(lambda m: f"{m[1]}{MASK}", text)
    text = BEARER.sub(lambda m: f"{m[1]}{MASK}", text)
    return QUERY_SECRET.sub(lambda m: f"{m[1]}{MASK}", text)


def _secret_keys(data: dict[str, Any]) -> set[str]:
    """Keys of `data` whose values are secrets: secret-named keys, and the `value` of a
    `{"name": "password", "value": ...}` pair (slot events, set slot commands, headers)."""
    keys = {k for k in data if isinstance(k, str) and is_secret_name(k)}
    name = data.get("name")
    if isinstance(name, str) and is_secret_name(name) and "value" in data:
        keys.add("value")
    return keys


def _collect(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        secret = _secret_keys(value)
        for key, item in value.items():
            if key in secret:
                _leaves(item, found)
            else:
                _collect(item, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect(item, found)


def _leaves(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _leaves(item, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _leaves(item, found)
    elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
        found.add(str(value))


def _mask(value: Any, echoes: list[str], secret: bool = False) -> Any:
    if isinstance(value, dict):
        keys = _secret_keys(value)
        return {k: _mask(v, echoes, secret or k in keys) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask(item, echoes, secret) for item in value]
    if secret and value is not None and not isinstance(value, bool):
        return MASK
    if isinstance(value, str):
        return scrub_text(value, echoes)
    return value


def _uncamel(name: str) -> str:
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
