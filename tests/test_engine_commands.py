"""How a message's commands are cleaned, ordered and applied: set-slot filtering (c.10),
several start flows (c.9), corrections and conflicts (reference sections c and d)."""

from __future__ import annotations

import pytest
from engine_helpers import (
    ANY,
    ANYTHING_ELSE,
    REPHRASE,
    Chat,
    action_names,
    commands,
    dropped_reasons,
    events,
    events_of,
    flow_events,
    plain,
    shop,
    slot_events,
    stack_summary,
    updating,
    user_frames,
)

NAME_Q = "What is your name?"
AGE_Q_POLITE = "May I ask your age?"


# --- c.10: which slots a set slot may fill ---------------------------------------------------


async def test_slot_of_no_active_flow_is_skipped_with_a_reason():
    chat = Chat(shop())
    await chat.say("/start flow greet")
    trace = await chat.say("/set slot age 30")
    assert chat.slots["age"] is None
    assert slot_events(trace, "age") == []
    assert any("age" in reason for reason in dropped_reasons(trace))
    assert trace.bot_texts == [NAME_Q]


async def test_slot_without_any_flow_is_skipped():
    chat = Chat(shop())
    trace = await chat.say("Bob", "set slot name Bob")
    assert chat.slots["name"] is None
    assert any("name" in reason for reason in dropped_reasons(trace))
    assert trace.stack_after == []


async def test_slot_collected_later_in_the_active_flow_is_filled_now():
    chat = Chat(shop())
    await chat.say("/start flow transfer_money")
    trace = await chat.say("John, 20", "set slot recipient John\nset slot amount 20")
    assert trace.dropped == []
    assert chat.slots["amount"] == 20.0
    assert trace.bot_texts == ["Send 20.0 to John?"]
    assert "utter_ask_amount" not in action_names(trace)


async def test_slot_collected_later_is_filled_while_an_earlier_question_is_open():
    chat = Chat(shop())
    await chat.say("/start flow book_table")
    trace = await chat.say("at 9", "set slot time 9")
    assert chat.slots["time"] == "9"
    assert trace.bot_texts == ["Which city?"]
    await chat.run(
        [
            (
                "/set slot city Oslo",
                ["Looking for tables in Oslo.", "Booked in Oslo at 9.", ANYTHING_ELSE],
            )
        ]
    )


async def test_ask_before_filling_slot_of_the_active_flow_is_not_filled_early():
    chat = Chat(shop())
    await chat.say("/start flow transfer_money")
    trace = await chat.say("John, yes", "set slot recipient John\nset slot confirm_transfer True")
    assert chat.slots["recipient"] == "John"
    assert chat.slots["confirm_transfer"] is None
    assert any("confirm_transfer" in reason for reason in dropped_reasons(trace))
    assert trace.bot_texts == ["How much?"]


async def test_slot_of_a_flow_started_in_the_same_message_is_filled():
    chat = Chat(shop())
    trace = await chat.say(
        "send 20 to John", "start flow transfer_money\nset slot recipient John\nset slot amount 20"
    )
    assert trace.dropped == []
    assert trace.bot_texts == ["Send 20.0 to John?"]
    assert chat.slots["recipient"] == "John"


async def test_set_slot_before_start_flow_in_the_same_message_is_filled():
    chat = Chat(shop())
    trace = await chat.say("I'm Bob", "set slot name Bob\nstart flow greet")
    assert trace.bot_texts == ["Hello Bob!", ANYTHING_ELSE]


async def test_slot_of_a_called_flow_is_fillable_from_the_caller():
    chat = Chat(shop())
    trace = await chat.say("balance, pin 1234", "start flow check_balance\nset slot pin 1234")
    assert trace.dropped == []
    assert trace.bot_texts == ["PIN 1234 accepted.", "Your balance is 100.", ANYTHING_ELSE]


async def test_slot_of_the_interrupted_flow_is_not_fillable():
    chat = Chat(shop())
    await chat.run([("/start flow greet", ANY), ("/start flow ask_age", [AGE_Q_POLITE])])
    trace = await chat.say("/set slot name Bob")
    assert chat.slots["name"] is None
    assert any("name" in reason for reason in dropped_reasons(trace))
    assert trace.bot_texts == [AGE_Q_POLITE]


async def test_continue_pattern_slot_is_fillable_while_it_asks():
    chat = Chat(shop())
    await chat.run([("/start flow greet", ANY), ("/start flow jump", ANY)])
    trace = await chat.say("yes", "set slot continue_interrupted_flow_confirmation True")
    assert trace.dropped == []
    assert slot_events(trace, "continue_interrupted_flow_confirmation")[0]["value"] is True


async def test_same_value_is_dropped():
    chat = Chat(shop())
    await chat.run([("/start flow book_table", ANY), ("/set slot city Oslo", ANY)])
    trace = await chat.say("Oslo", "set slot city Oslo")
    assert commands(trace.commands) == []
    assert any("city" in reason for reason in dropped_reasons(trace))
    assert events_of(trace, "flow_started", "pattern_correction") == []
    assert trace.bot_texts == ["What time?"]


async def test_null_value_clears_nothing_when_the_slot_is_asked():
    chat = Chat(shop())
    await chat.say("/start flow greet")
    trace = await chat.say("dunno", "set slot name None")
    assert chat.slots["name"] is None
    assert trace.bot_texts[-1] == NAME_Q


async def test_flow_name_slot_starts_the_flow():
    chat = Chat(shop())
    trace = await chat.say("greet me", "set slot flow_name greet")
    assert [c.name for c in trace.commands] == ["start flow"]
    assert trace.bot_texts == [NAME_Q]


# --- c.9: several start flows -----------------------------------------------------------------


async def test_several_start_flows_without_active_flow_are_all_regular():
    chat = Chat(shop())
    trace = await chat.say("both", "start flow greet\nstart flow ask_age")
    assert user_frames(trace.stack_after) == [("ask_age", "regular"), ("greet", "regular")]
    assert events_of(trace, "flow_interrupted") == []
    assert trace.bot_texts == [NAME_Q]
    # no continue question between them
    trace = await chat.say("/set slot name Bob")
    assert trace.bot_texts == ["Hello Bob!", AGE_Q_POLITE]


async def test_several_start_flows_with_set_slots_without_active_flow():
    chat = Chat(shop())
    trace = await chat.say(
        "Bob, 5", "start flow greet\nset slot age 5\nstart flow ask_age\nset slot name Bob"
    )
    assert trace.dropped == []
    assert trace.bot_texts == ["Hello Bob!", "You are 5.0.", ANYTHING_ELSE]


async def test_several_start_flows_with_active_flow_interrupt_it():
    chat = Chat(shop())
    await chat.say("/start flow greet")
    trace = await chat.say("both", "start flow ask_age\nstart flow order_pizza")
    assert user_frames(trace.stack_after) == [
        ("greet", "regular"),
        ("order_pizza", "interrupt"),
        ("ask_age", "interrupt"),
    ]
    assert trace.bot_texts == [AGE_Q_POLITE]
    # decided against the stack before this turn: each new flow interrupts greet
    interrupted = events_of(trace, "flow_interrupted")
    assert [(e["flow_id"], e["step_id"]) for e in interrupted] == [
        ("greet", "greet_0_collect_name"),
        ("greet", "greet_0_collect_name"),
    ]


async def test_duplicate_start_flow_is_dropped():
    chat = Chat(shop())
    trace = await chat.say("greet", "start flow greet\nstart flow greet")
    assert [c.name for c in trace.commands] == ["start flow"]
    assert len(events_of(trace, "flow_started", "greet")) == 1


async def test_cancel_and_start_flow_in_one_message_cancels_the_running_flow():
    """`cancel flow` works on the pre-turn stack: it cancels greet, not the flow that the
    same message starts."""
    chat = Chat(shop())
    await chat.say("/start flow greet")
    trace = await chat.say("no, my age", "cancel flow\nstart flow ask_age")
    assert [e["flow_id"] for e in events_of(trace, "flow_cancelled")] == ["greet"]
    assert events_of(trace, "flow_started", "ask_age")
    assert trace.bot_texts == ["Okay, stopping greet user.", AGE_Q_POLITE]
    assert user_frames(trace.stack_after)[-1] == ("ask_age", "interrupt")
    for frame in plain(trace.stack_after):
        if frame.get("flow_id") == "greet":
            assert frame["step_id"] == "NEXT:END"
    trace = await chat.say("/set slot age 5")
    assert trace.bot_texts == ["You are 5.0.", ANYTHING_ELSE]
    assert user_frames(trace.stack_after) == []


# --- corrections ----------------------------------------------------------------------------


async def test_correction_rewinds_to_the_collect_and_reruns_actions():
    chat = Chat(shop())
    await chat.run(
        [
            ("/start flow book_table", ["Which city?"]),
            ("/set slot city Paris", ["Looking for tables in Paris.", "What time?"]),
        ]
    )
    trace = await chat.say("Rome, sorry", "set slot city Rome")
    assert [c.name for c in trace.commands] == ["correct slot"]
    assert trace.bot_texts == [
        updating(("city", "Rome")),
        "Looking for tables in Rome.",
        "What time?",
    ]
    assert ("flow_started", "pattern_correction") in flow_events(trace)
    assert action_names(trace).count("utter_searching") == 1
    correction = events_of(trace, "flow_started", "pattern_correction")[0]["metadata"]
    assert correction["corrected_slots"] == {"city": "Rome"}
    assert correction["reset_flow_id"] == "book_table"
    assert correction["reset_step_id"] == "book_table_0_collect_city"
    assert correction["is_reset_only"] is False
    assert chat.slots["city"] == "Rome"
    assert stack_summary(trace.stack_after) == [
        ("book_table", "regular"),
        ("pattern_collect_information", None),
    ]
    assert trace.stack_after[-1].as_dict()["collect"] == "time"


async def test_correction_of_two_slots():
    chat = Chat(shop())
    await chat.run(
        [
            ("/start flow book_table", ANY),
            (
                "/set slot city Paris\nset slot time 7",
                ["Looking for tables in Paris.", "Booked in Paris at 7.", ANYTHING_ELSE],
            ),
        ]
    )
    await chat.run(
        [
            ("/start flow transfer_money", ANY),
            ("/set slot recipient Jo", ANY),
            ("/set slot amount 5", ["Send 5.0 to Jo?"]),
        ]
    )
    trace = await chat.say("Al and Bo", "set slot recipient Al")
    assert trace.bot_texts == [updating(("recipient", "Al")), "Send 5.0 to Al?"]


async def test_correction_of_a_slot_not_visited_yet_only_sets_it():
    chat = Chat(shop())
    await chat.run(
        [
            ("/start flow book_table", ["Which city?"]),
            ("/set slot time 9", ["Which city?"]),
        ]
    )
    trace = await chat.say("at 10", "set slot time 10")
    assert chat.slots["time"] == "10"
    assert trace.bot_texts[-1] == "Which city?"
    assert "utter_searching" not in action_names(trace)
    assert user_frames(trace.stack_after) == [("book_table", "regular")]


async def test_reset_only_correction_reasks_without_the_update_message():
    chat = Chat(shop())
    await chat.run(
        [
            ("/start flow quick_transfer", ["Send None to None?"]),
            ("/set slot confirm_transfer true", ["How much?"]),
        ]
    )
    trace = await chat.say("no wait", "set slot confirm_transfer False")
    assert [c.name for c in trace.commands] == ["correct slot"]
    correction = events_of(trace, "flow_started", "pattern_correction")[0]["metadata"]
    assert correction["is_reset_only"] is True
    assert "utter_corrected_previous_input" not in action_names(trace)
    assert trace.bot_texts == ["Send None to None?"]
    assert trace.stack_after[-1].as_dict()["collect"] == "confirm_transfer"


async def test_correction_of_a_slot_no_flow_on_the_stack_collects_is_ignored():
    chat = Chat(shop())
    await chat.run(
        [
            ("/start flow take_note", ANY),
            ("/set slot note milk", ANY),
            ("/set slot nickname Al", ["Noted milk for Al.", ANYTHING_ELSE]),
            ("/start flow greet", [NAME_Q]),
        ]
    )
    trace = await chat.say("note eggs", "set slot note eggs")
    assert chat.slots["note"] == "milk"
    assert events_of(trace, "flow_started", "pattern_correction") == []
    assert any("note" in reason for reason in dropped_reasons(trace))
    assert trace.bot_texts == [NAME_Q]


async def test_correction_during_the_continue_question():
    chat = Chat(shop())
    await chat.run(
        [
            ("/start flow book_table", ANY),
            ("/set slot city Paris", ["Looking for tables in Paris.", "What time?"]),
            (
                "/start flow jump",
                ["Last.", "Middle.", "Would you like to continue with book a table?"],
            ),
        ]
    )
    trace = await chat.say("Rome", "set slot city Rome")
    assert chat.slots["city"] == "Rome"
    assert trace.bot_texts[0] == updating(("city", "Rome"))
    assert trace.bot_texts[-1] == "What time?"


# --- conflicts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "output",
    ["offtopic reply\nofftopic reply", "repeat message\nrepeat message"],
    ids=["chitchat", "repeat"],
)
async def test_at_most_one_chitchat_or_repeat(output):
    chat = Chat(shop())
    await chat.say("/start flow greet")
    trace = await chat.say("hm", output)
    assert len(trace.commands) == 1


async def test_nothing_parsed_is_cannot_handle_and_lines_are_reported():
    chat = Chat(shop())
    trace = await chat.say("hello", "Start flow greet\ncancel flow.")
    assert [c.name for c in trace.commands] == ["cannot handle"]
    assert len(trace.dropped) == 2
    assert trace.bot_texts == [REPHRASE]


async def test_commands_are_recorded_on_the_user_event():
    chat = Chat(shop())
    trace = await chat.say("hi", "start flow greet")
    user = next(e for e in trace.events if e.type == "user")
    assert user.text == "hi"
    assert user.data["parse_data"]["commands"] == [{"command": "start flow", "flow": "greet"}]
    assert trace.events[0] is user
    listens = [e for e in events(trace) if e.get("event") != "bot_turn_ended"]
    assert listens[-1] == {"event": "action", "name": "action_listen"}


# --- button payloads and c.10 ----------------------------------------------------------------


async def test_button_payload_is_subject_to_the_set_slot_filter():
    chat = Chat(shop())
    await chat.say("/start flow greet")
    trace = await chat.say("/SetSlots(age=5)")
    assert chat.slots["age"] is None
    assert any("age" in reason for reason in dropped_reasons(trace))
    assert trace.bot_texts == [NAME_Q]


async def test_button_payload_null_value_clears():
    chat = Chat(shop())
    await chat.say("/start flow greet")
    trace = await chat.say("/SetSlots(name=null)")
    assert chat.slots["name"] is None
    assert trace.bot_texts[-1] == NAME_Q


async def test_invalid_value_for_a_later_slot_is_rejected_when_its_collect_starts():
    chat = Chat(shop())
    await chat.say("/start flow transfer_money")
    trace = await chat.say("John, lots", "set slot recipient John\nset slot amount lots")
    assert trace.bot_texts == [
        "Sorry, it seems the value you provided `lots` is not a valid number. "
        "Please provide a valid number in your response.",
        "How much?",
    ]
    assert chat.slots["amount"] is None


async def test_a_slot_kept_from_an_ended_flow_is_set_again_not_corrected():
    """Only slots the active flow has collected so far are corrections; a persisted slot
    from a finished flow is simply set for the flow that starts now."""
    chat = Chat(shop())
    await chat.say("/start flow transfer_money")
    await chat.say("/set slot recipient Jane")
    await chat.say("/set slot amount 50")
    await chat.say("/set slot confirm_transfer True")
    assert chat.slots["recipient"] == "Jane"  # persisted
    trace = await chat.say("/start flow transfer_money\nset slot recipient Bob")
    assert not any(isinstance(r, dict) and "correction" in r["reason"] for r in trace.rewritten)
    assert "pattern_correction" not in [f["type"] for f in plain(trace.stack_after)]
    assert chat.slots["recipient"] == "Bob"
    assert not any(text.startswith("Ok, I am updating") for text in trace.bot_texts)
