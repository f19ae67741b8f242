"""The command parser: LLM replies in the v1/v2/v3 syntaxes, typed commands, button payloads."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.calm.commands import (
    FROM_BUTTON,
    FROM_LLM,
    CancelFlow,
    CannotHandle,
    ChitChatAnswer,
    Clarify,
    ContinueAgent,
    KnowledgeAnswer,
    RepeatBotMessages,
    RestartAgent,
    SetSlot,
    SkipQuestion,
    StartFlow,
)
from workbench.understanding.dsl.parser import (
    SYNTAX_BY_GENERATOR,
    SYNTAXES,
    IntentPayload,
    ParseResult,
    SetSlotsPayload,
    parse_button_payload,
    parse_commands,
)

DSL = ("v2", "v3", "any")


def commands(text: str, syntax: str = "v2") -> tuple:
    return parse_commands(text, syntax).commands


def only_reason(text: str, syntax: str = "v2") -> str:
    """The reason of the single dropped line of a reply that parses to nothing."""
    result = parse_commands(text, syntax)
    assert result.commands == (CannotHandle(),)
    assert len(result.dropped) == 1
    dropped = result.dropped[0]
    assert dropped.line == text.strip()
    assert dropped.command is None
    return dropped.reason


# --- every command, in every syntax that has it ------------------------------------------------

COMMON = [
    ("start flow transfer_money", StartFlow("transfer_money")),
    ("start flow add-card_2", StartFlow("add-card_2")),
    ("set slot amount 50", SetSlot("amount", "50")),
    ("cancel flow", CancelFlow()),
    (
        "disambiguate flows transfer_money check_balance",
        Clarify(("check_balance", "transfer_money")),
    ),
    ("repeat message", RepeatBotMessages()),
    ("skip question", SkipQuestion()),
    ("continue agent", ContinueAgent()),
    ("restart agent booking_agent", RestartAgent("booking_agent")),
]


@pytest.mark.parametrize("syntax", DSL)
@pytest.mark.parametrize(("line", "expected"), COMMON)
def test_common_commands(syntax: str, line: str, expected) -> None:
    result = parse_commands(line, syntax)
    assert result == ParseResult(commands=(expected,), dropped=())


@pytest.mark.parametrize(
    ("line", "syntax", "expected"),
    [
        ("provide info", "v2", KnowledgeAnswer()),
        ("offtopic reply", "v2", ChitChatAnswer()),
        ("search and reply", "v3", KnowledgeAnswer()),
        ("provide info", "any", KnowledgeAnswer()),
        ("offtopic reply", "any", ChitChatAnswer()),
        ("search and reply", "any", KnowledgeAnswer()),
    ],
)
def test_syntax_specific_commands(line: str, syntax: str, expected) -> None:
    assert commands(line, syntax) == (expected,)


def test_set_slot_is_filled_by_llm() -> None:
    (command,) = commands("set slot amount 50")
    assert command.filled_by == FROM_LLM


def test_syntax_by_generator() -> None:
    assert SYNTAX_BY_GENERATOR == {
        "CompactLLMCommandGenerator": "v2",
        "SearchReadyLLMCommandGenerator": "v3",
        "SingleStepLLMCommandGenerator": "v1",
        "LLMCommandGenerator": "v1",
        "MultiStepLLMCommandGenerator": "v1",
    }
    assert SYNTAXES == ("v1", "v2", "v3", "any")


def test_default_syntax_is_v2() -> None:
    assert parse_commands("offtopic reply").commands == (ChitChatAnswer(),)
    assert parse_commands("search and reply").commands == (CannotHandle(),)


def test_unknown_syntax_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown command syntax"):
        parse_commands("cancel flow", "v4")  # type: ignore[arg-type]


# --- tolerances ----------------------------------------------------------------------------


@pytest.mark.parametrize("syntax", DSL)
@pytest.mark.parametrize(
    "line",
    [
        "- start flow transfer_money",
        "* start flow transfer_money",
        "• start flow transfer_money",
        "1. start flow transfer_money",
        "1) start flow transfer_money",
        "12.  start flow transfer_money",
        "> start flow transfer_money",
        "`start flow transfer_money`",
        "```start flow transfer_money```",
        '"start flow transfer_money"',
        "'start flow transfer_money'",
        "start flow 'transfer_money'",
        'start flow "transfer_money"',
        "start flow `transfer_money`",
        "   start flow transfer_money   ",
        "\tstart flow transfer_money",
        "- 1. `start flow transfer_money`.",
        "start flow transfer_money.",
        "start flow transfer_money because the user asked",
        "start flow transfer_money, then set the amount",
        "2start flow transfer_money",
    ],
)
def test_start_flow_tolerances(syntax: str, line: str) -> None:
    assert parse_commands(line, syntax) == ParseResult((StartFlow("transfer_money"),), ())


@pytest.mark.parametrize("syntax", DSL)
@pytest.mark.parametrize(
    "line",
    [
        "cancel flow",
        "- cancel flow",
        "1. cancel flow",
        "`cancel flow`",
        "'cancel flow'",
        '"cancel flow"',
        "```cancel flow```",
        "> cancel flow ",
        "cancel flow ``",
    ],
)
def test_no_argument_tolerances(syntax: str, line: str) -> None:
    assert commands(line, syntax) == (CancelFlow(),)


@pytest.mark.parametrize(
    ("line", "slot"),
    [
        ("set slot amount 50", "amount"),
        ("set slot 'amount' 50", "amount"),
        ('set slot "amount" 50', "amount"),
        ("set slot `amount` 50", "amount"),
        ("- set slot amount 50", "amount"),
        ("3. set slot amount 50", "amount"),
        ("set slot _private 50", "_private"),
        ("set slot account-type 50", "account-type"),
        ("set slot slot2 50", "slot2"),
    ],
)
def test_set_slot_names(line: str, slot: str) -> None:
    assert commands(line) == (SetSlot(slot, "50"),)


@pytest.mark.parametrize(
    "text",
    [
        "```\nstart flow transfer_money\ncancel flow\n```",
        "```text\nstart flow transfer_money\ncancel flow\n```",
        "```python\nstart flow transfer_money\n\n\ncancel flow\n```\n",
        "~~~\nstart flow transfer_money\ncancel flow\n~~~",
        "start flow transfer_money\r\ncancel flow\r\n",
        "\r\n\r\n  start flow transfer_money  \r\n\r\n  cancel flow\r\n",
        "\n\n\nstart flow transfer_money\n   \n\t\ncancel flow\n\n",
        "- start flow transfer_money\n- cancel flow",
        "1. start flow transfer_money\n2. cancel flow",
    ],
)
def test_fences_blank_lines_and_line_endings_are_ignored(text: str) -> None:
    assert parse_commands(text) == ParseResult((StartFlow("transfer_money"), CancelFlow()), ())


# --- set slot values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("set slot x 50", "50"),
        ("set slot x 50%", "50"),
        ("set slot x C++", "C"),
        ("set slot x 50.", "50"),
        ("set slot x 12.50", "12.50"),
        ("set slot x $50", "$50"),
        ("set slot x John Smith", "John Smith"),
        ("set slot x John Smith.", "John Smith"),
        ("set slot x 'John Smith'", "John Smith"),
        ('set slot x "John Smith"', "John Smith"),
        ('set slot x "John Smith".', "John Smith"),
        ("set slot x `John`", "John"),
        ("set slot x it's", "it's"),
        ("set slot x 'it's'", "it's"),
        ("set slot x  spaced", "spaced"),
        ("set slot x john@example.com", "john@example.com"),
        ("set slot x True", "True"),
        ("set slot x value_", "value_"),
        ("set slot x café", "café"),
        # the null forms are exact and case-sensitive
        ("set slot x None", None),
        ("set slot x null", None),
        ("set slot x undefined", None),
        ("set slot x 'None'", None),
        ('set slot x "null"', None),
        ("set slot x None.", None),
        ("set slot x none", "none"),
        ("set slot x NULL", "NULL"),
        ("set slot x Undefined", "Undefined"),
        # the trailing `]` is stripped first, so the bracket forms stay strings
        ("set slot x [missing]", "[missing"),
        ("set slot x [missing information]", "[missing information"),
        ("set slot x '[missing information]'", "[missing information"),
        # empty once cleaned
        ('set slot x ""', None),
        ("set slot x ''", None),
        ("set slot x !!!", None),
        ("set slot x '", None),
    ],
)
def test_set_slot_values(line: str, value) -> None:
    for syntax in DSL:
        assert commands(line, syntax) == (SetSlot("x", value),)


# --- disambiguate flows ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "options"),
    [
        ("disambiguate flows b a", ("a", "b")),
        ("disambiguate flows b, a", ("a", "b")),
        ("disambiguate flows b,a,c", ("a", "b", "c")),
        ("disambiguate flows 'b' \"a\"", ("a", "b")),
        ("disambiguate flows add-card transfer_money", ("add-card", "transfer_money")),
        ("disambiguate flows b a.", ("a", "b")),
        ("disambiguate flows b a!?", ("a", "b")),
        ("- disambiguate flows b a", ("a", "b")),
        ("disambiguate flows flow1 flow2", ("flow1", "flow2")),
        ('disambiguate flows ""', ()),
    ],
)
def test_disambiguate_flows(line: str, options: tuple[str, ...]) -> None:
    for syntax in DSL:
        assert commands(line, syntax) == (Clarify(options),)


# --- several commands in one reply ---------------------------------------------------------


def test_several_commands_keep_their_order() -> None:
    reply = (
        "start flow transfer_money\n"
        "set slot recipient John\n"
        "set slot amount 50\n"
        "start flow check_balance\n"
    )
    assert parse_commands(reply) == ParseResult(
        (
            StartFlow("transfer_money"),
            SetSlot("recipient", "John"),
            SetSlot("amount", "50"),
            StartFlow("check_balance"),
        ),
        (),
    )


def test_prose_lines_are_dropped_but_commands_kept() -> None:
    reply = (
        "Here are the actions:\n\n```\nstart flow transfer_money\nset slot amount 50\n```\nDone."
    )
    result = parse_commands(reply)
    assert result.commands == (StartFlow("transfer_money"), SetSlot("amount", "50"))
    assert [d.line for d in result.dropped] == ["Here are the actions:", "Done."]
    assert all(d.reason.startswith("not a command") for d in result.dropped)


def test_a_bad_line_does_not_spoil_the_others() -> None:
    result = parse_commands("cancel flow.\nSet slot x 1\nstart flow a\nofftopic reply", "v3")
    assert result.commands == (StartFlow("a"),)
    assert [d.line for d in result.dropped] == ["cancel flow.", "Set slot x 1", "offtopic reply"]


def test_every_parse_result_is_immutable() -> None:
    result = parse_commands("start flow a\nblah")
    assert isinstance(result.commands, tuple)
    assert isinstance(result.dropped, tuple)


# --- nothing parseable -----------------------------------------------------------------------


@pytest.mark.parametrize("syntax", SYNTAXES)
@pytest.mark.parametrize("text", ["", "   ", "\n\n", "\r\n \t\r\n", "```\n```", "```json\n\n```"])
def test_empty_replies_cannot_be_handled(syntax: str, text: str) -> None:
    assert parse_commands(text, syntax) == ParseResult((CannotHandle(),), ())


def test_nothing_parseable_lists_every_non_blank_line() -> None:
    result = parse_commands("I think\n\nthe user wants\n```\nto transfer money\n```")
    assert result.commands == (CannotHandle(),)
    assert [d.line for d in result.dropped] == ["I think", "the user wants", "to transfer money"]


def test_none_text_is_treated_as_empty() -> None:
    assert parse_commands(None).commands == (CannotHandle(),)  # type: ignore[arg-type]


# --- what does not parse, and why ----------------------------------------------------------


@pytest.mark.parametrize("syntax", DSL)
@pytest.mark.parametrize(
    ("line", "reason"),
    [
        # case
        ("Set slot x 1", "commands are lowercase: write 'set slot'"),
        ("SET SLOT x 1", "commands are lowercase: write 'set slot'"),
        ("Start flow transfer_money", "commands are lowercase: write 'start flow'"),
        ("Cancel flow", "commands are lowercase: write 'cancel flow'"),
        ("- Cancel Flow", "commands are lowercase: write 'cancel flow'"),
        ("Disambiguate flows a b", "commands are lowercase: write 'disambiguate flows'"),
        ("Repeat message", "commands are lowercase: write 'repeat message'"),
        ("Skip question", "commands are lowercase: write 'skip question'"),
        ("start  flow x", "in lowercase with single spaces"),
        # trailing punctuation or words after a no-argument command
        ("cancel flow.", "'cancel flow' takes no argument"),
        ("cancel flow!", "found '!'"),
        ("- cancel flow;", "found ';'"),
        ("cancel flow now", "found 'now'"),
        ("repeat message.", "'repeat message' takes no argument"),
        ("skip question?", "'skip question' takes no argument"),
        ("continue agent.", "'continue agent' takes no argument"),
        # clarify characters
        ("disambiguate flows a.b c", "found '.'"),
        ("disambiguate flows a/b", "found '/'"),
        ("disambiguate flows `a` `b`", "found '`'"),
        ("disambiguate flows a; b", "options may only contain letters, digits"),
        ("disambiguate flows", "needs the flow ids"),
        # malformed arguments
        ("start flow", "'start flow' needs an id"),
        ("start flow ''", "'start flow' needs an id"),
        ("start flow .transfer", "invalid flow id '.transfer'"),
        ("start flow  transfer", "exactly one space"),
        ("start flow.transfer", "exactly one space"),
        ("restart agent", "'restart agent' needs an id"),
        ("start flows transfer", "unknown command 'start flows'; did you mean 'start flow'?"),
        ("set slots x 1", "unknown command 'set slots'"),
        ("cancel flows", "unknown command 'cancel flows'"),
        ("disambiguate flowsx a", "unknown command 'disambiguate flowsx'"),
        ("set slot", "'set slot' needs a slot name and a value"),
        ("set slot amount", "'set slot amount' has no value"),
        ("set slot 1amount 50", "invalid slot name '1amount'"),
        ("set slot amount: 50", "invalid slot name 'amount:'"),
        ("set slot my.slot 50", "invalid slot name 'my.slot'"),
        ("set slot  amount 50", "exactly one space after 'set slot'"),
        # unknown keywords, text before the command, other syntaxes
        ("hello there", "not a command"),
        ("change flow", "not a command"),
        ("correct slot x 1", "not a command"),
        ("The next action: start flow transfer_money", "text before 'start flow'"),
        ("_start flow transfer_money", "text before 'start flow'"),
        ("action = cancel flow", "text before 'cancel flow'"),
        ("hand over", "there is no hand-over command"),
        ("human handoff", "link: pattern_human_handoff"),
    ],
)
def test_dropped_lines_say_why(syntax: str, line: str, reason: str) -> None:
    assert reason in only_reason(line, syntax)


@pytest.mark.parametrize(
    ("line", "syntax", "reason"),
    [
        (
            "search and reply",
            "v2",
            "'search and reply' is v3 syntax; the v2 syntax uses 'provide info'",
        ),
        (
            "provide info",
            "v3",
            "'provide info' is v2 syntax; the v3 syntax uses 'search and reply'",
        ),
        ("offtopic reply", "v3", "the v3 syntax has no 'offtopic reply'"),
        ("Offtopic reply", "v3", "the v3 syntax has no 'offtopic reply'"),
        ("StartFlow(transfer_money)", "v2", "'StartFlow(...)' is v1 syntax"),
        ("SetSlot(amount, 50)", "v3", "expects 'set slot <slot> <value>'"),
        ("SearchAndReply()", "v3", "expects 'search and reply'"),
        ("SearchAndReply()", "v2", "expects 'provide info'"),
        ("ChitChat()", "v3", "expects 'search and reply'"),
        ("HumanHandoff()", "v2", "there is no hand-over command"),
        ("hello there", "v3", "the v3 syntax accepts"),
        ("hello there", "any", "or a v1 call such as 'StartFlow(flow_id)'"),
    ],
)
def test_syntax_mismatches_say_why(line: str, syntax: str, reason: str) -> None:
    assert reason in only_reason(line, syntax)


# --- v1 --------------------------------------------------------------------------------------

V1 = [
    ("StartFlow(transfer_money)", StartFlow("transfer_money")),
    ("StartFlow('transfer_money')", StartFlow("transfer_money")),
    ('StartFlow("transfer_money")', StartFlow("transfer_money")),
    ("StartFlow( transfer_money )", StartFlow("transfer_money")),
    ("SetSlot(amount, 50)", SetSlot("amount", "50")),
    ("SetSlot(amount,50)", SetSlot("amount", "50")),
    ("SetSlot('amount', '50')", SetSlot("amount", "50")),
    ('SetSlot("recipient", "John Smith")', SetSlot("recipient", "John Smith")),
    ("SetSlot(amount, 50%)", SetSlot("amount", "50%")),
    ("SetSlot(amount, None)", SetSlot("amount", None)),
    ("SetSlot(amount, [missing information])", SetSlot("amount", None)),
    ("SetSlot(amount, )", SetSlot("amount", None)),
    ("SetSlot(amount, none)", SetSlot("amount", "none")),
    ("SetSlot(note, call me (maybe))", SetSlot("note", "call me (maybe)")),
    ("CancelFlow()", CancelFlow()),
    ("Clarify(b, a)", Clarify(("a", "b"))),
    ("Clarify('b', 'a', add-card)", Clarify(("a", "add-card", "b"))),
    ("SearchAndReply()", KnowledgeAnswer()),
    ("ChitChat()", ChitChatAnswer()),
    ("SkipQuestion()", SkipQuestion()),
    ("RepeatLastBotMessages()", RepeatBotMessages()),
    ("ContinueAgent()", ContinueAgent()),
    ("RestartAgent(booking)", RestartAgent("booking")),
    ("- StartFlow(transfer_money)", StartFlow("transfer_money")),
    ("Action: StartFlow(transfer_money)", StartFlow("transfer_money")),
]


@pytest.mark.parametrize("syntax", ["v1", "any"])
@pytest.mark.parametrize(("line", "expected"), V1)
def test_v1_forms(syntax: str, line: str, expected) -> None:
    assert parse_commands(line, syntax) == ParseResult((expected,), ())


def test_v1_finds_every_occurrence_in_order() -> None:
    text = "SetSlot(a, 1), SetSlot(b, '2') StartFlow(x)\nCancelFlow() then StartFlow(y)"
    assert commands(text, "v1") == (
        SetSlot("a", "1"),
        SetSlot("b", "2"),
        StartFlow("x"),
        CancelFlow(),
        StartFlow("y"),
    )


def test_any_accepts_every_syntax_in_one_reply() -> None:
    text = "start flow a\nStartFlow(b)\nprovide info\nsearch and reply\nChitChat()\nofftopic reply"
    assert commands(text, "any") == (
        StartFlow("a"),
        StartFlow("b"),
        KnowledgeAnswer(),
        KnowledgeAnswer(),
        ChitChatAnswer(),
        ChitChatAnswer(),
    )


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("start flow transfer_money", "'start flow' is v2/v3 syntax; the v1 syntax writes"),
        ("set slot x 1", "writes 'SetSlot(slot_name, value)'"),
        ("provide info", "writes 'SearchAndReply()'"),
        ("startflow(transfer_money)", "case-sensitive CamelCase: write 'StartFlow(...)'"),
        ("start_flow(transfer_money)", "case-sensitive CamelCase: write 'StartFlow(...)'"),
        ("StartFlow(transfer money)", "malformed StartFlow: write 'StartFlow(flow_id)'"),
        ("SetSlot(amount)", "malformed SetSlot"),
        ("Clarify(a.b)", "Clarify options may only contain"),
        ("CancelFlow(now)", "CancelFlow() takes no arguments"),
        ("HumanHandoff()", "there is no hand-over command"),
        ("hello", "no v1 command found"),
    ],
)
def test_v1_dropped_lines_say_why(line: str, reason: str) -> None:
    assert reason in only_reason(line, "v1")


# --- button payloads ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "slots"),
    [
        ("/SetSlots(a=1)", (("a", "1"),)),
        ("/SetSlots(a=1, b=x)", (("a", "1"), ("b", "x"))),
        ("  /SetSlots( a = 1 ,b=x )  ", (("a", "1"), ("b", "x"))),
        ("/SetSlots(a=1,)", (("a", "1"),)),
        ("/SetSlots(account_type=savings)", (("account_type", "savings"),)),
        ("/SetSlots(account-type=savings)", (("account-type", "savings"),)),
        ("/SetSlots(a=two words)", (("a", "two words"),)),
        ("/SetSlots(url=https://x.org/?q=1)", (("url", "https://x.org/?q=1"),)),
        # null forms, any case
        ("/SetSlots(a=null)", (("a", None),)),
        ("/SetSlots(a=None, b=NULL, c=undefined, d=Undefined)", tuple((s, None) for s in "abcd")),
        # quotes stripped; a quoted null form is the literal text
        ("/SetSlots(a='x y', b=\"z\")", (("a", "x y"), ("b", "z"))),
        ("/SetSlots(a='1, 2')", (("a", "1, 2"),)),
        ("/SetSlots(a='null')", (("a", "null"),)),
        ("/SetSlots(a=it's)", (("a", "it's"),)),
        ("/SetSlots(a='f(x)')", (("a", "f(x)"),)),
        # lists
        ("/SetSlots(a=[x, y])", (("a", ["x", "y"]),)),
        ("/SetSlots(a=[x,y], b=1)", (("a", ["x", "y"]), ("b", "1"))),
        ("/SetSlots(a=['x, y', \"z\"])", (("a", ["x, y", "z"]),)),
        ("/SetSlots(a=[one])", (("a", ["one"]),)),
        ("/SetSlots(a=[])", (("a", []),)),
        ("/SetSlots(a=[x, , y])", (("a", ["x", "y"]),)),
        # exactly ten `=` is allowed
        ("/SetSlots(" + ", ".join(f"s{i}={i}" for i in range(10)) + ")", None),
    ],
)
def test_set_slots_payloads(payload: str, slots) -> None:
    parsed = parse_button_payload(payload)
    assert isinstance(parsed, SetSlotsPayload)
    assert parsed.error is None
    if slots is None:
        slots = tuple((f"s{i}", str(i)) for i in range(10))
    assert parsed.slots == slots
    assert parsed.commands() == tuple(
        SetSlot(name, value, filled_by=FROM_BUTTON) for name, value in slots
    )


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ("/SetSlots(" + ", ".join(f"s{i}={i}" for i in range(11)) + ")", "more than 10"),
        ("/SetSlots(a=b=c=d=e=f=g=h=i=j=k=l)", "more than 10"),
        ("/SetSlots()", "no slot assignments"),
        ("/SetSlots(  )", "no slot assignments"),
        ("/SetSlots", "expected '/SetSlots(slot=value, ...)'"),
        ("/SetSlots(a=1", "expected '/SetSlots(slot=value, ...)'"),
        ("/SetSlots(a=1) extra", "expected '/SetSlots(slot=value, ...)'"),
        ("/SetSlots a=1", "expected '/SetSlots(slot=value, ...)'"),
        ("/SetSlots(a)", "malformed assignment 'a'"),
        ("/SetSlots(a=1, b)", "malformed assignment 'b'"),
        ("/SetSlots(a=1,,b=2)", "malformed assignment"),
        ("/SetSlots(=1)", "invalid slot name ''"),
        ("/SetSlots(1a=1)", "invalid slot name '1a'"),
        ("/SetSlots(my slot=1)", "invalid slot name 'my slot'"),
        ("/SetSlots('a'=1)", "invalid slot name"),
        ("/SetSlots(a=)", "slot 'a': no value"),
        ("/SetSlots(a= , b=1)", "slot 'a': no value"),
        ("/SetSlots(a=f(x))", "contains a parenthesis"),
        ("/SetSlots(a=1) (b=2)", "contains a parenthesis"),
        ("/SetSlots(a=[x, y)", "unclosed list"),
        ("/SetSlots(a='x)", "unbalanced quote"),
    ],
)
def test_void_set_slots_payloads(payload: str, error: str) -> None:
    parsed = parse_button_payload(payload)
    assert isinstance(parsed, SetSlotsPayload)
    assert parsed.error is not None
    assert error in parsed.error
    assert parsed.slots == ()
    assert parsed.commands() == ()


@pytest.mark.parametrize(
    ("payload", "intent", "entities"),
    [
        ("/greet", "greet", {}),
        ("  /greet  ", "greet", {}),
        ("/transfer_money", "transfer_money", {}),
        ("/faq.ask-name", "faq.ask-name", {}),
        ('/inform{"city": "Berlin"}', "inform", {"city": "Berlin"}),
        ('/inform{"city": "Berlin", "n": 2}', "inform", {"city": "Berlin", "n": 2}),
        ('/inform@0.9{"city": "Berlin"}', "inform", {"city": "Berlin"}),
        ("/inform{}", "inform", {}),
        # invalid entity JSON is ignored, as Rasa does
        ("/inform{city: Berlin}", "inform", {}),
        ("/SetSlotsX", "SetSlotsX", {}),
    ],
)
def test_intent_payloads(payload: str, intent: str, entities: dict) -> None:
    assert parse_button_payload(payload) == IntentPayload(intent, entities)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hello",
        "SetSlots(a=1)",
        "greet",
        "/",
        "//greet",
        "/what is this?",
        "/greet now",
        '/inform{"city": "Berlin"',
        "/setslots(a=1)",
    ],
)
def test_other_text_is_not_a_payload(text: str) -> None:
    assert parse_button_payload(text) is None


# --- robustness ------------------------------------------------------------------------------

_COMMAND_ALPHABET = st.sampled_from(
    [
        "start flow ",
        "set slot ",
        "cancel flow",
        "disambiguate flows ",
        "provide info",
        "search and reply",
        "StartFlow(",
        "SetSlot(",
        "Clarify(",
        "/SetSlots(",
        "=",
        ",",
        "[",
        "]",
        "(",
        ")",
        "'",
        '"',
        "`",
        "```",
        "\n",
        "\r\n",
        " ",
        "-",
        "1.",
        "None",
        "x",
        "_",
        "{",
        "}",
    ]
)


@settings(max_examples=300, deadline=None)
@given(text=st.text(), syntax=st.sampled_from(SYNTAXES))
def test_parsing_never_raises_on_any_text(text: str, syntax: str) -> None:
    result = parse_commands(text, syntax)
    assert result.commands
    assert all(d.reason and d.line for d in result.dropped)
    parse_button_payload(text)


@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(_COMMAND_ALPHABET, max_size=30).map("".join),
    syntax=st.sampled_from(SYNTAXES),
)
def test_parsing_never_raises_on_near_commands(text: str, syntax: str) -> None:
    result = parse_commands(text, syntax)
    assert result.commands
    # a line either yields commands or is reported, never both silently lost
    if result.commands == (CannotHandle(),):
        non_blank = [line.strip() for line in text.splitlines() if line.strip()]
        assert len(result.dropped) <= len(non_blank)
    payload = parse_button_payload(text)
    if isinstance(payload, SetSlotsPayload):
        payload.commands()
