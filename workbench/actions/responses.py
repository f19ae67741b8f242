"""Turning a domain response (`utter_x`) into the message the bot sends.

Pure: no I/O. Reimplements what Rasa Pro's `TemplatedNaturalLanguageGenerator` does
(reference section b, "Responses" and "Templating"):

* **Variation selection.** A random eligible variation (`rng.choice`, so a seeded RNG
  replays the same choices). Preference groups, the first non-empty one wins:
  conditional variations whose condition holds and whose channel matches; plain ones with
  the matching channel; conditional ones (condition holds) without a channel; plain ones
  without a channel. Variations for another channel are never used.
* **Templating** of `text`, `image`, `custom`, `buttons`, `attachment` and `quick_replies`
  (every string at any depth; `elements` is left alone, as in Rasa). Variables are
  `context` (the top stack frame), then slot values by bare name, then call kwargs; later
  ones win. The default engine fills `{name}` placeholders (see `interpolate`);
  `metadata: {template: jinja}` switches to a sandboxed Jinja2 (see `render_jinja`).

jinja2 is imported only when a Jinja template or a Jinja-marked condition is met.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import TYPE_CHECKING, overload

from workbench.calm.conditions import evaluate_condition
from workbench.calm.names import TRANSLATION_KEY, UTTER_ACTION_KEY
from workbench.calm.values import JSONObject, JSONValue, SlotValue

if TYPE_CHECKING:
    import random

    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment

    from workbench.project.model import Response, ResponseVariation

__all__ = [
    "BotMessage",
    "eligible_variations",
    "interpolate",
    "render_jinja",
    "render_response",
]


# --- the message -------------------------------------------------------------------------


@dataclass(frozen=True)
class BotMessage:
    """One message the bot sends, after variation selection and templating."""

    text: str | None
    response: str | None  # the response name (utter_x) it came from; None for literal text
    buttons: tuple[dict[str, str], ...] = ()  # {"title", "payload"} after templating
    # the rest as the response gives them (strings templated)
    image: JSONValue = None
    attachment: JSONValue = None
    custom: JSONValue = None
    quick_replies: tuple[JSONValue, ...] = ()
    elements: tuple[JSONValue, ...] = ()
    # the variation's metadata (e.g. rephrase, template) plus UTTER_ACTION_KEY: <response name>
    metadata: JSONObject = field(default_factory=dict)

    def as_event(self) -> JSONObject:
        """A Rasa `bot` event: ``{"event": "bot", "text", "data", "metadata"}``.

        Empty `data` keys are left out. As in Rasa's `create_bot_utterance`, `attachment`
        falls back to `image` (a legacy channel convention). Everything is copied, so the
        event can be changed without touching the message.
        """
        data: JSONObject = {}
        candidates: tuple[tuple[str, JSONValue], ...] = (
            ("buttons", [dict(button) for button in self.buttons]),
            ("image", self.image),
            ("attachment", self.attachment or self.image),
            ("custom", self.custom),
            ("quick_replies", list(self.quick_replies)),
            ("elements", list(self.elements)),
        )
        for key, value in candidates:
            if not _is_empty(value):
                data[key] = _plain(value)
        metadata = _plain(self.metadata)
        if self.response is not None and UTTER_ACTION_KEY not in metadata:
            metadata[UTTER_ACTION_KEY] = self.response
        return {"event": "bot", "text": self.text, "data": data, "metadata": metadata}


def _is_empty(value: object) -> bool:
    return value is None or (isinstance(value, (str, list, tuple, dict)) and not value)


# --- rendering a response ----------------------------------------------------------------


def render_response(
    response: Response,
    *,
    slots: Mapping[str, SlotValue],
    context: Mapping[str, JSONValue] | None = None,
    kwargs: Mapping[str, JSONValue] | None = None,
    rng: random.Random,
    channel: str | None = None,
    language: str | None = None,
    default_language: str | None = None,
) -> BotMessage | None:
    """Pick a variation of `response` and fill in its templates.

    Returns None when no variation is eligible; the caller then renders
    `utter_internal_error_rasa`, as Rasa does.
    """
    candidates = eligible_variations(
        response,
        slots=slots,
        channel=channel,
        language=language,
        default_language=default_language,
    )
    if not candidates:
        return None
    variation = rng.choice(candidates)
    translate_to = _translation_language(language, default_language)

    variables: JSONObject = {"context": context if context is not None else {}}
    variables.update(slots)
    if kwargs:
        variables.update(kwargs)

    render: Callable[[str], str]
    if variation.uses_jinja:

        def render(text: str) -> str:
            return render_jinja(text, variables)

    else:

        def render(text: str) -> str:
            return interpolate(text, variables)

    raw = variation.raw if isinstance(variation.raw, Mapping) else {}
    text = _translated_text(variation, translate_to)
    translated = translate_to is not None and _translation(variation, translate_to) is not None
    language_used = {TRANSLATION_KEY: translate_to} if translated else {}
    quick_replies = raw.get("quick_replies")
    elements = raw.get("elements")
    return BotMessage(
        text=render(text) if isinstance(text, str) else text,
        response=response.name,
        buttons=tuple(
            {key: str(value) for key, value in _fill(button, render).items()}
            for button in _buttons(variation, translate_to)
        ),
        image=_fill(raw.get("image"), render),
        attachment=_fill(raw.get("attachment"), render),
        custom=_fill(raw.get("custom"), render),
        quick_replies=_as_tuple(_fill(quick_replies, render)),
        elements=_as_tuple(_plain(elements)),
        metadata={
            **_plain(dict(variation.metadata)),
            UTTER_ACTION_KEY: response.name,
            **language_used,
        },
    )


def eligible_variations(
    response: Response,
    *,
    slots: Mapping[str, SlotValue],
    channel: str | None = None,
    language: str | None = None,
    default_language: str | None = None,
) -> tuple[ResponseVariation, ...]:
    """The variations `render_response` chooses from (in domain order), possibly empty."""
    conditional_channel: list[ResponseVariation] = []
    plain_channel: list[ResponseVariation] = []
    conditional_no_channel: list[ResponseVariation] = []
    plain_no_channel: list[ResponseVariation] = []
    for variation in response.variations:
        if variation.channel is not None and variation.channel != channel:
            continue  # written for another channel: never used
        matches_channel = variation.channel is not None
        condition = variation.condition
        if condition is None:
            (plain_channel if matches_channel else plain_no_channel).append(variation)
        elif condition and _condition_holds(condition, slots):
            # An empty condition ("" or []) is neither plain nor conditional in Rasa (it
            # tests `condition is None` for plain and truthiness for conditional), so such
            # a variation is never used.
            (conditional_channel if matches_channel else conditional_no_channel).append(variation)
    for group in (conditional_channel, plain_channel, conditional_no_channel, plain_no_channel):
        if group:
            return tuple(_prefer_language(group, language, default_language))
    return ()


# --- language ------------------------------------------------------------------------------
# Our reading of the reference plus Rasa's `ResponseVariationFilter._filter_by_language`:
#
# * The session language is `language`, or `default_language` when no language is given.
# * Translations apply only when `language` is given and differs from `default_language`:
#   `translation: {<lang>: ...}` on a variation then replaces its text (a plain string, or
#   the `text` key of a mapping) and, with a `buttons` key, its buttons; buttons may also
#   carry their own `translation: {<lang>: {title, payload}}` (Rasa's per-button form).
# * Within the preference group that won (after channels and conditions, as in Rasa), the
#   variations "for" the session language win over the others, if there are any: those
#   with `metadata: {language: <session language>}` and, when translating, those with a
#   translation for that language. Otherwise the whole group stays eligible.


def _translation_language(language: str | None, default_language: str | None) -> str | None:
    return language if language and language != default_language else None


def _translation(variation: ResponseVariation, language: str) -> JSONValue:
    raw = variation.raw if isinstance(variation.raw, Mapping) else {}
    translations = raw.get("translation")
    if not isinstance(translations, Mapping):
        return None
    return translations.get(language)


def _prefer_language(
    group: list[ResponseVariation], language: str | None, default_language: str | None
) -> list[ResponseVariation]:
    session_language = language or default_language
    if not session_language:
        return group
    translate_to = _translation_language(language, default_language)
    preferred = [
        variation
        for variation in group
        if variation.language == session_language
        or (translate_to is not None and _translation(variation, translate_to) is not None)
    ]
    return preferred or group


def _translated_text(variation: ResponseVariation, translate_to: str | None) -> str | None:
    if translate_to is None:
        return variation.text
    entry = _translation(variation, translate_to)
    if isinstance(entry, str):
        return entry
    if isinstance(entry, Mapping) and entry.get("text") is not None:
        return str(entry["text"])
    return variation.text


def _buttons(variation: ResponseVariation, translate_to: str | None) -> list[dict[str, str]]:
    buttons = [{"title": button.title, "payload": button.payload} for button in variation.buttons]
    if translate_to is None:
        return buttons
    entry = _translation(variation, translate_to)
    if isinstance(entry, Mapping) and isinstance(entry.get("buttons"), list):
        return [
            {"title": str(item["title"]), "payload": _text_or_empty(item.get("payload"))}
            for item in entry["buttons"]
            if isinstance(item, Mapping) and "title" in item
        ]
    # Per-button translations: pair the model's buttons with the raw ones the loader kept
    # (a mapping with a title); if the counts differ the pairing is unsafe, so skip it.
    raw = variation.raw if isinstance(variation.raw, Mapping) else {}
    raw_buttons = raw.get("buttons")
    if not isinstance(raw_buttons, list):
        return buttons
    kept = [item for item in raw_buttons if isinstance(item, Mapping) and "title" in item]
    if len(kept) != len(buttons):
        return buttons
    for button, item in zip(buttons, kept, strict=True):
        translations = item.get("translation")
        if not isinstance(translations, Mapping):
            continue
        translated = translations.get(translate_to)
        if not isinstance(translated, Mapping):
            continue
        for key in ("title", "payload"):
            if translated.get(key) is not None:
                button[key] = str(translated[key])
    return buttons


def _text_or_empty(value: object) -> str:
    return "" if value is None else str(value)


# --- conditions --------------------------------------------------------------------------

# Rasa renders every string condition with Jinja (`slots` available) before evaluating it;
# rendering only text with Jinja markup gives the same result without importing jinja2.
_JINJA_MARKERS = ("{{", "{%", "{#")


def _condition_holds(condition: object, slots: Mapping[str, SlotValue]) -> bool:
    if isinstance(condition, str):
        text = condition
        if any(marker in text for marker in _JINJA_MARKERS):
            template = _jinja_template(text)
            if template is None:
                return False
            try:
                text = template.render({"slots": dict(slots)})
            except Exception:  # any Jinja error makes the condition false
                return False
        return evaluate_condition(text, {"slots": slots})
    if isinstance(condition, (list, tuple)):
        return all(_constraint_holds(item, slots) for item in condition)
    return False


def _constraint_holds(constraint: object, slots: Mapping[str, SlotValue]) -> bool:
    """The deprecated `[{type: slot, name, value}]` form: the slot must equal the value,
    strings compared case-insensitively. (`type` is not looked at, as in Rasa.)"""
    if not isinstance(constraint, Mapping) or "name" not in constraint:
        return False  # Rasa raises KeyError here; we just never match
    expected = constraint.get("value")
    actual = slots.get(str(constraint["name"]))
    if isinstance(actual, str) and isinstance(expected, str):
        return actual.casefold() == expected.casefold()
    try:
        return bool(actual == expected)
    except Exception:
        return False


# --- the default `{slot}` engine -----------------------------------------------------------
#
# Rasa rewrites every `{name}` (a run without newline or braces) to `{0[name]}` and runs
# `str.format(variables)` on the result. This reproduces what that does, without
# `str.format` on user text:
#
# * `{{` and `}}` are escaped braces; a placeholder whose name is not a variable (or is all
#   digits, which `str.format` would look up as an integer) leaves the WHOLE string as
#   written; values are inserted with `str()` (None -> "None").
# * If the result contains "0[" (Rasa's marker for an escaped placeholder such as `{{x}}`,
#   but also any "0[" in the text or a value), Rasa formats the original with no variables:
#   the escapes are applied when the string has no placeholder (`{{x}}` -> `{x}`); any
#   placeholder leaves the whole string as written (so `{{x}} {y}` stays as it is).
# * Where `str.format` would raise something other than KeyError (a lone `{` or `}`), Rasa
#   crashes; we leave the string as written. Names containing `]` (which `str.format`
#   would turn into nested indexing or attribute access: `{a].__class__}`) and unnamed
#   fields (`{}`, which would print the whole variables dict) also leave it as written.

_PLACEHOLDER_RE = re.compile(r"\{([^\n{}]+?)\}")
_BRACE_RE = re.compile(r"[{}]")


class _Unfillable(Exception):
    """The string cannot be filled; interpolate returns it as written."""


def interpolate(text: str, variables: Mapping[str, JSONValue]) -> str:
    """Fill `{name}` placeholders the way Rasa's default ("format") engine does; never raises."""
    if not isinstance(text, str) or ("{" not in text and "}" not in text):
        return text
    try:
        result = _format(_PLACEHOLDER_RE.sub(r"{0[\1]}", text), variables)
        if "0[" in result:
            result = _format(text, None)
    except _Unfillable:
        return text
    return result


def _format(template: str, variables: Mapping[str, JSONValue] | None) -> str:
    """`template.format(variables)` for templates whose fields are `{0[name]}`; any other
    field, a lone brace or (with `variables` None) any field at all raises _Unfillable."""
    parts: list[str] = []
    position = 0
    while True:
        match = _BRACE_RE.search(template, position)
        if match is None:
            parts.append(template[position:])
            return "".join(parts)
        index = match.start()
        parts.append(template[position:index])
        brace = template[index]
        if template.startswith(brace, index + 1):  # `{{` or `}}`
            parts.append(brace)
            position = index + 2
            continue
        if brace == "}" or variables is None:
            raise _Unfillable
        end = template.find("}", index + 1)
        if end < 0:
            raise _Unfillable
        field_text = template[index + 1 : end]
        if not (field_text.startswith("0[") and field_text.endswith("]")):
            raise _Unfillable
        name = field_text[2:-1]
        if "{" in name or "]" in name or name.isdecimal():
            raise _Unfillable
        try:
            value = str(variables[name]) if name in variables else None
        except Exception as error:  # an odd mapping or a value whose str() fails
            raise _Unfillable from error
        if value is None:
            raise _Unfillable
        parts.append(value)
        position = end + 1


# --- Jinja -------------------------------------------------------------------------------


@cache
def _jinja_environment() -> SandboxedEnvironment:
    from jinja2.sandbox import SandboxedEnvironment

    # Same defaults as the `jinja2.Template` Rasa uses (no autoescape, undefined names
    # render as empty), but sandboxed: templates cannot reach unsafe attributes.
    return SandboxedEnvironment()


@lru_cache(maxsize=1024)
def _jinja_template(text: str) -> Template | None:
    try:
        return _jinja_environment().from_string(text)
    except Exception:  # syntax errors (and anything else) leave the text as written
        return None


def render_jinja(text: str, variables: Mapping[str, JSONValue]) -> str:
    """Render `text` as a sandboxed Jinja2 template; any error leaves it as written."""
    template = _jinja_template(text)
    if template is None:
        return text
    try:
        return template.render(dict(variables))
    except Exception:
        return text


# --- helpers -----------------------------------------------------------------------------


@overload
def _fill(value: Mapping[str, object], render: Callable[[str], str]) -> JSONObject: ...
@overload
def _fill(value: object, render: Callable[[str], str]) -> JSONValue: ...
def _fill(value: object, render: Callable[[str], str]) -> JSONValue:
    """Render every string in `value` (at any depth); mappings and lists are copied, keys
    and other scalars kept. Rasa's `interpolate` does the same."""
    if isinstance(value, str):
        return render(value)
    if isinstance(value, Mapping):
        return {key: _fill(item, render) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_fill(item, render) for item in value]
    return value


@overload
def _plain(value: Mapping[str, object]) -> JSONObject: ...
@overload
def _plain(value: object) -> JSONValue: ...
def _plain(value: object) -> JSONValue:
    """A copy made of plain dicts and lists (no YAML node types, nothing shared)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _as_tuple(value: object) -> tuple[JSONValue, ...]:
    if value is None:
        return ()
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(value)
    return (value,)
