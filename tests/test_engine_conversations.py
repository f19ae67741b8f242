"""Conversations with the dialogue engine, checked against the CALM reference
(/work/shared/reference/calm-compat.md, sections a, c, d and e).

Every scenario drives a `Session` with what a user sends: typed commands (`/start flow x`),
button payloads (`/SetSlots(...)`) or text whose model output a `ScriptedGenerator` gives.
The scripts are tables of (message, expected bot texts); the tests below them look at the
events, the stack and the slots of single turns.
"""

from __future__ import annotations

import itertools

import pytest
from engine_helpers import (
    ANY,
    ANYTHING_ELSE,
    ASK_CSAT,
    CANNOT_HANDLE,
    CLARIFY_NO_OPTIONS,
    CLOSING_WORDS,
    CSAT_SATISFIED,
    CSAT_UNSATISFIED,
    EMPTY_INPUT,
    HANDOFF,
    INTERNAL_ERROR,
    NO_KNOWLEDGE_BASE,
    REPHRASE,
    SKIP_QUESTION,
    SOMETHING_ELSE,
    Chat,
    action_names,
    bool_rejection,
    categorical_rejection,
    clarify_options,
    commands,
    continue_with,
    dropped_reasons,
    events,
    events_of,
    extras,
    float_rejection,
    flow_events,
    index_of,
    plain,
    shop,
    slot_events,
    stack_summary,
    stopping,
    too_long,
    updating,
    user_frames,
)

NAME_Q = "What is your name?"
AGE_Q = "How old are you?"

# (id, script): every script starts from a new conversation with the shop project
SCRIPTS: list[tuple[str, list[tuple]]] = [
    # --- step types -------------------------------------------------------------------
    (
        "collect_then_action",
        [
            ("/start flow greet", [NAME_Q]),
            ("/set slot name Bob", ["Hello Bob!", ANYTHING_ELSE]),
        ],
    ),
    (
        "collect_with_utter_override",
        [
            ("/start flow ask_age", ["May I ask your age?"]),
            ("/set slot age 30", ["You are 30.0.", ANYTHING_ELSE]),
        ],
    ),
    (
        "collect_of_filled_slot_is_not_asked",
        [("/start flow known_name", ["Hello Ann!", ANYTHING_ELSE])],
    ),
    (
        "collect_ask_before_filling_asks_although_filled",
        [
            ("/start flow double_check", ["Are you sure?"]),
            ("/set slot confirmed false", ["Answer: False.", ANYTHING_ELSE]),
        ],
    ),
    (
        "collect_rejection_condition",
        [
            ("/start flow transfer_money", ["Who should get the money?"]),
            ("/set slot recipient John", ["How much?"]),
            ("/set slot amount -5", ["The amount must be positive.", "How much?"]),
            ("/set slot amount 0", ["The amount must be positive.", "How much?"]),
            ("/set slot amount 50", ["Send 50.0 to John?"]),
            ("/set slot confirm_transfer true", ["Done.", ANYTHING_ELSE]),
        ],
    ),
    (
        "collect_float_type_rejection",
        [
            ("/start flow transfer_money", ["Who should get the money?"]),
            ("/set slot recipient John", ["How much?"]),
            ("/set slot amount lots", [float_rejection("lots"), "How much?"]),
            ("/set slot amount 12", ["Send 12.0 to John?"]),
        ],
    ),
    (
        "collect_bool_type_rejection",
        [
            ("/start flow transfer_money", ANY),
            ("/set slot recipient John", ANY),
            ("/set slot amount 7", ["Send 7.0 to John?"]),
            ("/set slot confirm_transfer maybe", [bool_rejection("maybe"), "Send 7.0 to John?"]),
            ("/set slot confirm_transfer no", ["Transfer cancelled.", ANYTHING_ELSE]),
        ],
    ),
    (
        "collect_categorical_type_rejection",
        [
            ("/start flow order_pizza", ["Which size?"]),
            ("/set slot size huge", [categorical_rejection("huge"), "Which size?"]),
            ("/set slot size LARGE", ["Are you sure?"]),
            ("/set slot confirmed yes", ["A large pizza is on its way.", ANYTHING_ELSE]),
        ],
    ),
    (
        "button_payload_fills_the_asked_slot",
        [
            ("/start flow order_pizza", ["Which size?"]),
            ("/SetSlots(size=small)", ["Are you sure?"]),
            ("/SetSlots(confirmed=false)", ["No pizza then.", ANYTHING_ELSE]),
        ],
    ),
    (
        "set_slots_step",
        [("/start flow become_gold", ["You are gold now.", ANYTHING_ELSE])],
    ),
    (
        "noop_with_next",
        [("/start flow jump", ["Last.", "Middle.", ANYTHING_ELSE])],
    ),
    (
        "branch_first_if",
        [
            ("/start flow life_stage", [AGE_Q]),
            ("/set slot age 10", ["You are a minor.", ANYTHING_ELSE]),
        ],
    ),
    (
        "branch_second_if_to_step_id",
        [
            ("/start flow life_stage", [AGE_Q]),
            ("/set slot age 70", ["You are a senior.", ANYTHING_ELSE]),
        ],
    ),
    (
        "nested_branch_then",
        [
            ("/start flow life_stage", [AGE_Q]),
            ("/set slot age 30", ["Are you working?"]),
            ("/set slot working true", ["Working adult.", ANYTHING_ELSE]),
        ],
    ),
    (
        "nested_branch_else",
        [
            ("/start flow life_stage", [AGE_Q]),
            ("/set slot age 30", ["Are you working?"]),
            ("/set slot working false", ["Adult, not working.", ANYTHING_ELSE]),
        ],
    ),
    (
        "link_runs_the_target_after_the_flow",
        [
            ("/start flow say_goodbye", ["Goodbye!", "How would you rate us?"]),
            ("/set slot rating 5", ["Thanks for rating 5.0.", ANYTHING_ELSE]),
        ],
    ),
    (
        "call_returns_to_the_caller",
        [
            ("/start flow check_balance", ["What is your PIN?"]),
            ("/set slot pin 1234", ["PIN 1234 accepted.", "Your balance is 100.", ANYTHING_ELSE]),
        ],
    ),
    # --- default patterns ---------------------------------------------------------------
    (
        "completed_yes",
        [
            ("/start flow jump", ["Last.", "Middle.", ANYTHING_ELSE]),
            ("/set slot continue_conversation true", [SOMETHING_ELSE]),
        ],
    ),
    (
        "completed_no_then_csat_satisfied",
        [
            ("/start flow jump", ANY),
            ("/set slot continue_conversation false", [CLOSING_WORDS, ASK_CSAT]),
            ("/SetSlots(csat_score=satisfied)", [CSAT_SATISFIED]),
        ],
    ),
    (
        "completed_no_then_csat_unsatisfied",
        [
            ("/start flow jump", ANY),
            ("no thanks", "set slot continue_conversation False", [CLOSING_WORDS, ASK_CSAT]),
            ("/SetSlots(csat_score=unsatisfied)", [CSAT_UNSATISFIED]),
        ],
    ),
    (
        "chitchat_without_flow",
        [("how are you?", "offtopic reply", [CANNOT_HANDLE])],
    ),
    (
        "chitchat_during_collect_reasks",
        [
            ("/start flow greet", [NAME_Q]),
            ("nice weather", "offtopic reply", [CANNOT_HANDLE, NAME_Q]),
            ("/set slot name Bob", ["Hello Bob!", ANYTHING_ELSE]),
        ],
    ),
    (
        "search_without_flow",
        [("what are your opening hours?", "provide info", [NO_KNOWLEDGE_BASE, ANYTHING_ELSE])],
    ),
    (
        "search_during_flow_asks_to_continue",
        [
            ("/start flow greet", [NAME_Q]),
            ("what is a name?", "provide info", [NO_KNOWLEDGE_BASE, continue_with("greet user")]),
            ("yes", "set slot continue_interrupted_flow_confirmation True", [NAME_Q]),
        ],
    ),
    (
        "cannot_handle_without_flow",
        [("qwertz", "", [REPHRASE])],
    ),
    (
        "cannot_handle_nothing_parseable",
        [("qwertz", "I think the user wants something.\nSet slot name Bob", [REPHRASE])],
    ),
    (
        "cannot_handle_during_collect_reasks",
        [
            ("/start flow greet", [NAME_Q]),
            ("asdf", "gibberish", [REPHRASE, NAME_Q]),
        ],
    ),
    (
        "cannot_handle_cancel_without_flow",
        [("/cancel flow", [REPHRASE])],
    ),
    (
        "internal_error_empty_input",
        [("   ", [EMPTY_INPUT])],
    ),
    (
        "internal_error_input_too_long",
        [("x" * 421, [too_long(420)])],
    ),
    (
        "input_of_exactly_max_characters_is_fine",
        [("x" * 420, "offtopic reply", [CANNOT_HANDLE])],
    ),
    (
        "human_handoff_via_link",
        [("/start flow human", ["Let me connect you.", HANDOFF])],
    ),
    (
        "skip_question_reasks",
        [
            ("/start flow greet", [NAME_Q]),
            ("/skip question", [SKIP_QUESTION, NAME_Q]),
        ],
    ),
    (
        "repeat_bot_messages",
        [
            ("/start flow greet", [NAME_Q]),
            ("/repeat message", [NAME_Q, NAME_Q]),
        ],
    ),
    (
        "repeat_after_several_messages",
        [
            ("/start flow say_goodbye", ["Goodbye!", "How would you rate us?"]),
            (
                "what?",
                "repeat message",
                ["Goodbye!", "How would you rate us?", "How would you rate us?"],
            ),
        ],
    ),
    (
        "clarification_options_limited_to_three",
        [
            (
                "/disambiguate flows transfer_money order_pizza greet ask_age",
                [clarify_options("age check, greet user or order pizza")],
            ),
            ("/start flow greet", [NAME_Q]),
        ],
    ),
    (
        "clarification_two_options",
        [
            (
                "I want money",
                "disambiguate flows transfer_money check_balance",
                [clarify_options("check balance or transfer money")],
            )
        ],
    ),
    (
        "clarification_without_options",
        [("/disambiguate flows nope nada", [CLARIFY_NO_OPTIONS])],
    ),
    (
        "clarification_one_valid_option_starts_it",
        [("/disambiguate flows greet nope", [NAME_Q])],
    ),
    (
        "clarification_between_two_flows_then_choice",
        [
            ("/start flow greet", [NAME_Q]),
            (
                "hmm",
                "disambiguate flows ask_age life_stage",
                [clarify_options("age check or life stage"), NAME_Q],
            ),
            ("/start flow ask_age", ["May I ask your age?"]),
        ],
    ),
    # --- cancel -------------------------------------------------------------------------
    (
        "cancel_mid_flow",
        [
            ("/start flow greet", [NAME_Q]),
            ("stop", "cancel flow", [stopping("greet user"), ANYTHING_ELSE]),
        ],
    ),
    (
        "cancel_uses_default_name_from_id",
        [
            ("/start flow transfer_money", ANY),
            ("/cancel flow", [stopping("transfer money"), ANYTHING_ELSE]),
        ],
    ),
    (
        "cancel_inside_called_flow_cancels_the_caller",
        [
            ("/start flow check_balance", ["What is your PIN?"]),
            ("/cancel flow", [stopping("identity check"), ANYTHING_ELSE]),
        ],
    ),
    # --- interruptions ------------------------------------------------------------------
    (
        "interruption_then_continue_yes",
        [
            ("/start flow greet", [NAME_Q]),
            ("/start flow jump", ["Last.", "Middle.", continue_with("greet user")]),
            ("/set slot continue_interrupted_flow_confirmation true", [NAME_Q]),
            ("/set slot name Bob", ["Hello Bob!", ANYTHING_ELSE]),
        ],
    ),
    (
        "interruption_then_continue_no",
        [
            ("/start flow greet", [NAME_Q]),
            ("/start flow jump", ["Last.", "Middle.", continue_with("greet user")]),
            (
                "no",
                "set slot continue_interrupted_flow_confirmation False",
                [stopping("greet"), ANYTHING_ELSE],
            ),
        ],
    ),
    (
        "interruption_start_interrupted_flow_counts_as_yes",
        [
            ("/start flow greet", [NAME_Q]),
            ("/start flow jump", ANY),
            ("/start flow greet", [NAME_Q]),
        ],
    ),
    (
        "interruption_with_a_question_then_continue",
        [
            ("/start flow greet", [NAME_Q]),
            ("/start flow ask_age", ["May I ask your age?"]),
            ("/set slot age 40", ["You are 40.0.", continue_with("greet user")]),
            ("/set slot continue_interrupted_flow_confirmation true", [NAME_Q]),
        ],
    ),
    (
        "resume_lower_flow_by_starting_it",
        [
            ("/start flow greet", [NAME_Q]),
            ("/start flow ask_age", ["May I ask your age?"]),
            ("/start flow greet", [NAME_Q]),
            # greet is a regular flow: its end does not ask about the interrupting one, whose
            # open question is simply asked again
            ("/set slot name Bob", ["Hello Bob!", "May I ask your age?"]),
            ("/set slot age 33", ["You are 33.0.", ANYTHING_ELSE]),
        ],
    ),
    # --- corrections --------------------------------------------------------------------
    (
        "correction_rewinds_and_reruns_actions",
        [
            ("/start flow book_table", ["Which city?"]),
            ("/set slot city Paris", ["Looking for tables in Paris.", "What time?"]),
            (
                "/set slot city Rome",
                [updating(("city", "Rome")), "Looking for tables in Rome.", "What time?"],
            ),
            ("/set slot time 8pm", ["Booked in Rome at 8pm.", ANYTHING_ELSE]),
        ],
    ),
    (
        "correction_together_with_the_answer",
        [
            ("/start flow book_table", ["Which city?"]),
            ("/set slot city Paris", ["Looking for tables in Paris.", "What time?"]),
            (
                "Rome at 9",
                "set slot time 9\nset slot city Rome",
                [
                    updating(("city", "Rome")),
                    "Looking for tables in Rome.",
                    "Booked in Rome at 9.",
                    ANYTHING_ELSE,
                ],
            ),
        ],
    ),
    (
        "correction_of_an_earlier_collect_in_a_later_question",
        [
            ("/start flow transfer_money", ANY),
            ("/set slot recipient John", ["How much?"]),
            ("/set slot amount 50", ["Send 50.0 to John?"]),
            ("/set slot recipient Mary", [updating(("recipient", "Mary")), "Send 50.0 to Mary?"]),
        ],
    ),
    # --- set slot filtering (c.10) ------------------------------------------------------
    (
        "slot_collected_later_is_filled_now_and_not_asked",
        [
            ("/start flow transfer_money", ["Who should get the money?"]),
            ("/set slot recipient John\nset slot amount 20", ["Send 20.0 to John?"]),
        ],
    ),
    (
        "start_flow_with_its_slots_in_one_message",
        [
            (
                "send 20 to John",
                "start flow transfer_money\nset slot recipient John\nset slot amount 20",
                ["Send 20.0 to John?"],
            ),
        ],
    ),
    (
        "several_start_flows_first_listed_on_top",
        [
            ("/start flow greet\nstart flow ask_age", [NAME_Q]),
            ("/set slot name Bob", ["Hello Bob!", "May I ask your age?"]),
            ("/set slot age 3", ["You are 3.0.", ANYTHING_ELSE]),
        ],
    ),
    # --- guards ---------------------------------------------------------------------------
    (
        "guard_becomes_true",
        [
            ("/start flow become_gold", ["You are gold now.", ANYTHING_ELSE]),
            ("/start flow premium", ["Welcome to premium.", ANYTHING_ELSE]),
        ],
    ),
    # --- failures ---------------------------------------------------------------------------
    (
        "failing_custom_action_cancels_the_flow",
        [("/start flow fetch_balance", [INTERNAL_ERROR, stopping("fetch_balance"), ANYTHING_ELSE])],
    ),
]


@pytest.mark.parametrize("script", [s for _, s in SCRIPTS], ids=[i for i, _ in SCRIPTS])
async def test_script(script):
    await Chat(shop()).run(script)


# --- step types: details -----------------------------------------------------------------


async def test_collect_pushes_the_collect_pattern_with_its_context():
    chat = Chat(shop())
    trace = await chat.say("/start flow ask_age")
    assert stack_summary(trace.stack_after) == [
        ("ask_age", "regular"),
        ("pattern_collect_information", None),
    ]
    flow_frame, question = plain(trace.stack_after)
    assert flow_frame["type"] == "flow"
    assert flow_frame["step_id"] == "ask_age_0_collect_age"
    assert question["type"] == "pattern_collect_information"
    assert question["collect"] == "age"
    assert question["utter"] == "utter_ask_age_politely"
    assert question["collect_action"] == "action_ask_age"
    assert flow_events(trace) == [
        ("flow_started", "ask_age"),
        ("flow_started", "pattern_collect_information"),
    ]
    assert action_names(trace)[-2:] == ["utter_ask_age_politely", "action_listen"]


async def test_collect_rejection_keeps_the_question_open_and_clears_the_slot():
    chat = Chat(shop())
    await chat.run([("/start flow transfer_money", ANY), ("/set slot recipient John", ANY)])
    trace = await chat.say("/set slot amount -5")
    assert [e["value"] for e in slot_events(trace, "amount")] == [-5.0, None]
    assert chat.slots["amount"] is None
    assert stack_summary(trace.stack_after)[-1] == ("pattern_collect_information", None)
    assert trace.stack_after[-1].as_dict()["collect"] == "amount"
    assert trace.stack_after[-1].as_dict()["rejections"] == [
        {"if": "slots.amount <= 0", "utter": "utter_invalid_amount"}
    ]


async def test_valid_value_is_stored_coerced():
    chat = Chat(shop())
    await chat.run([("/start flow order_pizza", ANY)])
    trace = await chat.say("/set slot size LARGE")
    assert chat.slots["size"] == "large"
    assert slot_events(trace, "size")[0]["filled_by"] == "LLM"


async def test_ask_before_filling_clears_the_slot_before_asking():
    chat = Chat(shop())
    trace = await chat.say("/start flow double_check")
    assert [e["value"] for e in slot_events(trace, "confirmed")] == [True, None]
    assert trace.bot_texts == ["Are you sure?"]
    assert chat.slots["confirmed"] is None


async def test_set_slots_step_emits_slot_events_with_literal_values():
    chat = Chat(shop())
    trace = await chat.say("/start flow become_gold")
    assert slot_events(trace, "membership")[0]["value"] == "gold"
    # persisted: no reset at the end of the flow
    assert [e["value"] for e in slot_events(trace, "membership")] == ["gold"]
    assert chat.slots["membership"] == "gold"


async def test_noop_follows_next_to_a_later_step_and_back():
    chat = Chat(shop())
    trace = await chat.say("/start flow jump")
    assert action_names(trace)[:2] == ["utter_last", "utter_middle"]
    completed = events_of(trace, "flow_completed", "jump")
    assert [e["step_id"] for e in completed] == ["middle"]


async def test_link_pushes_the_target_below_and_ends_the_flow_first():
    chat = Chat(shop())
    trace = await chat.say("/start flow say_goodbye")
    assert flow_events(trace, include_patterns=False) == [
        ("flow_started", "say_goodbye"),
        ("flow_completed", "say_goodbye"),
        ("flow_started", "feedback"),
    ]
    assert user_frames(trace.stack_after) == [("feedback", "link")]


async def test_call_pushes_the_called_flow_on_top_and_the_caller_continues():
    chat = Chat(shop())
    trace = await chat.say("/start flow check_balance")
    assert user_frames(trace.stack_after) == [("check_balance", "regular"), ("verify", "call")]
    started = events_of(trace, "flow_started", "verify")[0]
    assert started["metadata"]["frame_type"] == "call"
    assert started["metadata"]["parent_flow_id"] == "check_balance"
    assert started["metadata"]["parent_step_id"] == "check_balance_0_call_verify"
    trace = await chat.say("/set slot pin 1234")
    assert flow_events(trace, include_patterns=False) == [
        ("flow_completed", "verify"),
        ("flow_completed", "check_balance"),
    ]
    assert user_frames(trace.stack_after) == []


async def test_called_flow_slots_are_reset_with_the_caller():
    chat = Chat(shop())
    await chat.say("/start flow check_balance")
    trace = await chat.say("/set slot pin 1234")
    verify_done = index_of(
        trace, lambda e: e.get("event") == "flow_completed" and e["flow_id"] == "verify"
    )
    caller_done = index_of(
        trace, lambda e: e.get("event") == "flow_completed" and e["flow_id"] == "check_balance"
    )
    resets = [
        i
        for i, e in enumerate(events(trace))
        if e.get("event") == "slot" and e["name"] == "pin" and e["value"] is None
    ]
    assert len(resets) == 1
    assert verify_done < resets[0] < caller_done
    assert trace.events[resets[0]].metadata == {"reset": True}
    assert chat.slots["pin"] is None


async def test_slots_are_reset_at_flow_end_before_flow_completed():
    chat = Chat(shop())
    await chat.say("/start flow greet")
    trace = await chat.say("/set slot name Bob")
    reset = index_of(
        trace, lambda e: e.get("event") == "slot" and e["name"] == "name" and e["value"] is None
    )
    done = index_of(trace, lambda e: e.get("event") == "flow_completed" and e["flow_id"] == "greet")
    assert reset < done
    assert events(trace)[reset]["metadata"] == {"reset": True}
    assert events_of(trace, "flow_completed", "greet")[0]["step_id"] == "greet_1_utter_greet"
    assert chat.slots["name"] is None


async def test_persisted_slots_survive_the_flow_end():
    chat = Chat(shop())
    await chat.run(
        [
            ("/start flow transfer_money", ANY),
            ("/set slot recipient John\nset slot amount 5", ANY),
            ("/set slot confirm_transfer true", ["Done.", ANYTHING_ELSE]),
        ]
    )
    assert chat.slots["recipient"] == "John"
    assert chat.slots["amount"] is None
    assert chat.slots["confirm_transfer"] is None


async def test_reset_after_flow_ends_false_keeps_the_slot():
    chat = Chat(shop())
    await chat.run(
        [
            ("/start flow take_note", ["What should I note?"]),
            ("/set slot note milk", ["Which nickname?"]),
            ("/set slot nickname Al", ["Noted milk for Al.", ANYTHING_ELSE]),
        ]
    )
    assert chat.slots["note"] == "milk"
    assert chat.slots["nickname"] is None


async def test_slots_reset_to_their_initial_value(tmp_path):
    chat = Chat(extras())
    trace = await chat.say("/start flow counting")
    assert trace.bot_texts == ["Counter is 5.", ANYTHING_ELSE]
    assert [e["value"] for e in slot_events(trace, "counter")] == [5, 1]
    assert slot_events(trace, "counter")[1]["metadata"] == {"reset": True}


async def test_set_slots_resets_a_slot_even_when_the_flow_only_set_it():
    chat = Chat(shop())
    trace = await chat.say("/start flow known_name")
    assert [e["value"] for e in slot_events(trace, "name")] == ["Ann", None]


async def test_action_not_in_the_domain_is_skipped():
    chat = Chat(extras())
    trace = await chat.say("/start flow unknown_action")
    assert trace.bot_texts == ["After the unknown action.", ANYTHING_ELSE]
    assert "action_nobody_knows" not in action_names(trace)


async def test_action_listen_step_waits_and_the_next_message_resumes_after_it():
    chat = Chat(extras())
    trace = await chat.say("/start flow waiting")
    assert trace.bot_texts == ["Before the wait."]
    assert user_frames(trace.stack_after) == [("waiting", "regular")]
    trace = await chat.say("hello", "offtopic reply")
    assert trace.bot_texts == [CANNOT_HANDLE, "After the wait.", ANYTHING_ELSE]


async def test_run_pattern_completed_false_skips_the_anything_else_question():
    chat = Chat(extras())
    trace = await chat.say("/start flow quiet")
    assert trace.bot_texts == ["Quiet done."]
    assert trace.stack_after == []


async def test_collect_without_question_cancels_the_flow_with_an_internal_error():
    chat = Chat(extras())
    trace = await chat.say("/start flow no_question")
    assert trace.bot_texts[0] == INTERNAL_ERROR
    assert trace.bot_texts[1].startswith("Okay, stopping ")
    assert "no_question" not in [f.get("flow_id") for f in plain(trace.stack_after)]
    assert "utter_quiet_done" not in action_names(trace)


async def test_broken_rejection_condition_utters_the_internal_error_and_reasks():
    chat = Chat(extras())
    await chat.run([("/start flow broken_rejection", ["Which code?"])])
    trace = await chat.say("/set slot code 5")
    assert trace.bot_texts == [INTERNAL_ERROR, "Which code?"]
    assert chat.slots["code"] is None


async def test_rejection_matching_the_value_utters_its_response():
    chat = Chat(extras())
    await chat.run(
        [
            ("/start flow code_check", ["Which code?"]),
            ("/set slot code xyz", ["Bad code.", "Which code?"]),
            ("/set slot code abc", ["Code abc ok.", ANYTHING_ELSE]),
        ]
    )


# --- guards ------------------------------------------------------------------------------


async def test_false_guard_drops_the_start_flow_with_a_reason():
    chat = Chat(shop())
    trace = await chat.say("/start flow premium")
    assert commands(trace.commands) == []
    assert any("guard" in reason and "premium" in reason for reason in dropped_reasons(trace))
    assert trace.stack_after == []
    assert "utter_premium" not in action_names(trace)


async def test_link_only_flow_cannot_be_started_but_can_be_called():
    chat = Chat(shop())
    trace = await chat.say("/start flow verify")
    assert commands(trace.commands) == []
    assert any("verify" in reason for reason in dropped_reasons(trace))
    assert trace.stack_after == []
    trace = await chat.say("/start flow check_balance")
    assert trace.bot_texts == ["What is your PIN?"]
    assert ("verify", "call") in user_frames(trace.stack_after)


async def test_guard_is_evaluated_on_current_slots():
    chat = Chat(shop())
    await chat.say("/start flow become_gold")
    trace = await chat.say("/start flow premium")
    assert trace.bot_texts == ["Welcome to premium.", ANYTHING_ELSE]
    assert trace.dropped == []


@pytest.mark.parametrize(
    ("message", "reason_part"),
    [
        ("/start flow nope", "nope"),
        ("/start flow pattern_search", "pattern_search"),
        ("/start flow pattern_completed", "pattern_completed"),
    ],
)
async def test_start_flow_of_non_user_flow_is_dropped(message, reason_part):
    chat = Chat(shop())
    trace = await chat.say(message)
    assert commands(trace.commands) == []
    assert any(reason_part in reason for reason in dropped_reasons(trace))
    assert trace.stack_after == []


# --- buttons -------------------------------------------------------------------------------


async def test_question_carries_the_response_buttons():
    chat = Chat(shop())
    trace = await chat.say("/start flow order_pizza")
    assert [b["payload"] for b in trace.bot_messages[0].as_dict()["buttons"]] == [
        "/SetSlots(size=small)",
        "/SetSlots(size=large)",
    ]


async def test_button_payload_sets_the_slot_without_the_model():
    chat = Chat(shop(), model_output=["cancel flow"])
    await chat.say("/start flow order_pizza")
    trace = await chat.say("/SetSlots(size=large)")
    assert trace.source == "button"
    assert chat.generator.queue == ["cancel flow"]  # the model was not asked
    assert slot_events(trace, "size")[0]["value"] == "large"
    assert slot_events(trace, "size")[0]["filled_by"] == "CommandPayloadReader"
    assert trace.bot_texts == ["Are you sure?"]


async def test_button_payload_with_several_slots():
    chat = Chat(shop())
    await chat.say("/start flow transfer_money")
    trace = await chat.say("/SetSlots(recipient=Ann, amount=3)")
    assert chat.slots["recipient"] == "Ann"
    assert chat.slots["amount"] == 3.0
    assert trace.bot_texts == ["Send 3.0 to Ann?"]


async def test_unknown_slot_voids_the_whole_payload():
    chat = Chat(shop())
    await chat.say("/start flow order_pizza")
    trace = await chat.say("/SetSlots(size=large, flavour=cheese)")
    assert chat.slots["size"] is None
    assert slot_events(trace) == []
    assert trace.bot_texts[-1] == "Which size?"
    assert user_frames(trace.stack_after) == [("order_pizza", "regular")]


async def test_csat_buttons_fill_the_csat_slot():
    chat = Chat(shop())
    await chat.run([("/start flow jump", ANY)])
    trace = await chat.say("/set slot continue_conversation false")
    assert trace.bot_texts == [CLOSING_WORDS, ASK_CSAT]
    assert [b["payload"] for b in trace.bot_messages[1].as_dict()["buttons"]] == [
        "/SetSlots(csat_score=satisfied)",
        "/SetSlots(csat_score=unsatisfied)",
    ]
    trace = await chat.say("/SetSlots(csat_score=satisfied)")
    assert trace.bot_texts == [CSAT_SATISFIED]
    assert trace.stack_after == []


# --- failures ------------------------------------------------------------------------------


async def test_failing_custom_action_cancels_without_flow_cancelled_event():
    chat = Chat(shop())
    trace = await chat.say("/start flow fetch_balance")
    assert trace.bot_texts[:2] == [INTERNAL_ERROR, stopping("fetch_balance")]
    assert events_of(trace, "flow_cancelled") == []
    assert any(e.get("event") == "error" for e in events(trace))
    assert "utter_balance" not in action_names(trace)
    completed = events_of(trace, "flow_completed", "fetch_balance")
    assert [e["step_id"] for e in completed] == ["NEXT:END"]
    assert "fetch_balance" not in [f.get("flow_id") for f in plain(trace.stack_after)]


async def test_circuit_breaker_stops_a_flow_that_never_waits():
    chat = Chat(shop())
    trace = await chat.say("/start flow spin")
    assert trace.bot_texts[:1] == [INTERNAL_ERROR]
    assert any(e.get("event") == "error" for e in events(trace))
    assert trace.errors
    assert "spin" not in [f.get("flow_id") for f in plain(trace.stack_after)]
    assert action_names(trace)[-1] == "action_listen"
    assert len(trace.actions) < 10
    # the conversation goes on
    trace = await chat.say("/start flow greet")
    assert trace.bot_texts == [NAME_Q]


async def test_stack_changes_are_logged_as_stack_events():
    chat = Chat(shop())
    trace = await chat.say("/start flow transfer_money")
    # a stack event holds a patch (as Rasa's does); the trace gives it the frames it
    # leads to
    stack_events = [
        {**e.as_dict(), "frames": plain(e.frames)} for e in trace.events if e.type == "stack"
    ]
    assert stack_events, "a turn that changes the stack logs it"
    assert stack_events[-1]["frames"] == plain(trace.stack_after)
    # consecutive stack events always differ: unchanged stacks are not logged again
    frames = [e["frames"] for e in stack_events]
    assert all(a != b for a, b in itertools.pairwise(frames))


async def test_the_stack_round_trips_through_plain_dicts():
    from workbench.engine.stack import DialogueStack

    chat = Chat(shop())
    trace = await chat.say("/start flow transfer_money")
    restored = DialogueStack.from_dicts(plain(trace.stack_after))
    assert restored.as_dicts() == plain(trace.stack_after)
    assert [f.type for f in restored] == [f["type"] for f in plain(trace.stack_after)]
