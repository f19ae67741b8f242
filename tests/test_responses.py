"""Rendering responses: variation choice, channels, conditions, languages and templating."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from workbench.actions.responses import (
    BotMessage,
    eligible_variations,
    interpolate,
    render_jinja,
    render_response,
)
from workbench.project.loader import default_patterns
from workbench.project.model import Button, Response, ResponseVariation, Source

JINJA = {"template": "jinja"}


def variation(
    text: str | None = None,
    *,
    condition: Any = None,
    channel: str | None = None,
    buttons: tuple[tuple[str, str], ...] = (),
    metadata: dict[str, Any] | None = None,
    line: int = 1,
    **raw: Any,
) -> ResponseVariation:
    """A variation as the loader would build it; extra keywords go into `raw`."""
    return ResponseVariation(
        text=text,
        source=Source("domain.yml", line),
        buttons=tuple(Button(title, payload) for title, payload in buttons),
        condition=condition,
        channel=channel,
        metadata=dict(metadata or {}),
        raw={"text": text, **raw},
    )


def response(*variations: ResponseVariation, name: str = "utter_test") -> Response:
    return Response(name, tuple(variations), Source("domain.yml", 1))


def render(resp: Response, seed: int = 0, **kwargs: Any) -> BotMessage | None:
    kwargs.setdefault("slots", {})
    return render_response(resp, rng=random.Random(seed), **kwargs)


def texts_over_seeds(resp: Response, seeds: int = 200, **kwargs: Any) -> set[str | None]:
    """Every text rendered over many seeds: the set of variations that can be chosen."""
    seen = set()
    for seed in range(seeds):
        message = render(resp, seed, **kwargs)
        seen.add(None if message is None else message.text)
    return seen


# --- variation preference groups and channels -----------------------------------------------

TRUE = "slots.flag is true"
FALSE = "slots.flag = 'never'"
GROUPS = response(
    variation("cond+chan", condition=TRUE, channel="web"),
    variation("plain+chan", channel="web"),
    variation("cond", condition=TRUE),
    variation("plain"),
    variation("cond+other", condition=TRUE, channel="voice"),
    variation("plain+other", channel="voice"),
    variation("false cond", condition=FALSE),
)


@pytest.mark.parametrize(
    ("variations", "channel", "flag", "expected"),
    [
        # everything present: the conditional variation for the channel wins
        (GROUPS.variations, "web", True, {"cond+chan"}),
        # condition false: plain variation for the channel
        (GROUPS.variations, "web", False, {"plain+chan"}),
        # no channel given: channel-specific ones are never used
        (GROUPS.variations, None, True, {"cond"}),
        (GROUPS.variations, None, False, {"plain"}),
        # a channel nothing is written for falls back to the channel-less groups
        (GROUPS.variations, "sms", True, {"cond"}),
        (GROUPS.variations, "sms", False, {"plain"}),
        (GROUPS.variations, "voice", True, {"cond+other"}),
        (GROUPS.variations, "voice", False, {"plain+other"}),
        # plain+channel beats a channel-less conditional one
        (GROUPS.variations[1:], "web", True, {"plain+chan"}),
        # several in the winning group: all of them are candidates, nothing else is
        (
            (variation("a"), variation("b"), variation("c", condition=FALSE)),
            None,
            True,
            {"a", "b"},
        ),
        (
            (variation("a", condition=TRUE), variation("b", condition=TRUE), variation("c")),
            None,
            True,
            {"a", "b"},
        ),
        # only variations for another channel: nothing is eligible
        ((variation("x", channel="voice"),), "web", True, set()),
        ((variation("x", channel="voice"),), None, True, set()),
        # only false conditions: nothing is eligible
        ((variation("x", condition=FALSE),), None, True, set()),
        # an empty condition is neither plain nor conditional in Rasa: never used
        ((variation("x", condition=""), variation("y")), None, True, {"y"}),
        ((variation("x", condition=()),), None, True, set()),
    ],
)
def test_preference_groups(
    variations: tuple[ResponseVariation, ...], channel: str | None, flag: bool, expected: set[str]
) -> None:
    resp = response(*variations)
    eligible = eligible_variations(resp, slots={"flag": flag}, channel=channel)
    assert {v.text for v in eligible} == expected
    rendered = texts_over_seeds(resp, slots={"flag": flag}, channel=channel)
    assert rendered == (expected or {None})


def test_no_variations_renders_nothing() -> None:
    assert render(response()) is None


# --- conditions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "slots", "holds"),
    [
        ("slots.amount > 10", {"amount": 50.0}, True),
        ("slots.amount > 10", {"amount": 5.0}, False),
        ("slots.account_type = 'savings'", {"account_type": "savings"}, True),
        ("slots.account_type = 'savings'", {"account_type": "checking"}, False),
        ("slots.name is null", {"name": None}, True),
        ("slots.typo is null", {"name": None}, False),  # unknown slot is undefined
        ("slots.ok", {"ok": True}, True),
        ("slots.ok and slots.amount > 1", {"ok": True, "amount": 0}, False),
        # broken conditions are false
        ("slots.amount >", {"amount": 1}, False),
        ("((slots.amount", {"amount": 1}, False),
        ("slots.amount > 'x'", {"amount": 1}, False),  # number vs string raises
        # Jinja is rendered first, with `slots` available
        ("slots.{{ 'amount' }} > 10", {"amount": 50}, True),
        ("slots.name = '{{ slots.expected }}'", {"name": "Ann", "expected": "Ann"}, True),
        ("slots.name = '{{ slots.expected }}'", {"name": "Ann", "expected": "Bob"}, False),
        ("{% if slots.ok %}true{% else %}false{% endif %}", {"ok": True}, True),
        ("{% if slots.ok %}true{% else %}false{% endif %}", {"ok": False}, False),
        # Jinja errors make the condition false
        ("slots.{{ 'amount' }", {"amount": 50}, False),  # syntax error
        ("{{ slots.missing.deeper }} = 1", {"amount": 50}, False),  # undefined error
        ("{{ slots.amount.__class__ }} = 1", {"amount": 50}, False),  # sandbox
        # deprecated list form: every item must hold; strings ignore case
        ([{"type": "slot", "name": "color", "value": "Red"}], {"color": "red"}, True),
        ([{"type": "slot", "name": "color", "value": "red"}], {"color": "blue"}, False),
        ([{"type": "slot", "name": "vip", "value": True}], {"vip": True}, True),
        ([{"type": "slot", "name": "vip", "value": True}], {"vip": None}, False),
        ([{"type": "slot", "name": "n", "value": 5}], {"n": 5.0}, True),
        ([{"type": "slot", "name": "n", "value": "5"}], {"n": 5.0}, False),  # no coercion
        ([{"type": "slot", "name": "missing", "value": None}], {}, True),
        (
            [
                {"type": "slot", "name": "a", "value": "x"},
                {"type": "slot", "name": "b", "value": "y"},
            ],
            {"a": "X", "b": "Y"},
            True,
        ),
        (
            [
                {"type": "slot", "name": "a", "value": "x"},
                {"type": "slot", "name": "b", "value": "y"},
            ],
            {"a": "x", "b": "z"},
            False,
        ),
        ([{"type": "slot", "value": "x"}], {"a": "x"}, False),  # no name: never matches
        (["not a mapping"], {}, False),
    ],
)
def test_conditions(condition: Any, slots: dict[str, Any], holds: bool) -> None:
    if isinstance(condition, list):
        condition = tuple(condition)  # the loader stores the list form as a tuple
    resp = response(variation("conditional", condition=condition), variation("plain"))
    message = render(resp, slots=slots)
    assert message is not None
    assert message.text == ("conditional" if holds else "plain")


# --- randomness -------------------------------------------------------------------------------


def test_seeded_choice_is_reproducible_and_covers_all_variations() -> None:
    resp = response(*(variation(f"v{i}") for i in range(5)))
    first = [render(resp, seed).text for seed in range(100)]  # type: ignore[union-attr]
    again = [render(resp, seed).text for seed in range(100)]  # type: ignore[union-attr]
    assert first == again
    assert set(first) == {f"v{i}" for i in range(5)}

    # one RNG drives a whole conversation: the sequence replays from the same seed
    def sequence(seed: int) -> list[str | None]:
        rng = random.Random(seed)
        return [render_response(resp, slots={}, rng=rng).text for _ in range(20)]  # type: ignore[union-attr]

    assert sequence(7) == sequence(7)
    assert len({tuple(sequence(seed)) for seed in range(10)}) > 1


def test_choice_uses_the_given_rng() -> None:
    resp = response(variation("a"), variation("b"), variation("c"))
    candidates = eligible_variations(resp, slots={})
    for seed in range(20):
        expected = random.Random(seed).choice(candidates).text
        assert render(resp, seed).text == expected  # type: ignore[union-attr]


# --- the default {slot} engine ------------------------------------------------------------------

VARIABLES: dict[str, Any] = {
    "name": "Jane",
    "amount": 50.0,
    "count": 3,
    "ok": True,
    "empty": None,
    "items": ["a", "b"],
    "with space": "spaced",
    "a[b": "bracket",
    "x!r": "bang",
    "a:b": "colon",
    "0": "zero",
    "marker": "see 0[1]",
    "context": {"flow": "f"},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello {name}!", "Hello Jane!"),
        ("{name} owes {amount}", "Jane owes 50.0"),
        ("{count} items, ok={ok}", "3 items, ok=True"),
        ("Value: {empty}", "Value: None"),  # an empty slot renders None
        ("{items}", "['a', 'b']"),
        ("{with space}", "spaced"),  # a name is any run without newline or braces
        ("{a[b}", "bracket"),
        ("{x!r}", "bang"),  # no conversion: `x!r` is just a name
        ("{a:b}", "colon"),  # no format spec: `a:b` is just a name
        ("No placeholders", "No placeholders"),
        ("", ""),
        # one unknown placeholder leaves the whole string as written
        ("Hello {name}, {missing}", "Hello {name}, {missing}"),
        ("{ name }", "{ name }"),  # spaces are part of the name
        ("{Name}", "{Name}"),  # names are case-sensitive
        ("{name:>10}", "{name:>10}"),  # a format spec is part of the (unknown) name
        ("{name!r}", "{name!r}"),
        # no attribute access, indexing or positional fields
        ("{0.__class__}", "{0.__class__}"),
        ("{name.__class__}", "{name.__class__}"),
        ("{name].__class__}", "{name].__class__}"),
        ("{items][0}", "{items][0}"),
        ("{0}", "{0}"),  # str.format would look up the integer 0
        ("{}", "{}"),
        # escaping: `{{x}}` yields `{x}` ...
        ("{{x}}", "{x}"),
        ("{{name}}", "{name}"),
        ("{{ and }}", "{ and }"),
        ("{{{name}}}", "{Jane}"),
        # ... but together with a placeholder Rasa leaves the whole string as written
        ("{{x}} and {name}", "{{x}} and {name}"),
        # so does any "0[" in the result (Rasa's marker check), from the text or a value
        ("0[1] for {name}", "0[1] for {name}"),
        ("{marker}", "{marker}"),
        ("0[1] and {{x}}", "0[1] and {x}"),
        # lone braces cannot be formatted: left as written (Rasa would crash)
        ("a { b", "a { b"),
        ("a } b {name}", "a } b {name}"),
        ("{name", "{name"),
        ("{na\nme}", "{na\nme}"),
        ("{a{name}}", "{a{name}}"),
        # the whole stack frame is one variable; its keys are not names of their own
        ("{context.flow}", "{context.flow}"),
        ("{context}", "{'flow': 'f'}"),
    ],
)
def test_interpolate(text: str, expected: str) -> None:
    assert interpolate(text, VARIABLES) == expected


def rasa_interpolate(template: str, values: dict[str, Any]) -> str:
    """Rasa's `interpolate_format_template`, as an oracle (it may raise ValueError)."""
    try:
        text = re.sub(r"{([^\n{}]+?)}", r"{0[\1]}", template)
        text = text.format(values)
        if "0[" in text:
            return template.format({})
        return text
    except KeyError:
        return template


_ALPHABET = "ab0[ \n{}"  # no `]`, `:`, `!`: where we deliberately differ from str.format


@settings(max_examples=400, deadline=None)
@given(
    text=st.text(alphabet=_ALPHABET, max_size=14),
    values=st.dictionaries(
        st.text(alphabet="ab0[ ", min_size=1, max_size=3),
        st.one_of(st.none(), st.integers(), st.text(alphabet="ab0[{} ", max_size=4)),
        max_size=4,
    ),
)
def test_interpolate_matches_rasa(text: str, values: dict[str, Any]) -> None:
    assume("{}" not in text)  # str.format prints the whole values dict for `{}`
    try:
        expected = rasa_interpolate(text, values)
    except (ValueError, IndexError, AttributeError, TypeError):
        expected = text  # Rasa crashes here; we leave the string as written
    assert interpolate(text, values) == expected


@settings(max_examples=500, deadline=None)
@given(
    text=st.text(max_size=40)
    | st.lists(
        st.sampled_from(["{", "}", "{{", "}}", "name", "0", "[", "]", ".", "!r", ":>3", "x", "\n"]),
        max_size=12,
    ).map("".join),
    values=st.dictionaries(
        st.text(max_size=5) | st.sampled_from(["name", "0", "x", "x!r"]),
        st.none() | st.integers() | st.floats() | st.text(max_size=5) | st.booleans(),
        max_size=5,
    ),
)
def test_interpolate_never_raises(text: str, values: dict[str, Any]) -> None:
    result = interpolate(text, values)
    assert isinstance(result, str)


class _Exploding:
    def __str__(self) -> str:
        raise RuntimeError("boom")


def test_interpolate_survives_values_whose_str_fails() -> None:
    assert interpolate("{x}", {"x": _Exploding()}) == "{x}"


def test_variables_context_then_slots_then_kwargs() -> None:
    resp = response(variation("{who} / {slot_only} / {context}"))
    message = render(
        resp,
        slots={"who": "slot", "slot_only": "s"},
        kwargs={"who": "kwarg"},
        context={"k": 1},
    )
    assert message is not None
    assert message.text == "kwarg / s / {'k': 1}"
    # a slot named `context` overrides the stack frame (as in Rasa)
    message = render(resp, slots={"who": 1, "slot_only": 2, "context": "slot"}, context={"k": 1})
    assert message is not None
    assert message.text == "1 / 2 / slot"


def test_unknown_placeholder_leaves_response_text_as_written() -> None:
    message = render(response(variation("Hi {name}, your {thing}")), slots={"name": "Ann"})
    assert message is not None
    assert message.text == "Hi {name}, your {thing}"


# --- Jinja templates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi {{ name }}", "Hi Jane"),
        ("Flow {{ context.flow }}", "Flow f"),
        ("{{ missing }}|{{ context.missing }}", "|"),  # undefined renders empty
        ("{{ empty }}", "None"),
        ("{{ amount | int }} left", "50 left"),
        ("{% for i in items %}{{ i }}{% if not loop.last %}, {% endif %}{% endfor %}", "a, b"),
        ("{single} braces stay", "{single} braces stay"),
        # errors leave the text as written
        ("{{ name ", "{{ name "),
        ("{% if %}", "{% if %}"),
        ("{{ missing.deeper }}", "{{ missing.deeper }}"),
        ("{{ 1 / 0 }}", "{{ 1 / 0 }}"),
        # sandboxed: an unsafe attribute is undefined, and using it is an error
        ("{{ ''.__class__ }}", ""),
        ("{{ name.__class__.__mro__ }}", "{{ name.__class__.__mro__ }}"),
        (
            "{{ name.__class__.__base__.__subclasses__() }}",
            "{{ name.__class__.__base__.__subclasses__() }}",
        ),
    ],
)
def test_render_jinja(text: str, expected: str) -> None:
    variables = {**VARIABLES, "context": {"flow": "f"}}
    assert render_jinja(text, variables) == expected


def test_jinja_response_uses_context_slots_and_kwargs() -> None:
    resp = response(
        variation(
            "{{ context.canceled_name }}: {{ amount }} to {{ recipient }}{{ suffix }}",
            metadata=JINJA,
        )
    )
    message = render(
        resp,
        slots={"amount": 50, "recipient": "Jane", "suffix": "?"},
        context={"canceled_name": "transfer money"},
        kwargs={"suffix": "!"},
    )
    assert message is not None
    assert message.text == "transfer money: 50 to Jane!"
    assert message.metadata == {"template": "jinja", "utter_action": "utter_test"}


def test_jinja_response_does_not_use_the_default_engine() -> None:
    resp = response(variation("{name} and {{ name }}", metadata=JINJA))
    message = render(resp, slots={"name": "Ann"})
    assert message is not None
    assert message.text == "{name} and Ann"


def test_default_engine_does_not_import_jinja() -> None:
    code = (
        "import random, sys\n"
        "from workbench.actions.responses import render_response\n"
        "from workbench.project.model import Response, ResponseVariation, Source\n"
        "v = ResponseVariation('Hi {name}', Source('domain.yml', 1), condition='slots.a = 1')\n"
        "p = ResponseVariation('plain {name}', Source('domain.yml', 2))\n"
        "r = Response('utter_x', (v, p), Source('domain.yml', 1))\n"
        "m = render_response(r, slots={'name': 'A', 'a': 1}, rng=random.Random(0))\n"
        "assert m.text == 'Hi A', m\n"
        "assert 'jinja2' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- buttons and other templated keys ---------------------------------------------------------


def test_buttons_are_templated() -> None:
    resp = response(
        variation(
            "Pick one for {name}",
            buttons=(
                ("Pay {amount}", "/SetSlots(amount={amount})"),
                ("Cancel", "/cancel"),
                ("{unknown}", "/x"),
            ),
        )
    )
    message = render(resp, slots={"name": "Ann", "amount": 20})
    assert message is not None
    assert message.buttons == (
        {"title": "Pay 20", "payload": "/SetSlots(amount=20)"},
        {"title": "Cancel", "payload": "/cancel"},
        {"title": "{unknown}", "payload": "/x"},
    )


def test_buttons_are_templated_with_jinja() -> None:
    resp = response(
        variation(
            "Which?",
            buttons=(("{{ context.options[0] }}", "/SetSlots(choice={{ context.options[0] }})"),),
            metadata=JINJA,
        )
    )
    message = render(resp, context={"options": ["savings"]})
    assert message is not None
    assert message.buttons == ({"title": "savings", "payload": "/SetSlots(choice=savings)"},)


def test_image_attachment_custom_and_quick_replies_are_templated() -> None:
    custom = {"card": {"title": "Hi {name}", "rows": ["{name}", 3, None, ["{amount}"]]}, "n": 1}
    resp = response(
        variation(
            None,
            image="https://img/{name}.png",
            attachment={"url": "https://files/{name}"},
            custom=custom,
            quick_replies=[{"title": "{name}", "payload": "/x"}],
            elements=[{"title": "{name}"}],
        )
    )
    message = render(resp, slots={"name": "Ann", "amount": 5})
    assert message is not None
    assert message.text is None
    assert message.image == "https://img/Ann.png"
    assert message.attachment == {"url": "https://files/Ann"}
    assert message.custom == {"card": {"title": "Hi Ann", "rows": ["Ann", 3, None, ["5"]]}, "n": 1}
    assert message.quick_replies == ({"title": "Ann", "payload": "/x"},)
    assert message.elements == ({"title": "{name}"},)  # not templated, as in Rasa
    # the domain's own data is not changed
    assert custom["card"]["title"] == "Hi {name}"


# --- the bot event ---------------------------------------------------------------------------


def test_as_event_shape() -> None:
    resp = response(
        variation(
            "Hi {name}",
            buttons=(("Yes", "/affirm"),),
            metadata={"rephrase": True},
            custom={"k": "{name}"},
            image="img.png",
        ),
        name="utter_greet",
    )
    message = render(resp, slots={"name": "Ann"})
    assert message is not None
    assert message.response == "utter_greet"
    assert message.as_event() == {
        "event": "bot",
        "text": "Hi Ann",
        "data": {
            "buttons": [{"title": "Yes", "payload": "/affirm"}],
            "image": "img.png",
            "attachment": "img.png",  # Rasa's legacy fallback to the image
            "custom": {"k": "Ann"},
        },
        "metadata": {"rephrase": True, "utter_action": "utter_greet"},
    }


def test_as_event_omits_empty_data() -> None:
    message = render(response(variation("Plain"), name="utter_plain"))
    assert message is not None
    assert message.as_event() == {
        "event": "bot",
        "text": "Plain",
        "data": {},
        "metadata": {"utter_action": "utter_plain"},
    }
    literal = BotMessage(text="raw text", response=None)
    assert literal.as_event() == {"event": "bot", "text": "raw text", "data": {}, "metadata": {}}


def test_as_event_is_a_copy() -> None:
    message = render(response(variation("x", custom={"a": {"b": 1}}, buttons=(("t", "p"),))))
    assert message is not None
    event = message.as_event()
    event["data"]["custom"]["a"]["b"] = 2
    event["data"]["buttons"][0]["title"] = "changed"
    event["metadata"]["utter_action"] = "changed"
    assert message.custom == {"a": {"b": 1}}
    assert message.buttons[0]["title"] == "t"
    assert message.metadata["utter_action"] == "utter_test"


# --- languages -------------------------------------------------------------------------------

TRANSLATED = response(
    variation(
        "How can I help, {name}?",
        buttons=(("Yes", "/affirm"), ("No", "/deny")),
        translation={
            "de": {
                "text": "Wie kann ich helfen, {name}?",
                "buttons": [{"title": "Ja", "payload": "/affirm"}],
            },
            "es": "¿Cómo puedo ayudar, {name}?",
        },
    )
)


@pytest.mark.parametrize(
    ("language", "text", "buttons"),
    [
        (None, "How can I help, Ann?", ("Yes", "No")),
        ("en", "How can I help, Ann?", ("Yes", "No")),  # the default language
        ("de", "Wie kann ich helfen, Ann?", ("Ja",)),
        ("es", "¿Cómo puedo ayudar, Ann?", ("Yes", "No")),  # text-only translation
        ("fr", "How can I help, Ann?", ("Yes", "No")),  # no translation: as written
    ],
)
def test_translation(language: str | None, text: str, buttons: tuple[str, ...]) -> None:
    message = render(TRANSLATED, slots={"name": "Ann"}, language=language, default_language="en")
    assert message is not None
    assert message.text == text
    assert tuple(button["title"] for button in message.buttons) == buttons


def test_translation_of_the_default_language_is_not_used() -> None:
    resp = response(variation("Hello", translation={"en": "Hi there"}))
    message = render(resp, language="en", default_language="en")
    assert message is not None
    assert message.text == "Hello"


def test_per_button_translation() -> None:
    raw_buttons = [
        {"title": "Yes", "payload": "/affirm", "translation": {"de": {"title": "Ja"}}},
        {"title": "No", "payload": "/deny"},
    ]
    resp = response(
        ResponseVariation(
            text="Continue?",
            source=Source("domain.yml", 1),
            buttons=(Button("Yes", "/affirm"), Button("No", "/deny")),
            raw={"text": "Continue?", "buttons": raw_buttons},
        )
    )
    message = render(resp, language="de", default_language="en")
    assert message is not None
    assert message.buttons == (
        {"title": "Ja", "payload": "/affirm"},
        {"title": "No", "payload": "/deny"},
    )
    # the default language ignores them
    message = render(resp, language="en", default_language="en")
    assert message is not None
    assert message.buttons[0]["title"] == "Yes"


@pytest.mark.parametrize(
    ("variations", "language", "expected"),
    [
        # variations with a translation for the session language win over the others
        (
            (variation("plain"), variation("translated", translation={"de": "übersetzt"})),
            "de",
            {"übersetzt"},
        ),
        # nobody has one: all stay eligible
        (
            (variation("a"), variation("b", translation={"de": "b-de"})),
            "fr",
            {"a", "b"},
        ),
        # metadata.language tags: those for the session language win ...
        (
            (
                variation("en", metadata={"language": "en"}),
                variation("de-tag", metadata={"language": "de"}),
            ),
            "de",
            {"de-tag"},
        ),
        # ... also for the default language (session language = default when none given)
        (
            (
                variation("en-tag", metadata={"language": "en"}),
                variation("de-tag", metadata={"language": "de"}),
            ),
            None,
            {"en-tag"},
        ),
        # ... and when none is tagged for it, every variation stays eligible
        (
            (variation("untagged"), variation("de-tag", metadata={"language": "de"})),
            "fr",
            {"untagged", "de-tag"},
        ),
    ],
)
def test_language_preference(
    variations: tuple[ResponseVariation, ...], language: str | None, expected: set[str]
) -> None:
    resp = response(*variations)
    assert texts_over_seeds(resp, language=language, default_language="en") == expected


def test_language_preference_applies_within_the_winning_group() -> None:
    # a channel-specific variation still beats a translated channel-less one
    resp = response(
        variation("web", channel="web"),
        variation("translated", translation={"de": "übersetzt"}),
    )
    assert texts_over_seeds(resp, channel="web", language="de", default_language="en") == {"web"}


# --- the shipped default responses -----------------------------------------------------------


@pytest.fixture(scope="module")
def defaults() -> dict[str, Response]:
    return default_patterns()[1].responses


@pytest.mark.parametrize(
    ("name", "context", "kwargs", "expected"),
    [
        (
            "utter_flow_cancelled_rasa",
            {"canceled_name": "transfer money"},
            {},
            "Okay, stopping transfer money.",
        ),
        (
            "utter_corrected_previous_input",
            {"corrected_slots": {"amount": 50, "recipient": "Jane"}},
            {},
            "Ok, I am updating amount to 50, and recipient to Jane.",
        ),
        (
            "utter_corrected_previous_input",
            {"corrected_slots": {"amount": 50}},
            {},
            "Ok, I am updating amount to 50.",
        ),
        (
            "utter_clarification_options_rasa",
            {"clarification_options": "transfer money, check balance or add contact"},
            {},
            "I can help, but I need more information. Which of these would you like to do: "
            "transfer money, check balance or add contact?",
        ),
        (
            "utter_clarification_no_options_rasa",
            {},
            {},
            "I can help, but I need more information. Please tell me a bit more about what "
            "you would like to do.",
        ),
        (
            "utter_ask_continue_interrupted_flow_confirmation",
            {"interrupted_flow_options": "transfer money"},
            {},
            "Would you like to continue with transfer money?",
        ),
        (
            "utter_ask_interrupted_flow_to_continue",
            {"interrupted_flow_options": "transfer money and add contact"},
            {},
            "Would you like to resume transfer money and add contact?",
        ),
        (
            "utter_user_input_too_long_error_rasa",
            {"info": {"max_characters": 420}},
            {},
            "I'm sorry, but your message is too long for me to process. Please keep your "
            "message concise and within 420 characters.",
        ),
        (
            "utter_user_input_too_long_error_rasa",
            {"info": {}},
            {},
            "I'm sorry, but your message is too long for me to process. Please keep your "
            "message concise and within a reasonable length.",
        ),
        (
            "utter_boolean_slot_rejection",
            {},
            {"value": "maybe"},
            "Sorry, the value you provided, `maybe`, is not valid. Please respond with a "
            "valid value.",
        ),
        (
            "utter_float_slot_rejection",
            {},
            {"value": "ten"},
            "Sorry, it seems the value you provided `ten` is not a valid number. Please "
            "provide a valid number in your response.",
        ),
        (
            "utter_categorical_slot_rejection",
            {},
            {"value": "gold"},
            "Sorry, you responded with an invalid value - `gold`. Please select one of the "
            "available options.",
        ),
    ],
)
def test_default_templated_responses(
    defaults: dict[str, Response],
    name: str,
    context: dict[str, Any],
    kwargs: dict[str, Any],
    expected: str,
) -> None:
    message = render(defaults[name], context=context, kwargs=kwargs)
    assert message is not None
    assert message.text == expected
    assert message.metadata["utter_action"] == name


def test_too_long_error_without_info_is_left_as_written(defaults: dict[str, Response]) -> None:
    # `context.info.max_characters` on a frame without `info` is a Jinja error; Rasa's
    # internal-error frame always has `info` (default {}), so this only guards the fallback.
    resp = defaults["utter_user_input_too_long_error_rasa"]
    message = render(resp, context={})
    assert message is not None
    assert message.text == resp.variations[0].text


# Reference section e: exact texts (’ is a typographic apostrophe) and which ones are
# marked for the rephraser.
PLAIN_DEFAULTS = [
    ("utter_ask_continue_conversation", "Is there anything else I can help you with?", True),
    ("utter_can_do_something_else", "What exactly can I help you with?", True),
    ("utter_closing_words", "Okay, I'll be around in case you need further help.", True),
    ("utter_ask_csat_score", "How would you rate your experience today?", True),
    (
        "utter_csat_thank_you_satisfied",
        "Thank you for your feedback! I'm glad I could help.",
        True,
    ),
    (
        "utter_csat_thank_you_unsatisfied",
        "Thank you for your feedback. I'm sorry I couldn't fully meet your expectations.",
        True,
    ),
    (
        "utter_ask_rephrase",
        "I\u2019m sorry I am unable to understand you, could you please rephrase?",
        False,
    ),
    ("utter_cannot_handle", "I'm sorry, I'm not trained to help with that.", False),
    ("utter_no_relevant_answer_found", "I\u2019m sorry, I can\u2019t help with that.", True),
    (
        "utter_no_knowledge_base",
        "I am afraid, I don't know the answer. At this point, I don't have access to a "
        "knowledge base.",
        True,
    ),
    ("utter_free_chitchat_response", "Sorry, I'm not able to answer that right now.", True),
    (
        "utter_internal_error_rasa",
        "Sorry, I am having trouble with that. Please try again in a few minutes.",
        False,
    ),
    (
        "utter_user_input_empty_error_rasa",
        "I see an empty message. What can I assist you with?",
        False,
    ),
    (
        "utter_skip_question_answer",
        "I'm here to provide you with the best assistance, and in order to do so, I kindly "
        "request that we complete this step together. Your input is essential for a "
        "seamless experience!",
        True,
    ),
    (
        "utter_human_handoff_not_available",
        "I understand you want to be connected to a human agent, but that's something I "
        "cannot help you with at the moment. Is there something else I can help you with?",
        True,
    ),
    (
        "utter_inform_code_change",
        "There has been an update to my code. I need to wrap up our running dialogue and "
        "start from scratch.",
        True,
    ),
    ("utter_ask_still_there", "Hello, are you still there?", True),
    (
        "utter_inform_hangup",
        "I haven\u2019t heard from you, so I\u2019ll end our conversation shortly.",
        True,
    ),
    ("utter_agent_busy", "I'm still busy processing.", True),
]


@pytest.mark.parametrize(("name", "expected", "rephrase"), PLAIN_DEFAULTS)
def test_default_plain_responses(
    defaults: dict[str, Response], name: str, expected: str, rephrase: bool
) -> None:
    # with the pattern slots filled in, as at runtime
    slots = {slot: None for slot in default_patterns()[1].slots}
    message = render(defaults[name], slots=slots, channel="rest")
    assert message is not None
    assert message.text == expected
    assert bool(message.metadata.get("rephrase")) is rephrase


def test_default_csat_buttons(defaults: dict[str, Response]) -> None:
    message = render(defaults["utter_ask_csat_score"])
    assert message is not None
    assert message.buttons == (
        {"title": "👍 Satisfied", "payload": "/SetSlots(csat_score=satisfied)"},
        {"title": "👎 Not Satisfied", "payload": "/SetSlots(csat_score=unsatisfied)"},
    )


def test_default_csat_voice_variation(defaults: dict[str, Response]) -> None:
    message = render(defaults["utter_ask_csat_score"], channel="browser_audio")
    assert message is not None
    assert message.text == (
        "Before you go \u2014 were you happy with the help you got today? "
        "You can say satisfied or not satisfied."
    )
