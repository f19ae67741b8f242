"""The condition language (pypred 0.4 semantics): parsing, evaluation, errors, introspection."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.calm.conditions import (
    Condition,
    ConditionSyntaxError,
    check_syntax,
    evaluate_condition,
    parse_condition,
)

DOC: dict[str, Any] = {
    "slots": {
        "amount": 5,
        "price": 9.5,
        "name": "Alice",
        "first": "a",
        "empty_str": "",
        "none": None,
        "ok": True,
        "no": False,
        "zero": 0,
        "items": ["a", "b"],
        "numbers": [1, 2, 3],
        "empty_list": [],
        "mapping": {"k": 1},
        "str_true": "true",
        "profile": {"city": "Berlin"},
        "address": None,
        "my-slot": 1,
    },
    "context": {"collect": "amount", "flow_id": "transfer_money"},
}


def check(text: str, expected: bool, document: Any = None) -> None:
    condition = parse_condition(text)
    assert condition.evaluate(DOC if document is None else document) is expected


# --- operators ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("slots.amount = 5", True),
        ("slots.amount == 5", True),
        ("slots.amount is 5", True),
        ("slots.amount = 5.0", True),
        ("slots.amount = 6", False),
        ("slots.amount != 5", False),
        ("slots.amount != 6", True),
        ("slots.amount is not 5", False),
        ("slots.amount is not 6", True),
        ("slots.name = 'Alice'", True),
        ('slots.name = "Alice"', True),
        ('slots.name = "alice"', False),
        # An unquoted word is a lookup, not a string.
        ("slots.name = Alice", False),
        ('slots.str_true = "true"', True),
        ("slots.str_true = true", False),
        ("slots.ok = true", True),
        ('slots.ok = "true"', False),
        ("slots.no = false", True),
        ("slots.price = slots.price", True),
        ('context.collect = "amount"', True),
        ("context.flow_id is 'transfer_money'", True),
        ("slots.profile.city = 'Berlin'", True),
        ("slots.my-slot = 1", True),
        # Python equality underneath: bools are numbers.
        ("slots.ok = 1", True),
        ("slots.zero = false", True),
    ],
)
def test_equality(text: str, expected: bool) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("slots.amount > 4", True),
        ("slots.amount > 5", False),
        ("slots.amount >= 5", True),
        ("slots.amount < 5.5", True),
        ("slots.amount <= 4.99", False),
        ("slots.amount>=5", True),
        ("slots.amount > -1", True),
        ("slots.amount>-1", True),
        ("-1 < 0", True),
        ("slots.price > slots.amount", True),
        ('slots.name > "A"', True),
        ('slots.name < "B"', True),
        # Type errors make the condition false, whatever the operator.
        ("slots.name < 5", False),
        ("slots.name > 5", False),
        ('slots.amount > "4"', False),
        ("slots.none > 1", False),
        ("slots.none < 1", False),
        ("slots.none <= null", False),
        # Ordering against undefined or empty is always false.
        ("slots.typo > 1", False),
        ("slots.typo < 1", False),
        ("slots.typo <= undefined", False),
        ("undefined >= undefined", False),
        ("empty < 1", False),
        ("1 > empty", False),
    ],
)
def test_ordering(text: str, expected: bool) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("slots.typo is null", False),
        ("slots.typo is not null", True),
        ("slots.typo is undefined", True),
        ("slots.typo != undefined", False),
        ("slots.typo = empty", True),
        ("slots.none is null", True),
        ("slots.none is not null", False),
        ("slots.none is undefined", False),
        ("slots.none is empty", False),
        ("slots.empty_str is empty", True),
        ("slots.empty_list = empty", True),
        ("slots.items is empty", False),
        ("slots.name is not empty", True),
        ("slots.zero is empty", False),
        ("context.missing is undefined", True),
        ("missing is undefined", True),
        ("undefined = undefined", True),
        ("undefined = empty", True),
        ("empty = undefined", True),
        ("empty = empty", True),
        ("null = null", True),
        ("null = undefined", False),
        ("undefined = null", False),
        ("null != undefined", True),
        ("empty = null", False),
        ("'' = empty", True),
        ("{} = empty", True),
        # pypred's asymmetry: undefined differs from everything but undefined,
        # while `!=` on empty is just the negation of its `=`.
        ("undefined != empty", True),
        ("empty != undefined", False),
        ("undefined != undefined", False),
    ],
)
def test_undefined_null_empty(text: str, expected: bool) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("slots.ok = TRUE", True),
        ("slots.ok = True", True),
        ("slots.no = FALSE", True),
        ("slots.none IS NULL", True),
        ("slots.none = Null", True),
        ("slots.typo Is Undefined", True),
        ("slots.empty_str = EMPTY", True),
        ("slots.amount IS NOT 6", True),
        ("slots.amount > 1 AND slots.ok", True),
        ("slots.no OR slots.ok", True),
        ("NOT slots.no", True),
        ('slots.name CONTAINS "li"', True),
        ('slots.name Matches "^A"', True),
        # Quoted, a keyword is just a string.
        ("'true' = true", False),
        ('slots.str_true = "TRUE"', False),
    ],
)
def test_case_insensitive_keywords(text: str, expected: bool) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5 = 5.0", True),
        ("5 = 5.00", True),
        ("slots.price = 9.5", True),
        ('"5" = 5', False),
        ('slots.amount = "5"', False),
        ("10 > 9", True),
        ('"10" > "9"', False),
        ("-2.5 < -2", True),
        ("slots.numbers contains 2", True),
    ],
)
def test_numbers_are_floats_and_strings_are_not_numbers(text: str, expected: bool) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("slots.ok", True),
        ("slots.no", False),
        ("slots.none", False),
        ("slots.typo", False),
        ("slots.zero", False),
        ("slots.name", True),
        ("slots.empty_str", False),
        ("slots.str_true", True),
        ("slots.items", True),
        ("slots.empty_list", False),
        ("'false'", True),
        ("''", False),
        ("0", False),
        ("1", True),
        ("true", True),
        ("false", False),
        ("null", False),
        ("(null)", False),
        ("{'a'}", True),
        ("slots", True),
    ],
)
def test_bare_terms_are_truth_tested(text: str, expected: bool) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('slots.name contains "lic"', True),
        ('slots.name contains "x"', False),
        ("slots.items contains 'a'", True),
        ("slots.items contains 'c'", False),
        ("slots.items contains slots.first", True),
        ("slots.items contains (slots.first)", True),
        ("slots.mapping contains 'k'", True),
        ("slots.mapping contains 'z'", False),
        ("slots.typo contains 'a'", False),
        ("slots.none contains 'a'", False),
        ("slots.amount contains 5", False),
        ("slots.ok contains true", False),
        # `5.0 in "Alice"` raises a TypeError: false.
        ("slots.name contains 5", False),
        ("slots.items contains null", False),
    ],
)
def test_contains(text: str, expected: bool) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{'a' 'b'} contains slots.first", True),
        ("{'a' 'b'} contains 'c'", False),
        ("{1 5} contains slots.amount", True),
        ("{1 2 3} contains slots.amount", False),
        # Set items are looked up like any other word.
        ("{slots.name 'Bob'} contains 'Alice'", True),
        ("{true} contains true", True),
        ("{null} contains slots.none", True),
        ("{} contains 'a'", False),
        ("{'a' 'b'} contains slots.typo", False),
        ("{(slots.ok)} contains true", True),
        ("{'a' 'b'} = {'b' 'a'}", True),
        ("{'a' 'a'} = {'a'}", True),
        ("{'a' 'b'} = {'a'}", False),
        # A set literal evaluates to a frozenset, which never equals a list value.
        ("slots.items = {'a' 'b'}", False),
        # An unhashable item (a list) fails at evaluation.
        ("{slots.items} contains 'a'", False),
        # These parse, as in pypred, but always fail when evaluated.
        ("{undefined} contains 'a'", False),
        ("{(slots.ok = true)} contains true", False),
    ],
)
def test_sets(text: str, expected: bool) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('slots.name matches "^Al"', True),
        ('slots.name matches "ice$"', True),
        # A search, not a full match.
        ('slots.name matches "lic"', True),
        ('slots.name matches "^lic"', False),
        ("slots.name matches 'A.+e'", True),
        ('slots.name matches "[a-z]+"', True),
        ('slots.name matches "^[a-z]+$"', False),
        ('slots.name matches "(?i)^alice$"', True),
        # A bare word on the right is the pattern itself, not a lookup.
        ("slots.name matches Alice", True),
        ("slots.name matches slots.name", False),
        ('slots.name matches ("^A")', True),
        # Non-string values never match.
        ('slots.amount matches "5"', False),
        ('slots.typo matches ".*"', False),
        ('slots.none matches ".*"', False),
        ('slots.items matches "a"', False),
    ],
)
def test_matches(text: str, expected: bool) -> None:
    check(text, expected)


# --- logic and precedence -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # `and`/`or` share one precedence and group to the right.
        ("false and false or true", False),  # false and (false or true)
        ("false and true or true", False),
        ("true or false and false", True),  # true or (false and false)
        ("true and false or true", True),
        ("false or false and true", False),
        ("false or true and true", True),
        ("true and true and false", False),
        ("false or false or true", True),
        ('slots.amount > 10 and slots.ok or slots.name = "Alice"', False),
        # Parentheses override the grouping.
        ("(false and false) or true", True),
        ("(true or false) and false", False),
        ("true or (false and false)", True),
        ("false and (false or true)", False),
        # `not` binds tighter than `and`/`or`, looser than comparisons.
        ("not false and false", False),
        ("not true or true", True),
        ("not slots.amount = 6", True),
        ("not slots.amount > 1 and slots.ok", False),
        ("not not true", True),
        ("not not not true", False),
        ("not (slots.amount > 1 and slots.ok)", False),
        ("slots.ok and not slots.no", True),
        ("slots.ok and not slots.ok or true", True),
        # Nested parentheses.
        ("(((true)))", True),
        ("((slots.amount > 1) and ((slots.ok)))", True),
        ("((slots.no or (slots.amount = 5 and (slots.ok))))", True),
        ("(slots.amount = 5) = true", True),
        ("(slots.amount = 5) is not false", True),
        ("(slots.amount = 6) = slots.no", True),
    ],
)
def test_logic_and_precedence(text: str, expected: bool) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # An error anywhere evaluated makes the whole condition false ...
        ("slots.none > 1 or true", False),
        ("not slots.none > 1", False),
        ("true and slots.name < 5", False),
        # ... but short-circuiting means it may never be evaluated.
        ("true or slots.none > 1", True),
        ("false and slots.none > 1", False),
        ("slots.ok or slots.none > 1", True),
    ],
)
def test_errors_make_the_condition_false(text: str, expected: bool) -> None:
    check(text, expected)


# --- lookups --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "document", "expected"),
    [
        ("slots.profile.city = 'Berlin'", DOC, True),
        ("slots.profile.zip is undefined", DOC, True),
        # "first" is not in "Alice", so the walk stops with undefined ...
        ("slots.name.first is undefined", DOC, True),
        # ... but walking into None or a list raises, as in pypred.
        ("slots.address.city is undefined", DOC, False),
        ("slots.items.a is undefined", DOC, False),
        # A key containing dots is tried whole before the dotted walk.
        ("slots.x = 1", {"slots.x": 1}, True),
        ("slots.x = 1", {"slots": {"x": 1}}, True),
        ("slots.x is undefined", {}, True),
        ("slots.x is undefined", {"slots": None}, False),
        ("slots.x is undefined", {"slots": "abc"}, True),
        ("slots.a = 1", {"slots": {"a": 1}, "context": {}}, True),
    ],
)
def test_lookups_into_the_document(text: str, document: Any, expected: bool) -> None:
    check(text, expected, document)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("slots.ok # a comment", True),
        ("slots.ok and # a comment\n slots.amount = 5", True),
        ("slots.ok\nand\tslots.amount = 5", True),
        ('slots.name = "a#b"', False),
        ("'a#b' = \"a#b\"", True),
        ('"it\'s" = "it\'s"', True),
        ("'multi\nline' = 'multi\nline'", True),
    ],
)
def test_whitespace_comments_and_quotes(text: str, expected: bool) -> None:
    check(text, expected)


# --- syntax errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("", 0, "empty condition"),
        ("   ", 0, "empty condition"),
        ("# only a comment", 0, "empty condition"),
        # Unbalanced parentheses and braces.
        ("(slots.ok", 0, "unclosed '('"),
        ("slots.ok and (slots.a or (slots.b)", 13, "unclosed '('"),
        ("slots.ok)", 8, "unmatched ')'"),
        ("(slots.ok))", 10, "unmatched ')'"),
        ("()", 1, "unexpected ')'"),
        ("(", 1, "after '('"),
        ("slots.a = (1 2)", 13, "expected ')'"),
        ("{'a' 'b'", 0, "unclosed '{'"),
        ("{{'a'}} contains 'a'", 1, "nested"),
        # pypred rejects a tree whose root is falsy.
        ("undefined", 0, "bare"),
        (" (EMPTY)", 1, "bare"),
        ("{}", 0, "bare"),
        ("{({'a'})} contains 'a'", 1, "nested"),
        # Dangling and misplaced operators.
        ("slots.ok and", 12, "after 'and'"),
        ("slots.ok or ", 12, "after 'or'"),
        ("not", 3, "after 'not'"),
        ("slots.amount >", 14, "after '>'"),
        ("slots.amount is not", 19, "after 'not'"),
        ("slots.amount > > 5", 15, "unexpected '>'"),
        ("and slots.ok", 0, "unexpected 'and'"),
        ("slots.ok and or slots.a", 13, "unexpected 'or'"),
        ("slots.a = 1 = 2", 12, "unexpected '='"),
        ("slots.a b", 8, "unexpected 'b'"),
        ("slots.a = not slots.b", 10, "unexpected 'not'"),
        ("slots.a is not not slots.b", 15, "unexpected 'not'"),
        ("slots.a contains", 16, "after 'contains'"),
        # Unterminated strings.
        ('slots.name = "Alice', 13, "unterminated string"),
        ("slots.name = 'Alice", 13, "unterminated string"),
        ("slots.name = 'Alice\"", 13, "unterminated string"),
        # Characters outside the language; sets take no commas.
        ("slots.a && slots.b", 8, "unexpected character '&'"),
        ("slots.a ! = 1", 8, "unexpected character '!'"),
        ("slots.a = 1, 2", 11, "unexpected character ','"),
        ("{'a', 'b'} contains 'a'", 4, "unexpected character ','"),
        ("slots.a = [1]", 10, "unexpected character '['"),
        ("slots.a\r= 1", 7, "unexpected character '\\r'"),
        # A number wins over a word: `5abc` is `5` then `abc`.
        ("5abc", 1, "unexpected 'abc'"),
        ("slots.amount > 1e5", 16, "unexpected 'e5'"),
        ("slots.a = 5.", 11, "unexpected '.'"),
        # Operand checks of contains and matches.
        ("slots.a contains {'a'}", 17, "'contains'"),
        ("slots.a contains (slots.b = 1)", 17, "'contains'"),
        ("slots.a contains undefined", 17, "'contains'"),
        ("slots.a contains empty", 17, "'contains'"),
        ("slots.a matches 5", 16, "'matches'"),
        ("slots.a matches true", 16, "'matches'"),
        ("slots.a matches null", 16, "'matches'"),
        ("slots.a matches {'a'}", 16, "'matches'"),
        ('slots.a matches "("', 16, "invalid regular expression"),
        ("slots.a matches '[a-'", 16, "invalid regular expression"),
        # Nesting beyond any real condition.
        ("(" * 100 + "true" + ")" * 100, 50, "nested too deeply"),
        ("not " * 100 + "true", 200, "nested too deeply"),
    ],
)
def test_syntax_errors(text: str, position: int, fragment: str) -> None:
    with pytest.raises(ConditionSyntaxError) as raised:
        parse_condition(text)
    error = raised.value
    assert error.position == position
    assert fragment in error.message
    assert isinstance(error, ValueError)
    assert f"position {position}" in str(error)
    checked = check_syntax(text)
    assert checked is not None
    assert (checked.message, checked.position) == (error.message, error.position)
    assert evaluate_condition(text, DOC) is False


@pytest.mark.parametrize(
    "text",
    [
        "slots.amount >= 0 # comment",
        "slots.a is not null",
        "slots.x contains slots.y",
        "slots.x contains ('a')",
        "slots.x contains 5",
        "slots.x contains null",
        "slots.x matches abc",
        "slots.x matches ('^x')",
        "{undefined} contains 'a'",
        "{} contains 'a'",
        "not undefined",
        "TRUE",
        "not not true",
        "slots.a-b:c;d = 1",
        "- = -",
        ".5 = .5",
        "(" * 40 + "true" + ")" * 40,
        " and ".join(["slots.ok"] * 2000),
    ],
)
def test_valid_syntax(text: str) -> None:
    assert check_syntax(text) is None
    parse_condition(text)


# --- introspection --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lookups", "slot_names"),
    [
        (
            "slots.amount > 0 and context.collect = 'amount'",
            {"slots.amount", "context.collect"},
            {"amount"},
        ),
        ("slots.profile.city = 'Berlin'", {"slots.profile.city"}, {"profile"}),
        ("{slots.a 'b'} contains slots.c", {"slots.a", "slots.c"}, {"a", "c"}),
        (
            "not (slots.a or (slots.b and slots.c))",
            {"slots.a", "slots.b", "slots.c"},
            {"a", "b", "c"},
        ),
        ("slots.a = slots.a", {"slots.a"}, {"a"}),
        # The right side of `matches` is a pattern, not a lookup.
        ("slots.name matches abc", {"slots.name"}, {"name"}),
        ("'slots.quoted' = 1", set(), set()),
        ("true", set(), set()),
        ("foo = bar", {"foo", "bar"}, set()),
        ("slotsx.a and slots", {"slotsx.a", "slots"}, set()),
        ("slots. = 1", {"slots."}, set()),
        ("SLOTS.a", {"SLOTS.a"}, set()),
    ],
)
def test_lookups_and_slot_names(text: str, lookups: set[str], slot_names: set[str]) -> None:
    condition = parse_condition(text)
    assert condition.lookups() == frozenset(lookups)
    assert condition.slot_names() == frozenset(slot_names)


# --- public API -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (None, True),
        (True, True),
        (False, False),
        ("slots.ok", True),
        ("slots.no", False),
        ("slots.ok and", False),
        ("", False),
        (1, False),
    ],
)
def test_evaluate_condition(condition: Any, expected: bool) -> None:
    assert evaluate_condition(condition, DOC) is expected


def test_parse_results_are_cached_and_frozen() -> None:
    condition = parse_condition("slots.amount > 1")
    assert isinstance(condition, Condition)
    assert condition.text == "slots.amount > 1"
    assert parse_condition("slots.amount > 1") is condition
    assert condition == parse_condition("slots.amount  >  1".replace("  ", " "))
    with pytest.raises(dataclasses.FrozenInstanceError):
        condition.text = "other"  # type: ignore[misc]


def test_repeated_syntax_errors_are_fresh_exceptions() -> None:
    errors = []
    for _ in range(2):
        with pytest.raises(ConditionSyntaxError) as raised:
            parse_condition("slots.a and")
        errors.append(raised.value)
    assert errors[0] is not errors[1]
    assert (errors[0].message, errors[0].position) == (errors[1].message, errors[1].position)


def test_non_string_is_a_syntax_error() -> None:
    with pytest.raises(ConditionSyntaxError):
        parse_condition(None)  # type: ignore[arg-type]
    assert check_syntax(5) is not None  # type: ignore[arg-type]


class _Hostile:
    """A document value whose every operation raises."""

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq")

    def __bool__(self) -> bool:
        raise RuntimeError("bool")

    def __contains__(self, item: object) -> bool:
        raise RuntimeError("contains")

    __hash__ = object.__hash__


@pytest.mark.parametrize(
    "text", ["slots.h", "slots.h = 1", "slots.h contains 'a'", "not slots.h", "{slots.h} = {}"]
)
@pytest.mark.parametrize("document", [{"slots": {"h": _Hostile()}}, {"slots": _Hostile()}])
def test_evaluate_never_raises(text: str, document: Any) -> None:
    assert parse_condition(text).evaluate(document) is False


# --- properties -----------------------------------------------------------------------------

_TOKENS = [
    "slots.amount",
    "slots.name",
    "slots.none",
    "slots.items",
    "slots.typo",
    "slots.mapping",
    "slots.address.city",
    "context.collect",
    "'Alice'",
    '"a"',
    "5",
    "-1.5",
    "true",
    "FALSE",
    "null",
    "undefined",
    "empty",
    "and",
    "or",
    "not",
    "is",
    "=",
    "==",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    "contains",
    "matches",
    "'^A'",
    "(",
    ")",
    "{",
    "}",
    "#",
    "\n",
    ",",
    "'",
]

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
_documents = st.fixed_dictionaries(
    {"slots": st.dictionaries(st.sampled_from(["amount", "name", "none", "items"]), _json)},
    optional={"context": _json},
)


def _parse_or_error(text: str) -> Condition | None:
    try:
        return parse_condition(text)
    except ConditionSyntaxError as error:
        assert 0 <= error.position <= len(text)
        assert check_syntax(text) is not None
        return None


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60), document=_documents)
def test_random_text_only_raises_syntax_errors(text: str, document: dict[str, Any]) -> None:
    condition = _parse_or_error(text)
    if condition is not None:
        assert check_syntax(text) is None
        assert isinstance(condition.evaluate(document), bool)
        assert isinstance(evaluate_condition(text, document), bool)


@settings(max_examples=500, deadline=None)
@given(tokens=st.lists(st.sampled_from(_TOKENS), max_size=12), document=_documents)
def test_token_soup_never_raises_on_evaluation(tokens: list[str], document: dict[str, Any]) -> None:
    text = " ".join(tokens)
    condition = _parse_or_error(text)
    if condition is not None:
        assert isinstance(condition.evaluate(document), bool)
        assert isinstance(condition.evaluate(DOC), bool)


@given(
    values=st.lists(st.booleans(), min_size=1, max_size=8),
    ops=st.lists(st.sampled_from(["and", "or", "AND", "Or"]), min_size=7, max_size=7),
)
def test_logic_groups_to_the_right(values: list[bool], ops: list[str]) -> None:
    ops = ops[: len(values) - 1]
    text = " ".join(
        word for value, op in zip(values, [*ops, ""], strict=True) for word in (str(value), op)
    ).strip()
    expected = values[-1]
    for value, op in zip(reversed(values[:-1]), reversed(ops), strict=True):
        expected = (value and expected) if op.lower() == "and" else (value or expected)
    assert parse_condition(text).evaluate({}) is expected
