"""The flow chart's layout (flow_layout.py) and the path read from turn traces
(flow_path.py), on the flows of sample_project, on flows written to have loops, calls and
links, and on the flows of Rasa's project templates where they are at hand."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import pytest

from workbench.actions.runner import make_action_runner
from workbench.project.loader import load_project
from workbench.project.model import Flow
from workbench.session import Session
from workbench.trace.flow_path import flow_path
from workbench.tui.widgets.flow_layout import COMPACT, FULL, Chart, layout_flow
from workbench.understanding.offline.generator import OfflineGenerator

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"


def _rasa_templates() -> list[Path]:
    """Rasa's project templates: from an installed Rasa, or its unpacked wheel."""
    spec = importlib.util.find_spec("rasa")
    places = (
        [Path(p) / "cli" / "project_templates" for p in (spec.submodule_search_locations or [])]
        if spec
        else []
    )
    places.append(Path("/tmp/rasa-wheel/src/rasa/cli/project_templates"))
    for place in places:
        if place.is_dir():
            return sorted(p for p in place.iterdir() if (p / "config.yml").is_file())
    return []


CHART_FLOWS = """\
flows:
  looping:
    description: Ask until the answer is right, then hand over.
    steps:
      - id: ask
        collect: answer
      - action: check_answer
        next:
          - if: slots.answer_ok
            then: done
          - if: slots.tries > 3
            then: END
          - else: ask
      - id: done
        call: helper
      - noop: true
        next:
          - if: slots.more
            then: bye
      - id: bye
        link: helper
  helper:
    description: Help.
    steps:
      - action: utter_help
"""

CHECK_ORDER_STATUS = """\
       ● START
          ▼
   ┌────────────┐
   │ ? order_id │
   └──────┬─────┘
          ▼
  ┏━━━━━━━━━━━━━━━┓
  ┃ ▸ check_order ┃
  ┗━━━━━━━┳━━━━━━━┛
 ┌────────┴─────────────┐
 ▼ order_status = "not… ▼ else
┌───────────────────┐  ┌────────────────┐
│ » order_not_found │  │ » order_status │
└─────────┬─────────┘  └────────┬───────┘
          ▼                     ▼
 ┌─────────────────┐          ● END
 │ = order_id=null │
 └────────┬────────┘
          ▼
        ● END
"""


def _sample():
    return load_project(SAMPLE).project


def _overlaps(chart: Chart) -> list[tuple[str, str]]:
    boxes = [n for n in chart.nodes.values() if n.kind != "dummy"]
    clashes = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = (
                a.x + a.width <= b.x
                or b.x + b.width <= a.x
                or a.y + a.height <= b.y
                or b.y + b.height <= a.y
            )
            if not apart:
                clashes.append((a.key, b.key))
    return clashes


def assert_readable(flow: Flow, chart: Chart) -> None:
    """What every chart must hold: a box per step with its label in it, no two boxes on
    top of each other, one arrow into every step that has a way in, rows within the
    chart."""
    text = chart.text().splitlines()
    assert not _overlaps(chart), flow.id
    for step in flow.steps:
        node = chart.nodes[step.id]
        assert text[node.y][node.x] in "┌┏" and text[node.y + 1][node.x + 2 :].startswith(
            node.lines[0]
        ), (flow.id, step.id)
        if node.rank > 1 or step is flow.first_step:
            above = text[node.y - 1]
            assert "▼" in above[node.x : node.x + node.width], (flow.id, step.id)
    assert chart.width == max(len(row) for row in text)


def test_check_order_status_reads_top_down_with_its_branches_side_by_side():
    flow = _sample().flow("check_order_status")
    chart = layout_flow(flow, COMPACT, current=flow.steps[1].id)
    assert chart.text() == CHECK_ORDER_STATUS.rstrip("\n")
    assert chart.width <= 45  # fits the side panel of a 100-column terminal
    # the step the flow waits at is the heavy box; the rest are light
    assert "┏" in chart.text().splitlines()[chart.nodes[flow.steps[1].id].y]
    assert set(chart.selectable()) == {s.id for s in flow.steps}


@pytest.mark.parametrize("zoom", [COMPACT, FULL])
def test_every_sample_flow_is_readable(zoom):
    project = _sample()
    for flow in project.user_flows:
        assert_readable(flow, layout_flow(flow, zoom))


def test_full_labels_show_the_whole_step_and_condition():
    flow = _sample().flow("check_order_status")
    text = layout_flow(flow, FULL).text()
    assert "action utter_order_not_found" in text and "#report_status" in text
    assert "if slots.order_status" in text
    compact = layout_flow(flow, COMPACT).text()
    assert "» order_not_found" in compact and 'order_status = "not' in compact


def test_loops_calls_links_and_implicit_else(make_project):
    root = make_project({"data/flows.yml": CHART_FLOWS})
    project = load_project(root).project
    flow = project.flow("looping")
    chart = layout_flow(flow, COMPACT)
    text = chart.text()
    assert_readable(flow, chart)
    # the way back to `ask` is a marker under check_answer, not a line up the chart
    loops = [n for n in chart.nodes.values() if n.kind == "loop"]
    assert [(n.lines[0], n.target) for n in loops] == [("↻ to ask", "ask")]
    assert loops[0].rank == chart.nodes[flow.steps[1].id].rank + 1
    assert "↳ helper" in text and "⇒ helper" in text
    # the noop has no else: when nothing matches the flow ends, and the chart says so
    noop = flow.steps[3].id
    ends = [n for n in chart.nodes.values() if n.kind == "end"]
    assert sum(1 for n in ends if n.rank == chart.nodes[noop].rank + 1) == 1
    assert "else" in text.splitlines()[chart.nodes[noop].y + chart.nodes[noop].height + 1]
    # a link step ends its flow: nothing below it
    bye = chart.nodes["bye"]
    assert bye.rank == max(n.rank for n in chart.nodes.values())


TEMPLATES = _rasa_templates()


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.name for t in TEMPLATES])
def test_rasa_template_flows_are_readable(template):
    project = load_project(template).project
    assert project.user_flows
    for flow in project.user_flows:
        for zoom in (COMPACT, FULL):
            assert_readable(flow, layout_flow(flow, zoom))


def test_back_edges_in_rasa_style_flows_become_markers(make_project):
    root = make_project({"data/flows.yml": CHART_FLOWS})
    chart = layout_flow(load_project(root).project.flow("looping"), FULL)
    for node in chart.nodes.values():
        if node.kind == "step":
            assert node.y > chart.nodes["\0start"].y


# --- the path -------------------------------------------------------------------------------


def _conversation(project, *texts):
    session = Session(project, OfflineGenerator(), actions=make_action_runner(project))

    async def run():
        return [await session.handle(text) for text in texts]

    return asyncio.run(run())


@pytest.fixture
def sample(tmp_path):
    import shutil

    root = tmp_path / "sample"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".calm", "*.db", "__pycache__"))
    return load_project(root).project


def test_the_path_of_a_running_flow_is_the_steps_it_stopped_at_and_the_only_ways_between(
    sample,
):
    traces = _conversation(sample, "I want to return an item", "A1003", "damaged")
    flow = sample.flow("return_item")
    path = flow_path(flow, traces)
    ids = [s.id for s in flow.steps]
    assert path.steps == (ids[0], ids[1], "ask_reason", ids[5])
    assert ("START", ids[0]) in path.taken and (ids[1], "ask_reason") in path.taken
    assert path.ended == ""
    # the turn before: the path so far only
    assert flow_path(flow, traces[:2]).steps == (ids[0], ids[1], "ask_reason")
    # a flow the conversation never ran has no path
    assert flow_path(sample.flow("store_info"), traces) == type(path)()


def test_a_completed_flow_ends_at_end_and_silent_steps_are_filled_in_only_when_certain(
    sample,
):
    traces = _conversation(sample, "where is my order", "A9999")
    flow = sample.flow("check_order_status")
    path = flow_path(flow, traces)
    ids = [s.id for s in flow.steps]
    assert path.ended == "completed"
    # the set_slots after "not found" runs no action: known because it is the only way on
    not_found, forget = ids[2], ids[3]
    assert path.steps == (ids[0], ids[1], not_found, forget)
    assert (forget, "END") in path.taken and (ids[1], not_found) in path.taken
    assert "report_status" not in path.visited
    chart = layout_flow(flow, COMPACT, visited=path.visited, taken=path.taken)
    roles = {c.role for row in chart.rows for c in row}
    assert {"visited", "taken", "taken-label"} <= roles


def test_only_the_turns_of_the_latest_run_are_read(sample):
    from workbench.trace.flow_path import latest_run_turns
    from workbench.trace.log import TraceLog

    texts = ("hello", "where is my order", "A9999", "where is my order", "A1001", "hi")
    traces = _conversation(sample, *texts)
    # the second run of check_order_status started in turn 3
    log = TraceLog(traces, keep=2, batch=1)  # older turns packed, as in a long session
    run = latest_run_turns("check_order_status", log, len(log) - 1)
    assert [t.index for t in run] == [3, 4, 5]
    assert [t.index for t in latest_run_turns("check_order_status", log, 2)] == [1, 2]
    assert latest_run_turns("store_info", log, len(log) - 1) == []
    assert [t.index for t in latest_run_turns("check_order_status", log, 4, look_back=1)] == [4]
