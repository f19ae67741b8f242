"""Random conversations against the sample project: whatever the user (or the model) sends,
the engine keeps a sane stack and every turn ends listening.

Custom actions have no runner here, so they fail: that exercises the error path
(pattern_internal_error + pattern_cancel_flow) as often as the happy path.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache
from pathlib import Path

from engine_helpers import events, plain
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from workbench.project.loader import load_project
from workbench.project.model import END_STEP, NEXT_PREFIX, START_STEP, Project
from workbench.session import MAX_ACTIONS_PER_TURN, ActionResult, Session
from workbench.trace.turn import TurnTrace
from workbench.understanding.base import ScriptedGenerator

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"
COLLECT = "pattern_collect_information"


@lru_cache(maxsize=1)
def sample() -> Project:
    return load_project(SAMPLE, with_tests=False).project


def _names() -> tuple[list[str], list[str]]:
    project = sample()
    flows = sorted(project.flows)
    slots = sorted(project.domain.slots)
    return flows, slots


FLOW_IDS, SLOT_NAMES = _names()
flow_ids = st.sampled_from([*FLOW_IDS, "no_such_flow", "pattern_nope", "Check_Order_Status"])
slot_names = st.sampled_from([*SLOT_NAMES, "no_such_slot", "flow_name"])
values = st.one_of(
    st.sampled_from(
        [
            "true",
            "false",
            "yes",
            "no",
            "None",
            "A1001",
            "A1003",
            "A9999",
            "5",
            "1",
            "0",
            "-3",
            "2.5",
            "gold",
            "damaged",
            "store_credit",
            "shipping",
            "satisfied",
            "none",
            "customer@example.com",
            "1234",
            "check order status",
        ]
    ),
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
        min_size=1,
        max_size=12,
    ),
)


def _clarify(ids: list[str]) -> str:
    return "disambiguate flows " + " ".join(ids)


dsl_lines = st.one_of(
    flow_ids.map(lambda f: f"start flow {f}"),
    st.tuples(slot_names, values).map(lambda p: f"set slot {p[0]} {p[1]}"),
    st.just("cancel flow"),
    st.lists(flow_ids, min_size=0, max_size=4).map(_clarify),
    st.sampled_from(
        [
            "offtopic reply",
            "provide info",
            "repeat message",
            "skip question",
            "cancel flow.",
            "Set slot order_id A1001",
            "continue agent",
            "I do not know",
            "",
        ]
    ),
)


def _payload(pairs: list[tuple[str, str]]) -> str:
    return "/SetSlots(" + ", ".join(f"{name}={value}" for name, value in pairs) + ")"


payload_values = st.sampled_from(
    ["true", "false", "A1001", "5", "null", "satisfied", "unsatisfied", "gold", "x y", "[a, b]"]
)
ANSWER = "@answer"  # replaced at run time by `/set slot <asked slot> <a value for it>`
answers = st.integers(min_value=0, max_value=3).map(lambda i: (ANSWER, str(i)))
user_flow_starts = st.sampled_from([f for f in FLOW_IDS if not f.startswith("pattern_")]).map(
    lambda f: (f"/start flow {f}", None)
)
messages = st.one_of(
    # starting flows and answering their questions is what gets conversations deep
    answers,
    answers,
    answers,
    user_flow_starts,
    user_flow_starts,
    # typed commands, several per message
    st.lists(dsl_lines, min_size=1, max_size=4).map(lambda lines: ("/" + "\n".join(lines), None)),
    # button payloads (unknown slots void them)
    st.lists(st.tuples(slot_names, payload_values), min_size=1, max_size=3).map(
        lambda pairs: (_payload(pairs), None)
    ),
    # text answered by the model with random DSL lines
    st.lists(dsl_lines, min_size=0, max_size=4).map(lambda lines: ("some text", "\n".join(lines))),
    st.sampled_from(
        [
            ("", None),
            ("   ", None),
            ("x" * 500, None),
            ("/session_start", None),
            ("/restart", None),
            ("/no_such_intent", None),
            ("/SetSlots(", None),
        ]
    ),
)


def check_turn(project: Project, trace: TurnTrace) -> None:
    frames = plain(trace.stack_after)
    for frame in frames:
        flow_id = frame.get("flow_id")
        if flow_id is None:
            continue
        flow = project.flow(flow_id)
        assert flow is not None, f"frame of unknown flow {flow_id!r}"
        if frame.get("type") == "flow":
            assert not flow.is_pattern, f"user flow frame for pattern {flow_id}"
            assert frame.get("frame_type") in ("regular", "interrupt", "link", "call")
        else:
            assert frame["type"] == flow_id
        step_id = frame["step_id"]
        if step_id == START_STEP:
            continue
        if step_id.startswith(NEXT_PREFIX):
            target = step_id[len(NEXT_PREFIX) :]
            assert target == END_STEP or flow.step(target) is not None, step_id
            continue
        assert flow.step(step_id) is not None, f"{flow_id} has no step {step_id!r}"

    # frames set to NEXT:END are being wound up (a cancellation) and end in order
    questions = [
        i
        for i, f in enumerate(frames)
        if f.get("type") == COLLECT and f.get("step_id") != NEXT_PREFIX + END_STEP
    ]
    for index in questions:
        # a question is asked on behalf of the frame right below it, which is at the
        # collect step of that slot (so there is at most one question per frame)
        assert index > 0, "a question with nothing below it"
        below = frames[index - 1]
        flow = project.flow(below.get("flow_id") or "")
        assert flow is not None, f"question above a non-flow frame {below}"
        step = flow.step(below["step_id"])
        assert step is not None, f"question above {below['flow_id']}@{below['step_id']}"
        assert step.kind == "collect", f"question above a {step.kind} step"
        assert step.collect == frames[index]["collect"], "question for another slot"
    if questions:
        # the open question is the top frame, or only patterns are above it
        above = frames[questions[-1] + 1 :]
        assert all(f.get("type") != "flow" for f in above), above

    # the turn ends listening (a trailing `bot_turn_ended` marker is allowed)
    turn = [e for e in events(trace) if e.get("event") != "bot_turn_ended"]
    assert turn, "a turn without events"
    assert turn[-1] == {"event": "action", "name": "action_listen"}, turn[-1]
    assert [e.get("event") for e in events(trace)].count("user") == 1
    actions = [e for e in events(trace) if e.get("event") == "action"]
    assert len(actions) <= MAX_ACTIONS_PER_TURN + 1
    cap_errors = [
        e
        for e in events(trace)
        if e.get("event") == "error" and "actions in one turn" in e["message"]
    ]
    assert cap_errors == [], cap_errors


class NoopActions:
    """A runner whose custom actions succeed without doing anything."""

    async def run(self, name, tracker, project):
        return ActionResult(kind="stub")


def answer(project: Project, session: Session, choice: int) -> str:
    """A typed answer to the open question, valid or not depending on `choice`."""
    top = session.tracker.stack.top()
    slot_name = top.context.get("collect") if top is not None else None
    slot = project.slot(slot_name or "")
    if slot is None:
        return "/set slot order_id A1001"
    if slot.type == "bool":
        candidates = ["true", "false", "true", "maybe"]
    elif slot.type == "categorical":
        candidates = [*slot.values[:3], "something else"]
    elif slot.type == "float":
        candidates = ["3", "1", "5", "lots"]
    elif slot_name == "order_id":
        candidates = ["A1001", "A1003", "A9999", "A1002"]
    elif slot_name == "interrupted_flow_to_continue":
        ids = top.context.get("interrupted_flow_ids") or ["none"]
        candidates = [*ids, "none", "none"][:4]
    else:
        candidates = ["1234", "some text", "customer@example.com", "x"]
    return f"/set slot {slot_name} {candidates[choice % len(candidates)]}"


async def converse(script: list[tuple[str, str | None]], with_runner: bool = False) -> None:
    project = sample()
    generator = ScriptedGenerator([])
    session = Session(project, generator, actions=NoopActions() if with_runner else None)
    for text, output in script:
        if text == ANSWER:
            text, output = answer(project, session, int(output or 0)), None
        generator.queue[:] = [output] if output is not None else []
        trace = await session.handle(text)
        check_turn(project, trace)


@settings(
    max_examples=int(__import__("os").environ.get("ENGINE_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(messages, min_size=1, max_size=15), st.booleans())
# found by this test: resuming the most recently interrupted of two flows
@example(
    [
        ("/start flow check_loyalty_points", None),
        ("/start flow cancel_order\nprovide info", None),
        ("/set slot interrupted_flow_to_continue cancel_order", None),
    ],
    False,
)
def test_random_conversations_keep_the_engine_sane(script, with_runner):
    asyncio.run(converse(script, with_runner))


def test_check_turn_accepts_an_interrupted_question():
    """The invariant allows one open question per waiting flow (an interrupted flow keeps
    its question below the interrupting flow)."""
    script = [("/start flow check_order_status", None), ("/start flow store_info", None)]
    asyncio.run(converse(script))
