"""Edit and continue: a project reloaded while a flow runs. By default the flow goes on at
the step matching the one it was at; with no matching step, or `code_change: rasa` in
workbench.yml, Rasa's code-change pattern handles it."""

from __future__ import annotations

from pathlib import Path

from engine_helpers import ANYTHING_ELSE, CODE_CHANGE, Chat, copy_shop, load, user_frames

from workbench.engine.flow_edits import match_step
from workbench.project.loader import load_project

RECIPIENT_Q, AMOUNT_Q = "Who should get the money?", "How much?"
AMOUNT_STEP = "      - collect: amount\n        rejections:"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


async def at_amount(root: Path) -> Chat:
    chat = Chat(load(root))
    await chat.run(
        [("/start flow transfer_money", [RECIPIENT_Q]), ("/set slot recipient Jo", [AMOUNT_Q])]
    )
    return chat


def top_step(chat: Chat) -> str:
    frames = [f for f in chat.session.tracker.stack if f.flow_id == "transfer_money"]
    return frames[-1].step_id


async def test_editing_the_current_steps_text_continues_there(tmp_path):
    root = copy_shop(tmp_path / "shop")
    chat = await at_amount(root)
    flows = root / "data" / "flows.yml"
    edit(
        flows,
        AMOUNT_STEP,
        "      - collect: amount\n        description: euros\n        rejections:",
    )
    edit(
        root / "domain.yml",
        '"Send {amount} to {recipient}?"',
        '"Really send {amount} to {recipient}?"',
    )
    edits = chat.session.replace_project(load(root))
    assert [e.message() for e in edits] == [
        "flow transfer_money changed; continuing at collect amount"
    ]
    trace = await chat.say("/set slot amount 50")
    assert "handle code change" not in [c.name for c in trace.commands]
    assert trace.bot_texts == ["Really send 50.0 to Jo?"]  # the new response is used


async def test_a_step_inserted_above_moves_the_pointer(tmp_path):
    root = copy_shop(tmp_path / "shop")
    chat = await at_amount(root)
    before = top_step(chat)
    edit(
        root / "data" / "flows.yml",
        "      - collect: recipient\n        description: name of the person to pay\n",
        "      - action: utter_greet\n"
        "      - collect: recipient\n        description: name of the person to pay\n",
    )
    edits = chat.session.replace_project(load(root))
    assert [e.continued for e in edits] == [True]
    after = top_step(chat)
    assert after != before and after.endswith("collect_amount")
    assert chat.session.project.flow("transfer_money").step(after).collect == "amount"
    trace = await chat.say("/set slot amount 50")
    assert trace.bot_texts == ["Send 50.0 to Jo?"]
    trace = await chat.say("/set slot confirm_transfer true")
    assert trace.bot_texts == ["Done.", ANYTHING_ELSE]


async def test_a_deleted_current_step_falls_back_to_the_code_change_pattern(tmp_path):
    root = copy_shop(tmp_path / "shop")
    chat = await at_amount(root)
    text = (root / "data" / "flows.yml").read_text()
    start = text.index(AMOUNT_STEP)
    end = text.index(
        "      - collect: confirm_transfer\n        ask_before_filling: true\n        next:"
    )
    (root / "data" / "flows.yml").write_text(text[:start] + text[end:])
    edits = chat.session.replace_project(load(root))
    assert [(e.continued, e.message()) for e in edits] == [
        (
            False,
            "flow transfer_money changed and collect amount is gone; "
            "the code-change pattern restarts it at the next message",
        )
    ]
    trace = await chat.say("/set slot amount 50")
    assert [c.name for c in trace.commands] == ["handle code change"]
    assert trace.bot_texts[0] == CODE_CHANGE
    assert user_frames(trace.stack_after) == []


async def test_code_change_rasa_keeps_rasas_behaviour(tmp_path):
    root = copy_shop(tmp_path / "shop")
    (root / "workbench.yml").write_text("code_change: rasa\n")
    chat = await at_amount(root)
    edit(
        root / "data" / "flows.yml",
        AMOUNT_STEP,
        "      - collect: amount\n        description: euros\n        rejections:",
    )
    assert chat.session.replace_project(load(root)) == []
    trace = await chat.say("/set slot amount 50")
    assert [c.name for c in trace.commands] == ["handle code change"]
    assert trace.bot_texts[0] == CODE_CHANGE


async def test_a_slot_added_by_the_reload_is_asked_by_its_new_collect(tmp_path):
    root = copy_shop(tmp_path / "shop")
    chat = await at_amount(root)
    edit(root / "domain.yml", "slots:\n", "slots:\n  reference:\n    type: text\n")
    edit(
        root / "domain.yml",
        "  utter_ask_amount:\n",
        '  utter_ask_reference:\n    - text: "A reference for {recipient}?"\n  utter_ask_amount:\n',
    )
    edit(
        root / "data" / "flows.yml",
        "      - collect: confirm_transfer\n        ask_before_filling: true\n        next:",
        "      - collect: reference\n"
        "      - collect: confirm_transfer\n        ask_before_filling: true\n        next:",
    )
    chat.session.replace_project(load(root))
    assert "reference" in chat.session.tracker.slots
    assert chat.session.tracker.slots["reference"] is None
    trace = await chat.say("/set slot amount 50")
    assert trace.bot_texts == ["A reference for Jo?"]
    trace = await chat.say("/set slot reference rent")
    assert trace.bot_texts == ["Send 50.0 to Jo?"]


def test_steps_match_by_explicit_id_first_then_by_kind_and_target_nearest(tmp_path):
    root = copy_shop(tmp_path / "shop")
    old = load(root).flow("life_stage")
    edit(
        root / "data" / "flows.yml",
        "      - id: senior\n        action: utter_senior",
        "      - action: utter_minor\n      - id: senior\n        action: utter_senior",
    )
    new = load(root).flow("life_stage")
    assert match_step(old, new, "senior") == "senior"
    minor = next(s.id for s in old.steps if s.action == "utter_minor")
    # two utter_minor steps now: the one nearest the old position is the match
    matched = match_step(old, new, minor)
    positions = {s.id: i for i, s in enumerate(new.steps)}
    old_position = next(i for i, s in enumerate(old.steps) if s.id == minor)
    others = [s.id for s in new.steps if s.action == "utter_minor" and s.id != matched]
    assert others and all(
        abs(positions[o] - old_position) >= abs(positions[matched] - old_position) for o in others
    )
    assert match_step(old, new, "START") == "START"
    assert match_step(old, new, "no_such_step") is None


def test_a_bad_code_change_mode_is_an_error_with_its_line(tmp_path):
    root = copy_shop(tmp_path / "shop")
    (root / "workbench.yml").write_text("# team settings\ncode_change: restart\n")
    result = load_project(root, with_tests=False)
    [error] = [e for e in result.issues.errors if e.code == "bad-code-change"]
    assert error.location == "workbench.yml:2"
    assert "'restart'" in error.message and "continue, rasa" in error.message
    assert result.project.code_change == "continue"
