"""`FlowPanel`: the active flow (or one picked in the select) as a chart: the step the
flow waits at highlighted, the way this conversation went through it marked, the step
under the cursor described below the chart. Enter on a `call`/`link` step opens the flow
it names; on a loop marker it moves to the step the loop goes back to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual import on
from textual.content import Content
from textual.widgets import Select, Static

from workbench.calm.names import is_pattern
from workbench.project.model import ConditionalNext, Flow, Project, StaticNext, Step
from workbench.terminal_text import printable
from workbench.trace.flow_path import FlowPath, flow_path, latest_run_turns
from workbench.trace.text import short_step
from workbench.trace.turn import TurnTrace
from workbench.tui.widgets.base import NO_TURN, TracePanel, update_static
from workbench.tui.widgets.flow_chart import FlowChart
from workbench.tui.widgets.flow_graph import call_marks, step_label, target_label
from workbench.tui.widgets.flow_layout import COMPACT, FULL, Chart, layout_flow

ACTIVE = "\0active"  # the select option that follows the active flow
ACTIVE_LABEL = "active flow"
FLOW_EVENTS = ("flow_started", "flow_resumed", "flow_completed", "flow_cancelled")

if TYPE_CHECKING:
    from workbench.testing.coverage_file import StoredCoverage


def active_flow(trace: TurnTrace) -> tuple[str | None, str | None, str]:
    """(flow id, current step id, status) of the flow to show for `trace`: the top user
    flow frame after the turn; else the last user flow an event of this turn names."""
    top = trace.top_flow_frame
    if top is not None and top.flow_id:
        return top.flow_id, top.step_id, f"active · {top.kind}"
    for event in reversed(trace.events):
        flow_id = event.flow_id
        if event.type in FLOW_EVENTS and flow_id and not is_pattern(flow_id):
            verb = event.type.removeprefix("flow_")
            return str(flow_id), None, f"{verb} this turn"
    return None, None, ""


def frame_step(trace: TurnTrace | None, flow_id: str) -> str | None:
    """The step the top-most frame of `flow_id` is at after the turn, if it is on the stack."""
    if trace is None:
        return None
    for frame in reversed(trace.stack_after):
        if frame.flow_id == flow_id and frame.is_flow:
            return frame.step_id
    return None


def _shown(text: str) -> str:
    return printable(text, multiline=False)


def step_details(
    flow: Flow,
    step: Step,
    current: str | None,
    path: FlowPath,
    mark: str | None = None,
    untested: bool = False,
) -> Content:
    """What the details line under the chart says about `step`: its label and id, what a
    call of an agent or tool is and how it went (`mark`), its description, where each of
    its links goes and on which condition; `untested`: the last test run did not reach it."""
    where = "the flow waits here" if step.id == current else ""
    if not where and step.id in path.visited:
        where = "passed this run"
    head = [(_shown(step_label(step)), "bold"), (f"  #{_shown(step.id)}", "$text-muted")]
    if where:
        head.append((f"  · {where}", "$text-success"))
    if untested:
        head.append(("  · not reached by tests", "$text-warning"))
    lines = [Content.assemble(*head)]
    if mark:
        server = f" on {_shown(step.mcp_server)}" if step.mcp_server else ""
        lines.append(Content.styled(f"{_shown(mark)}{server} (the Calls tab shows it)", "bold"))
    if step.description:
        lines.append(Content(_shown(step.description)))
    nxt = step.next
    if isinstance(nxt, ConditionalNext):
        for branch in nxt.branches:
            cond = "else" if branch.condition is None else f"if {branch.condition}"
            lines.append(
                Content.assemble(
                    (_shown(cond), "italic"), f" → {_shown(target_label(flow, branch.target))}"
                )
            )
        if nxt.else_target is None:
            lines.append(Content.assemble(("else", "italic"), " → END (no branch matched)"))
    elif isinstance(nxt, StaticNext):
        lines.append(Content(f"next → {_shown(target_label(flow, nxt.target))}"))
    if step.kind in ("call", "link") and step.target and not mark:
        lines.append(Content.styled(f"Enter: open flow {_shown(step.target)}", "$text-accent"))
    return Content("\n").join(lines)


class FlowPanel(TracePanel):
    """A flow as a chart: the active flow (top user flow frame), or the flow chosen in
    the select ("selected flow" mode; pick "active flow" to follow again). `history` is
    the conversation's turns (by index), from which the path taken is read."""

    panel_title = "Flow"

    DEFAULT_CSS = """
    FlowPanel > #flow-select {
        width: 1fr;
    }
    FlowPanel > #flow-chart {
        height: 1fr;
    }
    FlowPanel > #flow-coverage {
        display: none;
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    FlowPanel > #flow-details {
        height: auto;
        max-height: 5;
        border-top: hkey $foreground-muted;
        padding: 0 1;
    }
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.selected: str | None = None  # None: follow the active flow
        self.shown_flow: str | None = None
        self.current_step: str | None = None
        self.history: Sequence[TurnTrace] = ()
        self.zoom: str | None = None  # None: full labels where they fit, else compact
        self.path = FlowPath()
        self.current_shown: str | None = None  # the current step the chart was drawn with
        self._flow: Flow | None = None
        self._flow_ids: tuple[str, ...] = ()
        self._shown_key: tuple[object, ...] | None = None
        self.marks: dict[str, str] = {}  # step id -> an agent or tool call's kind and state
        # the steps of the shown flow the last `calm-tui test --coverage` did not reach
        self.untested: frozenset[str] = frozenset()
        self._coverage: tuple[float, StoredCoverage | None] = (-1.0, None)

    def compose(self):
        yield Select(
            [(ACTIVE_LABEL, ACTIVE)],
            value=ACTIVE,
            allow_blank=False,
            compact=True,
            id="flow-select",
        )
        yield Static(NO_TURN, classes="panel-note", id="trace-note", markup=False)
        yield Static(id="flow-coverage", markup=False)
        yield FlowChart(id="flow-chart")
        yield Static(id="flow-details", markup=False)

    @property
    def chart(self) -> FlowChart:
        return self.query_one("#flow-chart", FlowChart)

    @property
    def details(self) -> Static:
        return self.query_one("#flow-details", Static)

    @property
    def flow_select(self) -> Select:
        return self.query_one("#flow-select", Select)

    def show_history(self, history: Sequence[TurnTrace]) -> None:
        """The conversation's turns, oldest first (position = `TurnTrace.index`); only
        those of the shown flow's latest run up to the shown turn are read."""
        self.history = history

    # -- selection ------------------------------------------------------------------------

    def select_flow(self, flow_id: str | None) -> None:
        """Show `flow_id` whatever the stack says (None: follow the active flow again)."""
        self.selected = flow_id
        value = flow_id if flow_id in self._flow_ids else ACTIVE
        if self.is_mounted and self.flow_select.value != value:
            self.flow_select.value = value
        if self.is_mounted:
            self._draw()

    @on(Select.Changed, "#flow-select")
    def _selection_changed(self, event: Select.Changed) -> None:
        event.stop()
        value = event.value
        if value != self.flow_select.value:  # stale: set_options and restores post these
            return
        selected = None if value == ACTIVE or value is Select.BLANK else str(value)
        if selected != self.selected:
            self.selected = selected
            self._draw()

    @on(FlowChart.Highlighted)
    def _describe(self, event: FlowChart.Highlighted) -> None:
        event.stop()
        self._show_details(event.key)

    @on(FlowChart.Chosen)
    def _chosen(self, event: FlowChart.Chosen) -> None:
        """Enter or a click: a loop marker moves to the step it goes back to; a call or
        link step opens the flow it names (a click on it, once it is under the cursor)."""
        event.stop()
        chart = self.chart.chart
        node = chart.nodes.get(event.key) if chart else None
        if node is None:
            return
        if node.kind == "loop" and node.target and chart and node.target in chart.nodes:
            self.chart.move_to(node.target)
        elif node.step_kind in ("call", "link") and node.target:
            if node.key in self.marks:
                self.notify(f"{node.target}: {self.marks[node.key]} (see the Calls tab)")
            elif self.project is not None and self.project.flow(node.target) is not None:
                self.select_flow(node.target)
                self.chart.focus()
            else:
                self.notify(f"flow '{node.target}' is not in the project", severity="warning")

    @on(FlowChart.ZoomToggled)
    def _zoom(self, event: FlowChart.ZoomToggled) -> None:
        event.stop()
        shown = self.chart.chart.zoom if self.chart.chart else COMPACT
        self.zoom = FULL if shown == COMPACT else COMPACT
        self._shown_key = None
        self._draw()

    def on_resize(self) -> None:
        # a short panel (80x24) keeps most of its rows for the chart
        self.details.styles.max_height = 3 if self.size.height < 20 else 5
        if self.zoom is None and self._shown_key is not None:
            self._shown_key = None
            self._draw()

    # -- drawing --------------------------------------------------------------------------

    def draw_trace(self, trace: TurnTrace, project: Project) -> None:
        self._draw_flow(trace, project)

    def draw_empty(self, project: Project | None) -> None:
        self._draw_flow(None, project)

    def _sync_options(self, project: Project) -> None:
        ids = tuple(sorted(f.id for f in project.user_flows))
        if ids == self._flow_ids:
            return
        self._flow_ids = ids
        select = self.flow_select
        select.set_options(
            [(ACTIVE_LABEL, ACTIVE), *((printable(i, multiline=False), i) for i in ids)]
        )
        if self.selected in ids:
            select.value = self.selected
        else:
            self.selected = None
            select.value = ACTIVE

    def _draw_flow(self, trace: TurnTrace | None, project: Project | None) -> None:
        if project is not None:
            self._sync_options(project)
        if self.selected is not None:
            flow_id, step, status = self.selected, frame_step(trace, self.selected), "selected"
        elif trace is None:
            flow_id, step, status = None, None, ""
        else:
            flow_id, step, status = active_flow(trace)
        flow = project.flow(flow_id) if project is not None and flow_id else None
        self.shown_flow, self.current_step = (flow_id if flow else None), step
        if flow is None:
            if trace is None and self.selected is None:
                note = NO_TURN
            elif flow_id is None:
                note = "no active flow (pick one above)"
            else:
                note = f"flow '{flow_id}' is not in the project"
            self._show_note(note)
            return
        self._show_chart(flow, step, status, trace)

    def _show_note(self, text: str) -> None:
        note = self.query_one("#trace-note", Static)
        update_static(note, printable(text))
        note.display = True
        self.chart.display = False
        self.details.display = False
        self.query_one("#flow-coverage", Static).display = False
        self._shown_key = None
        self._flow = None
        self.set_subtitle("")

    def _turns_for(self, flow_id: str, trace: TurnTrace | None) -> list[TurnTrace]:
        """The turns of the flow's latest run up to `trace`, from the history (by the
        trace's index), or `trace` alone when the history does not hold it."""
        if trace is None:
            return []
        history = self.history
        at = trace.index
        if not (0 <= at < len(history) and history[at].index == at):
            history, at = [trace], 0
        return latest_run_turns(flow_id, history, at)

    def _show_chart(
        self, flow: Flow, step: str | None, status: str, trace: TurnTrace | None
    ) -> None:
        self.query_one("#trace-note", Static).display = False
        chart = self.chart
        chart.display = True
        self.details.display = True
        where = f" @ {short_step(flow.id, step)}" if step else ""
        subtitle = printable(f"{flow.id}{where} · {status}", multiline=False)
        self.set_subtitle(f"{subtitle} · {self.project_note}" if self.project_note else subtitle)
        self.path = flow_path(flow, self._turns_for(flow.id, trace))
        width = chart.scrollable_content_region.width or self.size.width
        self.marks = call_marks(self.project, flow, trace) if self.project else {}
        marks = tuple(sorted(self.marks.items()))
        self._show_coverage(flow)
        key = (
            flow.id,
            flow.fingerprint,
            flow.steps,
            step,
            self.path,
            self.zoom,
            width,
            marks,
            self.untested,
        )
        if key == self._shown_key:
            return
        moved = self._flow is None or self._flow.id != flow.id or step != self.current_shown
        self._shown_key = key
        self._flow = flow
        self.current_shown = step
        drawn = self._layout(flow, step, width)
        chart.show(drawn, cursor=step)
        if moved:
            focus = step if step in drawn.nodes else chart.cursor
            self.call_after_refresh(chart.move_to, focus, center=True)

    def stored_coverage(self) -> StoredCoverage | None:
        """The project's `.calm/coverage.json`, read again only when it changed."""
        from workbench.testing.coverage_file import coverage_path, read_coverage

        if self.project is None:
            return None
        path = coverage_path(self.project.root)
        try:
            written = path.stat().st_mtime
        except OSError:
            self._coverage = (-1.0, None)
            return None
        if written != self._coverage[0]:
            self._coverage = (written, read_coverage(path))
        return self._coverage[1]

    def _show_coverage(self, flow: Flow) -> None:
        """The steps the last test run did not reach, and a line that says how many it
        did (hidden while the project has no coverage file)."""
        line = self.query_one("#flow-coverage", Static)
        stored = self.stored_coverage()
        marks = stored.flows.get(flow.id) if stored else None
        if stored is None:
            self.untested = frozenset()
            line.display = False
            return
        reached = marks.reached if marks else frozenset()
        self.untested = frozenset(s.id for s in flow.steps if s.id not in reached)
        count = len(flow.steps) - len(self.untested)
        line.update(f"tests reach {count}/{len(flow.steps)} steps (run {stored.age()})")
        line.display = True

    def _layout(self, flow: Flow, step: str | None, width: int) -> Chart:
        def draw(zoom: str) -> Chart:
            return layout_flow(
                flow,
                zoom,
                current=step,
                visited=self.path.visited,
                taken=self.path.taken,
                marks=self.marks,
                untested=self.untested,
            )

        if self.zoom is not None:
            return draw(self.zoom)
        full = draw(FULL)
        return full if full.width <= width else draw(COMPACT)

    def _show_details(self, key: str | None) -> None:
        flow = self._flow
        chart = self.chart.chart
        node = chart.nodes.get(key) if chart and key else None
        if flow is None or node is None:
            self.details.update("")
            return
        if node.kind == "loop":
            self.details.update(
                Content.assemble(
                    (_shown(node.lines[0]), "bold"),
                    ("  Enter: go to that step", "$text-accent"),
                )
            )
            return
        step = flow.step(node.step_id or "")
        if step is not None:
            self.details.update(
                step_details(
                    flow,
                    step,
                    self.current_step,
                    self.path,
                    self.marks.get(step.id),
                    untested=step.id in self.untested,
                )
            )


__all__ = ["ACTIVE", "FlowPanel", "active_flow", "frame_step", "step_details"]
