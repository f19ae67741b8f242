"""The headless e2e runner: Rasa's step and assertion semantics (reference section f),
selection, reports, JUnit and exit codes. Messages are direct commands (`/start flow x`,
`/SetSlots(a=1)`) or come from a cassette, so no model is involved."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from workbench.cli.test import cmd_test, split_targets
from workbench.project.loader import load_project
from workbench.session import ActionResult
from workbench.testing.report import failure_text, junit_xml, print_report
from workbench.testing.runner import (
    FAILED,
    PASSED,
    SKIPPED,
    E2ERunner,
    SelectionError,
    run_tests,
    select_cases,
    split_turn,
)
from workbench.understanding.base import ScriptedGenerator
from workbench.understanding.cassette import CassetteEntry, CassetteGenerator, save_cassette

CONFIG = """\
recipe: default.v1
language: en
assistant_id: e2e_bot
"""

DOMAIN = """\
version: "3.1"
actions:
  - action_lookup
slots:
  name:
    type: text
  color:
    type: categorical
    values: [red, blue]
  membership:
    type: text
  points:
    type: float
responses:
  utter_ask_name:
    - text: "What is your name?"
  utter_greet:
    - text: "Hello {name}!"
  utter_ask_color:
    - text: "Which color?"
      buttons:
        - title: Red
          payload: "/SetSlots(color=red)"
        - title: Blue
          payload: "/SetSlots(color=blue)"
  utter_color_done:
    - text: "You picked {color}."
  utter_points:
    - text: "You have {points} points."
"""

FLOWS = """\
flows:
  greet:
    description: Greet the user by name.
    steps:
      - collect: name
      - action: utter_greet
  pick_color:
    description: Pick a color.
    steps:
      - collect: color
      - action: utter_color_done
  check_points:
    description: Look up the points.
    steps:
      - action: action_lookup
      - action: utter_points
"""


class FakeActions:
    """In-process actions for the tests: action_lookup sets points to 42."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def run(self, name, tracker, project) -> ActionResult:
        self.calls.append(name)
        if name == "action_lookup":
            return ActionResult(events=[{"event": "slot", "name": "points", "value": 42.0}])
        return ActionResult(error=f"unknown action {name}")


@pytest.fixture
def project_dir(make_project):
    """`project_dir(tests_yaml, extra_files)`: the test project with e2e_tests/t.yml."""

    def build(tests: str, extra: dict[str, str] | None = None) -> Path:
        files = {
            "config.yml": CONFIG,
            "domain.yml": DOMAIN,
            "data/flows.yml": FLOWS,
            "e2e_tests/t.yml": tests,
            **(extra or {}),
        }
        return make_project(files, base=False)

    return build


def load(root: Path):
    result = load_project(root)
    assert not result.issues.errors, [str(i) for i in result.issues.errors]
    return result.project


def run(root: Path, paths=(), generator=None, **options):
    project = load(root)
    options.setdefault("actions", FakeActions())
    return run_tests(
        project, select_cases(project, list(paths)), generator or ScriptedGenerator([]), **options
    )


def by_name(run_result):
    return {r.name: r for r in run_result.results}


def single(root: Path, **options):
    results = run(root, **options).results
    assert len(results) == 1
    return results[0]


# --- step style -------------------------------------------------------------------------------


def test_bot_utter_and_slot_steps_pass(project_dir):
    root = project_dir(
        """
        test_cases:
          - test_case: greet_by_name
            steps:
              - user: "/start flow greet"
              - utter: utter_ask_name
              - bot: "What is your name?"
              - user: "/SetSlots(name=Ada)"
              - bot: "  Hello Ada!  "
              - slot_was_set:
                  - name
                  - name: Ada
              - utter: utter_ask_continue_conversation
        """
    )
    result = single(root)
    assert result.status == PASSED, failure_text(result)
    assert len(result.traces) == 2


def test_order_extra_events_and_repeats_are_not_checked(project_dir):
    root = project_dir(
        """
        test_cases:
          - test_case: any_order
            steps:
              - user: "/start flow greet"
              - user: "/SetSlots(name=Ada)"
              - utter: utter_ask_continue_conversation
              - utter: utter_greet
              - utter: utter_greet
              - slot_was_set:
                  - name: Ada
        """
    )
    assert single(root).status == PASSED


def test_bot_step_fails_with_expected_and_actual(project_dir):
    root = project_dir(
        """
        test_cases:
          - test_case: wrong_text
            steps:
              - user: "/start flow greet"
              - bot: "What's your name?"
        """
    )
    result = single(root)
    assert result.status == FAILED
    failure = result.failure
    assert failure.kind == "step"
    assert failure.expected == "bot: What's your name?"
    assert failure.source.file == "e2e_tests/t.yml" and failure.source.line == 6
    assert failure.turn.user_text == "/start flow greet"
    assert [m.text for m in failure.turn.bot] == ["What is your name?"]
    assert [m.response for m in failure.turn.bot] == ["utter_ask_name"]
    assert failure.turn.commands == ["start flow greet"]
    text = failure_text(result)
    assert "What is your name?" in text and "start flow greet" in text


def test_utter_step_fails(project_dir):
    root = project_dir(
        """
        test_cases:
          - test_case: wrong_utter
            steps:
              - user: "/start flow greet"
              - utter: utter_greet
        """
    )
    result = single(root)
    assert result.status == FAILED
    assert "utter_greet" in result.failure.message


def test_slot_was_set_step_fails_on_a_different_value(project_dir):
    root = project_dir(
        """
        test_cases:
          - test_case: wrong_value
            steps:
              - user: "/start flow greet"
              - user: "/SetSlots(name=Ada)"
              - slot_was_set:
                  - name: Bob
        """
    )
    result = single(root)
    assert result.status == FAILED
    assert result.failure.message == "slot 'name' was set to 'Ada', None, not to 'Bob'"
    assert ("name", "Ada") in result.failure.turn.slots


def test_slot_was_set_step_fails_when_not_set(project_dir):
    root = project_dir(
        """
        test_cases:
          - test_case: never_set
            steps:
              - user: "/start flow greet"
              - slot_was_set:
                  - name
        """
    )
    result = single(root)
    assert result.status == FAILED
    assert result.failure.message == "slot 'name' was not set"


def test_slot_was_not_set_by_name_fails_on_any_slot_event_even_a_reset(project_dir):
    # greet sets name to Ada, then resets it to null when the flow ends: both count
    root = project_dir(
        """
        test_cases:
          - test_case: name_only
            steps:
              - user: "/start flow greet"
              - user: "/SetSlots(name=Ada)"
              - slot_was_not_set:
                  - color
              - slot_was_not_set:
                  - name
        """
    )
    result = single(root)
    assert result.status == FAILED
    assert result.failure.message.startswith("slot 'name' was set to 'Ada'")
    assert result.failure.source.line == 9


def test_slot_was_not_set_with_value_fails_only_on_that_value(project_dir):
    root = project_dir(
        """
        test_cases:
          - test_case: other_value_passes
            steps:
              - user: "/start flow greet"
              - user: "/SetSlots(name=Ada)"
              - slot_was_not_set:
                  - name: Bob
          - test_case: same_value_fails
            steps:
              - user: "/start flow greet"
              - user: "/SetSlots(name=Ada)"
              - slot_was_not_set:
                  - name: Ada
        """
    )
    results = by_name(run(root))
    assert results["other_value_passes"].status == PASSED
    assert results["same_value_fails"].status == FAILED


def test_steps_before_the_first_user_step_check_session_start_and_fixtures(project_dir):
    root = project_dir(
        """
        fixtures:
          - gold:
              - membership: gold
        test_cases:
          - test_case: fixture_seen_in_turn_minus_one
            fixtures: [gold]
            steps:
              - slot_was_set:
                  - membership: gold
              - user: "/start flow greet"
              - slot_was_not_set:
                  - membership
          - test_case: nothing_set_before_the_first_message
            steps:
              - slot_was_set:
                  - membership
              - user: "/start flow greet"
        """
    )
    results = by_name(run(root))
    assert results["fixture_seen_in_turn_minus_one"].status == PASSED
    failed = results["nothing_set_before_the_first_message"]
    assert failed.status == FAILED
    assert failed.failure.turn.user_text is None  # turn −1
    assert failed.traces == []  # nothing was sent
    assert "session start" in failure_text(failed)


def test_conftest_fixtures_are_merged_and_applied(project_dir):
    root = project_dir(
        """
        test_cases:
          - test_case: shared_fixture
            fixtures: [vip]
            steps:
              - user: "/start flow greet"
              - slot_was_not_set:
                  - membership
        """,
        {
            "e2e_tests/conftest.yml": """
            fixtures:
              - vip:
                  - membership: gold
            """
        },
    )
    project = load(root)
    (test_file,) = project.test_files
    assert test_file.fixtures["vip"] == (("membership", "gold"),)
    result = single(root)
    assert result.status == PASSED
    assert result.traces[0].slots_before["membership"] == "gold"


def test_sending_stops_at_the_first_failing_step(project_dir):
    root = project_dir(
        """
        test_cases:
          - test_case: stops
            steps:
              - user: "/start flow greet"
              - utter: utter_greet
              - user: "/SetSlots(name=Ada)"
              - utter: utter_greet
        """
    )
    result = single(root)
    assert result.status == FAILED
    assert result.failure.step_index == 1
    assert [t.user_text for t in result.traces] == ["/start flow greet"]


def test_metadata_of_test_case_and_step_are_merged_step_wins(project_dir):
    root = project_dir(
        """
        metadata:
          - web: {device: web, locale: en}
          - german: {locale: de}
        test_cases:
          - test_case: with_metadata
            metadata: web
            steps:
              - user: "/start flow greet"
                metadata: german
              - user: "/SetSlots(name=Ada)"
        """
    )
    result = single(root)
    assert result.status == PASSED
    first, second = (t.events[0] for t in result.traces)
    assert first.metadata == {"device": "web", "locale": "de"}
    assert second.metadata == {"device": "web", "locale": "en"}


def test_each_case_gets_a_fresh_conversation_with_a_unique_sender(project_dir):
    root = project_dir(
        """
        test_cases:
          - test_case: one
            steps:
              - user: "/start flow greet"
          - test_case: two
            steps:
              - user: "/start flow pick_color"
        """
    )
    results = run(root).results
    assert [r.status for r in results] == [PASSED, PASSED]
    assert results[0].traces[0].stack_after  # greet waits for the name ...
    assert results[1].traces[0].stack_before == []  # ... in the other conversation
    senders = [r.sender_id for r in results]
    assert len(set(senders)) == 2 and senders[0].startswith("one_")


def test_custom_actions_run_through_the_given_runner(project_dir):
    root = project_dir(
        """
        test_cases:
          - test_case: points
            steps:
              - user: "/start flow check_points"
              - slot_was_set:
                  - points: 42.0
              - bot: "You have 42.0 points."
        """
    )
    actions = FakeActions()
    result = single(root, actions=actions)
    assert result.status == PASSED, failure_text(result)
    assert actions.calls == ["action_lookup"]


def test_stub_custom_actions_replace_the_action(project_dir):
    root = project_dir(
        """
        stub_custom_actions:
          action_lookup:
            events:
              - event: slot
                name: points
                value: 7.0
          special case::action_lookup:
            events:
              - event: slot
                name: points
                value: 9.0
            responses:
              - text: "stubbed!"
        test_cases:
          - test_case: file stub
            steps:
              - user: "/start flow check_points"
              - slot_was_set:
                  - points: 7.0
          - test_case: special case
            steps:
              - user: "/start flow check_points"
              - slot_was_set:
                  - points: 9.0
              - bot: "stubbed!"
        """.replace("special case::", "special_case::")
    )
    actions = FakeActions()
    results = run(root, actions=actions).results
    assert [r.status for r in results] == [PASSED, PASSED], [failure_text(r) for r in results]
    assert actions.calls == []


# --- assertions ------------------------------------------------------------------------------


def assertion_case(*assertions: str, setup: str = "", user: str = "/start flow greet") -> str:
    """One test case: `setup` steps, then `user` with the given assertions."""
    body = "\n".join(f"          - {a}" for a in assertions)
    return f"""\
test_cases:
  - test_case: asserting
    steps:
{setup}      - user: "{user}"
        assertions:
{body}
"""


def judge(project_dir, *assertions: str, setup: str = "", user: str = "/start flow greet"):
    root = project_dir(assertion_case(*assertions, setup=setup, user=user))
    return single(root)


SET_NAME = '      - user: "/start flow greet"\n'
COLOR_TURN = '      - user: "/start flow greet"\n      - user: "/SetSlots(name=Ada)"\n'


@pytest.mark.parametrize(
    ("assertion", "passes"),
    [
        ("flow_started: greet", True),
        ("flow_started: pick_color", False),
        ("flow_started: pattern_collect_information", True),
        ("{flow_started: {operator: any, flow_ids: [pick_color, greet]}}", True),
        ("{flow_started: {operator: any, flow_ids: [pick_color, check_points]}}", False),
        ("{flow_started: {operator: all, flow_ids: [greet]}}", True),
        ("action_executed: utter_ask_name", True),
        ("action_executed: utter_greet", False),
        ("{bot_uttered: {utter_name: utter_ask_name}}", True),
        ("{bot_uttered: {utter_name: utter_greet}}", False),
        ("{bot_uttered: {text_matches: 'your \\w+\\?'}}", True),
        ("{bot_uttered: {text_matches: '^name'}}", False),
        ("{bot_did_not_utter: {utter_name: utter_greet}}", True),
        ("{bot_did_not_utter: {utter_name: utter_ask_name}}", False),
        ("{bot_did_not_utter: {text_matches: 'name'}}", False),
        ("{slot_was_not_set: [{name: name}]}", True),
    ],
)
def test_single_assertions_on_the_first_turn(project_dir, assertion, passes):
    result = judge(project_dir, assertion)
    assert (result.status == PASSED) is passes, failure_text(result)
    if not passes:
        assert result.failure.kind == "assertion"
        assert result.failure.turn.user_text == "/start flow greet"


@pytest.mark.parametrize(
    ("assertion", "passes"),
    [
        ("{slot_was_set: [{name: name, value: Ada}]}", True),
        ("{slot_was_set: [{name: name}]}", True),
        ("{slot_was_set: [{name: name, value: Bob}]}", False),
        ("{slot_was_set: [{name: color}]}", False),
        # name is set to Ada, then reset to null when greet ends: only the last counts
        ("{slot_was_not_set: [{name: name}]}", True),
        ("{slot_was_not_set: [{name: name, value: Ada}]}", True),
        ("{slot_was_not_set: [{name: name, value: null}]}", False),
        ("{slot_was_not_set: [{name: continue_conversation}]}", True),
        ("{flow_completed: {flow_id: greet}}", True),
        ("{flow_completed: {flow_id: greet, flow_step_id: greet_1_utter_greet}}", True),
        ("{flow_completed: {flow_id: greet, flow_step_id: greet_0_collect_name}}", False),
        ("{flow_completed: {flow_id: pick_color}}", False),
        ("{flow_cancelled: {flow_id: greet}}", False),
        ("flow_started: greet", False),  # it started in the turn before
        ("{bot_uttered: {utter_name: utter_greet, text_matches: 'anything else'}}", True),
        ("{bot_uttered: {utter_name: utter_greet, text_matches: 'Bob'}}", False),
    ],
)
def test_assertions_on_a_later_turn(project_dir, assertion, passes):
    result = judge(project_dir, assertion, setup=SET_NAME, user="/SetSlots(name=Ada)")
    assert (result.status == PASSED) is passes, failure_text(result)


@pytest.mark.parametrize(
    ("assertion", "passes"),
    [
        ("{bot_uttered: {buttons: [{title: Red, payload: '/SetSlots(color=red)'}]}}", True),
        (
            "{bot_uttered: {buttons: [{title: Red, payload: '/SetSlots(color=red)'}, "
            "{title: Blue, payload: '/SetSlots(color=blue)'}]}}",
            True,
        ),
        ("{bot_uttered: {buttons: [{title: Blue, payload: '/SetSlots(color=blue)'}]}}", False),
        ("{bot_uttered: {buttons: [{title: Red, payload: '/SetSlots(color=blue)'}]}}", False),
        (
            "{bot_did_not_utter: {buttons: [{title: Blue, payload: '/SetSlots(color=blue)'}]}}",
            False,
        ),
        ("{bot_did_not_utter: {buttons: [{title: Green, payload: '/SetSlots(color=x)'}]}}", True),
        ("{flow_completed: {flow_id: pattern_completed}}", True),
    ],
)
def test_button_assertions(project_dir, assertion, passes):
    result = judge(project_dir, assertion, setup=COLOR_TURN, user="/start flow pick_color")
    assert (result.status == PASSED) is passes, failure_text(result)


@pytest.mark.parametrize(
    ("assertion", "passes"),
    [
        ("{flow_cancelled: {flow_id: pick_color}}", True),
        ("{flow_cancelled: {flow_id: pick_color, flow_step_id: pick_color_0_collect_color}}", True),
        (
            "{flow_cancelled: {flow_id: pick_color, flow_step_id: pick_color_1_utter_color_done}}",
            False,
        ),
        ("{flow_cancelled: {flow_id: greet}}", False),
        # a cancelled flow later completes with NEXT:END
        ("{flow_completed: {flow_id: pick_color, flow_step_id: 'NEXT:END'}}", True),
        ("flow_started: pattern_cancel_flow", True),
    ],
)
def test_flow_cancelled(project_dir, assertion, passes):
    setup = '      - user: "/start flow pick_color"\n'
    result = judge(project_dir, assertion, setup=setup, user="/cancel flow")
    assert (result.status == PASSED) is passes, failure_text(result)


@pytest.mark.parametrize(
    ("assertion", "passes"),
    [
        ("{pattern_clarification_contains: [greet, pick color]}", True),
        ("{pattern_clarification_contains: [greet]}", False),  # the exact set
        ("{pattern_clarification_contains: [greet, pick_color]}", False),  # names, not ids
        ("{pattern_clarification_contains: {operator: all, flow_ids: [pick_color, greet]}}", True),
        ("{pattern_clarification_contains: {operator: all, flow_ids: [greet]}}", False),
        (
            "{pattern_clarification_contains: {operator: any, flow_ids: [greet, check_points]}}",
            True,
        ),
        ("{pattern_clarification_contains: {operator: any, flow_ids: [check_points]}}", False),
    ],
)
def test_pattern_clarification_contains(project_dir, assertion, passes):
    result = judge(project_dir, assertion, user="/disambiguate flows greet pick_color")
    assert (result.status == PASSED) is passes, failure_text(result)


def test_pattern_clarification_contains_needs_the_pattern(project_dir):
    result = judge(project_dir, "{pattern_clarification_contains: [greet]}")
    assert result.status == FAILED
    assert "pattern_clarification" in result.failure.message


def test_flow_started_all_takes_exactly_one_flow_id(project_dir):
    result = judge(project_dir, "{flow_started: {operator: all, flow_ids: [greet, pick_color]}}")
    assert result.status == FAILED
    assert "exactly one" in result.failure.message


@pytest.mark.parametrize(
    "kind", ["generative_response_is_relevant", "generative_response_is_grounded"]
)
def test_llm_judge_assertions_fail_without_a_generative_message(project_dir, kind):
    # the project has no rephraser and no Enterprise Search: nothing the judge may score
    result = judge(project_dir, f"{{{kind}: {{threshold: 0.7}}}}")
    assert result.status == FAILED
    assert result.failure.message.startswith(f"'{kind}' failed: no generative bot message")


def test_unknown_assertion_fails(project_dir):
    result = judge(project_dir, "{flow_startd: greet}")
    assert result.status == FAILED
    assert "unknown assertion 'flow_startd'" in result.failure.message


def test_the_first_failing_assertion_ends_the_test(project_dir):
    result = judge(
        project_dir,
        "flow_started: greet",
        "action_executed: utter_greet",
        "action_executed: utter_nothing",
    )
    assert result.status == FAILED
    assert result.failure.message == "action 'utter_greet' did not run"
    assert result.failure.expected == "action_executed: utter_greet"
    assert result.failure.source.line == 7  # the assertion's own line


def test_first_step_assertions_also_see_session_start_and_fixtures(project_dir):
    root = project_dir(
        """
        fixtures:
          - gold:
              - membership: gold
        test_cases:
          - test_case: first_step_sees_fixtures
            fixtures: [gold]
            steps:
              - user: "/start flow greet"
                assertions:
                  - slot_was_set:
                      - name: membership
                        value: gold
                  - action_executed: action_session_start
          - test_case: later_steps_do_not
            fixtures: [gold]
            steps:
              - user: "/start flow greet"
              - user: "/SetSlots(name=Ada)"
                assertions:
                  - slot_was_set:
                      - name: membership
        """
    )
    results = by_name(run(root))
    assert results["first_step_sees_fixtures"].status == PASSED
    assert results["later_steps_do_not"].status == FAILED


def test_assertion_order_enabled(project_dir):
    steps = COLOR_TURN
    in_order = ["flow_started: pick_color", "{bot_uttered: {utter_name: utter_ask_color}}"]
    root = project_dir(
        f"""\
test_cases:
  - test_case: in_order
    steps:
{steps}      - user: "/start flow pick_color"
        assertion_order_enabled: true
        assertions:
          - {in_order[0]}
          - {in_order[1]}
  - test_case: out_of_order
    steps:
{steps}      - user: "/start flow pick_color"
        assertion_order_enabled: true
        assertions:
          - {in_order[1]}
          - {in_order[0]}
  - test_case: out_of_order_without_the_option
    steps:
{steps}      - user: "/start flow pick_color"
        assertions:
          - {in_order[1]}
          - {in_order[0]}
"""
    )
    results = by_name(run(root))
    assert results["in_order"].status == PASSED
    assert results["out_of_order_without_the_option"].status == PASSED
    failed = results["out_of_order"]
    assert failed.status == FAILED
    assert "pick_color" in failed.failure.message
    assert "assertion_order_enabled" in failed.failure.message


def test_case_with_assertions_is_judged_only_by_them(project_dir):
    root = project_dir(
        """
        test_cases:
          - test_case: wrong_bot_step_is_not_judged
            steps:
              - user: "/start flow greet"
                assertions:
                  - flow_started: greet
              - bot: "this is never said"
          - test_case: but_it_still_stops_sending
            steps:
              - user: "/start flow greet"
              - bot: "this is never said"
              - user: "/SetSlots(name=Ada)"
                assertions:
                  - action_executed: utter_greet
        """
    )
    results = by_name(run(root))
    not_judged = results["wrong_bot_step_is_not_judged"]
    assert not_judged.status == PASSED
    assert any("sending stopped" in note for note in not_judged.notes)
    stopped = results["but_it_still_stops_sending"]
    assert stopped.status == FAILED
    assert "is not in the conversation" in stopped.failure.message
    assert "sending stopped" in stopped.failure.message
    assert len(stopped.traces) == 1


def test_repeated_texts_resolve_to_the_first_occurrence(project_dir):
    # the 2nd "/start flow greet" ends pattern_completed, the 1st does not; assertions
    # on the 2nd still look at the 1st, unless distinct metadata tells them apart
    root = project_dir(
        """
        metadata:
          - again: {round: 2}
        test_cases:
          - test_case: same_text
            steps:
              - user: "/start flow greet"
              - user: "/SetSlots(name=Ada)"
              - user: "/start flow greet"
                assertions:
                  - flow_completed:
                      flow_id: pattern_completed
          - test_case: distinct_metadata
            steps:
              - user: "/start flow greet"
              - user: "/SetSlots(name=Ada)"
              - user: "/start flow greet"
                metadata: again
                assertions:
                  - flow_completed:
                      flow_id: pattern_completed
        """
    )
    results = by_name(run(root))
    assert results["same_text"].status == FAILED
    assert results["distinct_metadata"].status == PASSED


def test_split_turn_runs_until_a_user_message_with_a_different_text():
    events = [
        {"event": "action", "name": "action_session_start"},
        {"event": "user", "text": "yes", "metadata": {}},
        {"event": "bot", "text": "a"},
        {"event": "user", "text": "yes", "metadata": {}},
        {"event": "bot", "text": "b"},
        {"event": "user", "text": "no", "metadata": {}},
        {"event": "bot", "text": "c"},
    ]
    turn, prior = split_turn(events, "yes")
    assert [e.get("text") for e in turn] == ["yes", "a", "yes", "b"]
    assert prior == events[:1]
    assert split_turn(events, "maybe") == ([], [])
    assert split_turn(events, "yes", {"x": 1}) == ([], [])


# --- cassettes and generator failures -------------------------------------------------------


NATURAL = """
test_cases:
  - test_case: natural_language
    steps:
      - user: "hi, I'd like to be greeted"
      - utter: utter_ask_name
      - user: "I'm Ada"
      - bot: "Hello Ada!"
"""


def test_natural_language_with_a_cassette(project_dir, tmp_path):
    root = project_dir(NATURAL)
    cassette = tmp_path / "run.yml"
    save_cassette(
        cassette,
        [
            CassetteEntry("hi, I'd like to be greeted", "start flow greet"),
            CassetteEntry("I'm Ada", "set slot name Ada"),
        ],
    )
    result = single(root, generator=CassetteGenerator(cassette))
    assert result.status == PASSED, failure_text(result)
    assert result.traces[0].generator == "cassette"


def test_a_cassette_miss_is_the_failure_reason(project_dir, tmp_path):
    root = project_dir(NATURAL)
    cassette = tmp_path / "run.yml"
    save_cassette(cassette, [CassetteEntry("hi, I'd like to be greeted", "start flow greet")])
    result = single(root, generator=CassetteGenerator(cassette))
    assert result.status == FAILED
    assert result.failure.kind == "error"
    assert 'no cassette entry for the user message "I\'m Ada"' in result.failure.message
    assert result.failure.step_index == 2
    assert "I'm Ada" in failure_text(result)


def test_one_cassette_is_consumed_in_order_across_cases(project_dir, tmp_path):
    root = project_dir(
        """
        test_cases:
          - test_case: first
            steps:
              - user: "go"
              - utter: utter_ask_name
          - test_case: second
            steps:
              - user: "go"
              - utter: utter_ask_color
        """
    )
    cassette = tmp_path / "run.yml"
    save_cassette(
        cassette,
        [CassetteEntry("go", "start flow greet"), CassetteEntry("go", "start flow pick_color")],
    )
    results = run(root, generator=CassetteGenerator(cassette)).results
    assert [r.status for r in results] == [PASSED, PASSED]


def test_recorded_run_replays_to_the_same_results(project_dir, tmp_path):
    root = project_dir(NATURAL)
    cassette = tmp_path / "rec.yml"
    model = ScriptedGenerator(
        {"hi, I'd like to be greeted": "start flow greet", "I'm Ada": "set slot name Ada"}
    )
    from workbench.understanding.cassette import RecordingGenerator

    recorded = single(root, generator=RecordingGenerator(model, cassette))
    replayed = single(root, generator=CassetteGenerator(cassette))
    assert recorded.status == replayed.status == PASSED
    assert [t.events for t in recorded.traces] == [t.events for t in replayed.traces]


# --- selection ------------------------------------------------------------------------------


TWO_FILES = {
    "e2e_tests/more/other.yml": """
    test_cases:
      - test_case: other one
        steps:
          - user: "/start flow greet"
          - utter: utter_ask_name
    """,
}

SIMPLE = """
test_cases:
  - test_case: first case
    steps:
      - user: "/start flow greet"
      - utter: utter_ask_name
  - test_case: second case
    steps:
      - user: "/start flow pick_color"
      - utter: utter_ask_color
"""


def test_select_all_a_folder_a_file_and_one_case(project_dir):
    root = project_dir(SIMPLE, TWO_FILES)
    project = load(root)

    def names(paths):
        return [case.name for _, case in select_cases(project, paths)]

    assert names([]) == ["other one", "first case", "second case"]
    assert names(["e2e_tests/more"]) == ["other one"]
    assert names(["e2e_tests"]) == ["other one", "first case", "second case"]
    assert names(["e2e_tests/t.yml"]) == ["first case", "second case"]
    assert names([str(root / "e2e_tests/t.yml")]) == ["first case", "second case"]
    assert names(["e2e_tests/t.yml::second case"]) == ["second case"]
    assert names(["e2e_tests/t.yml::second case", "e2e_tests/t.yml"]) == [
        "second case",
        "first case",
    ]


def test_select_a_test_file_outside_the_test_folders(project_dir):
    root = project_dir(
        SIMPLE,
        {
            "elsewhere/extra.yml": """
            test_cases:
              - test_case: extra
                steps:
                  - user: "/start flow greet"
            """
        },
    )
    project = load(root)
    selected = select_cases(project, ["elsewhere/extra.yml"])
    assert [case.name for _, case in selected] == ["extra"]
    assert [case.name for _, case in select_cases(project, ["elsewhere"])] == ["extra"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("e2e_tests/nope.yml", "no such file"),
        ("e2e_tests/t.yml::third case", "no test case 'third case'"),
        ("domain.yml", "not an e2e test file"),
        ("data", "no e2e test files"),
    ],
)
def test_selection_errors(project_dir, path, message):
    project = load(project_dir(SIMPLE))
    with pytest.raises(SelectionError, match=message):
        select_cases(project, [path])


def test_fail_fast_leaves_the_rest_not_run(project_dir):
    root = project_dir(
        """
        test_cases:
          - test_case: fails
            steps:
              - user: "/start flow greet"
              - utter: utter_greet
          - test_case: never_runs
            steps:
              - user: "/start flow greet"
        """
    )
    results = run(root, fail_fast=True).results
    assert [r.status for r in results] == [FAILED, SKIPPED]


# --- command line, report, JUnit ---------------------------------------------------------------


MIXED = """
test_cases:
  - test_case: passes
    steps:
      - user: "/start flow greet"
      - utter: utter_ask_name
  - test_case: fails <&> "quoted"
    steps:
      - user: "/start flow greet"
      - bot: "Goodbye & <bye>"
"""


def test_cli_exit_codes(project_dir, capsys):
    root = project_dir(MIXED)
    assert cmd_test(["--offline", str(root), "e2e_tests/t.yml::passes"]) == 0
    assert cmd_test(["--offline", str(root)]) == 1
    assert cmd_test(["--offline", str(root), "e2e_tests/missing.yml"]) == 2
    assert cmd_test(["--offline", str(root), "e2e_tests/t.yml::no such case"]) == 2
    assert cmd_test(["--offline", str(root), "--cassette", str(root / "missing.yml")]) == 2
    assert cmd_test(["--offline", str(root / "nowhere")]) == 2
    out = capsys.readouterr()
    assert "no test case 'no such case'" in out.err
    assert "does not exist" in out.err


def test_cli_reports_load_errors_with_exit_1(project_dir, capsys):
    # a project that does not load is a problem found (1), not a usage error (2)
    root = project_dir(MIXED)
    (root / "data" / "flows.yml").write_text("flows:\n  greet: [\n", encoding="utf-8")
    assert cmd_test(["--offline", str(root)]) == 1
    err = capsys.readouterr().err
    assert "data/flows.yml" in err


def test_cli_output_has_table_and_failure_details(project_dir, capsys):
    root = project_dir(MIXED)
    assert cmd_test(["--offline", str(root)]) == 1
    out = capsys.readouterr().out
    assert "passes" in out and "passed" in out and "failed" in out
    assert "Goodbye & <bye>" in out  # expected
    assert "What is your name?" in out  # actual
    assert "start flow greet" in out  # the turn's commands
    assert "1 passed, 1 failed" in out


def test_cli_runs_in_the_current_folder(project_dir, monkeypatch):
    root = project_dir(MIXED)
    monkeypatch.chdir(root)
    assert split_targets(["e2e_tests/t.yml"]) == (".", ["e2e_tests/t.yml"])
    assert cmd_test(["--offline", "e2e_tests/t.yml::passes"]) == 0
    assert cmd_test(["--offline"]) == 1


def test_junit_xml_is_well_formed(project_dir, tmp_path):
    root = project_dir(MIXED, TWO_FILES)
    junit = tmp_path / "out" / "junit.xml"
    assert cmd_test(["--offline", str(root), "--junit", str(junit)]) == 1
    tree = ET.parse(junit)
    suites = tree.getroot()
    assert suites.tag == "testsuites"
    assert suites.get("tests") == "3" and suites.get("failures") == "1"
    files = {s.get("name"): s for s in suites.findall("testsuite")}
    assert set(files) == {"e2e_tests/t.yml", "e2e_tests/more/other.yml"}
    cases = {c.get("name"): c for c in files["e2e_tests/t.yml"].findall("testcase")}
    assert set(cases) == {"passes", 'fails <&> "quoted"'}
    assert cases["passes"].find("failure") is None
    failure = cases['fails <&> "quoted"'].find("failure")
    assert failure is not None
    assert "Goodbye & <bye>" in failure.get("message")
    assert "What is your name?" in failure.text
    assert float(cases["passes"].get("time")) >= 0


def test_junit_marks_not_run_cases_skipped(project_dir):
    root = project_dir(MIXED.replace("passes", "a_passes"))
    project = load(root)
    selected = list(reversed(select_cases(project, [])))  # the failing case first
    result = run_tests(project, selected, ScriptedGenerator([]), fail_fast=True)
    root_el = junit_xml(result).getroot()
    assert root_el.get("skipped") == "1"
    assert root_el.find(".//skipped") is not None


def test_print_report_shows_notes(project_dir):
    from rich.console import Console

    root = project_dir(MIXED)
    project = load(root)
    runner = E2ERunner(project, ScriptedGenerator([]), actions=FakeActions())
    runner.notes.append("a run note")
    import asyncio

    result = asyncio.run(runner.run(select_cases(project, [])))
    console = Console(record=True, width=120)
    print_report(result, console)
    text = console.export_text()
    assert "a run note" in text and "FAILED" in text


# --- the sample project ---------------------------------------------------------------------


SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"
SAMPLE_CASSETTE = (
    Path(__file__).resolve().parent / "fixtures" / "e2e" / "sample_project_cassette.yml"
)


def test_sample_project_cases_all_run_without_a_model():
    """Without model output every sample case still runs to a result; none crashes."""
    project = load(SAMPLE)
    selected = select_cases(project, [])
    assert len(selected) >= 15
    result = run_tests(project, selected, ScriptedGenerator([]))
    assert len(result.results) == len(selected)
    assert all(r.failure is None or r.failure.kind != "error" for r in result.results)


def test_sample_project_passes_with_good_model_output():
    """With what a good model would reply (a hand-written cassette), every sample test
    case passes: steps, assertions, fixtures, stubs and in-process actions together."""
    project = load(SAMPLE)
    result = run_tests(project, select_cases(project, []), CassetteGenerator(SAMPLE_CASSETTE))
    failures = [failure_text(r) for r in result.failed]
    assert failures == []
    assert len(result.passed) == len(project.test_cases)


def test_the_run_says_how_custom_actions_ran(capsys):
    from workbench.cli.main import main as cli_main

    sample = Path(__file__).parent.parent / "sample_project"
    assert cli_main(["test", str(sample), "e2e_tests/happy_paths.yml", "--offline"]) == 0
    assert "note: custom actions: actions in-process" in capsys.readouterr().out
    assert cli_main(["test", str(sample), "e2e_tests/happy_paths.yml", "--actions", "off"]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "note: custom actions: actions off" in out
    assert "custom actions are off (--actions off)" in out
