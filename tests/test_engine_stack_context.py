"""Which frame a pattern sees as `context`, stacked validations and nested corrections
(reference section d: `DialogueStack.current_context`, `reorder_commands`,
`CorrectSlotsCommand.end_previous_correction`)."""

from __future__ import annotations

import pytest
from engine_helpers import (
    ANYTHING_ELSE,
    SKIP_QUESTION,
    Chat,
    build_project,
    events_of,
    flow_events,
    plain,
    shop,
    stack_summary,
    user_frames,
)

VALIDATED_FORM_DOMAIN = """
slots:
  first:
    type: text
    validation:
      rejections:
        - if: slots.first == "bad"
          utter: utter_bad_first
      refill_utter: utter_first_again
  second:
    type: text
    validation:
      rejections:
        - if: slots.second == "bad"
          utter: utter_bad_second
      refill_utter: utter_second_again
responses:
  utter_ask_first:
    - text: "First?"
  utter_ask_second:
    - text: "Second?"
  utter_bad_first:
    - text: "Bad first."
  utter_bad_second:
    - text: "Bad second."
  utter_first_again:
    - text: "First, again?"
  utter_second_again:
    - text: "Second, again?"
  utter_done:
    - text: "Done: {first} {second}."
"""

VALIDATED_FORM_FLOWS = """
flows:
  form:
    description: Collect two validated values.
    steps:
      - collect: first
      - collect: second
      - action: utter_done
"""


def context_of(chat: Chat) -> dict:
    return chat.session.tracker.context()


@pytest.fixture
def validated_form(tmp_path):
    return build_project(tmp_path / "p", domain=VALIDATED_FORM_DOMAIN, flows=VALIDATED_FORM_FLOWS)


async def test_each_stacked_validation_sees_only_its_own_slot(validated_form):
    """Two validated slots set at once push two validate frames; the upper one must not
    see the lower one's `validate`, so its rejected slot is asked again."""
    chat = Chat(validated_form)
    trace = await chat.say(
        "bad and bad", "start flow form\nset slot first bad\nset slot second bad"
    )
    assert trace.bot_texts == ["Bad second.", "Second, again?"]
    validations = [f for f in plain(trace.stack_after) if f["type"] == "pattern_validate_slot"]
    assert [f["validate"] for f in validations] == ["first", "second"]
    assert context_of(chat)["validate"] == "second"

    trace = await chat.say("fine", "set slot second fine")
    assert trace.bot_texts == ["Bad first.", "First, again?"]
    assert context_of(chat)["validate"] == "first"

    trace = await chat.say("good", "set slot first good")
    assert trace.bot_texts == ["Done: good fine.", ANYTHING_ELSE]


async def test_the_slot_the_model_lists_last_is_validated_first(validated_form):
    """Commands run in reverse, and Rasa's validate frames land in reverse push order (each
    is a stack change against the stack before any of them): the slot listed last is set
    first and validated first."""
    chat = Chat(validated_form)
    trace = await chat.say(
        "bad and bad", "start flow form\nset slot second bad\nset slot first bad"
    )
    assert trace.bot_texts == ["Bad first.", "First, again?"]
    assert context_of(chat)["validate"] == "first"


async def test_the_collect_question_still_sees_the_flow_below(validated_form):
    """The collect pattern is the one frame whose context includes the frame below it."""
    chat = Chat(validated_form)
    await chat.say("/start flow form")
    context = context_of(chat)
    assert context["collect"] == "first"
    assert context["flow_id"] == "form"
    assert context["type"] == "flow"


# --- a correction while another one is open -----------------------------------------------

CONFIRMED_CORRECTION_DOMAIN = """
slots:
  city:
    type: text
  time:
    type: text
responses:
  utter_ask_city:
    - text: "Which city?"
  utter_ask_time:
    - text: "What time?"
  utter_ask_confirm_correction:
    - text: "Change it to {{ context.new_slot_values | join(', ') }}?"
      metadata:
        template: jinja
  utter_kept:
    - text: "Kept."
  utter_booked:
    - text: "Booked in {city} at {time}."
"""

CONFIRMED_CORRECTION_FLOWS = """
flows:
  book:
    description: Book a table.
    steps:
      - collect: city
      - collect: time
      - action: utter_booked
  pattern_correction:
    description: Ask before applying a correction.
    name: pattern correction
    steps:
      - collect: confirm_correction
        ask_before_filling: true
        next:
          - if: slots.confirm_correction
            then:
              - action: action_correct_flow_slot
                next: END
          - else:
              - action: utter_kept
                next: END
"""


async def test_a_correction_during_an_open_correction_ends_it_and_starts_at_once(tmp_path):
    project = build_project(
        tmp_path / "p", domain=CONFIRMED_CORRECTION_DOMAIN, flows=CONFIRMED_CORRECTION_FLOWS
    )
    chat = Chat(project)
    await chat.run(
        [
            ("/start flow book", ["Which city?"]),
            ("/set slot city Paris", ["What time?"]),
            ("Rome", "set slot city Rome", ["Change it to Rome?"]),
        ]
    )
    first = next(f for f in chat.stack if f["type"] == "pattern_correction")

    trace = await chat.say("no, Berlin", "set slot city Berlin")
    assert trace.bot_texts == ["Change it to Berlin?"]
    # the open question and the open correction end (in that order, from the top) before
    # the new correction starts in the same turn
    assert flow_events(trace) == [
        ("flow_completed", "pattern_collect_information"),
        ("flow_completed", "pattern_correction"),
        ("flow_started", "pattern_correction"),
        ("flow_started", "pattern_collect_information"),
    ]
    ended = events_of(trace, "flow_completed", "pattern_correction")
    assert [e["step_id"] for e in ended] == ["NEXT:END"]
    assert first["frame_id"] not in [f["frame_id"] for f in plain(trace.stack_after)]
    assert stack_summary(trace.stack_after) == [
        ("book", "regular"),
        ("pattern_collect_information", None),
        ("pattern_correction", None),
        ("pattern_collect_information", None),
    ]

    trace = await chat.say("yes", "set slot confirm_correction true")
    assert trace.bot_texts == ["What time?"]
    assert chat.slots["city"] == "Berlin"


# --- command order with only a linked flow on the stack ------------------------------------


async def test_a_linked_flow_alone_is_no_active_flow_for_the_command_order():
    """With no regular or interrupt flow on the stack (a linked flow does not count), the
    start flow runs first, so the other command's pattern ends up on top and runs first;
    the new flow is a regular one and interrupts nothing."""
    chat = Chat(shop())
    await chat.run([("/start flow say_goodbye", ["Goodbye!", "How would you rate us?"])])
    trace = await chat.say("hi, skip", "start flow greet\nskip question")
    assert [c.name for c in trace.commands] == ["start flow", "skip question"]
    assert trace.bot_texts == [SKIP_QUESTION, "What is your name?"]
    assert events_of(trace, "flow_interrupted") == []
    assert user_frames(trace.stack_after) == [("feedback", "link"), ("greet", "regular")]


async def test_with_an_active_flow_commands_simply_run_in_reverse():
    chat = Chat(shop())
    await chat.run([("/start flow book_table", ["Which city?"])])
    trace = await chat.say("hi, skip", "start flow greet\nskip question")
    assert [c.name for c in trace.commands] == ["skip question", "start flow"]
    assert trace.bot_texts == ["What is your name?"]
    assert user_frames(trace.stack_after) == [("book_table", "regular"), ("greet", "interrupt")]


# --- a validated slot given as the answer to its own question -----------------------------


async def test_answering_the_open_question_of_a_validated_slot_validates_on_top(
    validated_form,
):
    """The validation frame goes on top of the open question; a rejected answer is asked
    again with the validation's `refill_utter`, not the question's own response."""
    chat = Chat(validated_form)
    await chat.run([("/start flow form", ["First?"])])
    trace = await chat.say("bad", "set slot first bad")
    assert ("flow_started", "pattern_validate_slot") in flow_events(trace)
    assert trace.bot_texts == ["Bad first.", "First, again?"]
    assert stack_summary(trace.stack_after)[-2:] == [
        ("pattern_collect_information", None),
        ("pattern_validate_slot", None),
    ]
    trace = await chat.say("ok", "set slot first ok")
    assert trace.bot_texts == ["Second?"]
    assert chat.slots["first"] == "ok"


async def test_a_corrected_slot_is_validated_after_the_update_message(validated_form):
    chat = Chat(validated_form)
    await chat.run([("/start flow form", ["First?"]), ("/set slot first good", ["Second?"])])
    trace = await chat.say("first is bad", "set slot first bad")
    assert [c.name for c in trace.commands] == ["correct slot"]
    assert trace.bot_texts == [
        "Ok, I am updating first to bad.",
        "Bad first.",
        "First, again?",
    ]
    assert chat.slots["first"] is None
    trace = await chat.say("fine", "set slot first fine")
    assert trace.bot_texts == ["Second?"]
    trace = await chat.say("ok", "set slot second ok")
    assert trace.bot_texts == ["Done: fine ok.", ANYTHING_ELSE]
