"""Default patterns, interruptions and cancellation: events and stack, turn by turn
(reference sections d and e)."""

from __future__ import annotations

import pytest
from engine_helpers import (
    ANY,
    ANYTHING_ELSE,
    CLARIFY_NO_OPTIONS,
    CODE_CHANGE,
    EMPTY_INPUT,
    HANDOFF,
    NO_KNOWLEDGE_BASE,
    REPHRASE,
    SOMETHING_ELSE,
    Chat,
    action_names,
    build_project,
    clarify_options,
    commands,
    continue_with,
    copy_shop,
    events,
    events_of,
    extras,
    flow_events,
    frame_of,
    load,
    plain,
    resume,
    shop,
    slot_events,
    stack_summary,
    stopping,
    too_long,
    user_frames,
)

NAME_Q = "What is your name?"
AGE_Q_POLITE = "May I ask your age?"


# --- cancel ----------------------------------------------------------------------------


async def test_cancel_mid_flow_events_in_order():
    chat = Chat(shop())
    await chat.say("/start flow greet")
    trace = await chat.say("/cancel flow")
    assert trace.bot_texts == [stopping("greet user"), ANYTHING_ELSE]
    assert flow_events(trace) == [
        ("flow_cancelled", "greet"),
        ("flow_started", "pattern_cancel_flow"),
        ("flow_completed", "pattern_cancel_flow"),
        ("flow_completed", "pattern_collect_information"),
        ("flow_completed", "greet"),
        ("flow_started", "pattern_completed"),
        ("flow_started", "pattern_collect_information"),
    ]
    cancelled = events_of(trace, "flow_cancelled")[0]
    assert cancelled["step_id"] == "greet_0_collect_name"
    completed = events_of(trace, "flow_completed", "greet")[0]
    assert completed["step_id"] == "NEXT:END"
    # slots reset before flow_completed
    reset = [e for e in slot_events(trace, "name") if e.get("metadata") == {"reset": True}]
    assert reset
    assert events(trace).index(reset[0]) < events(trace).index(completed)
    assert trace.stack_after[0].as_dict()["type"] == "pattern_completed"
    assert trace.stack_after[0].as_dict()["previous_flow_name"] == "greet user"


async def test_cancel_pattern_context_names_the_flow_and_its_frames():
    chat = Chat(shop())
    first = await chat.say("/start flow check_balance")
    ids_before = [f["frame_id"] for f in plain(first.stack_after)]
    trace = await chat.say("/cancel flow")
    started = events_of(trace, "flow_started", "pattern_cancel_flow")[0]["metadata"]
    assert started["canceled_name"] == "identity check"
    # from the top down to the topmost non-call user flow, on the pre-turn stack
    assert sorted(started["canceled_frames"]) == sorted(ids_before)
    assert events_of(trace, "flow_cancelled")[0]["flow_id"] == "verify"
    assert [e["step_id"] for e in events_of(trace, "flow_completed", "check_balance")] == [
        "NEXT:END"
    ]
    assert trace.bot_texts == [stopping("identity check"), ANYTHING_ELSE]


async def test_cancel_of_an_interrupting_flow_asks_to_continue_the_other():
    chat = Chat(shop())
    await chat.run(
        [
            ("/start flow greet", [NAME_Q]),
            ("/start flow ask_age", [AGE_Q_POLITE]),
            ("/cancel flow", [stopping("age check"), continue_with("greet user")]),
            ("/set slot continue_interrupted_flow_confirmation true", [NAME_Q]),
        ]
    )


async def test_duplicate_cancel_is_dropped():
    chat = Chat(shop())
    await chat.say("/start flow greet")
    trace = await chat.say("/cancel flow\ncancel flow")
    assert [c.name for c in trace.commands] == ["cancel flow"]
    assert len(events_of(trace, "flow_cancelled")) == 1
    assert trace.bot_texts == [stopping("greet user"), ANYTHING_ELSE]


async def test_cancel_without_active_flow_is_cannot_handle():
    chat = Chat(shop())
    trace = await chat.say("stop", "cancel flow")
    assert [c.name for c in trace.commands] == ["cannot handle"]
    assert trace.bot_texts == [REPHRASE]
    assert events_of(trace, "flow_cancelled") == []


# --- interruption and resumption ------------------------------------------------------------


async def test_interruption_events_and_stack():
    chat = Chat(shop())
    await chat.say("/start flow greet")
    trace = await chat.say("/start flow ask_age")
    assert flow_events(trace, include_patterns=False) == [
        ("flow_interrupted", "greet"),
        ("flow_started", "ask_age"),
    ]
    assert events_of(trace, "flow_interrupted")[0]["step_id"] == "greet_0_collect_name"
    assert user_frames(trace.stack_after) == [("greet", "regular"), ("ask_age", "interrupt")]
    assert stack_summary(trace.stack_after) == [
        ("greet", "regular"),
        ("pattern_collect_information", None),
        ("ask_age", "interrupt"),
        ("pattern_collect_information", None),
    ]


async def test_continue_interrupted_pattern_context():
    chat = Chat(shop())
    await chat.run([("/start flow greet", ANY), ("/start flow ask_age", ANY)])
    trace = await chat.say("/set slot age 41")
    assert trace.bot_texts == ["You are 41.0.", continue_with("greet user")]
    pattern = frame_of(trace.stack_after, "pattern_continue_interrupted")
    assert pattern["interrupted_flow_names"] == ["greet user"]
    assert pattern["interrupted_flow_ids"] == ["greet"]
    assert pattern["interrupted_flow_options"] == "greet user"
    assert pattern["multiple_flows_interrupted"] is False
    assert trace.stack_after[-1].as_dict()["collect"] == "continue_interrupted_flow_confirmation"


async def test_continue_yes_resumes_and_reasks_the_open_question():
    chat = Chat(shop())
    await chat.run(
        [
            ("/start flow greet", ANY),
            ("/start flow jump", ["Last.", "Middle.", continue_with("greet user")]),
        ]
    )
    trace = await chat.say("yes", "set slot continue_interrupted_flow_confirmation True")
    assert trace.bot_texts == [NAME_Q]
    resumed = events_of(trace, "flow_resumed")
    assert [(e["flow_id"], e["step_id"]) for e in resumed] == [("greet", "greet_0_collect_name")]
    assert events_of(trace, "flow_started", "greet") == []
    assert stack_summary(trace.stack_after) == [
        ("greet", "regular"),
        ("pattern_collect_information", None),
    ]
    assert chat.slots["continue_interrupted_flow_confirmation"] is None


async def test_continue_no_cancels_the_interrupted_flow():
    chat = Chat(shop())
    await chat.run([("/start flow greet", ANY), ("/start flow jump", ANY)])
    trace = await chat.say("/set slot continue_interrupted_flow_confirmation false")
    # action_cancel_interrupted_flows names the flow by its id
    assert trace.bot_texts == [stopping("greet"), ANYTHING_ELSE]
    assert [e["flow_id"] for e in events_of(trace, "flow_cancelled")] == ["greet"]
    assert [e["step_id"] for e in events_of(trace, "flow_completed", "greet")] == ["NEXT:END"]
    assert user_frames(trace.stack_after) == []
    assert chat.slots["continue_interrupted_flow_confirmation"] is None


async def test_starting_another_flow_instead_of_answering_drops_the_question():
    chat = Chat(shop())
    await chat.run([("/start flow greet", ANY), ("/start flow jump", ANY)])
    trace = await chat.say("/start flow ask_age")
    assert trace.bot_texts == [AGE_Q_POLITE]
    assert ("flow_completed", "pattern_continue_interrupted") in flow_events(trace)
    assert ("flow_interrupted", "greet") in flow_events(trace)
    assert user_frames(trace.stack_after) == [("greet", "regular"), ("ask_age", "interrupt")]
    assert "pattern_continue_interrupted" not in [f["type"] for f in plain(trace.stack_after)]


async def test_starting_the_interrupted_flow_counts_as_yes():
    chat = Chat(shop())
    await chat.run([("/start flow greet", ANY), ("/start flow jump", ANY)])
    trace = await chat.say("/start flow greet")
    assert trace.bot_texts == [NAME_Q]
    assert [e["flow_id"] for e in events_of(trace, "flow_resumed")] == ["greet"]
    assert events_of(trace, "flow_started", "greet") == []
    assert user_frames(trace.stack_after) == [("greet", "regular")]
    assert "pattern_continue_interrupted" not in [f["type"] for f in plain(trace.stack_after)]


async def test_start_flow_of_a_lower_flow_resumes_it():
    chat = Chat(shop())
    await chat.run([("/start flow greet", [NAME_Q]), ("/start flow ask_age", [AGE_Q_POLITE])])
    trace = await chat.say("/start flow greet")
    assert trace.bot_texts == [NAME_Q]
    assert sorted(flow_events(trace, include_patterns=False)) == [
        ("flow_interrupted", "ask_age"),
        ("flow_resumed", "greet"),
    ]
    assert events_of(trace, "flow_resumed")[0]["step_id"] == "greet_0_collect_name"
    # greet moved to the top together with its open question
    assert stack_summary(trace.stack_after) == [
        ("ask_age", "interrupt"),
        ("pattern_collect_information", None),
        ("greet", "regular"),
        ("pattern_collect_information", None),
    ]
    assert trace.stack_after[-1].as_dict()["collect"] == "name"


async def test_start_flow_already_on_top_is_dropped():
    chat = Chat(shop())
    await chat.say("/start flow greet")
    trace = await chat.say("/start flow greet")
    assert commands(trace.commands) == []
    assert any("greet" in r for r in [d.reason for d in trace.dropped])
    assert events_of(trace, "flow_started", "greet") == []
    assert trace.bot_texts == [NAME_Q]


async def test_several_interrupted_flows_ask_which_one_to_resume():
    chat = Chat(shop())
    await chat.run(
        [
            ("/start flow greet", [NAME_Q]),
            ("/start flow order_pizza", ["Which size?"]),
            ("/start flow ask_age", [AGE_Q_POLITE]),
        ]
    )
    trace = await chat.say("/set slot age 5")
    # the reference fixes the joining ("A, B and C"), not the order of the names
    assert trace.bot_texts[0] == "You are 5.0."
    assert trace.bot_texts[1] in (
        resume("greet user and order pizza"),
        resume("order pizza and greet user"),
    )
    pattern = frame_of(trace.stack_after, "pattern_continue_interrupted")
    assert pattern["multiple_flows_interrupted"] is True
    assert sorted(pattern["interrupted_flow_ids"]) == ["greet", "order_pizza"]
    assert trace.stack_after[-1].as_dict()["collect"] == "interrupted_flow_to_continue"


async def test_several_interrupted_flows_choose_the_first_one_by_name():
    chat = Chat(shop())
    await chat.run(
        [
            ("/start flow greet", [NAME_Q]),
            ("/start flow order_pizza", ["Which size?"]),
            ("/start flow ask_age", [AGE_Q_POLITE]),
            ("/set slot age 5", ANY),
            ("/set slot interrupted_flow_to_continue greet user", [NAME_Q]),
            # greet was the regular flow: its end goes straight back to the pizza question
            ("/set slot name Bob", ["Hello Bob!", "Which size?"]),
        ]
    )
    assert chat.slots["interrupted_flow_to_continue"] is None


async def test_several_interrupted_flows_choose_the_latest_one_by_id():
    chat = Chat(shop())
    await chat.run(
        [
            ("/start flow greet", [NAME_Q]),
            ("/start flow order_pizza", ["Which size?"]),
            ("/start flow ask_age", [AGE_Q_POLITE]),
            ("/set slot age 5", ANY),
        ]
    )
    trace = await chat.say("/set slot interrupted_flow_to_continue order_pizza")
    assert trace.bot_texts == ["Which size?"]
    assert [e["flow_id"] for e in events_of(trace, "flow_resumed")] == ["order_pizza"]
    assert stack_summary(trace.stack_after)[-2:] == [
        ("order_pizza", "interrupt"),
        ("pattern_collect_information", None),
    ]
    assert trace.stack_after[-1].as_dict()["collect"] == "size"


async def test_several_flows_started_at_once_then_one_chosen_to_resume():
    """Two flows started in one message while greet runs: both interrupt greet."""
    chat = Chat(shop())
    await chat.run(
        [
            ("/start flow greet", [NAME_Q]),
            ("/start flow ask_age\nstart flow order_pizza", [AGE_Q_POLITE]),
            ("/set slot age 3", ANY),
        ]
    )
    trace = await chat.say("/set slot interrupted_flow_to_continue order pizza")
    assert trace.bot_texts == ["Which size?"]
    assert trace.stack_after[-1].as_dict().get("collect") == "size"


async def test_several_interrupted_flows_none_cancels_them_all():
    chat = Chat(shop())
    await chat.run(
        [
            ("/start flow greet", ANY),
            ("/start flow order_pizza", ANY),
            ("/start flow ask_age", ANY),
            ("/set slot age 5", ANY),
        ]
    )
    trace = await chat.say("/set slot interrupted_flow_to_continue none")
    assert sorted(e["flow_id"] for e in events_of(trace, "flow_cancelled")) == [
        "greet",
        "order_pizza",
    ]
    assert sorted(trace.bot_texts[:2]) == [stopping("greet"), stopping("order_pizza")]
    assert trace.bot_texts[2:] == [ANYTHING_ELSE]
    assert user_frames(trace.stack_after) == []


async def test_unknown_choice_is_sent_as_text_and_nothing_resumes():
    chat = Chat(shop())
    await chat.run(
        [
            ("/start flow greet", ANY),
            ("/start flow order_pizza", ANY),
            ("/start flow ask_age", ANY),
            ("/set slot age 5", ANY),
        ]
    )
    trace = await chat.say("/set slot interrupted_flow_to_continue the pizza thing")
    assert trace.bot_texts[0] == "the pizza thing"
    assert events_of(trace, "flow_resumed") == []
    assert chat.slots["interrupted_flow_to_continue"] is None
    assert chat.slots["continue_interrupted_flow_confirmation"] is None
    assert "pattern_continue_interrupted" not in [f["type"] for f in plain(trace.stack_after)]


async def test_continue_question_waits_below_a_linked_flow():
    chat = Chat(shop())
    await chat.run(
        [
            ("/start flow greet", [NAME_Q]),
            ("/start flow say_goodbye", ["Goodbye!", "How would you rate us?"]),
        ]
    )
    assert stack_summary(chat.stack) == [
        ("greet", "regular"),
        ("pattern_collect_information", None),
        ("pattern_continue_interrupted", None),
        ("feedback", "link"),
        ("pattern_collect_information", None),
    ]
    await chat.run(
        [
            ("/set slot rating 4", ["Thanks for rating 4.0.", continue_with("greet user")]),
            ("/set slot continue_interrupted_flow_confirmation true", [NAME_Q]),
        ]
    )


# --- completed / csat -----------------------------------------------------------------------


async def test_completed_pattern_context_and_yes():
    chat = Chat(shop())
    trace = await chat.say("/start flow jump")
    completed = frame_of(trace.stack_after, "pattern_completed")
    assert completed["previous_flow_name"] == "jump"
    assert trace.stack_after[-1].as_dict()["collect"] == "continue_conversation"
    trace = await chat.say("/set slot continue_conversation true")
    assert trace.bot_texts == [SOMETHING_ELSE]
    assert trace.stack_after == []


async def test_starting_a_flow_while_completed_is_open_removes_it():
    chat = Chat(shop())
    await chat.say("/start flow jump")
    trace = await chat.say("/start flow greet")
    assert flow_events(trace)[:3] == [
        ("flow_completed", "pattern_collect_information"),
        ("flow_completed", "pattern_completed"),
        ("flow_started", "greet"),
    ]
    assert user_frames(trace.stack_after) == [("greet", "regular")]
    assert "pattern_completed" not in [f["type"] for f in plain(trace.stack_after)]


async def test_clarify_while_completed_is_open_removes_it():
    chat = Chat(shop())
    await chat.say("/start flow jump")
    trace = await chat.say("/disambiguate flows greet ask_age")
    assert ("flow_completed", "pattern_completed") in flow_events(trace)
    assert trace.bot_texts == [clarify_options("age check or greet user")]


# --- clarification -------------------------------------------------------------------------


async def test_clarification_context():
    chat = Chat(shop())
    trace = await chat.say("/disambiguate flows transfer_money order_pizza greet ask_age")
    started = events_of(trace, "flow_started", "pattern_clarification")[0]["metadata"]
    assert started["names"] == ["age check", "greet user", "order pizza", "transfer money"]
    assert trace.bot_texts == [clarify_options("age check, greet user or order pizza")]
    assert trace.stack_after == []


async def test_clarification_is_dropped_when_other_commands_exist():
    chat = Chat(shop())
    trace = await chat.say("hm", "disambiguate flows greet ask_age\nstart flow jump")
    assert [c.name for c in trace.commands] == ["start flow"]
    assert any("clarif" in d.reason for d in trace.dropped)
    assert trace.bot_texts == ["Last.", "Middle.", ANYTHING_ELSE]


async def test_clarification_without_valid_options():
    chat = Chat(shop())
    trace = await chat.say("hm", "disambiguate flows unknown_a unknown_b")
    assert trace.bot_texts == [CLARIFY_NO_OPTIONS]


# --- chitchat, search, cannot handle, internal errors --------------------------------------


async def test_chitchat_is_moved_before_a_start_flow():
    chat = Chat(shop())
    trace = await chat.say("hi, greet me", "start flow greet\nofftopic reply")
    assert sorted(c.name for c in trace.commands) == ["chitchat", "start flow"]
    # the chitchat answer comes first, then the flow starts
    assert trace.bot_texts == ["I'm sorry, I'm not trained to help with that.", NAME_Q]


async def test_search_pattern_completes_with_the_anything_else_question():
    chat = Chat(shop())
    trace = await chat.say("what is CALM?", "provide info")
    assert trace.bot_texts == [NO_KNOWLEDGE_BASE, ANYTHING_ELSE]
    completed = frame_of(trace.stack_after, "pattern_completed")
    assert completed["previous_flow_name"] == "pattern search"


async def test_search_during_a_flow_asks_to_continue():
    chat = Chat(shop())
    await chat.say("/start flow greet")
    trace = await chat.say("what is CALM?", "provide info")
    assert trace.bot_texts == [NO_KNOWLEDGE_BASE, continue_with("greet user")]


async def test_cannot_handle_reason_is_in_the_pattern_context():
    chat = Chat(shop())
    trace = await chat.say("???", "this is no command")
    started = events_of(trace, "flow_started", "pattern_cannot_handle")[0]["metadata"]
    assert started["reason"] == "cannot_handle_default"
    assert trace.bot_texts == [REPHRASE]
    assert trace.dropped and trace.dropped[0].line == "this is no command"


async def test_cannot_handle_is_removed_when_other_commands_remain():
    chat = Chat(shop())
    trace = await chat.say("greet", "start flow greet\nset slot unknown_slot 1")
    assert [c.name for c in trace.commands] == ["start flow"]
    assert trace.bot_texts == [NAME_Q]


async def test_set_slot_of_an_unknown_slot_is_cannot_handle():
    chat = Chat(shop())
    await chat.say("/start flow greet")
    trace = await chat.say("x", "set slot favourite_color blue")
    assert [c.name for c in trace.commands] == ["cannot handle"]
    assert trace.bot_texts == [REPHRASE, NAME_Q]


async def test_set_slot_of_a_controlled_slot_is_cannot_handle():
    chat = Chat(shop())
    await chat.say("/start flow greet")
    trace = await chat.say("x", "set slot balance 100")
    assert [c.name for c in trace.commands] == ["cannot handle"]
    assert chat.slots["balance"] is None


async def test_generator_error_gives_the_internal_error():
    class Broken:
        name = "broken"

        async def generate(self, message, tracker, project):
            raise RuntimeError("model down")

    chat = Chat(shop())
    chat.session.generator = Broken()
    trace = await chat.say("hello")
    assert [c.name for c in trace.commands] == ["error"]
    assert trace.bot_texts == [
        "Sorry, I am having trouble with that. Please try again in a few minutes."
    ]


@pytest.mark.parametrize(
    ("message", "expected"),
    [("", EMPTY_INPUT), ("   \n  ", EMPTY_INPUT), ("x" * 421, too_long(420))],
    ids=["empty", "blank", "too_long"],
)
async def test_input_errors_skip_the_model(message, expected):
    chat = Chat(shop(), model_output=["start flow greet"])
    trace = await chat.say(message)
    assert trace.bot_texts == [expected]
    assert chat.generator.queue == ["start flow greet"]
    started = events_of(trace, "flow_started", "pattern_internal_error")[0]["metadata"]
    assert started["error_type"] in (
        "rasa_internal_error_user_input_empty",
        "rasa_internal_error_user_input_too_long",
    )


async def test_input_too_long_uses_the_configured_limit_and_reasks():
    chat = Chat(extras())
    await chat.say("/start flow code_check")
    trace = await chat.say("y" * 31)
    assert trace.bot_texts == [too_long(30), "Which code?"]
    trace = await chat.say("y" * 30, "set slot code abc")
    assert trace.bot_texts == ["Code abc ok.", ANYTHING_ELSE]


# --- handoff, skip, repeat ---------------------------------------------------------------


async def test_human_handoff_link_runs_the_handoff_pattern():
    chat = Chat(shop())
    trace = await chat.say("/start flow human")
    assert trace.bot_texts == ["Let me connect you.", HANDOFF]
    assert ("flow_started", "pattern_human_handoff") in flow_events(trace)
    assert "action_handoff_metric" in action_names(trace)
    assert trace.stack_after == []


async def test_skip_question_does_not_skip():
    chat = Chat(shop())
    await chat.say("/start flow greet")
    trace = await chat.say("skip", "skip question")
    assert trace.bot_texts[-1] == NAME_Q
    assert chat.slots["name"] is None
    assert user_frames(trace.stack_after) == [("greet", "regular")]


async def test_repeat_repeats_the_previous_turn():
    chat = Chat(shop())
    await chat.run(
        [
            ("/start flow transfer_money", ["Who should get the money?"]),
            ("/set slot recipient Jo", ["How much?"]),
        ]
    )
    trace = await chat.say("sorry?", "repeat message")
    assert trace.bot_texts == ["How much?", "How much?"]
    assert "action_repeat_bot_messages" in action_names(trace)


# --- code change, session start, restart ----------------------------------------------------


async def test_code_change_ends_the_running_flows(tmp_path):
    root = copy_shop(tmp_path / "shop")
    (root / "workbench.yml").write_text("code_change: rasa\n")
    chat = Chat(load(root))
    await chat.run([("/start flow greet", [NAME_Q])])
    flows = root / "data" / "flows.yml"
    text = flows.read_text()
    changed = text.replace(
        "      - action: utter_greet\n\n  ask_age",
        "      - action: utter_greet\n      - action: utter_goodbye\n\n  ask_age",
    )
    assert changed != text
    flows.write_text(changed)
    chat.session.replace_project(load(root))
    trace = await chat.say("/set slot name Bob")
    assert [c.name for c in trace.commands] == ["handle code change"]
    assert trace.bot_texts[0] == CODE_CHANGE
    assert ("flow_started", "pattern_code_change") in flow_events(trace)
    assert "action_clean_stack" in action_names(trace)
    assert [e["step_id"] for e in events_of(trace, "flow_completed", "greet")] == ["NEXT:END"]
    assert user_frames(trace.stack_after) == []
    assert chat.slots["name"] is None
    # the new definition is used from now on
    await chat.run(
        [
            ("/start flow greet", [NAME_Q]),
            ("/set slot name Bob", ["Hello Bob!", "Goodbye!", ANYTHING_ELSE]),
        ]
    )


async def test_code_change_with_an_interrupted_flow_ends_all_flows(tmp_path):
    root = copy_shop(tmp_path / "shop")
    (root / "workbench.yml").write_text("code_change: rasa\n")
    chat = Chat(load(root))
    await chat.run([("/start flow greet", [NAME_Q]), ("/start flow ask_age", [AGE_Q_POLITE])])
    flows = root / "data" / "flows.yml"
    flows.write_text(flows.read_text().replace("utter_age_noted", "utter_goodbye"))
    chat.session.replace_project(load(root))
    trace = await chat.say("/set slot age 5")
    # every frame is set to END: greet is finished, not interrupted
    assert trace.bot_texts == [CODE_CHANGE, ANYTHING_ELSE]
    assert sorted(
        e["flow_id"]
        for e in events_of(trace, "flow_completed")
        if e["flow_id"] in ("greet", "ask_age")
    ) == ["ask_age", "greet"]
    assert user_frames(trace.stack_after) == []
    assert "pattern_continue_interrupted" not in [f["type"] for f in plain(trace.stack_after)]


async def test_unchanged_reload_is_no_code_change(tmp_path):
    root = copy_shop(tmp_path / "shop")
    chat = Chat(load(root))
    await chat.say("/start flow greet")
    chat.session.replace_project(load(root))
    trace = await chat.say("/set slot name Bob")
    assert trace.bot_texts == ["Hello Bob!", ANYTHING_ELSE]


async def test_session_start_default_pattern_says_nothing():
    chat = Chat(shop())
    trace = await chat.say("/session_start")
    assert trace.bot_texts == []
    assert ("flow_started", "pattern_session_start") in flow_events(trace)
    assert trace.stack_after == []
    assert action_names(trace) == ["action_listen"]


async def test_session_start_override_greets():
    chat = Chat(extras())
    trace = await chat.say("/session_start")
    assert trace.bot_texts == ["Welcome to the shop!"]
    assert trace.stack_after == []


async def test_new_session_starts_without_a_message():
    chat = Chat(shop())
    events = chat.session.start()
    assert [e["event"] for e in events] == ["action", "session_started", "action"]
    assert [e.get("name") for e in events if e["event"] == "action"] == [
        "action_session_start",
        "action_listen",
    ]
    assert all(e["event"] != "bot" for e in events)


async def test_intent_payload_starts_the_flow_with_that_nlu_trigger():
    chat = Chat(extras())
    trace = await chat.say("/want_code")
    assert trace.bot_texts == ["Which code?"]
    assert user_frames(trace.stack_after) == [("code_check", "regular")]


async def test_restart_clears_stack_and_slots():
    chat = Chat(shop())
    await chat.run(
        [
            ("/start flow become_gold", ANY),
            ("/start flow transfer_money", ANY),
            ("/set slot recipient Jo", ["How much?"]),
        ]
    )
    assert chat.slots["membership"] == "gold"
    trace = await chat.say("/restart")
    assert ("flow_started", "pattern_restart") in flow_events(trace)
    assert "action_restart" in action_names(trace)
    assert any(e.get("event") == "restart" for e in events(trace))
    assert trace.stack_after == []
    assert chat.slots["membership"] is None
    assert chat.slots["recipient"] is None
    assert trace.bot_texts == []
    await chat.run([("/start flow greet", [NAME_Q])])


async def test_default_patterns_need_a_flow(tmp_path):
    """Patterns are added only if the project has at least one flow."""
    project = build_project(
        tmp_path / "p", flows="flows: {}\n", domain="responses:\n  utter_x:\n    - text: x\n"
    )
    assert project.flow("pattern_completed") is None
    chat = Chat(project)
    trace = await chat.say("/start flow anything")
    assert trace.stack_after == []
    assert trace.bot_texts == []


# --- interruptions of called flows ---------------------------------------------------------


async def test_interrupting_a_called_flow_interrupts_the_calling_flow():
    """The called flow is part of its caller: `flow_interrupted` names the user flow that
    runs (check_balance), not the flow it called."""
    chat = Chat(shop())
    await chat.run([("/start flow check_balance", ["What is your PIN?"])])
    trace = await chat.say("/start flow greet")
    assert trace.bot_texts == [NAME_Q]
    interrupted = events_of(trace, "flow_interrupted")
    assert [(e["flow_id"], e["step_id"]) for e in interrupted] == [
        ("check_balance", "check_balance_0_call_verify")
    ]
    assert user_frames(trace.stack_after) == [
        ("check_balance", "regular"),
        ("verify", "call"),
        ("greet", "interrupt"),
    ]
    trace = await chat.say("/set slot name Bob")
    assert trace.bot_texts == ["Hello Bob!", continue_with("check balance")]
    trace = await chat.say("/set slot continue_interrupted_flow_confirmation true")
    assert trace.bot_texts == ["What is your PIN?"]


async def test_starting_the_caller_while_its_called_flow_asks_is_dropped():
    """`start flow` of the flow already on top is dropped; a called flow counts as part of
    its caller."""
    chat = Chat(shop())
    await chat.run([("/start flow check_balance", ["What is your PIN?"])])
    trace = await chat.say("/start flow check_balance")
    assert commands(trace.commands) == []
    assert events_of(trace, "flow_interrupted") == []
    assert events_of(trace, "flow_resumed") == []
    assert trace.bot_texts == ["What is your PIN?"]
    assert user_frames(trace.stack_after) == [("check_balance", "regular"), ("verify", "call")]


# --- validate slot, chitchat without a chitchat policy ------------------------------------


async def test_validate_slot_pattern_for_slots_with_domain_validation(tmp_path):
    project = build_project(
        tmp_path / "p",
        domain="""
        slots:
          zip:
            type: text
            validation:
              rejections:
                - if: not (slots.zip matches "^[0-9]{5}$")
                  utter: utter_bad_zip
              refill_utter: utter_ask_zip_again
        responses:
          utter_ask_zip:
            - text: "Which zip?"
          utter_ask_zip_again:
            - text: "Which zip, again?"
          utter_bad_zip:
            - text: "Bad zip."
          utter_zip_ok:
            - text: "Zip {zip} ok."
        """,
        flows="""
        flows:
          zip_flow:
            description: Ask for a zip code.
            steps:
              - collect: zip
              - action: utter_zip_ok
        """,
    )
    chat = Chat(project)
    trace = await chat.say("zip abc", "start flow zip_flow\nset slot zip abc")
    assert ("flow_started", "pattern_validate_slot") in flow_events(trace)
    assert trace.bot_texts == ["Bad zip.", "Which zip, again?"]
    assert chat.slots["zip"] is None
    trace = await chat.say("12345", "set slot zip 12345")
    assert trace.bot_texts == ["Zip 12345 ok.", ANYTHING_ELSE]


async def test_chitchat_pattern_needing_a_chitchat_policy_is_cannot_handle(tmp_path):
    project = build_project(
        tmp_path / "p",
        domain="""
        responses:
          utter_hi:
            - text: "Hi!"
        """,
        flows="""
        flows:
          hi:
            description: Say hi.
            steps:
              - action: utter_hi
          pattern_chitchat:
            description: Free-form chitchat.
            name: pattern chitchat
            steps:
              - action: action_trigger_chitchat
        """,
    )
    chat = Chat(project)
    trace = await chat.say("how are you?", "offtopic reply")
    assert commands(trace.commands) == [
        {"command": "cannot handle", "reason": "cannot_handle_chitchat"}
    ]
    assert trace.bot_texts == ["I'm sorry, I'm not trained to help with that."]


async def test_project_response_overrides_a_default_text(tmp_path):
    project = build_project(
        tmp_path / "p",
        domain="""
        responses:
          utter_hi:
            - text: "Hi!"
          utter_ask_continue_conversation:
            - text: "Anything else?"
        """,
        flows="""
        flows:
          hi:
            description: Say hi.
            steps:
              - action: utter_hi
        """,
    )
    chat = Chat(project)
    trace = await chat.say("/start flow hi")
    assert trace.bot_texts == ["Hi!", "Anything else?"]
