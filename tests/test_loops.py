"""Loops: `validate` names `next` cycles that never ask anything and `call`/`link` cycles
across flows; at runtime the step breaker (250 steps) and the action cap (1,000 actions
per turn) stop a loop that runs anyway, say so in the trace and leave nothing looping."""

from __future__ import annotations

import textwrap

import pytest

from workbench.project.validate import validate_path

FLOWS = "data/flows.yml"


def _loops(make_project, flows: str) -> list[str]:
    result = validate_path(make_project({FLOWS: textwrap.dedent(flows)}))
    return [str(i) for i in result.issues if i.code == "loop"]


def test_next_cycle_without_collect_is_an_error_spelled_out(make_project):
    found = _loops(
        make_project,
        """\
        flows:
          greet:
            description: Greet.
            steps:
              - id: a
                action: utter_greet
                next: b
              - id: b
                action: utter_greet
                next: a
        """,
    )
    assert found == [
        f"{FLOWS}:5: error: flow 'greet' loops without asking anything: a → b → a "
        "(add a collect step to the loop or point a `next` out of it)"
    ]


def test_next_cycle_a_condition_may_leave_is_a_warning(make_project):
    found = _loops(
        make_project,
        """\
        flows:
          greet:
            description: Greet.
            steps:
              - id: a
                action: utter_greet
                next:
                  - if: slots.name
                    then: END
                  - else: a
        """,
    )
    assert len(found) == 1
    assert "warning: flow 'greet' may loop without asking anything: a → a" in found[0]


def test_cycle_through_a_collect_is_fine(make_project):
    assert not _loops(
        make_project,
        """\
        flows:
          greet:
            description: Greet.
            steps:
              - id: ask
                collect: name
                ask_before_filling: true
              - id: say
                action: utter_greet
                next: ask
        """,
    )


def test_link_cycle_without_collect_is_an_error(make_project):
    found = _loops(
        make_project,
        """\
        flows:
          ping:
            description: Ping.
            steps:
              - action: utter_greet
              - link: pong
          pong:
            description: Pong.
            steps:
              - action: utter_greet
              - link: ping
        """,
    )
    assert len(found) == 1
    assert (
        "flows link each other in a cycle without asking anything: ping → pong → ping" in (found[0])
    )


def test_link_cycle_through_a_question_is_a_menu(make_project):
    assert not _loops(
        make_project,
        """\
        flows:
          menu:
            description: Menu.
            steps:
              - collect: name
                ask_before_filling: true
              - link: again
          again:
            description: Again.
            steps:
              - action: utter_greet
              - link: menu
        """,
    )


def test_call_cycle_is_an_error(make_project):
    found = _loops(
        make_project,
        """\
        flows:
          outer:
            description: Outer.
            steps:
              - collect: name
              - call: inner
          inner:
            description: Inner.
            steps:
              - call: outer
        """,
    )
    assert len(found) == 1
    assert "flows call each other in a cycle: inner → outer → inner" in found[0]


@pytest.mark.parametrize("size", [2000])
def test_cycle_check_is_linear(make_project, size):
    steps = "\n".join(
        f"      - id: s{i}\n        action: utter_greet\n        next: s{(i + 1) % size}"
        for i in range(size)
    )
    flows = f"flows:\n  greet:\n    description: Greet.\n    steps:\n{steps}\n"
    found = _loops(make_project, flows)
    assert len(found) == 1 and "s0 → s1 → s2" in found[0]


# -- at runtime ---------------------------------------------------------------------------


LOOPING_DOMAIN = """\
version: "3.1"
slots:
  name:
    type: text
responses:
  utter_ask_name:
    - text: "What is your name?"
  utter_ping:
    - text: "ping"
  utter_pong:
    - text: "pong"
"""

LOOPING_FLOWS = """\
flows:
  spin:
    description: Spin without doing anything.
    steps:
      - id: here
        noop: true
        next: there
      - id: there
        noop: true
        next: here
  ping:
    description: Ping.
    steps:
      - action: utter_ping
      - link: pong
  pong:
    description: Pong.
    steps:
      - action: utter_pong
      - link: ping
  greet:
    description: Greet.
    steps:
      - collect: name
"""


def _looping_session(make_project):
    from workbench.project.loader import load_project
    from workbench.session import Session
    from workbench.understanding.offline.generator import OfflineGenerator

    root = make_project({"domain.yml": LOOPING_DOMAIN, FLOWS: LOOPING_FLOWS})
    project = load_project(root).project
    return Session(project, OfflineGenerator())


async def test_step_breaker_names_the_limit_and_the_loop(make_project):
    session = _looping_session(make_project)
    trace = await session.handle("/start flow spin")
    [error] = [e for e in trace.events if e.type == "error"]
    assert "step limit: more than 250 flow steps" in error.message
    assert "flow 'spin' loops: " in error.message
    assert "here → there" in error.message or "there → here" in error.message
    assert "spin" not in [f.flow_id for f in trace.stack_after]


async def test_link_cycle_is_capped_and_does_not_restart(make_project):
    from workbench.session import MAX_ACTIONS_PER_TURN

    session = _looping_session(make_project)
    trace = await session.handle("/start flow ping")
    assert len(trace.bot_messages) == MAX_ACTIONS_PER_TURN
    [error] = [e for e in trace.events if e.type == "error"]
    assert f"action limit: more than {MAX_ACTIONS_PER_TURN} actions in one turn" in (error.message)
    assert "ping.utter_ping → pong.utter_pong" in error.message or (
        "pong.utter_pong → ping.utter_ping" in error.message
    )
    assert trace.stack_after == []
    # the next message meets no loop
    trace = await session.handle("/start flow greet")
    assert [m.text for m in trace.bot_messages] == ["What is your name?"]
    assert not [e for e in trace.events if e.type == "error"]
