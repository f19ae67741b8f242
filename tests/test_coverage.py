"""Test coverage (testing/coverage.py): what a run of e2e cases reached of a project's
flows, on a small project whose reached and unreached steps are known, then
`calm-tui test --coverage` on sample_project and the Flow panel's marks."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest
from test_tui_flow_chart import ChartApp, conversation
from tui_helpers import copy_sample

from workbench.cli.test import cmd_test
from workbench.project.loader import load_project
from workbench.project.model import Project
from workbench.testing.coverage import Count, measure
from workbench.testing.coverage_file import coverage_path, read_coverage, write_coverage
from workbench.testing.runner import PASSED, run_tests, select_cases
from workbench.tui.widgets import FlowPanel
from workbench.understanding.base import ScriptedGenerator

SAMPLE_CASSETTE = (
    Path(__file__).resolve().parent / "fixtures" / "e2e" / "sample_project_cassette.yml"
)

DOMAIN = """\
version: "3.1"
slots:
  size:
    type: text
  confirmed:
    type: bool
responses:
  utter_ask_size:
    - text: "Which size?"
  utter_no_huge:
    - text: "We have no huge cups."
  utter_small:
    - text: "A small one."
  utter_big:
    - text: "A big one."
  utter_done:
    - text: "Done."
  utter_unused:
    - text: "Nobody says this."
"""

FLOWS = """\
flows:
  order:
    description: Order a drink.
    steps:
      - id: ask_size
        collect: size
        rejections:
          - if: slots.size = "huge"
            utter: utter_no_huge
      - id: confirm
        set_slots:
          - confirmed: true
      - id: pick
        noop: true
        next:
          - if: slots.size = "small"
            then: small_note
          - else: big_note
      - id: small_note
        action: utter_small
        next: END
      - id: big_note
        action: utter_big
        next: done
      - id: done
        action: utter_done
  never_run:
    description: No test starts this.
    steps:
      - action: utter_unused
"""

TESTS = """\
test_cases:
  - test_case: small
    steps:
      - user: "/start flow order"
      - utter: utter_ask_size
      - user: "/SetSlots(size=huge)"
      - utter: utter_no_huge
      - user: "/SetSlots(size=small)"
      - utter: utter_small
  - test_case: large
    steps:
      - user: "/start flow order"
      - user: "/SetSlots(size=large)"
      - utter: utter_big
      - utter: utter_done
"""


@pytest.fixture
def drinks(make_project) -> Project:
    root = make_project({"domain.yml": DOMAIN, "data/flows.yml": FLOWS, "e2e_tests/t.yml": TESTS})
    result = load_project(root)
    assert not result.issues.errors, [str(i) for i in result.issues.errors]
    return result.project


def run_cases(project: Project, *names: str):
    selected = [(f, c) for f, c in select_cases(project, []) if c.name in names]
    run = run_tests(project, selected, ScriptedGenerator([]))
    assert [r.status for r in run.results] == [PASSED] * len(names)
    return measure(project, (r.traces for r in run.results))


def test_one_case_reaches_the_steps_it_passed_and_one_way_of_the_branch(drinks):
    coverage = run_cases(drinks, "small")
    order = coverage.flow("order")
    assert order is not None and order.runs == 1
    # set_slots and noop never stop the executor: they count as the only way between
    # the collect and the response the stacks show
    assert order.reached == {"ask_size", "confirm", "pick", "small_note"}
    assert order.step_count == Count(4, 6)
    assert [(b.condition, b.target, b.taken) for b in order.branches] == [
        ('slots.size = "small"', "small_note", True),
        (None, "big_note", False),
    ]
    [condition] = order.conditions
    assert (condition.seen_true, condition.seen_false) == (True, False)
    assert order.condition_count == Count(1, 2)
    assert order.collect_count == Count(1, 1)
    [rejection] = order.rejections
    assert rejection.fired and rejection.utter == "utter_no_huge"
    never = coverage.flow("never_run")
    assert never is not None and never.runs == 0 and never.step_count == Count(0, 1)
    assert {"utter_no_huge", "utter_small", "utter_ask_size"} <= set(coverage.uttered)
    assert set(coverage.never_uttered) == {"utter_big", "utter_done", "utter_unused"}
    assert coverage.patterns["pattern_collect_information"] >= 2
    assert coverage.patterns["pattern_correction"] == 0


def test_two_cases_take_the_branch_both_ways(drinks):
    coverage = run_cases(drinks, "small", "large")
    order = coverage.flow("order")
    assert order is not None and order.runs == 2
    assert order.step_count == Count(6, 6)
    assert order.branch_count == Count(2, 2)
    [condition] = order.conditions
    assert (condition.seen_true, condition.seen_false) == (True, True)
    totals = coverage.totals()
    assert totals["steps"] == Count(6, 7)  # never_run's one step
    assert totals["branches"] == Count(2, 2)
    assert totals["rejections"] == Count(1, 1)
    assert totals["responses"] == Count(5, 6) and coverage.never_uttered == ("utter_unused",)
    assert totals["steps"].percent == 85.7
    data = coverage.as_dict()
    assert data["totals"]["steps"] == {"covered": 6, "total": 7, "percent": 85.7}
    assert data["flows"]["order"]["conditions"] == [
        {"step": "pick", "condition": 'slots.size = "small"', "true": True, "false": True}
    ]
    assert data["responses"]["never"] == ["utter_unused"]
    json.dumps(data)  # the file's content as it is


def test_a_rejection_that_never_fires_is_not_counted(drinks):
    coverage = run_cases(drinks, "large")
    order = coverage.flow("order")
    assert order is not None
    assert order.rejection_count == Count(0, 1)
    assert order.reached == {"ask_size", "confirm", "pick", "big_note", "done"}
    [condition] = order.conditions
    assert (condition.seen_true, condition.seen_false) == (False, True)


TIP_FLOWS = """\
flows:
  tip:
    description: Leave a tip.
    steps:
      - collect: tip
      - id: check
        noop: true
        next:
          - if: slots.tip > 5
            then:
              - id: generous
                set_slots:
                  - generous: true
                next: thank
          - else:
              - id: modest
                set_slots:
                  - generous: false
                next: thank
      - id: thank
        action: utter_thanks
"""

TIP_DOMAIN = """\
version: "3.1"
slots:
  tip:
    type: float
  generous:
    type: bool
responses:
  utter_ask_tip:
    - text: "How much?"
  utter_thanks:
    - text: "Thanks!"
"""

TIP_TESTS = """\
test_cases:
  - test_case: big_tip
    steps:
      - user: "/start flow tip"
      - user: "/SetSlots(tip=10)"
      - utter: utter_thanks
"""


def test_of_two_silent_ways_the_one_whose_slot_values_were_set_counts(make_project):
    root = make_project(
        {"domain.yml": TIP_DOMAIN, "data/flows.yml": TIP_FLOWS, "e2e_tests/t.yml": TIP_TESTS}
    )
    project = load_project(root).project
    coverage = run_cases(project, "big_tip")
    tip = coverage.flow("tip")
    assert tip is not None
    # both ways run no action and join again: only `generous: true` tells them apart
    assert "generous" in tip.reached and "modest" not in tip.reached
    assert [b.taken for b in tip.branches] == [True, False]


def test_no_cases_cover_nothing(drinks):
    coverage = measure(drinks, [])
    assert coverage.totals()["steps"] == Count(0, 7)
    assert coverage.totals()["conditions"].percent == 0.0
    assert Count(0, 0).percent is None


def test_the_coverage_file_reads_back_what_the_tui_needs(drinks, tmp_path):
    path = tmp_path / "cov" / "coverage.json"
    write_coverage(run_cases(drinks, "small"), path)
    stored = read_coverage(path)
    assert stored is not None
    assert stored.flows["order"].reached == {"ask_size", "confirm", "pick", "small_note"}
    assert stored.flows["order"].steps[-1] == "done"
    assert stored.age(stored.written + 30) == "just now"
    assert stored.age(stored.written + 180) == "3 min ago"
    path.write_text("{not json", encoding="utf-8")
    assert read_coverage(path) is None
    assert read_coverage(tmp_path / "missing.json") is None


# --- the command line ---------------------------------------------------------------------


def test_calm_tui_test_coverage_on_the_sample_project(tmp_path, capsys):
    root = copy_sample(tmp_path)
    extra = tmp_path / "out" / "coverage.json"
    args = [str(root), "--cassette", str(SAMPLE_CASSETTE), "--coverage-json", str(extra)]
    assert cmd_test([*args, "--coverage"]) == 0
    out = capsys.readouterr().out
    assert "Coverage" in out and "cancel_order" in out and "never uttered:" in out
    data = json.loads(coverage_path(root).read_text(encoding="utf-8"))
    assert json.loads(extra.read_text(encoding="utf-8")) == data
    project = load_project(root).project
    assert data["cases"] == len(project.test_cases)
    assert set(data["flows"]) == {f.id for f in project.user_flows}
    steps = data["totals"]["steps"]
    assert steps["total"] == sum(len(f.steps) for f in project.user_flows)
    # every sample case passes: most steps are reached, not all (some branches no case takes)
    assert 0.6 * steps["total"] < steps["covered"] < steps["total"]
    assert data["totals"]["collects"]["percent"] > 80
    assert data["totals"]["rejections"]["covered"] >= 1
    assert 0 < data["totals"]["responses"]["covered"] < data["totals"]["responses"]["total"]
    assert data["patterns"]["pattern_collect_information"] > 0
    cancel = data["flows"]["cancel_order"]
    assert {s["id"]: s["reached"] for s in cancel["steps"]}["confirm_cancellation"] is True


def test_without_coverage_no_file_is_written(tmp_path):
    root = copy_sample(tmp_path)
    assert cmd_test([str(root), "--cassette", str(SAMPLE_CASSETTE)]) == 0
    assert not coverage_path(root).exists()


# --- the Flow panel ---------------------------------------------------------------------------


async def test_the_flow_chart_marks_the_steps_no_test_reached(tmp_path):
    root = copy_sample(tmp_path)
    args = [str(root), "--cassette", str(SAMPLE_CASSETTE), "--coverage"]
    assert await asyncio.to_thread(cmd_test, args) == 0  # the command runs its own loop
    stored = read_coverage(coverage_path(root))
    assert stored is not None
    written = time.time() - 180
    os.utime(coverage_path(root), (written, written))
    project = load_project(root).project
    flow = project.flow("cancel_order")
    assert flow is not None
    untested = {s.id for s in flow.steps} - stored.flows["cancel_order"].reached
    assert untested and len(untested) < len(flow.steps)
    traces = await conversation(project, "I want to cancel an order")
    panel = FlowPanel()
    async with ChartApp(panel).run_test(size=(60, 30)) as pilot:
        panel.show_history(traces)
        panel.show_trace(traces[-1], project)
        await pilot.pause()
        chart = panel.chart.chart
        assert chart is not None and chart.flow_id == "cancel_order"
        assert panel.untested == untested
        line = panel.query_one("#flow-coverage")
        assert line.display
        reached = len(flow.steps) - len(untested)
        assert str(line.render()) == (
            f"tests reach {reached}/{len(flow.steps)} steps (run 3 min ago)"
        )
        for key in untested:
            node = chart.nodes[key]
            corner = chart.rows[node.y + 1][node.x]
            assert (corner.char, corner.role) == ("╎", "untested")
        reached_step = next(s.id for s in flow.steps if s.id not in untested)
        node = chart.nodes[reached_step]
        assert chart.rows[node.y + 1][node.x].char in "│┃"
        panel.chart.move_to(sorted(untested)[0])
        await pilot.pause()
        assert "not reached by tests" in str(panel.details.render())
        # the next test run reaches everything: the marks go with the file's change
        coverage_path(root).unlink()
        panel.show_trace(traces[-1], project)
        await pilot.pause()
        assert panel.untested == frozenset() and not line.display
